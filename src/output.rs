//! Writing output files so that a crash never leaves a partial file under its final name.

use std::path::{Path, PathBuf};

/// Writes `bytes` to `path` through a temporary sibling (`name.tmp`) and a rename, creating
/// parent directories as needed.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
