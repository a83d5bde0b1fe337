//! `OpenOptions`: [`std::fs::OpenOptions`] with `open` on the blocking pool.

use std::io;
use std::path::Path;

use super::File;

/// Options for opening a file, as [`std::fs::OpenOptions`]; `open` runs on
/// the blocking pool.
#[derive(Clone, Debug)]
pub struct OpenOptions(std::fs::OpenOptions);

impl From<std::fs::OpenOptions> for OpenOptions {
    /// Wraps `std`'s options (Unix extensions such as `mode` included).
    fn from(options: std::fs::OpenOptions) -> OpenOptions {
        OpenOptions(options)
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
        OpenOptions(std::fs::OpenOptions::new())
    }

    /// Open for reading.
    pub fn read(&mut self, read: bool) -> &mut OpenOptions {
        self.0.read(read);
        self
    }

    /// Open for writing.
    pub fn write(&mut self, write: bool) -> &mut OpenOptions {
        self.0.write(write);
        self
    }

    /// Every write goes to the end of the file.
    pub fn append(&mut self, append: bool) -> &mut OpenOptions {
        self.0.append(append);
        self
    }

    /// Truncate the file to 0 bytes when opening it.
    pub fn truncate(&mut self, truncate: bool) -> &mut OpenOptions {
        self.0.truncate(truncate);
        self
    }

    /// Create the file if it does not exist.
    pub fn create(&mut self, create: bool) -> &mut OpenOptions {
        self.0.create(create);
        self
    }

    /// Create the file, failing if it exists.
    pub fn create_new(&mut self, create_new: bool) -> &mut OpenOptions {
        self.0.create_new(create_new);
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
        let options = self.0.clone();
        let path = path.as_ref().to_path_buf();
        let opened = path.clone();
        // The pool also learns whether the file may be read without it.
        let (std, nowait) = super::on_path("opening", &path, move |p| {
            let std = options.open(p)?;
            let nowait = super::nowait::learn(&std);
            Ok((std, nowait))
        })
        .await?;
        Ok(File::new(std, opened, nowait))
    }
}
