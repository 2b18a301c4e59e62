//! The progenitor index (`HpxFinder/`, `--fitskey`) and `GET /<hips>/progenitors`: real SDSS
//! frames against astropy's tiles and header values, synthetic overlapping images against
//! their own WCS sampled densely, and the server answering for points inside one image,
//! inside an overlap and outside all, and refusing bad positions.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use hipsforge::builder::{build, BuildOptions};
use hipsforge::fits::write::{encode_image, Card, CardValue, Encoding};
use hipsforge::serve::{router, ServeOptions};

/// Every index tile file at `order` under `hips`: tile → the JSON objects of its lines.
fn index_files(hips: &Path, order: u8) -> BTreeMap<u64, Vec<serde_json::Value>> {
    let mut out = BTreeMap::new();
    let root = hips.join(format!("HpxFinder/Norder{order}"));
    // DirD/ subdirectories; Norder3 also holds the Allsky file.
    let dirs = std::fs::read_dir(&root).unwrap().map(|d| d.unwrap().path());
    for dir in dirs.filter(|d| d.is_dir()) {
        for file in std::fs::read_dir(dir).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let npix: u64 = name.strip_prefix("Npix").unwrap().parse().unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let lines = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            out.insert(npix, lines);
        }
    }
    out
}

/// The max-order FITS tiles of the HiPS.
fn fits_tiles(hips: &Path, order: u8) -> BTreeSet<u64> {
    hipsforge::reader::tiles_in(hips, order, "fits")
        .unwrap()
        .into_iter()
        .collect()
}

fn field<'a>(entry: &'a serde_json::Value, key: &str) -> &'a str {
    entry[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {entry}"))
}

