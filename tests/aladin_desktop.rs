//! Aladin Desktop (Debian's `aladin`, version 12) under Xvfb, offline, loads a HiPS served by
//! `hipsforge serve` on loopback — given as `http://HOST/NAME/` (Aladin then asks
//! `/NAME//properties`), as `http://HOST/NAME`, and as the directory itself — and saves a view
//! that must show the same field as our hips2fits cutout of it. Aladin and Xvfb are installed by
//! scripts/install-aladin.sh when missing; when that fails the test fails under `CI`, and is
//! skipped loudly otherwise. Aladin also reads our progenitor index (`HpxFinder/`) and lists
//! the frames covering a view with their `--fitskey` values.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hipsforge::serve::{router, ServeOptions};

/// The view Aladin is asked for: the middle of the SDSS frame.
const RA: f64 = 323.342792;
const DEC: f64 = -0.734030;
/// The field Aladin 12 shows for `zoom 10arcmin` in its 512-pixel saved view (printed under it).
const ALADIN_FOV_ARCMIN: f64 = 6.275;

fn aladin_jar() -> Result<PathBuf, String> {
    let jar = PathBuf::from(common::run_installer("scripts/install-aladin.sh")?);
    let tools = ["java", "xvfb-run"].iter().all(|t| {
        Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {t}"))
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    });
    (jar.is_file() && tools)
        .then_some(jar)
        .ok_or_else(|| "aladin.jar, java or xvfb-run missing after the install".to_string())
}

