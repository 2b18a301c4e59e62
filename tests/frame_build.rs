//! Frames end to end: an FK4 B1950 image builds into an equatorial HiPS whose stars sit where
//! astropy puts them in ICRS (E-terms, precession and the FK4 → FK5 rotation all count: 0.3″
//! to 40′), and an ecliptic HiPS of a real FIRST image reads back as the same sky as its
//! equatorial HiPS, in equatorial and in ecliptic cutouts.

mod common;

use std::path::Path;

use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use hipsforge::fits::write::{encode_image, Card, CardValue, Encoding};
use hipsforge::hips::geometry::cell_size_deg;
use hipsforge::reader::{HipsDir, PixelReader};
use hipsforge::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat, Rotation};
use hipsforge::wcs::{Frame, Wcs};

const BACKGROUND: f64 = 100.0;
const PEAK: f64 = 1000.0;
const SIGMA_PX: f64 = 2.0;

/// Writes the FK4 image of tests/data/frame_reference.json (Gaussian stars at its pixel
/// positions on a flat background); returns the stars' (ra, dec) in ICRS from astropy.
fn write_fk4_image(path: &Path) -> Vec<(f64, f64)> {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/frame_reference.json"
    );
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    let image = &reference["fk4_image"];
    let cards = image["cards"].as_object().unwrap();
    let size = |k: &str| cards[k].as_u64().unwrap() as usize;
    let (width, height) = (size("NAXIS1"), size("NAXIS2"));
    let header: Vec<Card> = cards
        .iter()
        .filter(|(k, _)| !k.starts_with("NAXIS"))
        .map(|(k, v)| {
            let value = match v.as_str() {
                Some(s) => CardValue::Str(s.to_string()),
                None => CardValue::Float(v.as_f64().unwrap()),
            };
            Card::new(k, value, "")
        })
        .collect();
    let stars: Vec<[f64; 4]> = image["stars"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| std::array::from_fn(|i| s[i].as_f64().unwrap()))
        .collect();
    let mut pixels = Vec::with_capacity(width * height);
    for py in 1..=height {
        for px in 1..=width {
            let v = stars.iter().fold(BACKGROUND, |v, s| {
                let r2 = (px as f64 - s[0]).powi(2) + (py as f64 - s[1]).powi(2);
                v + PEAK * (-r2 / (2.0 * SIGMA_PX * SIGMA_PX)).exp()
            });
            pixels.push(v as f32);
        }
    }
    let bytes = encode_image(width, height, &pixels, Encoding::float32(), &header);
    std::fs::write(path, bytes).unwrap();
    stars.iter().map(|s| (s[2], s[3])).collect()
}

#[test]
fn fk4_image_stars_land_where_astropy_puts_them_in_icrs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("fk4.fits");
    let stars = write_fk4_image(&input);
    let mut o = BuildOptions::new(vec![input], dir.path().join("hips"), "ivo://test/P/fk4");
    o.tile_width = 64;
    build(&o).unwrap();
    let hips = HipsDir::open(&dir.path().join("hips")).unwrap();
    let mut reader = PixelReader::new(&hips, hips.order);
    let depth = reader.depth();
    let pixel_arcsec = cell_size_deg(depth) * 3600.0;
    let layer = cdshealpix::nested::get(depth);
    let mut worst = 0.0f64;
    for &(ra, dec) in &stars {
        // Background-subtracted centroid of the HiPS pixels within 4σ (4″) of astropy's place.
        let cone = cdshealpix::nested::cone_coverage_approx(
            depth,
            ra.to_radians(),
            dec.to_radians(),
            (4.0f64 / 3600.0).to_radians(),
        );
        let mut centroid = [0.0; 3];
        for hash in cone.flat_iter() {
            let (lon, lat) = layer.center(hash);
            let excess = reader.pixel(hash).unwrap() as f64 - BACKGROUND;
            let p = lonlat_to_xyz(lon, lat);
            for k in 0..3 {
                centroid[k] += excess * p[k];
            }
        }
        let (lon, lat) = xyz_to_lonlat(centroid);
        let err = common::separation_arcsec((lon.to_degrees(), lat.to_degrees()), (ra, dec));
        // 0.01″ = 0.03 HiPS px (0.39″): the E-terms alone are 0.3″ here.
        assert!(err < 0.01, "star at ICRS ({ra}, {dec}) found {err}″ away");
        worst = worst.max(err);
    }
    eprintln!(
        "FK4 stars: worst {worst:.4}″ from astropy's ICRS position ({:.3} HiPS px)",
        worst / pixel_arcsec
    );
}

