//! astroquery.hips2fits (PyPI, installed by scripts/install-python-deps.sh into a private
//! venv) queries our server by only changing its server URL: the FITS it returns has the data
//! and WCS of our own library call, PNG comes back as an image, errors carry our message.
//! When the Python packages cannot be installed the test fails under CI and is skipped with
//! a `SKIPPED astroquery:` line on stderr elsewhere.

mod common;

use std::path::PathBuf;
use std::process::Command;

use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::serve::{router, ServeOptions};
use hipsforge::wcs::Frame;

fn python() -> Result<PathBuf, String> {
    common::run_installer("scripts/install-python-deps.sh").map(PathBuf::from)
}

#[test]
fn astroquery_hips2fits_gets_our_cutouts() {
    let deps = python().map_err(|e| format!("astroquery could not be installed: {e}"));
    let Some(python) = common::ready_or_skip("astroquery", deps) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = common::two_image_scene();
    let inputs = common::write_scene_inputs(dir.path(), &s);
    let hips = dir.path().join("hips");
    let mut o = BuildOptions::new(vec![inputs], hips.clone(), "ivo://test/P/scene");
    o.tile_width = 64;
    build(&o).unwrap();

    let app = router(&ServeOptions {
        mounts: vec![("scene".into(), hips.clone())],
        ..Default::default()
    })
    .unwrap();
    let addr = common::start_server(app);

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/hips2fits_client.py");
    let server = format!("http://{addr}/hips-image-services/hips2fits");
    // The id as the CDS service takes it: creator_did without ivo://.
    let out = Command::new(&python)
        .arg(&script)
        .arg(&server)
        .arg("test/P/scene")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // The FITS astroquery returned equals our library's cutout on the same grid.
    let fits = dir.path().join("query.fits");
    let (hdus, _) = hipsforge::fits::list_image_hdus(&fits, &Default::default()).unwrap();
    assert_eq!((hdus[0].width, hdus[0].height), (120, 90));
    let theirs = hipsforge::fits::read_pixels(&hdus[0]).unwrap();
    let spec = GridSpec {
        lon: 150.01,
        lat: 2.0,
        width: 120,
        height: 90,
        scale_deg: 0.03 / 120.0,
        projection: "TAN".into(),
        rotation_deg: 20.0,
        frame: Frame::Equatorial,
    };
    let grid = Grid::from_spec(&spec).unwrap();
    let ours = cutout(
        &TileStore::new(64 << 20),
        &Survey::open(&hips, 0).unwrap(),
        &grid,
        Kernel::Bilinear,
        None,
    )
    .unwrap();
    assert!(
        theirs
            .iter()
            .zip(&ours)
            .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
        "data differ"
    );
    assert!(ours.iter().filter(|v| v.is_finite()).count() > 100 * 80);
    // And its WCS is the grid's: same sky at a few pixels.
    let wcs = hipsforge::wcs::Wcs::from_header(&hdus[0].header).unwrap();
    for (x, y) in [(1.0, 1.0), (60.5, 45.5), (120.0, 90.0)] {
        let a = wcs.pixel_to_world(x, y).unwrap();
        let b = grid.wcs.pixel_to_world(x, y).unwrap();
        assert!(common::separation_arcsec(a, b) < 1e-6);
    }
    // PNG: decoded by astroquery into a 48×64 image with a real spread of values.
    let png = std::fs::read(dir.path().join("query_png.npy")).unwrap();
    let header_len = u16::from_le_bytes([png[8], png[9]]) as usize;
    let header = String::from_utf8_lossy(&png[10..10 + header_len]);
    assert!(header.contains("(48, 64"), "{header}");
    let error = std::fs::read_to_string(dir.path().join("error.txt")).unwrap();
    assert!(error.contains("Unknown HiPS"), "{error}");
}
