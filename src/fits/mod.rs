//! FITS input (any image HDU) and output (tiles).

pub mod header;
pub mod read;
pub mod write;

use std::path::{Path, PathBuf};

pub use header::{date_to_mjd, Header};
pub use read::{
    list_image_hdus, read_pixels, read_primary_header, read_tile, HduSelection, ImageHdu,
    SkippedHdu,
};

/// Why a FITS file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum FitsError {
    /// A cfitsio call failed.
    #[error("{path}: {what}: cfitsio error {status} ({message})")]
    Cfitsio {
        /// The file.
        path: PathBuf,
        /// What was being done (`open`, `count HDUs`, ...).
        what: String,
        /// cfitsio status code.
        status: i32,
        /// cfitsio's text for the status.
        message: String,
    },
    /// A read outside cfitsio (e.g. inflating a bzip2 file) failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The path holds a NUL byte, which cfitsio cannot take.
    #[error("{0}: path is not valid for cfitsio")]
    BadPath(PathBuf),
    /// An HDU asked for by number is beyond the file's last.
    #[error("{path}: no HDU {hdu} (the file has {count})")]
    NoSuchHdu {
        /// The file.
        path: PathBuf,
        /// The HDU asked for (0 = primary).
        hdu: usize,
        /// How many HDUs the file has.
        count: usize,
    },
}

impl FitsError {
    /// An [`FitsError::Io`] for `path`.
    pub fn io(path: &Path, source: std::io::Error) -> FitsError {
        FitsError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}