#[test]
fn sdss_frames_are_indexed_with_their_header_values() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/progenitor_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let order = reference["order"].as_u64().unwrap() as u8;
    let sdss = common::shared_data().join("sdss");
    let frames = reference["frames"].as_array().unwrap();
    let inputs: Vec<PathBuf> = frames
        .iter()
        .map(|f| sdss.join(f["file"].as_str().unwrap()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sdss");
    let mut o = BuildOptions::new(inputs, out.clone(), "ivo://test/P/sdss-gri");
    o.order = Some(order);
    o.tile_width = 64;
    o.fitskeys = vec!["DATE-OBS".into(), "FILTER".into(), "EXPTIME".into()];
    let report = build(&o).unwrap();

    // astropy: tile → the frames whose samples land in it.
    let mut expected: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
    for f in frames {
        for t in f["tiles"].as_array().unwrap() {
            let file = f["file"].as_str().unwrap();
            expected
                .entry(t.as_u64().unwrap())
                .or_default()
                .insert(file.to_string());
        }
    }
    let index = index_files(&out, order);
    assert_eq!(
        index.keys().copied().collect::<BTreeSet<_>>(),
        fits_tiles(&out, order),
        "one index file per max-order tile"
    );
    let listed: BTreeMap<u64, BTreeSet<String>> = index
        .iter()
        .map(|(&t, lines)| {
            let names = lines.iter().map(|l| field(l, "path").to_string()).collect();
            (t, names)
        })
        .collect();
    assert_eq!(listed, expected, "tiles of each frame (astropy)");
    // The report counts the lines of every order (DETAILS included).
    let all_lines: usize = (3..=order)
        .map(|k| index_files(&out, k).values().map(Vec::len).sum::<usize>())
        .sum();
    assert_eq!(report.progenitors.entries, all_lines);
    assert!(
        all_lines > expected.values().map(BTreeSet::len).sum::<usize>(),
        "coarser orders add lines"
    );
    for lines in index.values() {
        for l in lines {
            let f = frames
                .iter()
                .find(|f| f["file"].as_str() == Some(field(l, "path")))
                .unwrap();
            for key in ["DATE-OBS", "FILTER", "EXPTIME"] {
                assert_eq!(field(l, key), f["keys"][key].as_str().unwrap(), "{key}");
            }
            assert_eq!(field(l, "hdu"), "0");
            let stem = field(l, "path").trim_end_matches(".bz2");
            assert_eq!(field(l, "name"), stem);
        }
    }
    // The index's own files, as Hipsgen writes them.
    let props = std::fs::read_to_string(out.join("HpxFinder/properties")).unwrap();
    for line in [
        "creator_did           = ivo://test/P/sdss-gri/meta",
        "dataproduct_type      = meta",
        &format!("hips_order            = {order}"),
        "hips_frame            = equatorial",
    ] {
        assert!(props.contains(line), "{line} in\n{props}");
    }
    let moc = hipsforge::hips::moc::Coverage::from_fits(std::io::BufReader::new(
        std::fs::File::open(out.join("HpxFinder/Moc.fits")).unwrap(),
    ))
    .unwrap();
    let in_moc: BTreeSet<u64> = moc.cells_at(order).collect();
    assert_eq!(in_moc, expected.keys().copied().collect());
    let xml = std::fs::read_to_string(out.join("HpxFinder/metadata.xml")).unwrap();
    assert!(xml.contains("<TD>$[FILTER]</TD>"));
}

#[test]
fn an_extension_hdu_takes_its_fitskeys_from_the_primary_header() {
    let reference: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/progenitor_reference.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mef = &reference["mef"];
    let order = mef["order"].as_u64().unwrap() as u8;
    let file = mef["file"].as_str().unwrap();
    let keys: Vec<(&String, &serde_json::Value)> =
        mef["keys"].as_object().unwrap().iter().collect();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("ukidss");
    let mut o = BuildOptions::new(
        vec![common::shared_data().join("ukidss").join(file)],
        out.clone(),
        "ivo://test/P/ukidss",
    );
    o.order = Some(order);
    o.tile_width = 64;
    o.fitskeys = keys.iter().map(|(k, _)| k.to_string()).collect();
    build(&o).unwrap();
    let index = index_files(&out, order);
    let expected: BTreeSet<u64> = mef["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_u64().unwrap())
        .collect();
    assert_eq!(index.keys().copied().collect::<BTreeSet<_>>(), expected);
    for lines in index.values() {
        assert_eq!(lines.len(), 1);
        let l = &lines[0];
        assert_eq!(field(l, "hdu"), "1");
        assert_eq!(field(l, "path"), file);
        assert_eq!(field(l, "name"), "UKIDSS_GCS_K_M1_cutout[1]");
        for (k, v) in &keys {
            assert_eq!(field(l, k), v.as_str().unwrap(), "{k}");
        }
    }
}

/// Three overlapping 1″ TAN images with DATE-OBS, FILTER and EXPTIME cards.
struct Field {
    images: Vec<common::SynthImage>,
    keys: Vec<[(&'static str, String); 3]>,
}

fn three_images(inputs: &Path) -> Field {
    let (ra0, dec0) = common::SCENE_CENTRE;
    let images = vec![
        common::SynthImage {
            width: 240,
            height: 240,
            crval: (ra0, dec0),
            cd: common::rotated_cd(1.0, 0.0),
        },
        common::SynthImage {
            width: 240,
            height: 200,
            crval: common::offset(ra0, dec0, 170.0, 20.0),
            cd: common::rotated_cd(1.0, 25.0),
        },
        common::SynthImage {
            width: 200,
            height: 260,
            crval: common::offset(ra0, dec0, 60.0, 190.0),
            cd: common::rotated_cd(1.1, -10.0),
        },
    ];
    std::fs::create_dir_all(inputs).unwrap();
    let mut keys = Vec::new();
    for (i, im) in images.iter().enumerate() {
        let k = [
            ("DATE-OBS", format!("2024-03-0{}T01:02:03", i + 1)),
            ("FILTER", ["g", "r", "i"][i].to_string()),
            ("EXPTIME", format!("{:.1}", 30.5 + 15.0 * i as f64)),
        ];
        let mut cards = im.cards();
        cards.push(Card::new("DATE-OBS", CardValue::Str(k[0].1.clone()), ""));
        cards.push(Card::new("FILTER", CardValue::Str(k[1].1.clone()), ""));
        cards.push(Card::new(
            "EXPTIME",
            CardValue::Float(k[2].1.parse().unwrap()),
            "",
        ));
        let pixels = im.pixels(&[]);
        let bytes = encode_image(im.width, im.height, &pixels, Encoding::float32(), &cards);
        let sub = inputs.join(["a", "a", "b"][i]);
        std::fs::create_dir_all(&sub).unwrap();
        std::fs::write(sub.join(format!("img{i}.fits")), bytes).unwrap();
        keys.push(k);
    }
    Field { images, keys }
}

const PATHS: [&str; 3] = ["a/img0.fits", "a/img1.fits", "b/img2.fits"];

/// Tiles at `order` holding a sample of `im`: every 0.25 px along its pixel edges and every
/// 4 px inside, placed by its own WCS and hashed by cdshealpix.
fn sampled_tiles(im: &common::SynthImage, order: u8) -> BTreeSet<u64> {
    let wcs = im.wcs();
    let (w, h) = (im.width as f64, im.height as f64);
    let mut points = Vec::new();
    let steps =
        |len: f64, step: f64| (0..=((len / step) as usize)).map(move |k| 0.5 + k as f64 * step);
    for x in steps(w, 0.25) {
        points.extend([(x, 0.5), (x, h + 0.5)]);
    }
    for y in steps(h, 0.25) {
        points.extend([(0.5, y), (w + 0.5, y)]);
    }
    for x in steps(w, 4.0) {
        points.extend(steps(h, 4.0).map(|y| (x, y)));
    }
    points
        .into_iter()
        .map(|(x, y)| {
            let (ra, dec) = wcs.pixel_to_world(x, y).unwrap();
            cdshealpix::nested::hash(order, ra.to_radians(), dec.to_radians())
        })
        .collect()
}

/// Whether (ra, dec) lies inside `im`, at least `margin` pixels from its edges.
fn inside(im: &common::SynthImage, (ra, dec): (f64, f64), margin: f64) -> bool {
    let (x, y) = im.wcs().world_to_pixel(ra, dec).unwrap();
    x > 0.5 + margin
        && y > 0.5 + margin
        && x < im.width as f64 + 0.5 - margin
        && y < im.height as f64 + 0.5 - margin
}

#[test]
fn overlapping_images_are_listed_in_exactly_the_tiles_they_touch_and_served() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    let scene = three_images(&inputs);
    let out = dir.path().join("field");
    let order = 11;
    let mut o = BuildOptions::new(vec![inputs.clone()], out.clone(), "ivo://test/P/field");
    o.order = Some(order);
    o.tile_width = 64;
    o.fitskeys = vec!["FILTER".into(), "EXPTIME".into(), "DATE-OBS".into()];
    build(&o).unwrap();

    let index = index_files(&out, order);
    let tiles = fits_tiles(&out, order);
    assert_eq!(index.keys().copied().collect::<BTreeSet<_>>(), tiles);
    let sampled: Vec<BTreeSet<u64>> = scene
        .images
        .iter()
        .map(|im| sampled_tiles(im, order))
        .collect();
    let mut overlaps = 0;
    for (&t, lines) in &index {
        let listed: BTreeSet<&str> = lines.iter().map(|l| field(l, "path")).collect();
        let expected: BTreeSet<&str> = (0..3)
            .filter(|&i| sampled[i].contains(&t))
            .map(|i| PATHS[i])
            .collect();
        assert_eq!(listed, expected, "tile {t}");
        overlaps += (listed.len() > 1) as usize;
        for l in lines {
            let i = PATHS.iter().position(|p| *p == field(l, "path")).unwrap();
            for (k, v) in &scene.keys[i] {
                assert_eq!(field(l, k), v, "{k} of image {i}");
            }
        }
    }
    assert!(overlaps >= 2, "{overlaps} tiles with overlapping images");
    assert!(index.len() >= 8, "{} tiles", index.len());
    // DETAILS: each coarser tile lists the images of its children, in input order, down to
    // order 3 and the Allsky.
    let mut children = index.clone();
    for k in (3..order).rev() {
        let parents = index_files(&out, k);
        let mut expected: BTreeMap<u64, BTreeSet<String>> = BTreeMap::new();
        for (t, lines) in &children {
            let names = lines.iter().map(|l| field(l, "path").to_string());
            expected.entry(t >> 2).or_default().extend(names);
        }
        let listed: BTreeMap<u64, BTreeSet<String>> = parents
            .iter()
            .map(|(&t, lines)| {
                (
                    t,
                    lines.iter().map(|l| field(l, "path").to_string()).collect(),
                )
            })
            .collect();
        assert_eq!(listed, expected, "order {k}");
        for lines in parents.values() {
            let paths: Vec<&str> = lines.iter().map(|l| field(l, "path")).collect();
            assert!(
                paths.windows(2).all(|w| w[0] < w[1]),
                "order {k}: {paths:?}"
            );
        }
        children = parents;
    }
    let allsky = std::fs::read_to_string(out.join("HpxFinder/Norder3/Allsky")).unwrap();
    let all: Vec<&str> = allsky
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| PATHS[PATHS.iter().position(|p| *p == field(&v, "path")).unwrap()])
        .collect();
    assert_eq!(all, PATHS);
    let props = std::fs::read_to_string(out.join("HpxFinder/properties")).unwrap();
    assert!(props.contains("hips_order_min        = 3"), "{props}");

    // The server, from the index.
    let mut none = out.clone();
    none.set_file_name("no-index");
    copy_without_index(&out, &none);
    let app = router(&ServeOptions {
        mounts: vec![("field".into(), out.clone()), ("plain".into(), none)],
        ..Default::default()
    })
    .unwrap();
    let addr = common::start_server(app);
    assert_eq!(answers_by_position(addr, "field", &scene), [1, 2, 2, 0]);

    for (q, named) in [
        ("ra=abc&dec=2", "ra"),
        ("ra=150", "dec"),
        ("ra=150&dec=95", "dec"),
        ("ra=inf&dec=0", "ra"),
        ("dec=2", "ra"),
    ] {
        let (status, body) = ask(addr, "field", q);
        assert_eq!(status, 400, "{q}: {body}");
        let d = body["description"].as_str().unwrap();
        assert!(d.starts_with(named), "{q}: {d}");
    }
    let plain = common::get(addr, "/plain/progenitors?ra=150&dec=2");
    assert_eq!(plain.status, 404);
    let body: serde_json::Value = serde_json::from_slice(&plain.body).unwrap();
    assert_eq!(body["title"], "No progenitor index");
    let unknown = common::get(addr, "/nothing/progenitors?ra=150&dec=2");
    assert_eq!(unknown.status, 404);
    assert!(serde_json::from_slice::<serde_json::Value>(&unknown.body).is_ok());
    // The index files themselves are served as static files, as Aladin Desktop reads them.
    let t = index.keys().next().unwrap();
    let dir = t / 10_000 * 10_000;
    let raw = common::get(
        addr,
        &format!("/field/HpxFinder/Norder{order}/Dir{dir}/Npix{t}"),
    );
    assert_eq!(raw.status, 200);
    assert_eq!(
        raw.body,
        std::fs::read(hipsforge::hips::hpxfinder::index_path(&out, order, *t)).unwrap()
    );
}

/// `GET /{mount}/progenitors?{q}`: status and JSON body.
fn ask(addr: std::net::SocketAddr, mount: &str, q: &str) -> (u16, serde_json::Value) {
    let reply = common::get(addr, &format!("/{mount}/progenitors?{q}"));
    let body: serde_json::Value = serde_json::from_slice(&reply.body)
        .unwrap_or_else(|_| panic!("{q}: not JSON: {:?}", String::from_utf8_lossy(&reply.body)));
    (reply.status, body)
}

/// Asks the server for points inside image 0 only, in two overlaps and outside all; checks
/// each answer against the images' own WCS (paths, HDU, --fitskey values, outline) and
/// returns how many images each point has.
fn answers_by_position(addr: std::net::SocketAddr, mount: &str, scene: &Field) -> Vec<usize> {
    let (ra0, dec0) = common::SCENE_CENTRE;
    let points = [
        (
            "inside image 0 only",
            common::offset(ra0, dec0, -80.0, -80.0),
        ),
        ("overlap of 0 and 1", common::offset(ra0, dec0, 95.0, 10.0)),
        ("overlap of 0 and 2", common::offset(ra0, dec0, 40.0, 100.0)),
        ("outside all", common::offset(ra0, dec0, -400.0, 0.0)),
    ];
    let mut counts = Vec::new();
    for (label, (ra, dec)) in points {
        let inner: Vec<usize> = (0..3)
            .filter(|&i| inside(&scene.images[i], (ra, dec), 3.0))
            .collect();
        let near_edge = (0..3).any(|i| {
            inside(&scene.images[i], (ra, dec), -3.0) && !inside(&scene.images[i], (ra, dec), 3.0)
        });
        assert!(!near_edge, "{label}: too near an edge for a clear answer");
        let (status, body) = ask(addr, mount, &format!("ra={ra}&dec={dec}"));
        assert_eq!(status, 200, "{label}: {body}");
        let found: Vec<&str> = body["progenitors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["path"].as_str().unwrap())
            .collect();
        let expected: Vec<&str> = inner.iter().map(|&i| PATHS[i]).collect();
        assert_eq!(found, expected, "{label}");
        for p in body["progenitors"].as_array().unwrap() {
            let i = PATHS
                .iter()
                .position(|x| Some(*x) == p["path"].as_str())
                .unwrap();
            assert_eq!(p["hdu"], 0);
            assert_eq!(p["fitskeys"]["FILTER"], scene.keys[i][1].1.as_str());
            assert_eq!(p["fitskeys"]["EXPTIME"], scene.keys[i][2].1.as_str());
            assert_eq!(p["footprint"].as_array().unwrap().len(), 16);
        }
        counts.push(found.len());
    }
    counts
}

/// A copy of the HiPS's top-level files (properties, Moc.fits) without HpxFinder/.
fn copy_without_index(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in ["properties", "Moc.fits"] {
        std::fs::copy(from.join(f), to.join(f)).unwrap();
    }
}

#[test]
fn a_galactic_hips_answers_the_same_images() {
    // Tiles and index in galactic cells; outlines, queries and Moc.fits in ICRS.
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("in");
    let scene = three_images(&inputs);
    let out = dir.path().join("gal");
    let mut o = BuildOptions::new(vec![inputs], out.clone(), "ivo://test/P/gal");
    o.order = Some(11);
    o.tile_width = 64;
    o.frame = hipsforge::wcs::Frame::Galactic;
    o.fitskeys = vec!["FILTER".into(), "EXPTIME".into()];
    build(&o).unwrap();
    let props = std::fs::read_to_string(out.join("HpxFinder/properties")).unwrap();
    assert!(
        props.contains("hips_frame            = galactic"),
        "{props}"
    );
    let app = router(&ServeOptions {
        mounts: vec![("gal".into(), out)],
        ..Default::default()
    })
    .unwrap();
    let addr = common::start_server(app);
    assert_eq!(answers_by_position(addr, "gal", &scene), [1, 2, 2, 0]);
}

#[test]
fn bad_fitskeys_are_refused_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(common::binary())
        .args(["build", "/nonexistent", "--out"])
        .arg(dir.path().join("h"))
        .args(["--id", "ivo://test/P/x", "--fitskey", "DATE-OBS,filter"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("--fitskey \"filter\""), "{e}");
}
