//! `OpenOptions`: [`std::fs::OpenOptions`] with `open` on the blocking pool,
//! or at once for an existing regular file on a local disk (`nowait.rs`).

use std::io;
use std::path::Path;

use rustix::fs::OFlags;

use super::File;

/// Options for opening a file, as [`std::fs::OpenOptions`]. `open` runs on
/// the blocking pool, except an open that creates and truncates nothing,
/// of a regular file on a local disk whose path the kernel has cached,
/// which is made at once on the calling thread.
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions, Option<Access>);

/// The options as set through weft (`None` for `std`'s options handed in:
/// they cannot be read back, so such opens always go to the pool).
#[derive(Clone, Copy, Debug, Default)]
struct Access {
    read: bool,
    write: bool,
    append: bool,
    truncate: bool,
    create: bool,
    create_new: bool,
    custom: i32,
}

impl Access {
    /// The flags of an open that may be made at once: it creates and
    /// truncates nothing, and asks for no flag beyond `O_NOFOLLOW` and
    /// `O_CLOEXEC` (`O_DIRECT`, `O_SYNC`, `O_PATH`, ... go to the pool,
    /// with std's checks and errors).
    fn at_once(self) -> Option<OFlags> {
        if self.truncate || self.create || self.create_new {
            return None;
        }
        let extra = OFlags::from_bits_retain(self.custom as _);
        if !(OFlags::NOFOLLOW | OFlags::CLOEXEC).contains(extra) {
            return None;
        }
        let access = match (self.read, self.write || self.append) {
            (true, false) => OFlags::RDONLY,
            (false, true) => OFlags::WRONLY,
            (true, true) => OFlags::RDWR,
            (false, false) => return None,
        };
        let append = if self.append {
            OFlags::APPEND
        } else {
            OFlags::empty()
        };
        Some(access | append | extra)
    }
}

impl From<std::fs::OpenOptions> for OpenOptions {
    /// Wraps `std`'s options (Unix extensions such as `mode` included).
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options, None)
    }
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions::new()
    }
}

impl OpenOptions {
    /// No access at all yet: set `read`, `write`, `append`, ...
    pub fn new() -> OpenOptions {
        OpenOptions(std::fs::OpenOptions::new(), Some(Access::default()))
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        if let Some(access) = &mut self.1 {
            access.read = read;
        }
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        if let Some(access) = &mut self.1 {
            access.write = write;
        }
        self
    }

    /// Every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        if let Some(access) = &mut self.1 {
            access.append = append;
        }
        self
    }

    /// Truncate the file to 0 bytes when opening it.
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        if let Some(access) = &mut self.1 {
            access.truncate = truncate;
        }
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        if let Some(access) = &mut self.1 {
            access.create = create;
        }
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
        if let Some(access) = &mut self.1 {
            access.create_new = create_new;
        }
        self
    }

    /// Permission bits for a file this creates (before the umask).
    pub fn mode(&mut self, mode: u32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::mode(&mut self.0, mode);
        self
    }

    /// Extra `open(2)` flags (`O_NOFOLLOW`, `O_DIRECT`, ...).
    pub fn custom_flags(&mut self, flags: i32) -> &mut OpenOptions {
        std::os::unix::fs::OpenOptionsExt::custom_flags(&mut self.0, flags);
        if let Some(access) = &mut self.1 {
            access.custom = flags;
        }
        self
    }

    /// Opens `path` with these options.
    ///
    /// # Errors
    ///
    /// As [`std::fs::OpenOptions::open`] (`NotFound`, `PermissionDenied`,
    /// `AlreadyExists`, `InvalidInput` for options that make no sense),
    /// naming the path.
    pub async fn open(&self, path: impl AsRef<Path>) -> io::Result<File> {
        let path = path.as_ref();
        let mut replaced = None;
        if let Some(flags) = self.1.and_then(Access::at_once) {
            crate::task::consume_budget().await;
            match super::nowait::open_file(path, flags) {
                // On a local disk, not `O_DIRECT`: reads may try at once.
                Ok(Ok(std)) => return Ok(File::new(std, path.to_path_buf(), true)),
                Ok(Err(e)) => return Err(super::with_path(e, "opening", path)),
                Err(super::nowait::Rest::Replaced(file)) => replaced = Some(file),
                Err(_) => {}
            }
        }
        let options = self.0.clone();
        // The pool also learns whether the file may be read without it.
        let (std, nowait) = super::on_path("opening", path, move |p| {
            drop(replaced);
            let std = options.open(p)?;
            let nowait = super::nowait::learn(&std);
            Ok((std, nowait))
        })
        .await?;
        Ok(File::new(std, path.to_path_buf(), nowait))
    }
}
