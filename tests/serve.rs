//! The HTTP server on a loopback port, spoken to with raw HTTP/1.1 (so that traversal
//! attempts reach the server exactly as written): content types, CORS, 304, Range, gzip,
//! 404s, hipslist, and a table of traversal attempts.

mod common;

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use hipsforge::builder::{build, BuildOptions};
use hipsforge::serve::{router, ServeOptions};

use common::{get, request, request_with_body};

/// Builds a small HiPS (FIRST, FITS + PNG) and starts the server on 127.0.0.1:0.
fn start(dir: &Path, extra_mounts: Vec<(String, PathBuf)>) -> (SocketAddr, PathBuf) {
    let hips = dir.join("first");
    let mut o = BuildOptions::new(
        vec![common::shared_data().join("first")],
        hips.clone(),
        "ivo://test/P/FIRST",
    );
    o.tile_width = 64;
    build(&o).unwrap();
    hipsforge::preview::write_previews(
        &hips,
        &hipsforge::preview::PreviewOptions {
            formats: vec![hipsforge::preview::PreviewFormat::Png],
            cut: Default::default(),
            stretch: Default::default(),
            verbose: false,
        },
    )
    .unwrap();
    let mut mounts = vec![("first".to_string(), hips.clone())];
    mounts.extend(extra_mounts);
    let app = router(&ServeOptions {
        mounts,
        ..Default::default()
    })
    .unwrap();
    let addr = common::start_server(app);
    (addr, hips)
}

fn first_tile(hips: &Path, ext: &str) -> String {
    let h = hipsforge::reader::HipsDir::open(hips).unwrap();
    let t = h.tiles(h.order, ext).unwrap()[0];
    format!("Norder{}/Dir{}/Npix{t}.{ext}", h.order, t / 10_000 * 10_000)
}

#[test]
fn files_come_with_the_headers_clients_need() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, hips) = start(dir.path(), vec![]);
    let fits = first_tile(&hips, "fits");
    for (path, ctype) in [
        ("/first/properties", "text/plain; charset=utf-8"),
        ("/first/Moc.fits", "application/fits"),
        ("/first/index.html", "text/html; charset=utf-8"),
        ("/first/Norder3/Allsky.png", "image/png"),
        (&format!("/first/{fits}"), "application/fits"),
        (&format!("/first/{}", first_tile(&hips, "png")), "image/png"),
    ] {
        let r = get(addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        assert_eq!(r.header("access-control-allow-origin"), Some("*"), "{path}");
        assert!(
            r.header("etag").is_some() && r.header("last-modified").is_some(),
            "{path}"
        );
        let on_disk = std::fs::read(hips.join(path.trim_start_matches("/first/"))).unwrap();
        assert_eq!(r.body, on_disk, "{path}");
    }
    let tile = get(addr, &format!("/first/{fits}"));
    assert_eq!(tile.header("cache-control"), Some("public, max-age=604800"));
    assert_eq!(
        get(addr, "/first/properties").header("cache-control"),
        Some("public, max-age=60")
    );
    // The mount root serves index.html; the bare name redirects so relative URLs work.
    assert_eq!(
        get(addr, "/first/").body,
        std::fs::read(hips.join("index.html")).unwrap()
    );
    let r = get(addr, "/first");
    assert_eq!((r.status, r.header("location")), (308, Some("/first/")));
    // HEAD: headers, no body.
    let r = request(addr, "HEAD", &format!("/first/{fits}"), &[]);
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(
        r.header("content-length"),
        Some(tile.body.len().to_string().as_str())
    );
}

