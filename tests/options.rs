//! The build, serve and cutout options end to end, each checked by the values it changes
//! (pixels, header cards, properties lines, HTTP headers), not only by the exit status.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{get, hipsforge_ok as run, request, SynthImage};
use hipsforge::hips::layout::tile_path;
use hipsforge::reader::{HipsDir, PixelReader};

/// `hipsforge build INPUT --out OUT --id ivo://test/P/NAME --tile-width 64 -q EXTRA...`.
fn build(input: &Path, out: &Path, extra: &[&str]) -> HipsDir {
    let mut args = common::build_args(input, out, &["-q"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    run(&args.iter().map(String::as_str).collect::<Vec<_>>());
    HipsDir::open(out).unwrap()
}

/// A 1″ TAN image `east`/`north` arcsec from the scene centre.
fn patch(width: usize, height: usize, east: f64, north: f64) -> SynthImage {
    let (ra, dec) = common::SCENE_CENTRE;
    SynthImage {
        width,
        height,
        crval: common::offset(ra, dec, east, north),
        cd: common::rotated_cd(1.0, 0.0),
    }
}

/// Every value of every tile of `order`.
fn values(hips: &HipsDir, order: u8) -> Vec<f32> {
    hips.tiles(order, "fits")
        .unwrap()
        .into_iter()
        .flat_map(|t| hips.read_tile(order, t).unwrap().unwrap())
        .collect()
}

/// The HiPS value (bilinear between HiPS pixels) `east`/`north` arcsec from the scene centre.
fn value_at(hips: &HipsDir, east: f64, north: f64) -> f32 {
    let (ra, dec) = common::SCENE_CENTRE;
    let (ra, dec) = common::offset(ra, dec, east, north);
    PixelReader::new(hips, hips.order)
        .bilinear(ra.to_radians(), dec.to_radians())
        .unwrap()
}

/// The value of header card `key` in the first 2880-byte blocks of a FITS file.
fn card(path: &Path, key: &str) -> Option<String> {
    let bytes = std::fs::read(path).unwrap();
    bytes[..bytes.len().min(4 * 2880)]
        .chunks(80)
        .map(String::from_utf8_lossy)
        .take_while(|c| !c.starts_with("END "))
        .find(|c| c.starts_with(&format!("{key:<8}=")))
        .map(|c| c[10..].split('/').next().unwrap().trim().to_string())
}

#[test]
fn coadd_first_and_fading_in_an_overlap() {
    let dir = tempfile::tempdir().unwrap();
    // Image 0 (value 10) spans −90″..30″ east, image 1 (value 30) −30″..90″: overlap −30″..30″.
    let inputs = dir.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    for (i, (east, value)) in [(-30.0, 10.0f32), (30.0, 30.0)].into_iter().enumerate() {
        patch(120, 120, east, 0.0)
            .write_mapped(&inputs.join(format!("img{i}.fits")), &[], |_| value);
    }
    let mean = build(&inputs, &dir.path().join("mean"), &[]);
    let first = build(&inputs, &dir.path().join("first"), &["--coadd", "first"]);
    let fading = build(&inputs, &dir.path().join("fading"), &["--coadd", "fading"]);
    for hips in [&mean, &first, &fading] {
        // Outside the overlap every mode gives the one image's value.
        assert!((value_at(hips, -70.0, 0.0) - 10.0).abs() < 1e-4);
        assert!((value_at(hips, 70.0, 0.0) - 30.0).abs() < 1e-4);
    }
    for east in [-20.0, 0.0, 20.0] {
        assert!(
            (value_at(&mean, east, 0.0) - 20.0).abs() < 1e-3,
            "mean {east}"
        );
        assert!(
            (value_at(&first, east, 0.0) - 10.0).abs() < 1e-4,
            "first {east}"
        );
    }
    // Fading weights are the distances to each image's nearest edge: at 20″ west of the
    // centre line image 0 is 50″ from its edge and image 1 10″, so (10·50 + 30·10)/60 = 13.3;
    // mirrored at 20″ east 26.7; on the centre line, equal weights: 20.
    for (east, want) in [(-20.0, 13.333), (0.0, 20.0), (20.0, 26.667)] {
        let v = value_at(&fading, east, 0.0);
        assert!(
            (v - want).abs() < 0.7,
            "fading at {east}″: {v}, want {want}"
        );
    }
}

/// Checks every pixel of every tile at `order − 1` against `reduce` of its four children.
fn check_tree(hips: &HipsDir, mut reduce: impl FnMut(&mut Vec<f32>) -> f32) -> usize {
    let (k, bits) = (hips.order, hips.width.trailing_zeros() as u64);
    let mut parents = PixelReader::new(hips, k - 1);
    let mut children = PixelReader::new(hips, k);
    let mut checked = 0;
    for tile in hips.tiles(k - 1, "fits").unwrap() {
        for sub in 0..1u64 << (2 * bits) {
            let q = (tile << (2 * bits)) | sub;
            // Children in storage order: the 2×2 block's first row holds x = 1 (nested 1, 3).
            let mut kids: Vec<f32> = [1, 3, 0, 2]
                .iter()
                .map(|i| children.pixel(4 * q + i).unwrap())
                .filter(|v| !v.is_nan())
                .collect();
            let parent = parents.pixel(q).unwrap();
            if kids.is_empty() {
                assert!(
                    parent.is_nan(),
                    "{tile}/{sub}: blank children, parent {parent}"
                );
                continue;
            }
            let want = reduce(&mut kids);
            assert_eq!(parent, want, "tile {tile} pixel {sub}");
            checked += 1;
        }
    }
    checked
}

#[test]
fn tree_median_and_first_make_parents_from_children() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = common::write_scene_inputs(dir.path(), &common::two_image_scene());
    let median = build(&inputs, &dir.path().join("median"), &["--tree", "median"]);
    let mut differs_from_mean = 0;
    let n = check_tree(&median, |v| {
        let mean = v.iter().map(|&x| x as f64).sum::<f64>() / v.len() as f64;
        v.sort_by(|a, b| a.total_cmp(b));
        let m = if v.len() % 2 == 1 {
            v[v.len() / 2]
        } else {
            (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
        };
        differs_from_mean += ((m as f64 - mean).abs() > 1e-3) as usize;
        m
    });
    assert!(
        n > 10_000 && differs_from_mean > 500,
        "{n} pixels, {differs_from_mean} ≠ mean"
    );
    let first = build(&inputs, &dir.path().join("first"), &["--tree", "first"]);
    assert!(check_tree(&first, |v| v[0]) > 10_000);
    let props = std::fs::read_to_string(first.root.join("properties")).unwrap();
    assert!(props.contains("treeFirst"), "{props}");
}

#[test]
fn integer_bitpix_round_trips_within_the_quantisation_step() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = common::write_scene_inputs(dir.path(), &common::two_image_scene());
    let reference = build(&inputs, &dir.path().join("float"), &[]);
    let k = reference.order;
    let tiles = reference.tiles(k, "fits").unwrap();
    for bitpix in ["8", "32", "64"] {
        let hips = build(
            &inputs,
            &dir.path().join(format!("b{bitpix}")),
            &["--bitpix", bitpix],
        );
        assert_eq!(hips.tiles(k, "fits").unwrap(), tiles);
        let path = tile_path(&hips.root, k, tiles[0], "fits");
        assert_eq!(card(&path, "BITPIX").as_deref(), Some(bitpix));
        let bscale: f64 = card(&path, "BSCALE").unwrap().parse().unwrap();
        let bzero: f64 = card(&path, "BZERO").unwrap().parse().unwrap();
        assert!(
            bscale > 0.0 && bzero.is_finite(),
            "BSCALE {bscale} BZERO {bzero}"
        );
        if bitpix == "8" {
            // 254 or 255 steps over the data range (about 100..1100 with the stars).
            assert!(bscale > 1.0 && bscale < 10.0, "BSCALE {bscale}");
        }
        let mut compared = 0;
        for &t in &tiles {
            let a = reference.read_tile(k, t).unwrap().unwrap();
            let b = hips.read_tile(k, t).unwrap().unwrap();
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x.is_nan(), y.is_nan(), "BITPIX {bitpix} tile {t}");
                if x.is_finite() {
                    let tol = bscale * 0.501 + 1e-6 * x.abs() as f64;
                    assert!(((x - y) as f64).abs() <= tol, "BITPIX {bitpix}: {x} vs {y}");
                    compared += 1;
                }
            }
        }
        assert!(compared > 20_000, "{compared}");
    }
}

