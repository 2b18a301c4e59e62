//! The HiPS format: tile paths and pixel layout, properties, Allsky, MOC. Pure functions
//! and small writers; no build policy.

pub mod allsky;
pub mod geometry;
pub mod hpxfinder;
pub mod html;
pub mod layout;
pub mod moc;
pub mod pixels;
pub mod presets;
pub mod properties;

/// Why a HiPS file's content cannot be read or made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FormatError {
    /// A `properties` line that is neither a comment, blank, nor `key = value`.
    #[error("line {line}: {problem}")]
    PropertiesLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        problem: String,
    },
    /// A MOC FITS file that cannot be read or written.
    #[error("MOC: {0}")]
    Moc(String),
    /// A survey preset name that does not exist.
    #[error("--preset {name}: unknown (known: {known})")]
    UnknownPreset {
        /// The name given.
        name: String,
        /// The names that exist, comma separated.
        known: String,
    },
    /// A properties file named by the user that cannot be read or parsed.
    #[error("{path}: {problem}")]
    PropertiesFile {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        problem: String,
    },
    /// A `--prop` pair without `=`.
    #[error("--prop {0:?}: expected KEY=VALUE")]
    PropertyPair(String),
    /// A progenitor index (`HpxFinder`) line that cannot be read.
    #[error("progenitor index line: {0}")]
    ProgenitorLine(String),
}
