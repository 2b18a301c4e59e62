//! hipsforge: FITS image collections → HiPS (HEALPix tile pyramids).
//!
//! Data flows one way: [`fits`] + [`wcs`] → [`build`] → [`hips`] files on disk.

pub mod build;
pub mod cache;
pub mod cutout;
pub mod fits;
pub mod hips;
pub mod interp;
pub mod lint;
pub mod output;
pub mod preview;
pub mod serve;
pub mod tiles;
pub mod wcs;