/// The first scene image alone, with `edit` applied to its pixel array (row-major, FITS
/// row 1 first), in `dir/name/img.fits`; returns the directory and the image's pixels.
fn single_image(dir: &Path, name: &str, edit: impl Fn(&mut [f32], usize)) -> (PathBuf, Vec<f32>) {
    let scene = common::two_image_scene();
    let im = &scene.images[0];
    let mut pixels = im.pixels(&scene.stars);
    edit(&mut pixels, im.width);
    let inputs = dir.join(name);
    std::fs::create_dir(&inputs).unwrap();
    im.write_pixels(&inputs.join("img.fits"), &pixels);
    (inputs, pixels)
}

#[test]
fn nearest_interpolation_gives_input_values_only() {
    let dir = tempfile::tempdir().unwrap();
    let (inputs, pixels) = single_image(dir.path(), "in", |_, _| {});
    let input: HashSet<u32> = pixels.iter().map(|v| v.to_bits()).collect();
    let nearest = build(
        &inputs,
        &dir.path().join("nearest"),
        &["--interpolation", "nearest"],
    );
    let v = values(&nearest, nearest.order);
    let finite: Vec<&f32> = v.iter().filter(|v| v.is_finite()).collect();
    assert!(finite.len() > 40_000);
    let foreign = finite
        .iter()
        .filter(|v| !input.contains(&v.to_bits()))
        .count();
    assert_eq!(foreign, 0, "values that are no input pixel value");
    // Bilinear on the same input mixes pixels (so this check can tell the two apart).
    let bilinear = build(&inputs, &dir.path().join("bilinear"), &[]);
    let v = values(&bilinear, bilinear.order);
    let mixed = v
        .iter()
        .filter(|v| v.is_finite() && !input.contains(&v.to_bits()))
        .count();
    assert!(mixed > 10_000, "{mixed}");
}

