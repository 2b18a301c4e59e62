//! hipsforge: FITS image collections → HiPS (HEALPix tile pyramids).
//!
//! Data flows one way: [`fits`] + [`wcs`] → [`build`] → [`hips`] files on disk.

pub mod fits;
pub mod wcs;
pub mod build;
pub mod hips;
pub mod tiles;
