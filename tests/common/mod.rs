//! Shared helpers for integration tests: where the shared survey data lives.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/data` from the crate root (the survey files the project is tested on).
pub fn shared_data() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    assert!(
        dir.is_dir(),
        "shared data not found at {} (see README)",
        dir.display()
    );
    dir
}

/// Angular distance in arcseconds between two (lon, lat) points in degrees.
pub fn separation_arcsec(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (l1, b1) = (a.0.to_radians(), a.1.to_radians());
    let (l2, b2) = (b.0.to_radians(), b.1.to_radians());
    let h = ((b2 - b1) / 2.0).sin().powi(2) + b1.cos() * b2.cos() * ((l2 - l1) / 2.0).sin().powi(2);
    (2.0 * h.sqrt().asin()).to_degrees() * 3600.0
}

use hipsforge::fits::write::{encode_image, Card, CardValue, Encoding};
use hipsforge::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat};
use hipsforge::wcs::Wcs;

/// A Gaussian source on the sky.
#[derive(Debug, Clone, Copy)]
pub struct Star {
    pub ra: f64,
    pub dec: f64,
    pub peak: f64,
    /// Gaussian sigma in arcseconds.
    pub sigma_arcsec: f64,
}

/// The sky model shared by all synthetic images: a gentle gradient plus stars. Because it is
/// defined on the sky, overlapping images agree wherever they overlap.
pub fn sky_model(ra: f64, dec: f64, stars: &[Star]) -> f64 {
    let mut v = 100.0 + 20.0 * (ra - 150.0) + 10.0 * (dec - 2.0);
    for s in stars {
        let d = separation_arcsec((ra, dec), (s.ra, s.dec));
        if d < 10.0 * s.sigma_arcsec {
            v += s.peak * (-(d * d) / (2.0 * s.sigma_arcsec * s.sigma_arcsec)).exp();
        }
    }
    v
}

/// A TAN image of the sky model: `cd` in degrees per pixel, CRPIX at the image centre.
pub struct SynthImage {
    pub width: usize,
    pub height: usize,
    pub crval: (f64, f64),
    pub cd: [[f64; 2]; 2],
}

impl SynthImage {
    pub fn cards(&self) -> Vec<Card> {
        let f = CardValue::Float;
        vec![
            Card::new("CTYPE1", CardValue::Str("RA---TAN".into()), ""),
            Card::new("CTYPE2", CardValue::Str("DEC--TAN".into()), ""),
            Card::new("CRPIX1", f((self.width as f64 + 1.0) / 2.0), ""),
            Card::new("CRPIX2", f((self.height as f64 + 1.0) / 2.0), ""),
            Card::new("CRVAL1", f(self.crval.0), ""),
            Card::new("CRVAL2", f(self.crval.1), ""),
            Card::new("CD1_1", f(self.cd[0][0]), ""),
            Card::new("CD1_2", f(self.cd[0][1]), ""),
            Card::new("CD2_1", f(self.cd[1][0]), ""),
            Card::new("CD2_2", f(self.cd[1][1]), ""),
            Card::new("RADESYS", CardValue::Str("ICRS".into()), ""),
        ]
    }

    pub fn wcs(&self) -> Wcs {
        let header = hipsforge::fits::Header::from_pairs(self.cards().into_iter().map(|c| {
            let v = match c.value {
                CardValue::Float(x) => x.to_string(),
                CardValue::Str(s) => s,
                CardValue::Int(i) => i.to_string(),
                CardValue::Bool(b) => b.to_string(),
            };
            (c.key, v)
        }));
        Wcs::from_header(&header).unwrap()
    }

    /// Pixel values: the sky model at each pixel centre.
    pub fn pixels(&self, stars: &[Star]) -> Vec<f32> {
        let wcs = self.wcs();
        let mut data = Vec::with_capacity(self.width * self.height);
        for py in 1..=self.height {
            for px in 1..=self.width {
                let (ra, dec) = wcs.pixel_to_world(px as f64, py as f64).unwrap();
                data.push(sky_model(ra, dec, stars) as f32);
            }
        }
        data
    }

    pub fn write(&self, path: &std::path::Path, stars: &[Star]) {
        self.write_mapped(path, stars, |v| v);
    }