#[test]
fn border_pixels_and_blank_values_do_not_contribute() {
    let dir = tempfile::tempdir().unwrap();
    // The 3 outer pixels of the image hold 1e6.
    let (framed, _) = single_image(dir.path(), "framed", |p, w| {
        let h = p.len() / w;
        for (k, v) in p.iter_mut().enumerate() {
            let (x, y) = (k % w, k / w);
            if x < 3 || y < 3 || x >= w - 3 || y >= h - 3 {
                *v = 1e6;
            }
        }
    });
    let all = |hips: &HipsDir| -> Vec<f32> {
        hips.orders()
            .unwrap()
            .into_iter()
            .flat_map(|k| values(hips, k))
            .collect()
    };
    let with = build(&framed, &dir.path().join("border3"), &["--border", "3"]);
    let v = all(&with);
    let max = v
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(f32::MIN, f32::max);
    assert!(max < 2000.0, "a border pixel leaked: {max}");
    assert!(v.iter().filter(|v| v.is_finite()).count() > 40_000);
    let without = build(&framed, &dir.path().join("border0"), &[]);
    assert!(values(&without, without.order).iter().any(|&v| v > 5e5));

    // A 20×20 block of −999 in the middle of the image.
    let (holed, _) = single_image(dir.path(), "holed", |p, w| {
        for y in 110..130 {
            p[y * w + 110..y * w + 130].fill(-999.0);
        }
    });
    let with = build(&holed, &dir.path().join("blank"), &["--blank=-999"]);
    let v = all(&with);
    assert!(
        v.iter().all(|&v| v.is_nan() || v > 0.0),
        "−999 kept as a value"
    );
    // The block's centre (pixel 120.5, 120.5 is the image centre: the scene centre) is blank,
    // 40″ away the sky is there.
    assert!(value_at(&with, 0.0, 0.0).is_nan());
    assert!((value_at(&with, 0.0, 40.0) - 100.0).abs() < 20.0);
    let without = build(&holed, &dir.path().join("noblank"), &[]);
    assert!((value_at(&without, 0.0, 0.0) + 999.0).abs() < 1e-3);
}

