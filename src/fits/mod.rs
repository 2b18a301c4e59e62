//! FITS input (any image HDU) and output (tiles).

pub mod header;
pub mod read;
pub mod write;

use std::path::{Path, PathBuf};

pub use header::Header;
pub use read::{list_image_hdus, read_pixels, read_tile, HduSelection, ImageHdu, SkippedHdu};

#[derive(Debug, thiserror::Error)]
pub enum FitsError {
    #[error("{path}: {what}: cfitsio error {status} ({message})")]
    Cfitsio {
        path: PathBuf,
        what: String,
        status: i32,
        message: String,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}: path is not valid for cfitsio")]
    BadPath(PathBuf),
    #[error("{path}: no HDU {hdu} (the file has {count})")]
    NoSuchHdu {
        path: PathBuf,
        hdu: usize,
        count: usize,
    },
}

impl FitsError {
    pub fn io(path: &Path, source: std::io::Error) -> FitsError {
        FitsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