    /// Writes the image with `map` applied to every pixel value (scaled copies, constants).
    pub fn write_mapped(&self, path: &std::path::Path, stars: &[Star], map: impl Fn(f32) -> f32) {
        let pixels: Vec<f32> = self.pixels(stars).into_iter().map(map).collect();
        self.write_pixels(path, &pixels);
    }

    /// Writes `pixels` (row 0 = FITS row 1) as a float32 image with this WCS.
    pub fn write_pixels(&self, path: &std::path::Path, pixels: &[f32]) {
        assert_eq!(pixels.len(), self.width * self.height);
        let bytes = encode_image(
            self.width,
            self.height,
            pixels,
            Encoding::float32(),
            &self.cards(),
        );
        std::fs::write(path, bytes).unwrap();
    }
}

/// CD matrix for `scale_arcsec` pixels rotated by `angle_deg`, RA increasing to the left.
pub fn rotated_cd(scale_arcsec: f64, angle_deg: f64) -> [[f64; 2]; 2] {
    let s = scale_arcsec / 3600.0;
    let (sn, cs) = angle_deg.to_radians().sin_cos();
    [[-s * cs, s * sn], [s * sn, s * cs]]
}

/// Sky position (degrees) at angular offsets east/north (arcsec) from (ra, dec).
pub fn offset(ra: f64, dec: f64, east_arcsec: f64, north_arcsec: f64) -> (f64, f64) {
    let v = lonlat_to_xyz(ra.to_radians(), dec.to_radians());
    let (east, north) = (
        (east_arcsec / 3600.0).to_radians(),
        (north_arcsec / 3600.0).to_radians(),
    );
    // Tangent-plane step, good to well under a milliarcsecond for offsets of minutes.
    let (sr, cr) = ra.to_radians().sin_cos();
    let (sd, cd) = dec.to_radians().sin_cos();
    let east_v = [-sr, cr, 0.0];
    let north_v = [-sd * cr, -sd * sr, cd];
    let w = [
        v[0] + east * east_v[0] + north * north_v[0],
        v[1] + east * east_v[1] + north * north_v[1],
        v[2] + east * east_v[2] + north * north_v[2],
    ];
    let norm = (w[0] * w[0] + w[1] * w[1] + w[2] * w[2]).sqrt();
    let (lon, lat) = xyz_to_lonlat([w[0] / norm, w[1] / norm, w[2] / norm]);
    (lon.to_degrees(), lat.to_degrees())
}

/// Path of the built binary for CLI tests.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_hipsforge"))
}

pub const SCENE_CENTRE: (f64, f64) = (150.0, 2.0);

pub struct Scene {
    pub images: Vec<SynthImage>,
    pub stars: Vec<Star>,
    /// How many images hold each star well inside.
    pub covered_by: Vec<usize>,
}

/// Two overlapping 1″ TAN images around (150, +2) (the second rotated and skewed) and nine
/// stars, some in the overlap.
pub fn two_image_scene() -> Scene {
    let a = SynthImage {
        width: 240,
        height: 240,
        crval: SCENE_CENTRE,
        cd: rotated_cd(1.0, 0.0),
    };
    // Second image 180″ east, rotated and skewed (CD1_2 ≠ CD2_1, as in SDSS/UKIDSS headers).
    let b = SynthImage {
        width: 240,
        height: 220,
        crval: offset(SCENE_CENTRE.0, SCENE_CENTRE.1, 180.0, 10.0),
        cd: [[-2.60e-4, 0.95e-4], [1.10e-4, 2.72e-4]],
    };
    let mut stars = Vec::new();
    for (i, east) in [-80.0, -30.0, 20.0, 75.0, 90.0, 105.0, 150.0, 200.0, 250.0]
        .iter()
        .enumerate()
    {
        let north = [-60.0, 0.0, 50.0][i % 3];
        let (ra, dec) = offset(SCENE_CENTRE.0, SCENE_CENTRE.1, *east, north);
        stars.push(Star {
            ra,
            dec,
            peak: 1000.0,
            sigma_arcsec: 1.5,
        });
    }
    let images = vec![a, b];
    let inside = |im: &SynthImage, s: &Star| {
        let (px, py) = im.wcs().world_to_pixel(s.ra, s.dec).unwrap();
        px > 15.0 && py > 15.0 && px < im.width as f64 - 15.0 && py < im.height as f64 - 15.0
    };
    let covered_by = stars
        .iter()
        .map(|s| images.iter().filter(|im| inside(im, s)).count())
        .collect();
    Scene {
        images,
        stars,
        covered_by,
    }
}

