//! The coarse-grid source positions against the exact per-pixel transform, on real headers
//! of every projection family we read (TAN/CD skew, SIN, ZPN, SIP, AIT all-sky, galactic, the
//! Calabretta SZP, COO, BON, PCO, QSC, CSC, XPH files) and the plane distortions (TPV, TNX).

mod common;

use hipsforge::builder::index::build_index;
use hipsforge::builder::inputs::{collect_files, discover};
use hipsforge::builder::resample::{source_positions, Positions};
use hipsforge::fits::HduSelection;
use hipsforge::hips::geometry::order_for_pixel_scale;
use hipsforge::interp::MAX_BLOCK_ERROR;
use hipsforge::wcs::Frame;

#[test]
fn grid_positions_stay_within_a_hundredth_of_a_source_pixel() {
    let data = common::shared_data();
    let files: Vec<_> = [
        "sdss/frame-r-002583-2-0136.fits.bz2",
        "ukidss/UKIDSS_GCS_K_M1_cutout.fits",
        "first/FIRST_J001357-091951.fits",
        "distortion/sip_sample_spitzer.fits",
        "projections/1904-66_ZPN.fits",
        "allsky/ROSAT_allsky_AIT.fits",
        "radio/MAGPIS_G10.5+0.0.fits",
        "projections/1904-66_SZP.fits",
        "projections/1904-66_COO.fits",
        "projections/1904-66_BON.fits",
        "projections/1904-66_PCO.fits",
        "projections/1904-66_QSC.fits",
        "projections/1904-66_CSC.fits",
        "projections/1904-66_XPH_constructed.fits",
        "distortion/tpv_decam_c4d_170316_062107_ooi_z_ls9.N2.fits",
        "distortion/tnx_kpno09m_A576_header_synthetic.fits.gz",
    ]
    .iter()
    .map(|f| data.join(f))
    .collect();
    let files = collect_files(&files).files;
    let found = discover(&files, &HduSelection::FirstImage, Frame::Equatorial);
    assert_eq!(found.images.len(), files.len(), "{:?}", found.skipped);
    let width = 128;
    let mut worst = 0.0f64;
    for image in &found.images {
        let order = order_for_pixel_scale(image.wcs.pixel_scale_deg(), 7, 3..=10);
        let index = build_index(std::slice::from_ref(image), order);
        // A spread of tiles: every k-th of the candidates, at most 8.
        let tiles: Vec<u64> = index.keys().copied().collect();
        for &tile in tiles.iter().step_by(tiles.len().div_ceil(8)) {
            // Empty means no position at all.
            let all_nan = || vec![[f64::NAN; 2]; width * width];
            let grid = Some(source_positions(order, tile, width, image, Positions::Grid))
                .filter(|g| !g.is_empty())
                .unwrap_or_else(all_nan);
            let exact = Some(source_positions(
                order,
                tile,
                width,
                image,
                Positions::Exact,
            ))
            .filter(|g| !g.is_empty())
            .unwrap_or_else(all_nan);
            let (w, h) = (image.hdu.width as f64, image.hdu.height as f64);
            for (g, e) in grid.iter().zip(&exact) {
                let inside = e[0] >= 0.5 && e[0] <= w + 0.5 && e[1] >= 0.5 && e[1] <= h + 0.5;
                if g[0].is_nan() {
                    assert!(
                        !inside,
                        "{}: tile {tile}: a pixel inside the image was culled",
                        image.label()
                    );
                    continue;
                }
                if inside {
                    worst = worst.max((g[0] - e[0]).hypot(g[1] - e[1]));
                }
            }
        }
        assert!(
            worst <= MAX_BLOCK_ERROR * 1.5,
            "{}: grid error {worst} px",
            image.label()
        );
    }
    eprintln!("worst grid interpolation error: {worst:.2e} source px");
}
