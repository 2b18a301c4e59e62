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
use hipsforge::reader::RemoteOptions;
use hipsforge::serve::{router, ServeOptions};

/// What the faulty server saw.
#[derive(Default)]
struct Seen {
    tile_requests: AtomicUsize,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
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
                if !(path.ends_with(".fits") && path.contains("/Npix")) {
                    return next.run(req).await;
                }
                let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                seen.most_in_flight.fetch_max(now, Ordering::SeqCst);
                let n = seen.tile_requests.fetch_add(1, Ordering::SeqCst);
                let first = seen.first_tries.lock().unwrap().insert(path);
                let r: Response = if first && n.is_multiple_of(7) {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                    next.run(req).await
                } else if first && n.is_multiple_of(3) {
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                } else {
                    next.run(req).await
                };
                seen.in_flight.fetch_sub(1, Ordering::SeqCst);
                r
            }
        },
    ));
    common::start_server(app)
}

fn options(band: PathBuf, positions: &Path, out: &Path, cache: &Path) -> BulkOptions {
    BulkOptions {
        restart: true,
        remote: RemoteOptions {
            cache_dir: cache.to_path_buf(),
            max_connections: 4,
            attempts: 4,
            timeout: Duration::from_secs(1),
        },
        ..common::bulk_options(vec![("r".into(), band)], positions, out, 28)
    }
}

/// The two-image scene as a HiPS of 64-pixel tiles, one tile the MOC promises removed (read
/// as blank both locally and remotely), and 300 positions over it.
fn scene(dir: &Path) -> (PathBuf, PathBuf) {
    let scene = common::two_image_scene();
    let inputs = common::write_scene_inputs(dir, &scene);
    let hips = dir.join("hips");
    let mut o = BuildOptions::new(vec![inputs], hips.clone(), "ivo://test/P/scene");
    o.tile_width = 64;
    build(&o).unwrap();
    let order = hipsforge::reader::HipsDir::open(&hips).unwrap().order;
    let tiles = hipsforge::reader::tiles_in(&hips, order, "fits").unwrap();
    let gone = tiles[tiles.len() / 2];
    std::fs::remove_file(hipsforge::hips::layout::tile_path(
        &hips, order, gone, "fits",
    ))
    .unwrap();
    let positions = dir.join("objects.csv");
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
    (hips, positions)
}