#[test]
fn min_order_preset_and_prop_reach_tiles_and_properties() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = common::write_scene_inputs(dir.path(), &common::two_image_scene());
    let hips = build(
        &inputs,
        &dir.path().join("h"),
        &[
            "--min-order",
            "5",
            "--preset",
            "first",
            "--prop",
            "obs_ack=thanks to the tests",
        ],
    );
    let orders = hips.orders().unwrap();
    assert_eq!(orders.first(), Some(&5), "{orders:?}");
    for k in 0..5 {
        assert!(
            !hips.root.join(format!("Norder{k}")).exists(),
            "Norder{k} written"
        );
    }
    assert!(!hips.tiles(5, "fits").unwrap().is_empty());
    let p = &hips.properties;
    assert_eq!(p.get("hips_order_min"), Some("5"));
    // The FIRST preset's keywords (properties/first.properties).
    for (key, value) in [
        ("obs_collection", "FIRST"),
        ("obs_regime", "Radio"),
        ("em_min", "0.2127"),
        ("bib_reference", "1995ApJ...450..559B"),
    ] {
        assert_eq!(p.get(key), Some(value), "{key}");
    }
    assert_eq!(p.get("obs_ack"), Some("thanks to the tests"));
    assert!(std::fs::read_to_string(hips.root.join("properties"))
        .unwrap()
        .lines()
        .any(|l| l.starts_with("obs_ack") && l.ends_with("= thanks to the tests")));
}

/// Grey level of `v` through a linear cut, computed here.
fn linear_grey(v: f32, low: f64, high: f64) -> u8 {
    ((((v as f64) - low) / (high - low)).clamp(0.0, 1.0) * 255.0).round() as u8
}

#[test]
fn rgb_subcommand_maps_each_band_through_its_cut() {
    let dir = tempfile::tempdir().unwrap();
    let scene = common::two_image_scene();
    // Three bands of the same sky, with different values: v, 3v − 100, v + 50.
    let maps: [fn(f32) -> f32; 3] = [|v| v, |v| 3.0 * v - 100.0, |v| v + 50.0];
    let cuts = [(90.0, 150.0), (200.0, 400.0), (100.0, 200.0)];
    let bands: Vec<HipsDir> = maps
        .iter()
        .enumerate()
        .map(|(i, map)| {
            let inputs =
                common::write_scene_images(&dir.path().join(format!("in{i}")), &scene, |_, v| {
                    map(v)
                });
            build(&inputs, &dir.path().join(format!("band{i}")), &[])
        })
        .collect();
    let out = dir.path().join("rgb");
    let cut = |i: usize| format!("{} {}", cuts[i].0, cuts[i].1);
    run(&[
        "rgb",
        "--red",
        bands[0].root.to_str().unwrap(),
        "--green",
        bands[1].root.to_str().unwrap(),
        "--blue",
        bands[2].root.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--id",
        "ivo://test/P/rgb",
        "--format",
        "png",
        "--red-cut",
        &cut(0),
        "--green-cut",
        &cut(1),
        "--blue-cut",
        &cut(2),
    ]);
    let rgb = HipsDir::open(&out).unwrap();
    assert_eq!(rgb.properties.get("dataproduct_subtype"), Some("color"));
    assert_eq!(rgb.properties.get("hips_tile_format"), Some("png"));
    let k = bands[0].order;
    let mut compared = 0;
    for npix in bands[0].tiles(k, "fits").unwrap() {
        let png = image::open(tile_path(&out, k, npix, "png"))
            .unwrap()
            .to_rgba8();
        let fits: Vec<Vec<f32>> = bands
            .iter()
            .map(|b| b.read_tile(k, npix).unwrap().unwrap())
            .collect();
        for (i, px) in png.pixels().enumerate() {
            let at = (63 - i / 64) * 64 + i % 64;
            if fits[0][at].is_nan() {
                assert_eq!(px.0[3], 0);
                continue;
            }
            for ch in 0..3 {
                let want = linear_grey(fits[ch][at], cuts[ch].0, cuts[ch].1);
                assert_eq!(px.0[ch], want, "tile {npix} pixel {i} channel {ch}");
            }
            compared += 1;
        }
    }
    assert!(compared > 20_000, "{compared}");
}

