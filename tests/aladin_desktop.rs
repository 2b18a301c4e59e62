//! Aladin Desktop (Debian's `aladin`, version 12) under Xvfb, offline, loads a HiPS served by
//! `hipsforge serve` on loopback — given as `http://HOST/NAME/` (Aladin then asks
//! `/NAME//properties`), as `http://HOST/NAME`, and as the directory itself — and saves a view
//! that must show the same field as our hips2fits cutout of it. Aladin and Xvfb are installed by
//! scripts/install-aladin.sh when missing; when that fails the test fails under `CI`, and is
//! skipped loudly otherwise.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hipsforge::builder::{build, BuildOptions};
use hipsforge::preview::{write_previews, PreviewFormat, PreviewOptions, Stretch};
use hipsforge::serve::{router, ServeOptions};

/// The view Aladin is asked for: the middle of the SDSS frame.
const RA: f64 = 323.342792;
const DEC: f64 = -0.734030;
/// The field Aladin 12 shows for `zoom 10arcmin` in its 512-pixel saved view (printed under it).
const ALADIN_FOV_ARCMIN: f64 = 6.275;

fn aladin_jar() -> Option<PathBuf> {
    let jar = PathBuf::from(common::run_installer("scripts/install-aladin.sh")?);
    let tools = ["java", "xvfb-run"].iter().all(|t| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    (jar.is_file() && tools).then_some(jar)
}

#[test]
fn aladin_desktop_shows_a_served_hips() {
    let Some(jar) = aladin_jar() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI: Aladin Desktop or Xvfb could not be installed (scripts/install-aladin.sh)");
        }
        let _ = std::io::Write::write_all(
            &mut std::io::stderr(),
            b"\n!!! SKIPPED aladin_desktop: Aladin Desktop or Xvfb could not be installed; the test did not run !!!\n\n",
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hips = dir.path().join("sdss");
    let mut o = BuildOptions::new(
        vec![common::shared_data().join("sdss/frame-r-002583-2-0136.fits.bz2")],
        hips.clone(),
        "ivo://test/P/SDSS/r",
    );
    o.tile_width = 256;
    build(&o).unwrap();
    let look = PreviewOptions {
        formats: vec![PreviewFormat::Png],
        cut: "-0.05 1.5".parse().unwrap(),
        stretch: Stretch::Asinh,
        verbose: false,
    };
    write_previews(&hips, &look).unwrap();

    // Every (status, path) the server answered, as the client wrote the path.
    let seen = Arc::new(Mutex::new(Vec::<(u16, String)>::new()));
    let log = seen.clone();
    let app = router(&ServeOptions {
        mounts: vec![("sdss".into(), hips.clone())],
        ..Default::default()
    })
    .unwrap()
    .layer(axum::middleware::from_fn(
        move |req: axum::extract::Request, next: axum::middleware::Next| {
            let log = log.clone();
            async move {
                let path = req.uri().path().to_string();
                let res = next.run(req).await;
                log.lock().unwrap().push((res.status().as_u16(), path));
                res
            }
        },
    ));
    let addr = common::start_server(app);

    // Our own view of the field: a hips2fits PNG as large as Aladin's view (fov set below).
    let mut failures = Vec::new();
    let cases = [
        (
            "URL with a trailing slash",
            format!("http://{addr}/sdss/"),
            true,
        ),
        (
            "URL without a trailing slash",
            format!("http://{addr}/sdss"),
            true,
        ),
        ("directory", hips.display().to_string(), false),
    ];
    for (i, (what, target, over_http)) in cases.into_iter().enumerate() {
        seen.lock().unwrap().clear();
        let started = Instant::now();
        let shot = dir.path().join(format!("aladin-{i}.png"));
        if let Err(e) = run_aladin(&jar, &target, &shot, dir.path()) {
            failures.push(format!("{what}: {e}"));
            continue;
        }
        let asked = seen.lock().unwrap().clone();
        if std::env::var_os("KEEP_ALADIN_VIEWS").is_some() {
            let _ = std::fs::copy(&shot, std::env::temp_dir().join(format!("aladin-{i}.png")));
        }
        let result = check_fetches(&asked, over_http).and_then(|()| compare(addr, &shot));
        let slashes: Vec<&str> = asked
            .iter()
            .filter(|(_, p)| p.contains("//"))
            .map(|(_, p)| p.as_str())
            .collect();
        eprintln!(
            "{what} ({target}): {:?} in {:.1} s, {} requests ({slashes:?} with //)",
            result,
            started.elapsed().as_secs_f64(),
            asked.len()
        );
        if let Err(e) = result {
            failures.push(format!("{what}: {e}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// Aladin by script, without GUI, on a private X display and a private home (no tile cache
/// shared between runs).
fn run_aladin(jar: &Path, target: &str, shot: &Path, scratch: &Path) -> Result<(), String> {
    let home = tempfile::tempdir_in(scratch).unwrap();
    let script = format!(
        "load {target};{RA} {DEC};zoom 10arcmin;sync;save {};quit",
        shot.display()
    );
    let mut child = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1024x768x24", "java"])
        .arg(format!("-Duser.home={}", home.path().display()))
        .args(["-Djava.awt.headless=false", "-jar"])
        .arg(jar)
        .args(["-local", "-nogui", "-noreleasetest", "-nosamp", "-nolog"])
        .arg(format!("-script={script}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("xvfb-run: {e}"))?;
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("Aladin did not finish within 60 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut out = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut out);
    }
    if let Some(mut o) = child.stdout.take() {
        let _ = o.read_to_string(&mut out);
    }
    if !status.success() || !shot.is_file() {
        return Err(format!(
            "Aladin exited with {status}, no view saved:\n{out}"
        ));
    }
    Ok(())
}

/// Over HTTP, Aladin read properties and PNG tiles from us, and nothing it asked failed.
fn check_fetches(asked: &[(u16, String)], over_http: bool) -> Result<(), String> {
    if !over_http {
        return Ok(());
    }
    if !asked
        .iter()
        .any(|(s, p)| *s == 200 && p.starts_with("/sdss/") && p.ends_with("/properties"))
    {
        return Err(format!("properties not served: {asked:?}"));
    }
    let tiles = asked
        .iter()
        .filter(|(s, p)| *s == 200 && p.contains("/Norder") && p.ends_with(".png"))
        .count();
    if tiles < 2 {
        return Err(format!("fewer than 2 PNG tiles served: {asked:?}"));
    }
    // Aladin asks optional files (metadata.txt, ...) that may be 404; nothing may be a 5xx.
    if let Some(bad) = asked.iter().find(|(s, _)| *s >= 500) {
        return Err(format!("server error {bad:?}"));
    }
    Ok(())
}

/// Grey levels of `img` averaged over `n`×`n` blocks, without the outer ring and the centre
/// (Aladin draws labels, scale, compass and a reticle there).
fn block_means(img: &image::GrayImage, n: u32) -> Vec<f64> {
    let (w, h) = img.dimensions();
    let (bw, bh) = (w / n, h / n);
    let mut out = Vec::new();
    for by in 1..n - 1 {
        for bx in 1..n - 1 {
            let centre = |b: u32| (n / 2 - 1..=n / 2).contains(&b);
            if centre(bx) && centre(by) {
                continue;
            }
            let mut sum = 0.0;
            for y in by * bh..(by + 1) * bh {
                for x in bx * bw..(bx + 1) * bw {
                    sum += img.get_pixel(x, y).0[0] as f64;
                }
            }
            out.push(sum / (bw * bh) as f64);
        }
    }
    out
}

fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

/// The saved view against our hips2fits PNG of the same field (same size and field of view):
/// not blank, and the grey levels of 32-pixel blocks correlated (the star density of the
/// cluster field falls across the view).
fn compare(addr: std::net::SocketAddr, shot: &Path) -> Result<String, String> {
    let view = image::open(shot)
        .map_err(|e| format!("saved view: {e}"))?
        .to_luma8();
    let (w, h) = view.dimensions();
    // "zoom 10arcmin" snaps to Aladin's nearest zoom step: 6.275′ across a 512-pixel view.
    let fov = ALADIN_FOV_ARCMIN / 60.0 * w as f64 / 512.0;
    let target = format!(
        "/hips-image-services/hips2fits?hips=sdss&width={w}&height={h}&fov={fov}&ra={RA}&dec={DEC}&projection=TAN&format=png&min_cut=-0.05&max_cut=1.5&stretch=asinh"
    );
    let ours = image::load_from_memory(&http_get(addr, &target)?)
        .map_err(|e| format!("hips2fits PNG: {e}"))?
        .to_luma8();
    let lit = view.pixels().filter(|p| p.0[0] > 40).count() as f64 / (w * h) as f64;
    let (a, b) = (block_means(&view, 16), block_means(&ours, 16));
    let r = correlation(&a, &b);
    if lit > 0.01 && r > 0.5 {
        Ok(format!(
            "{:.1} % lit pixels, block correlation {r:.2}",
            lit * 100.0
        ))
    } else {
        Err(format!(
            "view does not match hips2fits: {:.1} % lit pixels, block correlation {r:.2}",
            lit * 100.0
        ))
    }
}

/// The body of a GET on loopback (Connection: close, Content-Length answers).
fn http_get(addr: std::net::SocketAddr, target: &str) -> Result<Vec<u8>, String> {
    let mut s = std::net::TcpStream::connect(addr).map_err(|e| e.to_string())?;
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| e.to_string())?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no header end")?;
    let head = String::from_utf8_lossy(&raw[..split]);
    if !head.starts_with("HTTP/1.1 200") {
        return Err(format!("{target}: {head}"));
    }
    Ok(raw[split + 4..].to_vec())
}
