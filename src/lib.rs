//! hipsforge: FITS image collections → HiPS (HEALPix tile pyramids).
//!
//! Data flows one way: [`fits`] + [`wcs`] → [`builder`] → [`hips`] files on disk.

#![warn(missing_docs)]

/// `hipsforge VERSION`: what `hips_builder` and the ORIGIN card of written files say.
pub const PRODUCER: &str = concat!("hipsforge ", env!("CARGO_PKG_VERSION"));

pub mod builder;
pub mod cache;
pub mod cutout;
pub mod finish;
pub mod fits;
pub mod hips;
pub mod interp;
pub mod lint;
pub mod output;
pub mod preview;
pub mod reader;
pub mod serve;
pub mod wcs;
