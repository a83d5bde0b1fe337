//! A `File`'s buffer: bytes read ahead, or bytes written behind.

use std::io::{self, Read, Write};

/// Bytes read ahead (`data[pos..end]`), or bytes to write (`data[..end]`).
/// `data` only grows (it is initialised once, not zeroed per read).
#[derive(Default)]
pub(super) struct Buf {
    data: Vec<u8>,
    pos: usize,
    end: usize,
}

impl Buf {
    pub(super) fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub(super) fn clear(&mut self) {
        self.pos = 0;
        self.end = 0;
    }

    pub(super) fn reserve(&mut self, len: usize) {
        if self.data.len() < len {
            self.data.resize(len, 0);
        }
    }

    pub(super) fn copy_to(&mut self, dst: &mut [u8]) -> usize {
        let n = self.remaining().min(dst.len());
        dst[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        if self.pos == self.end {
            self.clear();
        }
        n
    }

    /// Replaces the contents with the first `max` bytes of `srcs`, in
    /// order; returns how many were taken.
    pub(super) fn copy_from(&mut self, srcs: &[io::IoSlice<'_>], max: usize) -> usize {
        let len = srcs.iter().map(|s| s.len()).sum::<usize>().min(max);
        self.reserve(len);
        let mut end = 0;
        for src in srcs {
            let take = src.len().min(len - end);
            self.data[end..end + take].copy_from_slice(&src[..take]);
            end += take;
            if end == len {
                break;
            }
        }
        self.pos = 0;
        self.end = len;
        len
    }

    pub(super) fn read_from(&mut self, file: &std::fs::File, len: usize) -> io::Result<usize> {
        self.reserve(len);
        let result = loop {
            match (&*file).read(&mut self.data[..len]) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        self.pos = 0;
        self.end = *result.as_ref().unwrap_or(&0);
        result
    }

    pub(super) fn write_to(&mut self, file: &std::fs::File) -> io::Result<()> {
        let result = (&*file).write_all(&self.data[..self.end]);
        self.clear();
        result
    }
}
