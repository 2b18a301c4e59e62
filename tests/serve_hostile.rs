//! The server against hostile or careless clients, on loopback only: garbage hips2fits
//! queries (a seeded property test of the parser and a corpus through HTTP), panics caught,
//! repeated slashes merged without leaving a root, oversized URIs, headers and bodies, and a
//! thousand idle connections.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use hipsforge::fits::write::CardValue;
use hipsforge::serve::cutouts::{parse_hips2fits_query, MAX_ORDER, MAX_PIXELS};
use hipsforge::serve::{harden, router, ServeOptions};

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 by hand, so that requests reach the server exactly as written.

struct Answer {
    status: u16,

    body: Vec<u8>,
}

/// Reads one response from `r` (Content-Length, chunked, or to the end of the stream).
fn read_answer(r: &mut BufReader<TcpStream>) -> std::io::Result<Answer> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let field = |name: &str| {
        head.lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let mut body = Vec::new();
    if let Some(n) = field("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if field("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if status != 304 && status != 204 {
        r.read_to_end(&mut body)?;
    }
    Ok(Answer { status, body })
}

/// One request on a fresh connection (closed after it).
fn send(addr: SocketAddr, raw: &[u8]) -> Answer {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    (&s).write_all(raw).unwrap();
    read_answer(&mut BufReader::new(s)).unwrap()
}

fn get(addr: SocketAddr, target: &str) -> Answer {
    send(
        addr,
        format!("GET {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

fn text(a: &Answer) -> String {
    String::from_utf8_lossy(&a.body).into_owned()
}

/// A small HiPS (FIRST, 64-pixel tiles, FITS + PNG), built by the CLI, served on 127.0.0.1:0.
fn start(dir: &Path) -> SocketAddr {
    let hips = dir.join("first");
    let built = std::process::Command::new(common::binary())
        .arg("build")
        .arg(common::shared_data().join("first"))
        .arg("--out")
        .arg(&hips)
        .args(["--id", "ivo://test/P/FIRST", "--tile-width", "64"])
        .args(["--format", "fits,png", "--force", "-q"])
        .status()
        .unwrap();
    assert!(built.success());
    let app = router(&ServeOptions {
        mounts: vec![("first".to_string(), hips)],
        ..Default::default()
    })
    .unwrap();
    common::start_server(app)
}

// ---------------------------------------------------------------------------------------------
// The hips2fits parser: a seeded property test and a corpus.

/// xorshift64*: a seeded, dependency-free PRNG.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn float(&mut self) -> f64 {
        match self.below(4) {
            0 => f64::from_bits(self.next()),
            1 => (self.next() as i64 as f64) / 1e9,
            2 => (self.below(2001) as f64 - 1000.0) / 3.0,
            _ => self.below(100) as f64,
        }
    }
}

const KEYS: &[&str] = &[
    "hips",
    "width",
    "height",
    "fov",
    "ra",
    "dec",
    "rotation_angle",
    "projection",
    "coordsys",
    "format",
    "order",
    "min_cut",
    "max_cut",
    "stretch",
    "cmap",
    "inverse",
    "wcs",
];

const VALUES: &[&str] = &[
    "",
    "0",
    "-0",
    "1",
    "-1",
    "2",
    "29",
    "30",
    "255",
    "256",
    "65536",
    "4294967296",
    "18446744073709551616",
    "1e308",
    "-1e308",
    "1e-320",
    "5e-324",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "infinity",
    "+Infinity",
    "90",
    "-90",
    "90.0000001",
    "95",
    "180",
    "360",
    "360.0001",
    "720",
    "1.5",
    "0.5%",
    "99.5%",
    "101%",
    "-5%",
    "nan%",
    "TAN",
    "SIN",
    "AIT",
    "CAR",
    "ZEA",
    "STG",
    "MOL",
    "XYZ",
    "icrs",
    "galactic",
    "fk5",
    "fits",
    "png",
    "jpg",
    "gif",
    "linear",
    "asinh",
    "log",
    "Greys_r",
    "viridis",
    "true",
    "first",
    "ivo://test/P/FIRST",
    "\u{0}",
    "%",
    "é",
    " 10 ",
    "{}",
    "[]",
    "null",
    "{\"NAXIS1\":1}",
];

/// A random wcs JSON object, often almost valid.
fn random_wcs(rng: &mut Rng) -> String {
    let mut fields = vec![
        ("NAXIS1", rng.float().to_string()),
        ("NAXIS2", rng.float().to_string()),
        (
            "CTYPE1",
            format!("\"RA---{}\"", rng.pick(&["TAN", "SIN", "AIT", "XYZ"])),
        ),
        (
            "CTYPE2",
            format!("\"DEC--{}\"", rng.pick(&["TAN", "SIN", "AIT", "XYZ"])),
        ),
        ("CRVAL1", rng.float().to_string()),
        ("CRVAL2", rng.float().to_string()),
        ("CRPIX1", rng.float().to_string()),
        ("CRPIX2", rng.float().to_string()),
        ("CDELT1", format!("{}", -rng.float() / 1e3)),
        ("CDELT2", format!("{}", rng.float() / 1e3)),
    ];
    for (_, v) in fields.iter_mut() {
        if rng.below(5) == 0 {
            *v = format!("\"{}\"", rng.pick(VALUES));
        } else if !v.starts_with('"') && (v.contains("inf") || v.contains("NaN")) {
            // Not JSON numbers: as strings, the way a client would have to send them.
            *v = format!("\"{v}\"");
        }
    }
    let n = fields.len() - rng.below(3);
    let body: Vec<String> = fields[..n]
        .iter()
        .map(|(k, v)| format!("\"{k}\":{v}"))
        .collect();
    format!("{{{}}}", body.join(","))
}

/// A query map: a sane request (most of the time) with a few keys set to hostile values.
fn random_query(rng: &mut Rng) -> HashMap<String, String> {
    let mut q = HashMap::new();
    if rng.below(10) != 0 {
        q.insert("hips".into(), "first".into());
        if rng.below(5) == 0 {
            q.insert("wcs".into(), random_wcs(rng));
        } else {
            let sane = [
                ("width", (1 + rng.below(300)).to_string()),
                ("height", (1 + rng.below(300)).to_string()),
                (
                    "fov",
                    (rng.below(36_000) as f64 / 100.0 + 0.001).to_string(),
                ),
                (
                    "ra",
                    (rng.below(1_440_000) as f64 / 1000.0 - 720.0).to_string(),
                ),
                (
                    "dec",
                    (rng.below(180_001) as f64 / 1000.0 - 90.0).to_string(),
                ),
            ];
            q.extend(sane.into_iter().map(|(k, v)| (k.to_string(), v)));
        }
    }
    for _ in 0..rng.below(4) {
        let key = rng.pick(KEYS).to_string();
        let value = match rng.below(4) {
            0 => rng.float().to_string(),
            1 => (0..rng.below(40))
                .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
                .collect(),
            _ => rng.pick(VALUES).to_string(),
        };
        if rng.below(8) == 0 {
            q.remove(&key);
        } else {
            q.insert(key, value);
        }
    }
    q
}

/// `line` as a request target's query: anything outside a safe set percent-encoded.
fn encode_query(line: &str) -> String {
    line.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~=&%+".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `a=b&c=d` with percent-decoding and `+` as space, as a query extractor does.
fn query_map(s: &str) -> HashMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

/// Parses `q`; never a panic, and an accepted request is finite and in range throughout.
/// Returns whether it was accepted.
fn check_query(q: &HashMap<String, String>) -> bool {
    let parsed = std::panic::catch_unwind(|| parse_hips2fits_query(q))
        .unwrap_or_else(|_| panic!("parse_hips2fits_query panicked on {q:?}"));
    let r = match parsed {
        Ok(r) => r,
        Err(e) => {
            let status = e.status().as_u16();
            assert!(
                status == 400 || status == 413,
                "{q:?}: status {status} for a request error"
            );
            assert!(!e.description().is_empty(), "{q:?}: empty description");
            return false;
        }
    };
    let g = &r.grid;
    assert!(g.width >= 1 && g.height >= 1, "{q:?}: empty grid");
    assert!(
        g.width
            .checked_mul(g.height)
            .is_some_and(|n| n <= MAX_PIXELS),
        "{q:?}: {}x{} accepted",
        g.width,
        g.height
    );
    let scale = g.scale_deg();
    assert!(scale.is_finite() && scale > 0.0, "{q:?}: scale {scale}");
    for c in &g.cards {
        if let CardValue::Float(v) = c.value {
            assert!(v.is_finite(), "{q:?}: card {} = {v}", c.key);
        }
    }
    if let Some(s) = &r.spec {
        assert!(
            s.lon.is_finite() && (0.0..=360.0).contains(&s.lon),
            "{q:?}: ra {}",
            s.lon
        );
        assert!((-90.0..=90.0).contains(&s.lat), "{q:?}: dec {}", s.lat);
        assert!(s.scale_deg.is_finite() && s.scale_deg > 0.0, "{q:?}");
        assert!(
            s.scale_deg * (s.width.max(s.height) as f64) <= 360.0 + 1e-9,
            "{q:?}: fov"
        );
        assert!(s.rotation_deg.is_finite(), "{q:?}: rotation");
    }
    assert!(r.order.is_none_or(|k| k <= MAX_ORDER), "{q:?}: order");
    true
}

fn corpus() -> Vec<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/hips2fits_queries.txt");
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn hips2fits_parser_never_panics_and_accepts_only_sane_grids() {
    // Quiet the default hook's output for caught panics (a panic still fails the test).
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut accepted, mut total) = (0, 0);
    for line in corpus() {
        accepted += check_query(&query_map(&line)) as usize;
        total += 1;
    }
    for _ in 0..12_000 {
        accepted += check_query(&random_query(&mut rng)) as usize;
        total += 1;
    }
    // Raw garbage, decoded as the server would.
    for _ in 0..2_000 {
        let raw: String = (0..rng.below(120))
            .map(|_| (rng.below(95) as u8 + 32) as char)
            .collect();
        accepted += check_query(&query_map(&raw)) as usize;
        total += 1;
    }
    eprintln!("{total} queries, {accepted} accepted");
    assert!(total >= 10_000);
    // The generator must reach the accepting paths too, not only the errors.
    assert!(
        accepted > 500,
        "only {accepted} accepted: the generator is too hostile"
    );
}

#[test]
fn the_reported_requests_are_400_or_413_naming_the_parameter() {
    let cases = [
        (
            "width=4294967296&height=4294967296&fov=1&ra=0&dec=0",
            413,
            "4294967296",
        ),
        ("width=10&height=10&fov=1&ra=inf&dec=0", 400, "ra"),
        ("width=10&height=10&fov=1&ra=0&dec=95", 400, "dec"),
        ("width=10&height=10&fov=720&ra=0&dec=0", 400, "fov"),
        ("width=10&height=10&fov=1&ra=0&dec=0&order=30", 400, "order"),
        (
            "width=10&height=10&fov=1&ra=0&dec=0&rotation_angle=nan",
            400,
            "rotation_angle",
        ),
        ("width=nan&height=10&fov=1&ra=0&dec=0", 400, "width"),
        ("width=10&height=1.5&fov=1&ra=0&dec=0", 400, "height"),
    ];
    for (query, status, name) in cases {
        let q = query_map(&format!("hips=first&{query}"));
        let e = parse_hips2fits_query(&q).expect_err(query);
        assert_eq!(e.status().as_u16(), status, "{query}: {}", e.description());
        assert!(
            e.description().contains(name),
            "{query}: {:?} does not name {name}",
            e.description()
        );
    }
    // ra wraps; the poles and a whole-sky field are fine.
    let ok = query_map("hips=first&width=10&height=10&fov=360&ra=-30&dec=-90");
    let r = parse_hips2fits_query(&ok).unwrap();
    assert_eq!(r.spec.unwrap().lon, 330.0);
}

#[test]
fn hostile_requests_over_http_never_fail_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path());
    let h2f = "/hips-image-services/hips2fits";
    // Every corpus line through the whole stack (sampling included): a 4xx or a 200, never a
    // 5xx or a dropped connection.
    for line in corpus() {
        let a = get(addr, &format!("{h2f}?{}", encode_query(&line)));
        assert!(
            (200..500).contains(&a.status),
            "{line}: {} {}",
            a.status,
            text(&a)
        );
        if a.status >= 400 && a.status != 404 && line.contains("hips=first") {
            let json: serde_json::Value = serde_json::from_slice(&a.body)
                .unwrap_or_else(|_| panic!("{line}: not JSON: {}", text(&a)));
            assert!(json["title"].is_string() && json["description"].is_string());
        }
    }
    // What the issue reported: 500 with a panic before, 413 / 400 now.
    let a = get(
        addr,
        &format!("{h2f}?hips=first&width=4294967296&height=4294967296&fov=1&ra=0&dec=0"),
    );
    assert_eq!(a.status, 413, "{}", text(&a));
    for (q, name) in [
        ("ra=inf&dec=0&fov=1", "ra"),
        ("ra=0&dec=95&fov=1", "dec"),
        ("ra=0&dec=0&fov=720", "fov"),
    ] {
        let a = get(addr, &format!("{h2f}?hips=first&width=8&height=8&{q}"));
        assert_eq!(a.status, 400, "{q}: {}", text(&a));
        assert!(text(&a).contains(name), "{q}: {}", text(&a));
    }

    // POST /cutouts: size and scale bounded and finite; too-large stacks are 413.
    let post = |target: &str, body: &str| {
        send(
            addr,
            format!(
                "POST {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        )
    };
    let objects = "ra,dec\n162.5,30.6\n";
    for (target, status) in [
        ("/cutouts?hips=first&size=16&scale=1.8arcsec", 200),
        ("/cutouts?hips=first&size=0", 400),
        ("/cutouts?hips=first&size=1025", 400),
        ("/cutouts?hips=first&size=18446744073709551616", 400),
        ("/cutouts?hips=first&size=-3", 400),
        ("/cutouts?hips=first&size=nan", 400),
        ("/cutouts?hips=first&size=16&scale=inf", 400),
        ("/cutouts?hips=first&size=16&scale=nanarcsec", 400),
        ("/cutouts?hips=first&size=16&scale=-1deg", 400),
        ("/cutouts?hips=first&size=1000&scale=1deg", 400),
        ("/cutouts?hips=first&size=1024&scale=1e-300deg", 400),
    ] {
        let a = post(target, objects);
        assert_eq!(a.status, status, "{target}: {}", text(&a));
    }
    let bad_rows = post("/cutouts?hips=first&size=8", "ra,dec\ninf,0\n");
    assert_eq!(bad_rows.status, 400, "{}", text(&bad_rows));
    let many: String = std::iter::once("ra,dec\n".to_string())
        .chain((0..300).map(|i| format!("162.5,{}\n", 30.0 + i as f64 * 1e-4)))
        .collect();
    let big = post("/cutouts?hips=first,first,first&size=512", &many);
    assert_eq!(big.status, 413, "{}", text(&big));
    // Still serving.
    assert_eq!(get(addr, "/first/properties").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Panics, slashes, limits, idle connections.

#[test]
fn a_panicking_handler_is_a_500_and_the_connection_lives_on() {
    async fn boom() -> &'static str {
        panic!("deliberate test panic")
    }
    let app = harden(
        axum::Router::new()
            .route("/boom", axum::routing::get(boom))
            .route("/ok", axum::routing::get(|| async { "fine" })),
    );
    let addr = common::start_server(app);
    // Keep-alive: the same connection answers after the panic.
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    for (path, status) in [("/boom", 500), ("/ok", 200), ("/boom", 500), ("/ok", 200)] {
        (&s).write_all(format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
            .unwrap();
        let a = read_answer(&mut r).unwrap();
        assert_eq!(a.status, status, "{path}: {}", text(&a));
        if status == 500 {
            let json: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
            assert!(json["title"].is_string(), "{}", text(&a));
        } else {
            assert_eq!(a.body, b"fine");
        }
    }
}

#[test]
fn repeated_slashes_merge_without_leaving_a_root() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path());
    let props = get(addr, "/first/properties");
    assert_eq!(props.status, 200);
    // 200: what Aladin Desktop asks when given http://HOST/first/ (merged as nginx does).
    // 404: every way out of a root, with slashes doubled or encoded.
    let cases = [
        ("/first//properties", 200),
        ("//first//properties", 200),
        ("//first/properties?x=1", 200),
        ("/first///Norder3//Allsky.png", 200),
        ("/first//", 200),
        ("/..//", 404),
        ("//..//..//etc/passwd", 404),
        ("//etc/passwd", 404),
        ("/first//..//..//etc/passwd", 404),
        ("/first//.//properties", 404),
        ("/first/%2F%2Fproperties", 404),
        ("/first%2F%2Fproperties", 404),
        ("/%2F%2Fetc/passwd", 404),
        ("/%2F%2Fevil.example", 404),
        ("/%2Fevil.example", 404),
        ("/first//%2e%2e//%2e%2e//etc/passwd", 404),
        ("/first//..%2F..%2Fetc/passwd", 404),
        ("/first//\\..\\properties", 404),
        // Tile paths beyond their order's cells (a MOC lookup overflowed on these).
        (
            "/first/Norder0/Dir18446744073709550000/Npix18446744073709551615.png",
            404,
        ),
        ("/first//Norder3//Dir90000//Npix99999.fits", 404),
        ("/first/Norder30/Dir0/Npix0.png", 404),
    ];
    for (target, status) in cases {
        let a = get(addr, target);
        assert_eq!(a.status, status, "{target}: {}", text(&a));
        if target.contains("properties") && status == 200 {
            assert_eq!(a.body, props.body, "{target}");
        }
    }
}

#[test]
fn oversized_uris_headers_and_bodies_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path());
    // URIs: over our limit (414 from us) and far over it (414 from hyper, 64 KB).
    for len in [hipsforge::serve::MAX_URI_BYTES + 1, 100_000] {
        let a = get(addr, &format!("/first/{}", "a".repeat(len)));
        assert_eq!(a.status, 414, "URI of {len} bytes");
    }
    let at_limit = format!(
        "/first/properties?{}",
        "a".repeat(hipsforge::serve::MAX_URI_BYTES - 18)
    );
    assert_eq!(get(addr, &at_limit).status, 200);
    // Headers: one big one, many small ones (ours), a huge block (hyper's own 431, ~400 KB),
    // and more than 100 tiny ones (hyper's header count).
    let header_cases = [
        format!(
            "X-Big: {}\r\n",
            "b".repeat(hipsforge::serve::MAX_HEADER_BYTES)
        ),
        (0..90)
            .map(|i| format!("X-H{i}: {}\r\n", "c".repeat(400)))
            .collect(),
        format!("X-Huge: {}\r\n", "d".repeat(600_000)),
        (0..150).map(|i| format!("X-{i}: e\r\n")).collect(),
    ];
    for (i, extra) in header_cases.iter().enumerate() {
        let a = send(
            addr,
            format!("GET /first/properties HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}\r\n")
                .as_bytes(),
        );
        assert_eq!(a.status, 431, "header case {i}");
    }
    // Bodies: a declared length over the limit is refused before it is sent...
    let over = hipsforge::serve::MAX_REQUEST_BODY + 1;
    let a = send(
        addr,
        format!("POST /cutouts?hips=first HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {over}\r\n\r\n").as_bytes(),
    );
    assert_eq!(a.status, 413, "{}", text(&a));
    // ... and a chunked body is cut off when it passes the limit.
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    (&s).write_all(
        format!("POST /cutouts?hips=first HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n").as_bytes(),
    )
    .unwrap();
    let chunk = format!("100000\r\n{}\r\n", "1,2\n".repeat(1 << 18));
    for _ in 0..(over >> 20) + 1 {
        if (&s).write_all(chunk.as_bytes()).is_err() {
            break; // the server answered and closed
        }
    }
    let _ = (&s).write_all(b"0\r\n\r\n");
    let a = read_answer(&mut BufReader::new(s)).unwrap();
    assert_eq!(a.status, 413, "chunked: {}", text(&a));
    assert_eq!(get(addr, "/first/properties").status, 200);
}

#[test]
fn a_thousand_idle_connections_do_not_stall_others() {
    let dir = tempfile::tempdir().unwrap();
    let addr = start(dir.path());
    let mut idle = Vec::with_capacity(1000);
    for i in 0..1000 {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
        // Half of them start a request and never finish it.
        if i % 2 == 0 {
            let _ = (&s).write_all(b"GET /first/properties HTTP/1.1\r\nHost: x\r\n");
        }
        idle.push(s);
    }
    std::thread::sleep(Duration::from_millis(200));
    let started = Instant::now();
    let a = get(addr, "/first/properties");
    let took = started.elapsed();
    assert_eq!(a.status, 200);
    assert!(took < Duration::from_secs(2), "GET took {took:?}");
    eprintln!("GET beside 1000 idle connections: {took:?}");
    drop(idle);
}
