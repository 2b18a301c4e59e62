//! End to end on the real survey files of ../shared/data: each set builds, and the HiPS holds
//! data wherever the input has data, with values inside the input's local range.

mod common;

use std::path::{Path, PathBuf};

use hipsforge::builder::inputs::{collect_files, discover};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::fits::{read_pixels, HduSelection};
use hipsforge::reader::{HipsDir, PixelReader};
use hipsforge::wcs::frame::xyz_to_lonlat;

fn build_set(
    inputs: &[PathBuf],
    hdus: HduSelection,
    out: &Path,
    configure: impl FnOnce(&mut BuildOptions),
) -> HipsDir {
    let mut o = BuildOptions::new(inputs.to_vec(), out.to_path_buf(), "ivo://test/P/shared");
    o.hdus = hdus;
    configure(&mut o);
    build(&o).unwrap_or_else(|e| panic!("{inputs:?}: {e}"));
    HipsDir::open(out).unwrap()
}

/// On a 12×12 grid of input pixels (3 px from the edges): the HiPS value there is finite and
/// within the range of the input's 3×3 neighbourhood (plus 0.1 % of the image's spread).
fn assert_hips_follows_input(hips: &HipsDir, inputs: &[PathBuf], hdus: HduSelection) {
    let files = collect_files(inputs).files;
    let found = discover(&files, &hdus, hips.frame);
    assert!(!found.images.is_empty());
    let mut reader = PixelReader::new(hips, hips.order);
    for image in &found.images {
        let data = read_pixels(&image.hdu).unwrap();
        let (w, h) = (image.hdu.width, image.hdu.height);
        let mut sorted: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
        sorted.sort_by(f32::total_cmp);
        let spread = (sorted[sorted.len() * 99 / 100] - sorted[sorted.len() / 100]) as f64;
        let mut checked = 0;
        for i in 0..12 {
            for j in 0..12 {
                let (x, y) = (3 + i * (w - 7) / 11, 3 + j * (h - 7) / 11);
                let neighbours: Vec<f64> = (y - 1..=y + 1)
                    .flat_map(|yy| (x - 1..=x + 1).map(move |xx| (xx, yy)))
                    .map(|(xx, yy)| data[yy * w + xx] as f64)
                    .collect();
                if neighbours.iter().any(|v| v.is_nan()) {
                    continue;
                }
                // Off-sky pixels (outside an all-sky AIT ellipse) hold values but no sky.
                let Some(v) = image.pixel_to_hips(x as f64 + 1.0, y as f64 + 1.0) else {
                    continue;
                };
                let (lon, lat) = xyz_to_lonlat(v);
                let ours = reader.bilinear(lon, lat).unwrap() as f64;
                let lo = neighbours.iter().copied().fold(f64::MAX, f64::min) - 1e-3 * spread;
                let hi = neighbours.iter().copied().fold(f64::MIN, f64::max) + 1e-3 * spread;
                assert!(
                    ours >= lo && ours <= hi,
                    "{}: pixel ({x}, {y}): HiPS {ours}, input range {lo}..{hi}",
                    image.label()
                );
                checked += 1;
            }
        }
        assert!(
            checked >= 20,
            "{}: only {checked} points checked",
            image.label()
        );
    }
}

#[test]
fn first_sin_images() {
    let inputs = vec![common::shared_data().join("first")];
    let dir = tempfile::tempdir().unwrap();
    let hips = build_set(&inputs, HduSelection::FirstImage, dir.path(), |_| {});
    assert_eq!(hips.order, 8);
    assert_hips_follows_input(&hips, &inputs, HduSelection::FirstImage);
}

#[test]
fn ukidss_zpn_extension() {
    let inputs = vec![common::shared_data().join("ukidss/UKIDSS_GCS_K_M1_cutout.fits")];
    let dir = tempfile::tempdir().unwrap();
    let hips = build_set(&inputs, HduSelection::All, dir.path(), |_| {});
    assert_hips_follows_input(&hips, &inputs, HduSelection::All);
}

#[test]
fn sdss_bzip2_frame_with_skewed_cd() {
    let inputs = vec![common::shared_data().join("sdss/frame-g-002583-2-0136.fits.bz2")];
    let dir = tempfile::tempdir().unwrap();
    let hips = build_set(&inputs, HduSelection::FirstImage, dir.path(), |o| {
        o.tile_width = 256
    });
    assert_eq!(
        hips.order, 12,
        "0.396″ pixels: order 12 with 256-pixel tiles"
    );
    assert_hips_follows_input(&hips, &inputs, HduSelection::FirstImage);
}

#[test]
fn sip_galactic_and_allsky_inputs() {
    let data = common::shared_data();
    for (file, galactic) in [
        ("distortion/astrometry_net_thumbnail_sip.fit.gz", false),
        ("distortion/sip_sample_spitzer.fits", false),
        ("radio/MAGPIS_G10.5+0.0.fits", true),
        ("radio/VLASS_3.1_J001357.17-091951.5.fits", false),
        ("allsky/ROSAT_allsky_AIT.fits", true),
        ("projections/1904-66_ZPN.fits", false),
    ] {
        let inputs = vec![data.join(file)];
        let dir = tempfile::tempdir().unwrap();
        let hips = build_set(&inputs, HduSelection::FirstImage, dir.path(), |o| {
            o.tile_width = 64;
            if galactic {
                o.frame = hipsforge::wcs::Frame::Galactic;
            }
        });
        assert_hips_follows_input(&hips, &inputs, HduSelection::FirstImage);
    }
}

#[test]
fn tile_compressed_inputs_give_the_same_tiles_as_the_plain_file() {
    let data = common::shared_data().join("compressed");
    let dir = tempfile::tempdir().unwrap();
    let mut tiles = Vec::new();
    for name in ["m13.fits", "m13_rice.fits", "m13_gzip.fits"] {
        let hips = build_set(
            &[data.join(name)],
            HduSelection::FirstImage,
            &dir.path().join(name),
            |o| o.tile_width = 64,
        );
        let mut reader = PixelReader::new(&hips, hips.order);
        let (lon, lat) = (250.4226f64.to_radians(), 36.4602f64.to_radians());
        let values: Vec<f32> = (0..50)
            .map(|i| {
                reader
                    .bilinear(
                        lon + (i as f64 - 25.0) * 1e-5,
                        lat + (i as f64 % 7.0 - 3.0) * 1e-5,
                    )
                    .unwrap()
            })
            .collect();
        assert!(values.iter().all(|v| v.is_finite()));
        tiles.push(values);
    }
    assert_eq!(tiles[0], tiles[1], "RICE_1 differs from the plain file");
    assert_eq!(tiles[0], tiles[2], "GZIP_1 differs from the plain file");
}
