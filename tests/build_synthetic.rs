//! Builds a HiPS from synthetic TAN images with Gaussian stars at known sky positions and
//! checks astrometry, flux in overlaps, and the round trip back onto an input grid.

mod common;

use common::{sky_model, two_image_scene as scene, Scene};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::hips::geometry::cell_size_deg;
use hipsforge::reader::{HipsDir, PixelReader};
use hipsforge::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat};

fn background(ra: f64, dec: f64) -> f64 {
    sky_model(ra, dec, &[])
}

fn build_scene(dir: &std::path::Path, s: &Scene) -> HipsDir {
    let inputs = common::write_scene_inputs(dir, s);
    let mut o = BuildOptions::new(vec![inputs], dir.join("hips"), "ivo://test/P/synth");
    o.tile_width = 64;
    let report = build(&o).unwrap();
    assert_eq!(
        report.order, 12,
        "1″ pixels need order 12 with 64-pixel tiles (0.8″ HiPS pixels)"
    );
    HipsDir::open(&dir.join("hips")).unwrap()
}

#[test]
fn stars_land_on_their_positions_and_overlaps_do_not_double() {
    let s = scene();
    assert!(
        s.covered_by.iter().filter(|&&n| n == 2).count() >= 2,
        "need stars in the overlap: {:?}",
        s.covered_by
    );
    assert!(s.covered_by.iter().all(|&n| n >= 1), "{:?}", s.covered_by);
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path(), &s);
    let mut reader = PixelReader::new(&hips, hips.order);
    let depth = reader.depth();
    let pixel_arcsec = cell_size_deg(depth) * 3600.0;
    let layer = cdshealpix::nested::get(depth);
    let (mut worst_px, mut worst_ratio) = (0.0f64, 0.0f64);
    for (star, covered) in s.stars.iter().zip(&s.covered_by) {
        let cone = cdshealpix::nested::cone_coverage_approx(
            depth,
            star.ra.to_radians(),
            star.dec.to_radians(),
            (8.0f64 / 3600.0).to_radians(),
        );
        let (mut centroid, mut flux) = ([0.0; 3], 0.0);
        for hash in cone.flat_iter() {
            let (lon, lat) = layer.center(hash);
            let v = reader.pixel(hash).unwrap() as f64;
            assert!(!v.is_nan(), "blank pixel near star at {star:?}");
            let excess = v - background(lon.to_degrees(), lat.to_degrees());
            let p = lonlat_to_xyz(lon, lat);
            for k in 0..3 {
                centroid[k] += excess * p[k];
            }
            flux += excess * pixel_arcsec * pixel_arcsec;
        }
        let (lon, lat) = xyz_to_lonlat(centroid);
        let error_px =
            common::separation_arcsec((lon.to_degrees(), lat.to_degrees()), (star.ra, star.dec))
                / pixel_arcsec;
        assert!(
            error_px < 0.1,
            "star at ({}, {}) (in {covered} images) found {error_px:.3} HiPS px away",
            star.ra,
            star.dec
        );
        let expected = 2.0 * std::f64::consts::PI * star.sigma_arcsec.powi(2) * star.peak;
        let ratio = flux / expected;
        assert!(
            (ratio - 1.0).abs() < 0.03,
            "star in {covered} images: flux ratio {ratio:.4}"
        );
        worst_px = worst_px.max(error_px);
        worst_ratio = worst_ratio.max((ratio - 1.0).abs());
    }
    eprintln!(
        "stars: worst centroid offset {worst_px:.4} HiPS px, worst flux error {:.2} %",
        worst_ratio * 100.0
    );
}

#[test]
fn hips_resampled_back_reproduces_the_input_grid() {
    let s = scene();
    let dir = tempfile::tempdir().unwrap();
    let hips = build_scene(dir.path(), &s);
    let mut reader = PixelReader::new(&hips, hips.order);
    let image = &s.images[1];
    let wcs = image.wcs();
    let input = image.pixels(&s.stars);
    let (mut worst_background, mut sum_sq, mut n) = (0.0f64, 0.0, 0usize);
    for py in 4..=image.height - 3 {
        for px in 4..=image.width - 3 {
            let (ra, dec) = wcs.pixel_to_world(px as f64, py as f64).unwrap();
            let ours = reader.bilinear(ra.to_radians(), dec.to_radians()).unwrap() as f64;
            let truth = input[(py - 1) * image.width + px - 1] as f64;
            let diff = ours - truth;
            let near_star = s
                .stars
                .iter()
                .any(|st| common::separation_arcsec((ra, dec), (st.ra, st.dec)) < 8.0);
            if !near_star {
                worst_background = worst_background.max(diff.abs());
            }
            sum_sq += diff * diff;
            n += 1;
        }
    }
    let rms = (sum_sq / n as f64).sqrt();
    // Background: a 20/deg gradient, so two interpolations leave ~1e-3 at most.
    assert!(
        worst_background < 0.01,
        "background differs by up to {worst_background}"
    );
    // Stars (σ = 1.5 px, peak 1000) go through two bilinear resamplings: the RMS over the whole
    // image stays below 0.5 % of the peak.
    assert!(rms < 5.0, "round-trip RMS {rms}");
    eprintln!("round trip: background max |diff| {worst_background:.2e}, RMS {rms:.3} (peak 1000)");
}
