//! Shared helpers for integration tests: where the shared survey data lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data` from the crate root (the survey files the project is tested on).
pub fn shared_data() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(dir.is_dir(), "shared data not found at {} (see README)", dir.display());
    dir
}

/// Angular distance in arcseconds between two (lon, lat) points in degrees.
pub fn separation_arcsec(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (l1, b1) = (a.0.to_radians(), a.1.to_radians());
    let (l2, b2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((b2 - b1) / 2.0).sin().powi(2) + b1.cos() * b2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    (2.0 * h.sqrt().asin()).to_degrees() * 3600.0
}
