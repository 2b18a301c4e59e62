//! Why the server could not start: a mount, Aladin Lite's directory or the CORS origins.

use std::path::PathBuf;

/// A startup error of [`router`](super::router). Lower layers' errors are kept as their text
/// (`message`); I/O and header errors stay available as [`std::error::Error::source`].
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Two HiPS were given the same mount name.
    #[error("two HiPS would be mounted at /{name}/: name one with NAME=DIR")]
    DuplicateMount {
        /// The name given twice.
        name: String,
    },
    /// A mount name that is empty, hidden, has a slash, or is a route of the server.
    #[error("{name:?} cannot be a mount name")]
    InvalidMountName {
        /// The refused name.
        name: String,
    },
    /// A HiPS to mirror whose server does not answer as a HiPS.
    #[error("{url}: {message}")]
    Upstream {
        /// The base URL given.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// A HiPS directory that cannot be resolved.
    #[error("{}: {source}", path.display())]
    MountDir {
        /// The directory as given.
        path: PathBuf,
        /// Why it cannot be resolved.
        source: std::io::Error,
    },
    /// A HiPS directory without a readable `properties` file.
    #[error("{}: {source} (not a HiPS?)", path.display())]
    ReadProperties {
        /// The `properties` file.
        path: PathBuf,
        /// Why it cannot be read.
        source: std::io::Error,
    },
    /// A `properties` file that does not parse.
    #[error("{}: {message}", path.display())]
    ParseProperties {
        /// The `properties` file.
        path: PathBuf,
        /// The parser's error.
        message: String,
    },
    /// A `Moc.fits` that does not decode.
    #[error("{}: {message}", path.display())]
    Coverage {
        /// The `Moc.fits` file.
        path: PathBuf,
        /// The decoder's error.
        message: String,
    },
    /// A mounted HiPS that cannot be opened for cutouts (the message names the file).
    #[error("{message}")]
    CutoutSurvey {
        /// The mount name.
        name: String,
        /// The cutout reader's error.
        message: String,
    },
    /// An `--aladin-lite` directory that cannot be resolved.
    #[error("--aladin-lite {}: {source}", path.display())]
    AladinLiteDir {
        /// The directory as given.
        path: PathBuf,
        /// Why it cannot be resolved.
        source: std::io::Error,
    },
    /// An `--aladin-lite` directory without `aladin.js`.
    #[error("--aladin-lite {}: no aladin.js there", path.display())]
    NoAladinJs {
        /// The directory as given.
        path: PathBuf,
    },
    /// A `--cors-origin` entry that is not a valid header value.
    #[error("--cors-origin: bad origin {origin:?}")]
    CorsOrigin {
        /// The entry as given.
        origin: String,
        /// Why it is not a header value.
        source: axum::http::header::InvalidHeaderValue,
    },
}