#[test]
fn conditional_range_compression_and_cors_preflight() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, hips) = start(dir.path(), vec![]);
    let fits = format!("/first/{}", first_tile(&hips, "fits"));
    let full = get(addr, &fits);
    let etag = full.header("etag").unwrap().to_string();
    let r = request(addr, "GET", &fits, &[&format!("If-None-Match: {etag}")]);
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let r = request(addr, "GET", &fits, &["If-None-Match: W/\"other\""]);
    assert_eq!(r.status, 200);

    let r = request(addr, "GET", &fits, &["Range: bytes=2880-2979"]);
    assert_eq!(r.status, 206);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 2880-2979/{}", full.body.len()).as_str())
    );
    assert_eq!(r.body, full.body[2880..2980]);

    let r = request(addr, "GET", &fits, &["Accept-Encoding: gzip"]);
    assert_eq!(r.header("content-encoding"), Some("gzip"));
    let mut inflated = Vec::new();
    flate2::read::GzDecoder::new(&r.body[..])
        .read_to_end(&mut inflated)
        .unwrap();
    assert_eq!(inflated, full.body);
    // PNG is already compressed: sent as is.
    let png = format!("/first/{}", first_tile(&hips, "png"));
    assert_eq!(
        request(addr, "GET", &png, &["Accept-Encoding: gzip"]).header("content-encoding"),
        None
    );

    let r = request(
        addr,
        "OPTIONS",
        "/first/properties",
        &[
            "Origin: https://aladin.example.org",
            "Access-Control-Request-Method: GET",
            "Access-Control-Request-Headers: x-requested-with",
        ],
    );
    assert!(r.status == 200 || r.status == 204, "{}", r.status);
    assert_eq!(r.header("access-control-allow-origin"), Some("*"));
    assert!(r
        .header("access-control-allow-methods")
        .unwrap()
        .contains("GET"));
}

#[test]
fn hipslist_lists_every_hips_with_its_service_url() {
    let dir = tempfile::tempdir().unwrap();
    let second = dir.path().join("m13");
    let mut o = BuildOptions::new(
        vec![common::shared_data().join("compressed/m13.fits")],
        second.clone(),
        "ivo://test/P/M13",
    );
    o.tile_width = 64;
    build(&o).unwrap();
    let (addr, _) = start(dir.path(), vec![("m13".into(), second)]);
    let r = get(addr, "/hipslist");
    assert_eq!(r.status, 200);
    let text = String::from_utf8(r.body).unwrap();
    let records: Vec<hipsforge::hips::properties::Properties> = text
        .split("\n\n")
        .map(|rec| hipsforge::hips::properties::Properties::parse(rec).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    for (rec, (name, did)) in records
        .iter()
        .zip([("first", "ivo://test/P/FIRST"), ("m13", "ivo://test/P/M13")])
    {
        assert_eq!(rec.get("creator_did"), Some(did));
        assert_eq!(
            rec.get("hips_service_url"),
            Some(format!("http://{addr}/{name}").as_str())
        );
        assert!(rec.get("hips_release_date").is_some() && rec.get("hips_status").is_some());
    }
    let json: serde_json::Value =
        serde_json::from_slice(&get(addr, "/hipslist?fmt=json").body).unwrap();
    assert_eq!(json[1]["creator_did"], "ivo://test/P/M13");
    let landing = String::from_utf8(get(addr, "/").body).unwrap();
    assert!(landing.contains("/first/index.html") && landing.contains("/m13/index.html"));
}

#[test]
fn unknown_paths_empty_tiles_and_traversal_attempts_are_404() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "top secret").unwrap();
    let (addr, hips) = start(dir.path(), vec![]);
    // A symlink inside the HiPS pointing outside it, and one pointing inside.
    std::os::unix::fs::symlink(&secret, hips.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(hips.join("properties"), hips.join("alias")).unwrap();
    // A directory link leading outside, and one staying inside.
    std::os::unix::fs::symlink(dir.path(), hips.join("outdir")).unwrap();
    std::os::unix::fs::symlink(hips.join("Norder3"), hips.join("order3")).unwrap();
    assert_eq!(get(addr, "/first/order3/Allsky.png").status, 200);
    // A hidden file is refused while a plain file beside it is served.
    std::fs::write(hips.join(".hidden"), "hidden content").unwrap();
    std::fs::write(hips.join("visible.txt"), "visible content").unwrap();
    let r = get(addr, "/first/visible.txt");
    assert_eq!(
        (r.status, r.body.as_slice()),
        (200, &b"visible content"[..])
    );
    assert_eq!(get(addr, "/first/alias").status, 200);
    let attempts = [
        "/first/../secret.txt",
        "/first/../../etc/passwd",
        "/first/%2e%2e/secret.txt",
        "/first/%2E%2E/%2e%2e/etc/passwd",
        "/first/..%2fsecret.txt",
        "/first/..%2Fsecret.txt",
        "/first/..\\secret.txt",
        "/first/%5c..%5csecret.txt",
        "/first//etc/passwd",
        "/first/%2fetc%2fpasswd",
        "/first/leak.txt",
        "/first/outdir/secret.txt",
        "/first/outdir/first/properties",
        "/first/Norder3/../../secret.txt",
        "/first/./properties/../../secret.txt",
        "/first/.hidden",
        "/first/Norder3",
        "/first/Norder3/",
        "/..%2f..%2fetc/passwd",
        "/%2e%2e/etc/passwd",
        "/nosuchhips/properties",
        "/first/properties%00.png",
        "/aladin-lite/aladin.js",
    ];
    for target in attempts {
        let r = get(addr, target);
        assert!(r.status == 404 || r.status == 400, "{target}: {}", r.status);
        let body = String::from_utf8_lossy(&r.body);
        assert!(
            !body.contains("top secret") && !body.contains("hidden content"),
            "{target} leaked"
        );
    }
    // A tile the MOC excludes answers 404 without looking at the disk, even when a real tile
    // file lies there; one the MOC includes is served.
    let real = first_tile(&hips, "fits");
    let order = hipsforge::reader::HipsDir::open(&hips).unwrap().order;
    for outside in [
        "Norder3/Dir0/Npix0.fits".to_string(),
        format!("Norder{order}/Dir0/Npix0.fits"),
    ] {
        let p = hips.join(&outside);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::copy(hips.join(&real), &p).unwrap();
        assert_eq!(
            get(addr, &format!("/first/{outside}")).status,
            404,
            "{outside}"
        );
    }
    assert_eq!(get(addr, &format!("/first/{real}")).status, 200);
}

