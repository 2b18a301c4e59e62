//! Cutouts from a HiPS on a server: the same stamps as from the directory, through a server
//! that fails and stalls some requests (retried), with a missing tile read as blank and the
//! disk cache reused by a second run (counted on the server side).

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::Request;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hipsforge::builder::{build, BuildOptions};
use hipsforge::cutout::bulk::{run_bulk, BulkOptions};
use hipsforge::cutout::Kernel;
use hipsforge::reader::RemoteOptions;
use hipsforge::serve::{router, ServeOptions};
use hipsforge::wcs::Frame;

/// What the faulty server saw.
#[derive(Default)]
struct Seen {
    tile_requests: AtomicUsize,
    first_tries: Mutex<HashSet<String>>,
}

/// Our server in front of `hips`, where the first request of every third tile answers 500 and
/// that of every seventh stalls for 3 s (longer than the client's timeout).
fn faulty_server(hips: &Path, seen: Arc<Seen>) -> std::net::SocketAddr {
    let app = router(&ServeOptions {
        mounts: vec![("scene".into(), hips.to_path_buf())],
        ..Default::default()
    })
    .unwrap();
    let app = app.layer(axum::middleware::from_fn(
        move |req: Request, next: Next| {
            let seen = seen.clone();
            async move {
                let path = req.uri().path().to_string();
                if path.ends_with(".fits") && path.contains("/Npix") {
                    let n = seen.tile_requests.fetch_add(1, Ordering::SeqCst);
                    let first = seen.first_tries.lock().unwrap().insert(path);
                    if first && n.is_multiple_of(7) {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                    } else if first && n.is_multiple_of(3) {
                        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                    }
                }
                let r: Response = next.run(req).await;
                r
            }
        },
    ));
    common::start_server(app)
}

fn options(band: PathBuf, positions: &Path, out: &Path, cache: &Path) -> BulkOptions {
    BulkOptions {
        bands: vec![("r".into(), band)],
        positions: positions.to_path_buf(),
        columns: Default::default(),
        size: 28,
        scale_deg: Some(0.9 / 3600.0),
        projection: "TAN".into(),
        frame: Frame::Equatorial,
        kernel: Kernel::Bilinear,
        order: None,
        out: out.to_path_buf(),
        restart: true,
        cache_bytes: 64 << 20,
        remote: RemoteOptions {
            cache_dir: cache.to_path_buf(),
            max_connections: 4,
            attempts: 4,
            timeout: Duration::from_secs(1),
        },
        verbose: false,
    }
}

#[test]
fn remote_stamps_equal_local_ones_through_a_faulty_server() {
    let dir = tempfile::tempdir().unwrap();
    let scene = common::two_image_scene();
    let inputs = common::write_scene_inputs(dir.path(), &scene);
    let hips = dir.path().join("hips");
    let mut o = BuildOptions::new(vec![inputs], hips.clone(), "ivo://test/P/scene");
    o.tile_width = 64;
    build(&o).unwrap();
    // A tile the MOC promises but the server lacks: read as blank, both ways.
    let order = hipsforge::reader::HipsDir::open(&hips).unwrap().order;
    let tiles = hipsforge::reader::tiles_in(&hips, order, "fits").unwrap();
    let gone = tiles[tiles.len() / 2];
    std::fs::remove_file(hipsforge::hips::layout::tile_path(
        &hips, order, gone, "fits",
    ))
    .unwrap();

    let positions = dir.path().join("objects.csv");
    let mut text = String::from("ra,dec\n");
    for i in 0..300 {
        let (r, a) = (10.0 + (i % 50) as f64 * 4.0, i as f64 * 0.9);
        let (ra, dec) = common::offset(
            common::SCENE_CENTRE.0,
            common::SCENE_CENTRE.1,
            90.0 + r * a.cos(),
            r * a.sin() * 0.5,
        );
        text.push_str(&format!("{ra:.8},{dec:.8}\n"));
    }
    std::fs::write(&positions, text).unwrap();

    let cache = dir.path().join("cache");
    let local_out = dir.path().join("local.npy");
    run_bulk(&options(hips.clone(), &positions, &local_out, &cache)).unwrap();

    let seen = Arc::new(Seen::default());
    let addr = faulty_server(&hips, seen.clone());
    let url = PathBuf::from(format!("http://{addr}/scene/"));
    let remote_out = dir.path().join("remote.npy");
    let first = run_bulk(&options(url.clone(), &positions, &remote_out, &cache)).unwrap();
    assert_eq!(
        std::fs::read(&local_out).unwrap(),
        std::fs::read(&remote_out).unwrap(),
        "remote stamps differ from local ones"
    );
    let manifest = |p: &Path| std::fs::read_to_string(p.with_extension("manifest.csv")).unwrap();
    assert_eq!(manifest(&local_out), manifest(&remote_out));
    let requests = seen.tile_requests.load(Ordering::SeqCst);
    let distinct = seen.first_tries.lock().unwrap().len();
    assert!(distinct >= 3, "only {distinct} tiles asked for");
    assert!(
        requests > distinct,
        "no request was retried ({requests} for {distinct} tiles)"
    );
    assert!(first.fetched.0 >= 2, "{:?}", first.fetched);

    // A second run is served from the disk cache: no tile is asked for again.
    let again = dir.path().join("again.npy");
    let second = run_bulk(&options(url, &positions, &again, &cache)).unwrap();
    assert_eq!(seen.tile_requests.load(Ordering::SeqCst), requests);
    assert_eq!(
        second.fetched.0, 2,
        "only properties and Moc.fits are fetched again"
    );
    assert_eq!(
        std::fs::read(&again).unwrap(),
        std::fs::read(&local_out).unwrap()
    );
}