/// Builds the scene (FITS + PNG) into `dir/scene` and serves it with `cors` and `base`.
fn serve_scene(
    dir: &Path,
    cors: Option<&str>,
    base: Option<&str>,
) -> (std::net::SocketAddr, HipsDir) {
    let inputs = common::write_scene_inputs(dir, &common::two_image_scene());
    let hips = build(&inputs, &dir.join("scene"), &["--format", "fits,png"]);
    let app = hipsforge::serve::router(&hipsforge::serve::ServeOptions {
        mounts: vec![("scene".into(), hips.root.clone())],
        base_url: base.map(str::to_string),
        cors_origin: cors.map(str::to_string),
        ..Default::default()
    })
    .unwrap();
    (common::start_server(app), hips)
}

/// A brotli stream (RFC 7932) holding `data` in one uncompressed meta-block (< 64 KiB).
fn brotli_stored(data: &[u8]) -> Vec<u8> {
    assert!(!data.is_empty() && data.len() <= 1 << 16);
    // WBITS = 16 (bit 0), ISLAST = 0, MNIBBLES = 4 (0b00), MLEN − 1 (16 bits), ISUNCOMPRESSED.
    let header: u32 = (((data.len() - 1) as u32) << 4) | (1 << 20);
    let mut out = header.to_le_bytes()[..3].to_vec();
    out.extend_from_slice(data);
    out.push(0b11); // ISLAST, ISLASTEMPTY
    out
}