#[test]
fn aladin_desktop_shows_a_served_hips() {
    let Some(jar) = common::ready_or_skip("aladin_desktop", aladin_jar()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hips = dir.path().join("sdss");
    let built = Command::new(common::binary())
        .arg("build")
        .arg(common::shared_data().join("sdss/frame-r-002583-2-0136.fits.bz2"))
        .arg("--out")
        .arg(&hips)
        .args([
            "--id",
            "ivo://test/P/SDSS/r",
            "--tile-width",
            "256",
            "--format",
            "fits,png",
        ])
        .args([
            "--pixel-cut=-0.05 1.5",
            "--stretch",
            "asinh",
            "--force",
            "-q",
        ])
        .status()
        .unwrap();
    assert!(built.success());

    let (app, addr, seen) = serve_recording(&hips);

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
        let result = check_fetches(&asked, over_http).and_then(|()| compare(&app, &shot));
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

/// Aladin's "progenitors" view reads our HpxFinder/ over HTTP: the index loaded as a plane
/// (Aladin asks its properties, metadata.xml, Moc.fits and the Allsky), exported as a
/// VOTable that lists both SDSS frames covering the view with their --fitskey values.
#[test]
fn aladin_desktop_reads_the_progenitor_index() {
    let Some(jar) = common::ready_or_skip("aladin_desktop", aladin_jar()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let hips = dir.path().join("sdss");
    let sdss = common::shared_data().join("sdss");
    let built = Command::new(common::binary())
        .arg("build")
        .args(["g", "r"].map(|b| sdss.join(format!("frame-{b}-002583-2-0136.fits.bz2"))))
        .arg("--out")
        .arg(&hips)
        .args(["--id", "ivo://test/P/SDSS/gr", "--tile-width", "256"])
        .args(["--fitskey", "DATE-OBS,FILTER,EXPTIME", "-q"])
        .status()
        .unwrap();
    assert!(built.success());
    let (_, addr, seen) = serve_recording(&hips);
    let table = dir.path().join("progenitors.xml");
    // Drawing the view (save) is what makes Aladin fetch the index tiles in it.
    let script = format!(
        "'prog'=load http://{addr}/sdss/HpxFinder;{RA} {DEC};zoom 2arcmin;sync;save {};sync;export prog {};quit",
        dir.path().join("progenitors.png").display(),
        table.display()
    );
    run_script(&jar, &script, &table, dir.path()).unwrap();
    let asked = seen.lock().unwrap().clone();
    let served = |suffix: &str| {
        asked
            .iter()
            .any(|(s, p)| *s == 200 && p.starts_with("/sdss/HpxFinder/") && p.contains(suffix))
    };
    for file in ["properties", "metadata.xml", "Moc.fits"] {
        assert!(served(file), "HpxFinder {file} not read: {asked:?}");
    }
    // Two images: the whole index fits the Allsky, which Aladin then reads instead of tiles.
    assert!(
        served("Norder3/Allsky"),
        "HpxFinder Allsky not read: {asked:?}"
    );
    let votable = std::fs::read_to_string(&table).unwrap();
    let rows: Vec<&str> = votable.split("<TR>").skip(1).collect();
    assert_eq!(rows.len(), 2, "{votable}");
    for (row, band) in rows.iter().zip(["g", "r"]) {
        for cell in [
            format!("<TD>frame-{band}-002583-2-0136.fits.bz2</TD>"),
            "<TD>2001-09-20</TD>".to_string(),
            format!("<TD>{band}</TD>"),
            "<TD>53.907456</TD>".to_string(),
            "<TD>POLYGON J2000 323.".to_string(),
        ] {
            assert!(row.contains(&cell), "{cell} in {row}");
        }
    }
}

/// Every (status, path) the server answered, the path as the client wrote it.
type Seen = Arc<Mutex<Vec<(u16, String)>>>;

/// Our server with `hips` mounted at /sdss/, on loopback, recording what it answers: the
/// router (for in-process requests), its address and the record.
fn serve_recording(hips: &Path) -> (axum::Router, std::net::SocketAddr, Seen) {
    let app = router(&ServeOptions {
        mounts: vec![("sdss".into(), hips.to_path_buf())],
        ..Default::default()
    })
    .unwrap();
    let seen = Seen::default();
    let addr = common::start_server(
        app.clone()
            .layer(axum::middleware::from_fn_with_state(seen.clone(), record)),
    );
    (app, addr, seen)
}

async fn record(
    axum::extract::State(seen): axum::extract::State<Seen>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = req.uri().path().to_owned();
    let answer = next.run(req).await;
    seen.lock().unwrap().push((answer.status().as_u16(), path));
    answer
}

/// Aladin loads `target` and saves its view of (RA, DEC) as `shot`.
fn run_aladin(jar: &Path, target: &str, shot: &Path, scratch: &Path) -> Result<(), String> {
    let script = format!(
        "load {target};{RA} {DEC};zoom 10arcmin;sync;save {};quit",
        shot.display()
    );
    run_script(jar, &script, shot, scratch)
}

/// Aladin runs `script` without GUI, on a private X display and a private home (no tile
/// cache shared between runs); `written` is the file the script must leave.
fn run_script(jar: &Path, script: &str, written: &Path, scratch: &Path) -> Result<(), String> {
    let home = tempfile::tempdir_in(scratch).unwrap();
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
    if !status.success() || !written.is_file() {
        return Err(format!(
            "Aladin exited with {status}, {} not written:\n{out}",
            written.display()
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

/// Pearson's r from running sums.
fn correlation(a: &[f64], b: &[f64]) -> f64 {
    let [mut sx, mut sy, mut sxx, mut syy, mut sxy] = [0.0; 5];
    for (x, y) in a.iter().zip(b) {
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
        sxy += x * y;
    }
    let n = a.len() as f64;
    (n * sxy - sx * sy) / ((n * sxx - sx * sx) * (n * syy - sy * sy)).sqrt()
}

/// The saved view against our hips2fits PNG of the same field (same size and field of view):
/// not blank, and the grey levels of 32-pixel blocks correlated (the star density of the
/// cluster field falls across the view).
fn compare(app: &axum::Router, shot: &Path) -> Result<String, String> {
    let view = image::open(shot)
        .map_err(|e| format!("saved view: {e}"))?
        .to_luma8();
    let (w, h) = view.dimensions();
    // "zoom 10arcmin" snaps to Aladin's nearest zoom step: 6.275′ across a 512-pixel view.
    let fov = ALADIN_FOV_ARCMIN / 60.0 * w as f64 / 512.0;
    let target = format!(
        "/hips-image-services/hips2fits?hips=sdss&width={w}&height={h}&fov={fov}&ra={RA}&dec={DEC}&projection=TAN&format=png&min_cut=-0.05&max_cut=1.5&stretch=asinh"
    );
    let ours = image::load_from_memory(&hips2fits(app, &target)?)
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

/// Our hips2fits answer for `target`, asked of the same router in process.
fn hips2fits(app: &axum::Router, target: &str) -> Result<Vec<u8>, String> {
    use tower::ServiceExt;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let req = axum::http::Request::get(target)
            .body(axum::body::Body::empty())
            .unwrap();
        let answer = app.clone().oneshot(req).await.map_err(|e| e.to_string())?;
        if answer.status() != 200 {
            return Err(format!("{target}: HTTP {}", answer.status()));
        }
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .map_err(|e| e.to_string())?;
        Ok(body.to_vec())
    })
}