#[test]
fn cutout_endpoints_answer_arrays_images_and_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (addr, hips) = start(dir.path(), vec![]);
    let first = "ra,dec,id\n162.52982,30.67692,a\n3.48848,-9.33123,b\n10,60,c\n";
    let r = request_with_body(
        addr,
        "POST",
        "/cutouts?hips=first&size=16&scale=1.8arcsec",
        &[],
        first.as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let header_len = u16::from_le_bytes([r.body[8], r.body[9]]) as usize;
    assert!(
        String::from_utf8_lossy(&r.body[10..10 + header_len]).contains("'shape': (3, 1, 16, 16)")
    );
    let values: Vec<f32> = r.body[10 + header_len..]
        .chunks(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(values.len(), 3 * 256);
    // Every row is the library's cutout at its position; rows 0 and 1 are inside FIRST
    // images, row 2 is outside FIRST: blank.
    let survey = hipsforge::cutout::Survey::open(&hips, 0).unwrap();
    let store = hipsforge::cutout::TileStore::new(1 << 24);
    let single = |lon: f64, lat: f64, width: usize, height: usize, scale_deg: f64| {
        let grid = hipsforge::cutout::Grid::from_spec(&hipsforge::cutout::GridSpec {
            lon,
            lat,
            width,
            height,
            scale_deg,
            projection: "TAN".into(),
            rotation_deg: 0.0,
            frame: hipsforge::wcs::Frame::Equatorial,
        })
        .unwrap();
        hipsforge::cutout::cutout(&store, &survey, &grid, Default::default(), None).unwrap()
    };
    let same = |a: &[f32], b: &[f32]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x == y || (x.is_nan() && y.is_nan()))
    };
    for (row, (ra, dec, inside)) in [
        (162.52982, 30.67692, true),
        (3.48848, -9.33123, true),
        (10.0, 60.0, false),
    ]
    .into_iter()
    .enumerate()
    {
        let stamp = &values[row * 256..][..256];
        assert!(
            same(stamp, &single(ra, dec, 16, 16, 1.8 / 3600.0)),
            "row {row}"
        );
        if inside {
            assert!(stamp.iter().all(|v| v.is_finite()), "row {row}");
        } else {
            assert!(stamp.iter().all(|v| v.is_nan()), "row {row}");
        }
    }
    assert!(
        !same(&values[..256], &values[256..512]),
        "rows 0 and 1 equal"
    );

    let h2f = "/hips-image-services/hips2fits?hips=test/P/FIRST&width=50&height=40&fov=0.02&ra=162.52982&dec=30.67692";
    let r = get(addr, h2f);
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/fits"))
    );
    assert!(String::from_utf8_lossy(&r.body[..2880]).contains("RA---TAN"));
    // Its data are the library's cutout of the same grid (fov over the larger side, TAN).
    let fits = dir.path().join("h2f.fits");
    std::fs::write(&fits, &r.body).unwrap();
    let (hdus, _) = hipsforge::fits::list_image_hdus(&fits, &Default::default()).unwrap();
    assert_eq!((hdus[0].width, hdus[0].height), (50, 40));
    let served = hipsforge::fits::read_pixels(&hdus[0]).unwrap();
    let ours = single(162.52982, 30.67692, 50, 40, 0.02 / 50.0);
    assert!(
        same(&served, &ours),
        "hips2fits data differ from the library cutout"
    );
    assert!(ours.iter().filter(|v| v.is_finite()).count() > 500);
    let r = get(
        addr,
        &format!("{h2f}&format=jpg&stretch=asinh&min_cut=1%25&max_cut=99%25"),
    );
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("image/jpeg"))
    );
    assert_eq!(
        image::load_from_memory(&r.body)
            .unwrap()
            .to_luma8()
            .dimensions(),
        (50, 40)
    );
    // A full WCS instead of width/height/fov (astroquery sends WCS.to_header() as JSON).
    let wcs = r#"{"NAXIS1":30,"NAXIS2":20,"CTYPE1":"RA---TAN","CTYPE2":"DEC--TAN","CRVAL1":162.52982,"CRVAL2":30.67692,"CRPIX1":15.5,"CRPIX2":10.5,"CDELT1":-0.0005,"CDELT2":0.0005}"#;
    let encoded: String = wcs
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let r = get(
        addr,
        &format!("/hips-image-services/hips2fits?hips=first&wcs={encoded}"),
    );
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let header = String::from_utf8_lossy(&r.body[..2880]).into_owned();
    let card = |k: &str| {
        header
            .as_bytes()
            .chunks(80)
            .map(String::from_utf8_lossy)
            .find(|c| c.starts_with(&format!("{k:<8}=")))
            .unwrap()
            .to_string()
    };
    assert!(
        card("NAXIS1").contains(" 30") && card("NAXIS2").contains(" 20"),
        "{header}"
    );
    assert!(card("CRVAL1").contains("162.52982"));
    for (target, status, title) in [
        ("/hips-image-services/hips2fits?hips=nope&width=5&height=5&fov=1&ra=0&dec=0", 404, "Unknown HiPS"),
        ("/hips-image-services/hips2fits?hips=first&width=5&fov=1&ra=0&dec=0", 400, "Bad request"),
        ("/hips-image-services/hips2fits?hips=first&width=6000&height=6000&fov=1&ra=0&dec=0", 413, "Image too large"),
        ("/hips-image-services/hips2fits?hips=first&width=5&height=5&fov=1&ra=0&dec=0&format=gif", 400, "Bad request"),
        ("/hips-image-services/hips2fits?hips=first&width=5&height=5&fov=1&ra=0&dec=0&format=png&cmap=viridis", 400, "Bad request"),
    ] {
        let r = get(addr, target);
        assert_eq!(r.status, status, "{target}");
        let json: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(json["title"], title, "{target}");
        assert!(json["description"].as_str().is_some_and(|d| !d.is_empty()));
    }
    let r = request_with_body(
        addr,
        "POST",
        "/cutouts?hips=first&size=2000",
        &[],
        first.as_bytes(),
    );
    assert_eq!(r.status, 400);
    let r = request_with_body(addr, "POST", "/cutouts?hips=first", &[], b"x,y\n1,2\n");
    assert_eq!(r.status, 400);
    assert!(String::from_utf8_lossy(&r.body).contains("no ra column"));
}