#[test]
fn server_sends_precompressed_siblings_base_url_and_cors_origins() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, hips) = serve_scene(
        dir.path(),
        Some("https://allowed.example.org"),
        Some("https://hips.example.org/data"),
    );
    let npix = hips.tiles(hips.order, "fits").unwrap()[0];
    let tile = tile_path(&hips.root, hips.order, npix, "fits");
    let target = format!(
        "/scene/{}",
        tile.strip_prefix(&hips.root).unwrap().display()
    );
    let raw = std::fs::read(&tile).unwrap();
    // A .gz sibling (made at level 1, so it differs from what the server would make) is sent
    // as it is, and inflates to the tile.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &raw).unwrap();
    let gz = gz.finish().unwrap();
    let mut sibling = tile.as_os_str().to_owned();
    sibling.push(".gz");
    std::fs::write(&sibling, &gz).unwrap();
    let r = request(addr, "GET", &target, &["Accept-Encoding: gzip"]);
    assert_eq!(
        (r.status, r.header("content-encoding")),
        (200, Some("gzip"))
    );
    assert_eq!(r.header("content-type"), Some("application/fits"));
    assert_eq!(r.body, gz, "the .gz sibling was not sent");
    let mut inflated = Vec::new();
    std::io::Read::read_to_end(
        &mut flate2::read::GzDecoder::new(&r.body[..]),
        &mut inflated,
    )
    .unwrap();
    assert_eq!(inflated, raw);
    // A .br sibling, for a client asking for br only.
    let br = brotli_stored(&raw);
    let mut sibling = tile.as_os_str().to_owned();
    sibling.push(".br");
    std::fs::write(&sibling, &br).unwrap();
    let r = request(addr, "GET", &target, &["Accept-Encoding: br"]);
    assert_eq!((r.status, r.header("content-encoding")), (200, Some("br")));
    assert_eq!(r.body, br, "the .br sibling was not sent");
    assert_eq!(&r.body[3..3 + raw.len()], &raw[..], "decoded bytes");
    // Without Accept-Encoding: the tile itself.
    let r = get(addr, &target);
    assert_eq!(r.header("content-encoding"), None);
    assert_eq!(r.body, raw);

    // hipslist: hips_service_url under --base-url.
    let list = String::from_utf8(get(addr, "/hipslist").body).unwrap();
    assert!(
        list.lines().any(|l| l.starts_with("hips_service_url")
            && l.ends_with("= https://hips.example.org/data/scene")),
        "{list}"
    );
    // CORS: the allowed origin is echoed, another gets no Access-Control-Allow-Origin.
    let r = request(
        addr,
        "GET",
        "/scene/properties",
        &["Origin: https://allowed.example.org"],
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://allowed.example.org")
    );
    let r = request(
        addr,
        "GET",
        "/scene/properties",
        &["Origin: https://other.example.org"],
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
    let r = request(
        addr,
        "OPTIONS",
        "/scene/properties",
        &[
            "Origin: https://other.example.org",
            "Access-Control-Request-Method: GET",
        ],
    );
    assert_eq!(r.header("access-control-allow-origin"), None);
}

#[test]
fn hips2fits_galactic_grid_and_inverse_images() {
    use hipsforge::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
    use hipsforge::wcs::frame::Rotation;
    use hipsforge::wcs::Frame;
    let dir = tempfile::tempdir().unwrap();
    let (addr, hips) = serve_scene(dir.path(), None, None);
    let (ra, dec) = common::SCENE_CENTRE;
    let (l, b) = Rotation::between(Frame::Equatorial, Frame::Galactic)
        .apply_lonlat(ra.to_radians(), dec.to_radians());
    let (l, b) = (l.to_degrees().rem_euclid(360.0), b.to_degrees());
    let q = format!(
        "/hips-image-services/hips2fits?hips=scene&width=40&height=30&fov=0.05&ra={l}&dec={b}&coordsys=galactic"
    );
    let r = get(addr, &q);
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let fits = dir.path().join("gal.fits");
    std::fs::write(&fits, &r.body).unwrap();
    assert_eq!(card(&fits, "CTYPE1").as_deref(), Some("'GLON-TAN'"));
    assert_eq!(card(&fits, "CTYPE2").as_deref(), Some("'GLAT-TAN'"));
    let (hdus, _) = hipsforge::fits::list_image_hdus(&fits, &Default::default()).unwrap();
    let served = hipsforge::fits::read_pixels(&hdus[0]).unwrap();
    let grid = Grid::from_spec(&GridSpec {
        lon: l,
        lat: b,
        width: 40,
        height: 30,
        scale_deg: 0.05 / 40.0,
        projection: "TAN".into(),
        rotation_deg: 0.0,
        frame: Frame::Galactic,
    })
    .unwrap();
    let ours = cutout(
        &TileStore::new(16 << 20),
        &Survey::open(&hips.root, 0).unwrap(),
        &grid,
        Kernel::Bilinear,
        None,
    )
    .unwrap();
    assert_eq!(served.len(), ours.len());
    assert!(served
        .iter()
        .zip(&ours)
        .all(|(a, b)| a == b || (a.is_nan() && b.is_nan())));
    // The scene centre is inside: the middle pixel holds the sky model (about 100).
    assert!(
        (served[15 * 40 + 20] - 100.0).abs() < 15.0,
        "{}",
        served[15 * 40 + 20]
    );

    // inverse: every grey level is 255 − the plain one, transparency unchanged.
    let png = format!("{q}&format=png&min_cut=90&max_cut=150");
    let plain = image::load_from_memory(&get(addr, &png).body)
        .unwrap()
        .to_luma_alpha8();
    let inverse = image::load_from_memory(&get(addr, &format!("{png}&inverse=true")).body)
        .unwrap()
        .to_luma_alpha8();
    assert_eq!(plain.dimensions(), (40, 30));
    let mut opaque = 0;
    let mut levels = HashSet::new();
    for (a, b) in plain.pixels().zip(inverse.pixels()) {
        assert_eq!(a.0[1], b.0[1]);
        if a.0[1] == 255 {
            assert_eq!(a.0[0], 255 - b.0[0]);
            levels.insert(a.0[0]);
            opaque += 1;
        }
    }
    assert!(
        opaque > 1000 && levels.len() > 5,
        "{opaque} opaque, {} levels",
        levels.len()
    );
}

