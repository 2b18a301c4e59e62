//! What a build writes besides tiles, read back: properties keywords and values, Moc.fits
//! against the tiles' data, Allsky against the order-3 tiles, tile headers, integer BITPIX.

mod common;

use std::path::Path;

use hipsforge::builder::{build, BuildOptions};
use hipsforge::fits::{list_image_hdus, read_pixels, HduSelection, Header, ImageHdu};
use hipsforge::hips::layout::{split_subindex, tile_path};
use hipsforge::hips::moc::Coverage;
use hipsforge::hips::pixels::{shrink, Reducer};
use hipsforge::reader::HipsDir;

fn build_first(out: &Path, configure: impl FnOnce(&mut BuildOptions)) -> HipsDir {
    let mut o = BuildOptions::new(
        vec![common::shared_data().join("first")],
        out.to_path_buf(),
        "ivo://test/P/first",
    );
    o.tile_width = 64;
    configure(&mut o);
    build(&o).unwrap();
    HipsDir::open(out).unwrap()
}

fn all_tiles(hips: &HipsDir, order: u8) -> Vec<u64> {
    let mut tiles = Vec::new();
    let dir = hips.root.join(format!("Norder{order}"));
    for d in std::fs::read_dir(dir).unwrap() {
        let d = d.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        for f in std::fs::read_dir(d).unwrap() {
            let name = f.unwrap().file_name().into_string().unwrap();
            if let Some(n) = name
                .strip_prefix("Npix")
                .and_then(|n| n.strip_suffix(".fits"))
            {
                tiles.push(n.parse().unwrap());
            }
        }
    }
    tiles.sort();
    tiles
}

#[test]
fn properties_carry_the_standard_keywords_with_true_values() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_first(dir.path(), |o| {
        o.properties.set("obs_regime", "Radio");
        o.properties.set("hips_order", "99"); // structural: must be ignored
    });
    let p = &hips.properties;
    for key in [
        "creator_did",
        "obs_title",
        "dataproduct_type",
        "hips_version",
        "hips_release_date",
        "hips_status",
        "hips_tile_format",
        "hips_tile_width",
        "hips_order",
        "hips_order_min",
        "hips_frame",
        "hips_pixel_bitpix",
        "hips_data_range",
        "hips_initial_ra",
        "hips_initial_dec",
        "hips_initial_fov",
        "hips_pixel_scale",
        "s_pixel_scale",
        "moc_sky_fraction",
        "hips_sampling",
        "hips_overlay",
        "hips_builder",
        "hips_creation_date",
        "hips_estsize",
        "t_min",
        "t_max",
    ] {
        assert!(p.get(key).is_some_and(|v| !v.is_empty()), "missing {key}");
    }
    assert_eq!(p.get("creator_did"), Some("ivo://test/P/first"));
    assert_eq!(p.get("hips_order"), Some("11"));
    assert_eq!(p.get("hips_tile_width"), Some("64"));
    assert_eq!(p.get("hips_tile_format"), Some("fits"));
    assert_eq!(p.get("hips_pixel_bitpix"), Some("-32"));
    assert_eq!(p.get("dataproduct_type"), Some("image"));
    assert_eq!(p.get("obs_regime"), Some("Radio"));
    let date = p.get("hips_release_date").unwrap();
    assert!(
        date.len() == 17 && date.ends_with('Z') && &date[10..11] == "T",
        "{date}"
    );
    let num = |k: &str| p.get(k).unwrap().parse::<f64>().unwrap();
    // pixel scales in degrees: order 11 + 6 bits = depth 17 → 1.61″; FIRST 1.8″.
    assert!((num("hips_pixel_scale") * 3600.0 - 1.6104).abs() < 1e-3);
    assert!((num("s_pixel_scale") * 3600.0 - 1.8).abs() < 1e-6);
    // FIRST fields are spread over ~230° of RA: the view must cover them.
    assert!(num("hips_initial_fov") > 60.0);
    // t_min from DATE-OBS of the 1993 astroquery cutout (MJD 49000 = 1993-02-24).
    assert!(
        num("t_min") > 48000.0 && num("t_min") < 50500.0,
        "{}",
        num("t_min")
    );
    let range: Vec<f64> = p
        .get("hips_data_range")
        .unwrap()
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(range[0] < 0.0 && range[1] > range[0]);
}