/// Pearson correlation and RMS difference (relative to the RMS of `a` about its mean).
fn agreement(a: &[f32], b: &[f32]) -> (f64, f64) {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .map(|(&x, &y)| (x as f64, y as f64))
        .collect();
    assert!(
        pairs.iter().all(|(x, y)| x.is_finite() && y.is_finite()),
        "blank pixels"
    );
    let n = pairs.len() as f64;
    let (ma, mb) = (
        pairs.iter().map(|p| p.0).sum::<f64>() / n,
        pairs.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let (mut sab, mut saa, mut sbb, mut sdd) = (0.0, 0.0, 0.0, 0.0);
    for (x, y) in pairs {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
        sdd += (x - y).powi(2);
    }
    (sab / (saa * sbb).sqrt(), (sdd / saa).sqrt())
}

#[test]
fn ecliptic_hips_of_a_real_image_is_the_same_sky() {
    let input = common::shared_data().join("first/FIRST_J082025.9+463526.1.fits");
    let dir = tempfile::tempdir().unwrap();
    let root = |frame: &str| dir.path().join(frame);
    for frame in ["equatorial", "ecliptic"] {
        let out = root(frame);
        let args = common::build_args(&input, &out, &["--frame", frame, "-q"]);
        common::hipsforge_ok(&args.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let ecliptic = root("ecliptic");
    let properties = std::fs::read_to_string(ecliptic.join("properties")).unwrap();
    assert!(properties.lines().any(|l| {
        l.split_once('=')
            .is_some_and(|(k, v)| k.trim() == "hips_frame" && v.trim() == "ecliptic")
    }));
    // Tiles say ELON/ELAT; the MOC stays ICRS and covers the image centre.
    let tile = walk_first_tile(&ecliptic.join("Norder3"));
    let head = String::from_utf8_lossy(&std::fs::read(tile).unwrap()[..2880]).to_string();
    assert!(
        head.contains("'ELON-HPX'") && head.contains("'ELAT-HPX'"),
        "{head}"
    );
    let moc = std::fs::read(ecliptic.join("Moc.fits")).unwrap();
    assert!(String::from_utf8_lossy(&moc[..5760]).contains("COORDSYS= 'C'"));
    let (hdus, _) = hipsforge::fits::list_image_hdus(&input, &Default::default()).unwrap();
    let wcs = Wcs::from_header(&hdus[0].header).unwrap();
    let (ra, dec) = wcs.pixel_to_world(34.0, 34.0).unwrap();
    let coverage = hipsforge::hips::moc::Coverage::from_fits(std::io::Cursor::new(moc)).unwrap();
    let cell = cdshealpix::nested::get(10).hash(ra.to_radians(), dec.to_radians());
    assert!(
        coverage.intersects_cell(10, cell),
        "MOC misses the image centre"
    );

    let to_ecliptic = Rotation::between(Frame::Equatorial, Frame::Ecliptic);
    let (elon, elat) = to_ecliptic.apply_lonlat(ra.to_radians(), dec.to_radians());
    let store = TileStore::new(64 << 20);
    let surveys = [
        Survey::open(&root("equatorial"), 0).unwrap(),
        Survey::open(&ecliptic, 1).unwrap(),
    ];
    for (frame, lon, lat) in [
        (Frame::Equatorial, ra, dec),
        (Frame::Ecliptic, elon.to_degrees(), elat.to_degrees()),
    ] {
        let grid = Grid::from_spec(&GridSpec {
            lon,
            lat,
            width: 40,
            height: 40,
            scale_deg: 1.8 / 3600.0,
            projection: "TAN".into(),
            rotation_deg: 10.0,
            frame,
        })
        .unwrap();
        let [a, b] = surveys
            .each_ref()
            .map(|s| cutout(&store, s, &grid, Kernel::Bilinear, None).unwrap());
        let (correlation, rms) = agreement(&a, &b);
        eprintln!("{frame:?} cutout, equatorial vs ecliptic HiPS: correlation {correlation:.5}, RMS difference {rms:.4} of the signal's");
        // Two resamplings of 1.8″ pixels onto differently oriented 0.8″ HEALPix grids.
        assert!(
            correlation > 0.99 && rms < 0.15,
            "{frame:?}: {correlation} {rms}"
        );
    }
}

/// The first tile file under `dir` (recursively).
fn walk_first_tile(dir: &Path) -> std::path::PathBuf {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            return walk_first_tile(&p);
        }
        if p.extension().is_some_and(|e| e == "fits") && !p.ends_with("Allsky.fits") {
            return p;
        }
    }
    panic!("no tile under {}", dir.display());
}