#[test]
fn cutout_restart_starts_over() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = common::write_scene_inputs(dir.path(), &common::two_image_scene());
    let hips = build(&inputs, &dir.path().join("hips"), &[]);
    let pos = common::scene_positions(dir.path(), 150_000);
    let args = |out: &Path, extra: &[&str]| common::cutout_args(&hips.root, &pos, out, extra);
    let out = dir.path().join("big.npy");
    let mut child = Command::new(common::binary())
        .args(args(&out, &[]))
        .spawn()
        .unwrap();
    let progress = dir.path().join("big.npy.progress");
    common::interrupt_after_first_chunk(&mut child, &progress);
    // Spoil what the interrupted run wrote: a resumed run would keep its done chunks as they
    // are, a restarted one rewrites every stamp.
    let mut spoiled = std::fs::read(&out).unwrap();
    let header = 10 + u16::from_le_bytes([spoiled[8], spoiled[9]]) as usize;
    spoiled[header..].fill(0);
    std::fs::write(&out, &spoiled).unwrap();
    let args_restart = args(&out, &["--restart"]);
    let args_restart: Vec<&str> = args_restart.iter().map(String::as_str).collect();
    let err = run(&args_restart);
    assert!(!err.contains("from an earlier run"), "{err}");
    assert!(!progress.exists());
    let clean = dir.path().join("clean.npy");
    let args_clean = args(&clean, &[]);
    run(&args_clean.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        std::fs::read(&out).unwrap() == std::fs::read(&clean).unwrap(),
        "restarted stack differs"
    );
}

#[test]
fn allsky_aitoff_preview_is_the_whole_sky() {
    let dir = tempfile::tempdir().unwrap();
    let input = common::shared_data().join("allsky/ROSAT_allsky_AIT.fits");
    let hips = build(&input, &dir.path().join("rosat"), &["--format", "png"]);
    let preview = image::open(hips.root.join("preview.jpg"))
        .unwrap()
        .to_rgb8();
    assert_eq!(preview.dimensions(), (256, 128));
    let centre = preview.get_pixel(128, 64).0;
    assert!(centre.iter().any(|&c| c > 20), "black centre {centre:?}");
    // Outside the Aitoff ellipse (the corners) is black.
    for (x, y) in [(2, 2), (253, 2), (2, 125), (253, 125)] {
        assert!(
            preview.get_pixel(x, y).0.iter().all(|&c| c < 20),
            "corner ({x}, {y})"
        );
    }
}

/// `--blank -999` (a negative value as its own argument, as the README writes `--blank V`).
#[test]
fn blank_takes_a_negative_value_as_its_own_argument() {
    let dir = tempfile::tempdir().unwrap();
    let (holed, _) = single_image(dir.path(), "holed", |p, w| p[120 * w + 120] = -999.0);
    let hips = build(&holed, &dir.path().join("blank"), &["--blank", "-999"]);
    assert!(values(&hips, hips.order)
        .iter()
        .all(|&v| v.is_nan() || v > 0.0));
}