#[test]
fn moc_covers_exactly_the_blocks_with_data_and_allsky_matches_order_3() {
    let dir = tempfile::tempdir().unwrap();
    let hips = build_first(dir.path(), |_| {});
    let bytes = std::fs::read(dir.path().join("Moc.fits")).unwrap();
    let moc = Coverage::from_fits(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(moc.depth(), 11 + 4);
    let fraction: f64 = hips
        .properties
        .get("moc_sky_fraction")
        .unwrap()
        .parse()
        .unwrap();
    assert!((moc.sky_fraction() - fraction).abs() < 1e-8);
    let w = hips.width;
    for tile in all_tiles(&hips, hips.order) {
        let data = hips.read_tile(hips.order, tile).unwrap().unwrap();
        for s in 0..(w * w) as u64 {
            let (x, y) = split_subindex(s);
            let v = data[(w - 1 - x as usize) * w + y as usize];
            let cell = ((tile << 12) | s) >> 4; // 4 levels up: the MOC depth
            if !v.is_nan() {
                assert!(
                    moc.intersects_cell(15, cell),
                    "pixel with data outside the MOC"
                );
            }
        }
    }
    // A cell far from any FIRST field is not covered.
    assert!(!moc.intersects_cell(3, 0));

    let (allsky, _) = list_image_hdus(
        &dir.path().join("Norder3/Allsky.fits"),
        &HduSelection::FirstImage,
    )
    .unwrap();
    let a = &allsky[0];
    assert_eq!((a.width, a.height), (27 * 8, 29 * 8));
    let packed = read_pixels(a).unwrap();
    for tile in all_tiles(&hips, 3) {
        let thumb = shrink(
            &hips.read_tile(3, tile).unwrap().unwrap(),
            w,
            8,
            Reducer::Mean,
        );
        let (col, row) = (tile as usize % 27, tile as usize / 27);
        let row0 = a.height - (row + 1) * 8;
        for r in 0..8 {
            for c in 0..8 {
                let (got, want) = (packed[(row0 + r) * a.width + col * 8 + c], thumb[r * 8 + c]);
                assert!(
                    got == want || (got.is_nan() && want.is_nan()),
                    "Allsky tile {tile} ({r}, {c})"
                );
            }
        }
    }
}

#[test]
fn tiles_carry_order_npix_and_integer_bitpix_keeps_values() {
    let dir = tempfile::tempdir().unwrap();
    let float = build_first(&dir.path().join("f"), |_| {});
    let int16 = build_first(&dir.path().join("i"), |o| o.bitpix = 16);
    assert_eq!(int16.properties.get("hips_pixel_bitpix"), Some("16"));
    let tile = all_tiles(&float, float.order)[0];
    let path = tile_path(&int16.root, int16.order, tile, "fits");
    let (hdus, _) = list_image_hdus(&path, &HduSelection::FirstImage).unwrap();
    let h: &Header = &hdus[0].header;
    assert_eq!(h.get_i64("BITPIX"), Some(16));
    assert_eq!(h.get_i64("ORDER"), Some(float.order as i64));
    assert_eq!(h.get_i64("NPIX"), Some(tile as i64));
    assert_eq!(h.get("CTYPE1"), Some("RA---HPX"));
    let bscale = h.get_f64("BSCALE").unwrap();
    let a = float.read_tile(float.order, tile).unwrap().unwrap();
    let hdu = ImageHdu {
        path,
        hdu: 0,
        header: Header::default(),
        width: 64,
        height: 64,
    };
    let b = read_pixels(&hdu).unwrap();
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.is_nan(), y.is_nan());
        if !x.is_nan() {
            assert!(((x - y) as f64).abs() <= bscale * 0.51 + 1e-6, "{x} vs {y}");
        }
    }
}

#[test]
fn a_galactic_hips_has_an_icrs_moc_covering_its_data() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::shared_data().join("radio/MAGPIS_G10.5+0.0.fits");
    let mut o = BuildOptions::new(
        vec![input.clone()],
        dir.path().to_path_buf(),
        "ivo://test/P/magpis",
    );
    o.tile_width = 64;
    o.frame = hipsforge::wcs::Frame::Galactic;
    build(&o).unwrap();
    let bytes = std::fs::read(dir.path().join("Moc.fits")).unwrap();
    assert!(String::from_utf8_lossy(&bytes[..5760]).contains("COORDSYS= 'C'"));
    let moc = Coverage::from_fits(std::io::Cursor::new(bytes)).unwrap();
    // Input pixels (galactic WCS) converted to ICRS all fall in the MOC.
    let (hdus, _) = list_image_hdus(&input, &HduSelection::FirstImage).unwrap();
    let wcs = hipsforge::wcs::Wcs::from_header(&hdus[0].header).unwrap();
    let to_icrs = hipsforge::wcs::frame::Rotation::between(
        hipsforge::wcs::Frame::Galactic,
        hipsforge::wcs::Frame::Equatorial,
    );
    for (x, y) in [
        (5.0, 5.0),
        (150.0, 150.0),
        (295.0, 20.0),
        (20.0, 295.0),
        (295.0, 295.0),
    ] {
        let v = to_icrs.apply(wcs.pixel_to_xyz(x, y).unwrap());
        let (ra, dec) = hipsforge::wcs::frame::xyz_to_lonlat(v);
        assert!(
            moc.intersects_cell(moc.depth(), cdshealpix::nested::hash(moc.depth(), ra, dec)),
            "pixel ({x}, {y})"
        );
    }
    // A point 1° away is not.
    let (ra, dec) = (272.2f64.to_radians() + 0.05, (-18.8f64).to_radians());
    assert!(!moc.intersects_cell(moc.depth(), cdshealpix::nested::hash(moc.depth(), ra, dec)));
    let errors: Vec<_> = hipsforge::lint::lint(dir.path())
        .into_iter()
        .filter(|f| f.level == hipsforge::lint::Level::Error)
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
}
