//! `DirBuilder`: [`std::fs::DirBuilder`] with `create` on the blocking pool.

use std::io;
use std::path::Path;

/// Options for creating directories, as [`std::fs::DirBuilder`]; `create`
/// runs on the blocking pool and its error names the path.
///
/// ```
/// #[weft::main(flavor = "current_thread")]
/// async fn main() -> std::io::Result<()> {
///     let base = std::env::temp_dir().join(format!("weft-dirbuilder-doc-{}", std::process::id()));
///     let deep = base.join("a/b/c");
///     weft::fs::DirBuilder::new().recursive(true).mode(0o750).create(&deep).await?;
///     assert!(weft::fs::metadata(&deep).await?.is_dir());
///     // Not recursive: an existing directory is an error naming it.
///     let err = weft::fs::DirBuilder::new().create(&deep).await.unwrap_err();
///     assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
///     assert!(err.to_string().contains("a/b/c"));
///     weft::fs::remove_dir_all(&base).await?;
///     Ok(())
/// }
/// ```
#[derive(Debug, Default, Clone)]
pub struct DirBuilder {
    /// Whether missing parents are created too (and an existing directory
    /// is not an error).
    recursive: bool,
    /// Permission bits for each directory created (before the umask);
    /// `None`: std's default, `0o777`.
    mode: Option<u32>,
}

impl DirBuilder {
    /// A builder that creates one directory (not recursive) with the
    /// default mode (`0o777` before the umask).
    pub fn new() -> DirBuilder {
        DirBuilder::default()
    }

    /// Whether to create missing parent directories too (with the same
    /// mode); then an existing directory at the path is not an error.
    /// Defaults to `false`.
    pub fn recursive(&mut self, recursive: bool) -> &mut Self {
        self.recursive = recursive;
        self
    }

    /// Permission bits for the directories this creates, before the umask.
    /// Defaults to `0o777`.
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.mode = Some(mode);
        self
    }

    /// Creates the directory at `path` with these options.
    ///
    /// # Errors
    ///
    /// As [`std::fs::DirBuilder::create`] (`AlreadyExists` when not
    /// recursive and the path exists, `NotFound` for a missing parent when
    /// not recursive, `PermissionDenied`, ...), naming the path.
    pub async fn create(&self, path: impl AsRef<Path>) -> io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(self.recursive);
        if let Some(mode) = self.mode {
            std::os::unix::fs::DirBuilderExt::mode(&mut builder, mode);
        }
        super::on_path("creating directory", path.as_ref(), move |p| {
            builder.create(p)
        })
        .await
    }
}