#[test]
fn remote_stamps_equal_local_ones_through_a_faulty_server() {
    let dir = tempfile::tempdir().unwrap();
    let (hips, positions) = scene(dir.path());
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
    // One chunk of objects, yet its tiles were fetched in parallel (the client's own bound is
    // tested in reader::remote; the server also counts stalled requests the client gave up).
    let most = seen.most_in_flight.load(Ordering::SeqCst);
    assert!(most >= 2, "{most} requests in flight at most");

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

/// Every file of the HiPS directory `root`, as paths relative to it.
fn files_under(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                if !rel.starts_with('.') {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn serve_mirrors_a_hips_from_a_faulty_server_fetching_each_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let (hips, _) = scene(dir.path());
    let seen = Arc::new(Seen::default());
    let upstream = faulty_server(&hips, seen.clone());
    let mirror = common::start_server(
        router(&ServeOptions {
            mounts: vec![("m".into(), format!("http://{upstream}/scene").into())],
            remote: options(hips.clone(), &hips, &hips, &dir.path().join("cache")).remote,
            ..Default::default()
        })
        .unwrap(),
    );
    let files = files_under(&hips);
    assert!(files.iter().any(|f| f.contains("Allsky")), "{files:?}");
    let tiles = files.iter().filter(|f| f.contains("/Npix")).count();
    assert!(tiles >= 3, "{files:?}");
    for f in &files {
        let reply = common::get(mirror, &format!("/m/{f}"));
        assert_eq!(reply.status, 200, "{f}");
        assert_eq!(reply.body, std::fs::read(hips.join(f)).unwrap(), "{f}");
    }
    // The tile removed from the HiPS (the MOC still covers it) is 404 through the mirror too.
    let order = hipsforge::reader::HipsDir::open(&hips).unwrap().order;
    let present = hipsforge::reader::tiles_in(&hips, order, "fits").unwrap();
    let gone = (present[0]..).find(|n| !present.contains(n)).unwrap();
    let gone_path = format!(
        "Norder{order}/Dir{}/Npix{gone}.fits",
        gone / 10_000 * 10_000
    );
    assert_eq!(common::get(mirror, &format!("/m/{gone_path}")).status, 404);
    let asked = seen.tile_requests.load(Ordering::SeqCst);
    assert!(
        asked > seen.first_tries.lock().unwrap().len(),
        "no tile request was retried ({asked})"
    );
    // Served again from the mirror's disk: the server is not asked for any tile again.
    for f in files.iter().chain([&gone_path]) {
        let reply = common::get(mirror, &format!("/m/{f}"));
        assert_eq!(reply.status, if f == &gone_path { 404 } else { 200 }, "{f}");
    }
    assert_eq!(seen.tile_requests.load(Ordering::SeqCst), asked);
    // Cutouts on the mirror read the same tiles.
    let (ra, dec) = common::SCENE_CENTRE;
    let query = |hips: &str| {
        format!("/hips-image-services/hips2fits?hips={hips}&ra={ra}&dec={dec}&fov=0.05&width=40&height=30&projection=TAN&format=fits")
    };
    let direct = common::get(upstream, &query("scene"));
    let mirrored = common::get(mirror, &query("m"));
    assert_eq!(direct.status, 200);
    assert_eq!(mirrored.status, 200);
    // The headers differ only in the HIPS card (the name asked for); the pixels are equal.
    let data = |fits: &[u8]| {
        let end = fits
            .chunks(80)
            .position(|card| card.starts_with(b"END     "))
            .expect("END card");
        fits[(end * 80 / 2880 + 1) * 2880..].to_vec()
    };
    assert_eq!(direct.body.len(), mirrored.body.len());
    assert!(data(&direct.body) == data(&mirrored.body), "pixels differ");
    assert!(data(&direct.body).iter().any(|&b| b != 0), "blank cutout");
}

/// nginx serving the HiPS directory as a plain static host, on a free loopback port.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Drop for Nginx {
    /// SIGTERM, not SIGKILL: the master then stops its workers too (a killed master leaves
    /// them running, holding the test's output pipes).
    fn drop(&mut self) {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

fn start_nginx(binary: &str, hips: &Path, scratch: &Path) -> Nginx {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    std::fs::create_dir_all(scratch).unwrap();
    let s = scratch.display();
    // As root, workers would drop to nobody and might not read the HiPS: keep the user.
    let user = if std::env::var("USER").as_deref() == Ok("root") || unsafe_is_root() {
        "user root;"
    } else {
        ""
    };
    let conf = format!(
        "{user}\nworker_processes 1;\ndaemon off;\npid {s}/nginx.pid;\nerror_log {s}/error.log warn;\n\
         events {{ worker_connections 256; }}\nhttp {{\n  types {{ application/fits fits; text/plain properties; }}\n\
         default_type text/plain;\n  access_log off;\n  client_body_temp_path {s}/body;\n  proxy_temp_path {s}/proxy;\n\
         fastcgi_temp_path {s}/fastcgi;\n  uwsgi_temp_path {s}/uwsgi;\n  scgi_temp_path {s}/scgi;\n\
         server {{ listen 127.0.0.1:{port}; location /hips/ {{ alias {}/; }} }}\n}}\n",
        hips.display()
    );
    let conf_path = scratch.join("nginx.conf");
    std::fs::write(&conf_path, conf).unwrap();
    // Killed and waited for when the `Nginx` is dropped.
    #[allow(clippy::zombie_processes)]
    let child = std::process::Command::new(binary)
        .arg("-e")
        .arg(scratch.join("error.log"))
        .arg("-p")
        .arg(scratch)
        .arg("-c")
        .arg(&conf_path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Nginx { child, port };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "nginx did not start: {}",
        std::fs::read_to_string(scratch.join("error.log")).unwrap_or_default()
    );
}

fn unsafe_is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

#[test]
fn remote_stamps_through_nginx_equal_local_ones() {
    let Some(nginx) = common::ready_or_skip(
        "nginx remote test",
        common::run_installer("scripts/install-nginx.sh"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (hips, positions) = scene(dir.path());
    let cache = dir.path().join("cache");
    let local_out = dir.path().join("local.npy");
    run_bulk(&options(hips.clone(), &positions, &local_out, &cache)).unwrap();
    let server = start_nginx(&nginx, &hips, &dir.path().join("nginx"));
    let url = PathBuf::from(format!("http://127.0.0.1:{}/hips", server.port));
    let remote_out = dir.path().join("remote.npy");
    let r = run_bulk(&options(url, &positions, &remote_out, &cache)).unwrap();
    assert!(r.fetched.0 > 2, "{:?}", r.fetched);
    assert_eq!(
        std::fs::read(&local_out).unwrap(),
        std::fs::read(&remote_out).unwrap(),
        "stamps through nginx differ from local ones"
    );
}