/// Writes the scene's images as FITS files into `dir/in` and returns that directory.
pub fn write_scene_inputs(dir: &std::path::Path, scene: &Scene) -> PathBuf {
    write_scene_images(&dir.join("in"), scene, |_, v| v)
}

/// Writes the scene's images as `inputs/img{i}.fits` with `map(i, value)` applied to the
/// pixels of image `i`; returns `inputs`.
pub fn write_scene_images(
    inputs: &std::path::Path,
    scene: &Scene,
    map: impl Fn(usize, f32) -> f32,
) -> PathBuf {
    std::fs::create_dir_all(inputs).unwrap();
    for (i, im) in scene.images.iter().enumerate() {
        im.write_mapped(&inputs.join(format!("img{i}.fits")), &scene.stars, |v| {
            map(i, v)
        });
    }
    inputs.to_path_buf()
}

/// Serves `app` on a loopback port from a background runtime; returns the address.
pub fn start_server(app: axum::Router) -> std::net::SocketAddr {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        runtime.block_on(hipsforge::serve::run(listener, app, std::future::pending()))
    });
    addr
}

/// Runs one of the project's installer scripts: its last stdout line, or the reason it failed
/// (exit status and the script's stderr).
pub fn run_installer(script: &str) -> Result<String, String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(script);
    let out = std::process::Command::new("bash")
        .arg(&path)
        .output()
        .map_err(|e| format!("cannot run {}: {e}", path.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} failed ({}):\n{}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .map(|l| l.trim().to_string())
        .ok_or_else(|| format!("{} printed nothing", path.display()))
}

/// What a test does when its environment cannot be set up (`ready` is an `Err` reason): under
/// CI (`CI` set) it fails with the reason; elsewhere it gets `None` and returns, after a
/// `SKIPPED name: reason` line written straight to stderr (libtest captures `eprintln!`, not
/// writes to the stderr handle).
pub fn ready_or_skip<T>(name: &str, ready: Result<T, String>) -> Option<T> {
    let reason = match ready {
        Ok(t) => return Some(t),
        Err(reason) => reason,
    };
    if std::env::var_os("CI").is_some() {
        panic!("{name} cannot run under CI: {reason}");
    }
    let line = format!("\nSKIPPED {name}: {reason}\n");
    let _ = std::io::Write::write_all(&mut std::io::stderr(), line.as_bytes());
    None
}

/// `hipsforge cutout` arguments: band `a` from `hips`, 8×8 stamps at 0.9″, `-q`, then `extra`.
pub fn cutout_args(
    hips: &std::path::Path,
    positions: &std::path::Path,
    out: &std::path::Path,
    extra: &[&str],
) -> Vec<String> {
    let mut args: Vec<String> = [
        "cutout",
        "--hips",
        &format!("a={}", hips.display()),
        "--positions",
        positions.to_str().unwrap(),
        "--size",
        "8",
        "--scale",
        "0.9arcsec",
        "--out",
        out.to_str().unwrap(),
        "-q",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

// Raw HTTP/1.1 on loopback, so that requests reach the server exactly as written.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};

/// An HTTP answer read to its end.
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The first header of that name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `target` with extra header lines; reads to the end (Connection: close).
pub fn request(addr: SocketAddr, method: &str, target: &str, extra: &[&str]) -> Reply {
    request_with_body(addr, method, target, extra, b"")
}

/// Sends `target` with extra header lines and a body; reads to the end.
pub fn request_with_body(
    addr: SocketAddr,
    method: &str,
    target: &str,
    extra: &[&str],
    body: &[u8],
) -> Reply {
    let mut s = TcpStream::connect(addr).unwrap();
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for h in extra {
        req.push_str(h);
        req.push_str("\r\n");
    }
    if !body.is_empty() {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("header end");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let mut body = raw[split + 4..].to_vec();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data.windows(2).position(|w| w == b"\r\n").unwrap();
        let size =
            usize::from_str_radix(std::str::from_utf8(&data[..line_end]).unwrap().trim(), 16)
                .unwrap();
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// `GET target`.
pub fn get(addr: SocketAddr, target: &str) -> Reply {
    request(addr, "GET", target, &[])
}

/// Waits (at most 120 s) until a `hipsforge cutout` run has recorded one chunk as done in
/// `progress`, then kills it: panics if the run ended first, so the caller really resumes an
/// interrupted run.
pub fn interrupt_after_first_chunk(child: &mut std::process::Child, progress: &std::path::Path) {
    // Kill it as soon as one chunk is recorded as done: the run must really be interrupted.
    let started = std::time::Instant::now();
    loop {
        let done = std::fs::read_to_string(progress)
            .map(|t| t.lines().filter(|l| l.starts_with("done ")).count())
            .unwrap_or(0);
        if done >= 1 {
            break;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the first run ended ({status}) before any chunk was recorded in {progress:?}");
        }
        assert!(
            started.elapsed().as_secs() < 120,
            "no chunk recorded as done after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "the first run finished: {status}");
    let recorded = std::fs::read_to_string(progress).expect("progress file after the kill");
    assert!(
        recorded.lines().any(|l| l.starts_with("done ")),
        "{recorded}"
    );
}

/// `dir/objects.csv`: `n` objects (name;RA;DEC;mag) on a spiral over the two-image scene,
/// every 17th (i % 17 == 5) far outside it.
pub fn scene_positions(dir: &std::path::Path, n: usize) -> PathBuf {
    let (ra0, dec0) = SCENE_CENTRE;
    let mut text = String::from("name;RA;DEC;mag\n");
    for i in 0..n {
        // A spiral over both images; every 17th object far outside the survey.
        let (r, a) = (20.0 + 2.0 * (i % 60) as f64, i as f64 * 0.7);
        let (ra, dec) = offset(ra0, dec0, 90.0 + r * a.cos(), r * a.sin() * 0.6);
        let (ra, dec) = if i % 17 == 5 {
            (ra + 10.0, dec)
        } else {
            (ra, dec)
        };
        text.push_str(&format!(
            "obj-{i};{ra:.8};{dec:.8};{}\n",
            18.0 + i as f64 * 0.01
        ));
    }
    let path = dir.join("objects.csv");
    std::fs::write(&path, text).unwrap();
    path
}

/// Bulk-cutout options for tests: `bands` into `out` at 0.9″ pixels, TAN, bilinear, ICRS.
pub fn bulk_options(
    bands: Vec<(String, PathBuf)>,
    positions: &std::path::Path,
    out: &std::path::Path,
    size: usize,
) -> hipsforge::cutout::bulk::BulkOptions {
    hipsforge::cutout::bulk::BulkOptions {
        remote: Default::default(),
        bands,
        positions: positions.to_path_buf(),
        columns: Default::default(),
        size,
        scale_deg: Some(0.9 / 3600.0),
        projection: "TAN".into(),
        frame: hipsforge::wcs::Frame::Equatorial,
        kernel: hipsforge::cutout::Kernel::Bilinear,
        order: None,
        out: out.to_path_buf(),
        restart: false,
        cache_bytes: 64 << 20,
        verbose: false,
    }
}

/// Runs `hipsforge ARGS`: (success, stderr).
pub fn hipsforge(args: &[&str]) -> (bool, String) {
    let o = std::process::Command::new(binary())
        .args(args)
        .output()
        .unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs `hipsforge ARGS`, asserting success; its stderr.
pub fn hipsforge_ok(args: &[&str]) -> String {
    let (ok, err) = hipsforge(args);
    assert!(ok, "hipsforge {}: {err}", args.join(" "));
    err
}

/// `build INPUT --out OUT --id ivo://test/P/NAME --tile-width 64 EXTRA...` (NAME: OUT's own
/// name), the arguments of a small test build.
pub fn build_args(input: &std::path::Path, out: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let name = out.file_name().unwrap().to_str().unwrap();
    let mut args: Vec<String> = [
        "build",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--id",
        &format!("ivo://test/P/{name}"),
        "--tile-width",
        "64",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}
