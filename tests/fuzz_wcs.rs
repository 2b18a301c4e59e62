//! Property fuzzing of FITS header parsing, WCS construction and pixel ⇄ sky.
//!
//! Inputs are header card images: the seed corpus in tests/data/fuzz_wcs/*.txt (the celestial
//! cards of every shared real file, hand-made nasty headers and every input that once broke a
//! property) and mutations of it. For every input:
//! - `Header::from_cards` and `Wcs::from_header` do not panic (an `Err` is fine);
//! - an accepted WCS has a finite, positive pixel scale;
//! - on a grid of pixels (near CRPIX and far outside the image) `pixel_to_xyz` does not panic
//!   and gives a finite unit vector or `None`; its (lon, lat) is finite with |lat| ≤ π/2 and
//!   cdshealpix can hash it; `xyz_to_pixel` does not panic and gives finite pixels or `None`;
//! - for a sane header (pixel scale in [1e-9°, 10°], well-conditioned CD, SIP or TPV a small
//!   perturbation) pixel → sky → pixel closes within 1e-4 px (CSC: 50″, its polynomials are
//!   no exact inverses) for pixels within 300 px (and 20°) of CRPIX, and sky → pixel → sky
//!   closes for sky points landing there.
//!
//! In `cargo test` a fixed, seeded budget runs (a few seconds). Longer runs:
//! `FUZZ_SECONDS=1800 cargo test --release --test fuzz_wcs -- --nocapture`
//! (`FUZZ_SEED` picks the seed, `FUZZ_ITERS` the count of a short run). Inputs that break a
//! property are written to `$CARGO_TARGET_TMPDIR/fuzz_wcs/` (or `FUZZ_FINDINGS`), ready to join the corpus.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use hipsforge::fits::Header;
use hipsforge::wcs::frame::xyz_to_lonlat;
use hipsforge::wcs::Wcs;

// ---------------------------------------------------------------------------------------------
// Randomness: xorshift64*, seeded, no dependency.

struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// Uniform in [-1, 1) times 10^k, k uniform in `exponents`.
    fn scaled(&mut self, exponents: std::ops::RangeInclusive<i32>) -> f64 {
        let span = (exponents.end() - exponents.start() + 1) as usize;
        let k = exponents.start() + self.below(span) as i32;
        (2.0 * self.unit() - 1.0) * 10f64.powi(k)
    }
}

// ---------------------------------------------------------------------------------------------
// Cards.

/// `KEY     = value` as an 80-character card image.
fn card(key: &str, value: &str) -> String {
    format!("{key:<8}= {value:>20}")
}

fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn key_of(card: &str) -> &str {
    card.get(..8.min(card.len())).unwrap_or("").trim()
}

/// Sets `key` (replacing every card with it, or appending).
fn set(cards: &mut Vec<String>, key: &str, value: &str) {
    cards.retain(|c| key_of(c) != key);
    cards.push(card(key, value));
}

fn remove_prefixed(cards: &mut Vec<String>, prefixes: &[&str]) {
    cards.retain(|c| !prefixes.iter().any(|p| key_of(c).starts_with(p)));
}

/// The value of a card as the parser would see it (for mutations that need it).
fn value_of<'a>(cards: &'a [String], key: &str) -> Option<&'a str> {
    cards
        .iter()
        .rev()
        .find(|c| key_of(c) == key)
        .and_then(|c| c.get(10..))
        .map(|v| v.split('/').next().unwrap_or("").trim().trim_matches('\''))
}

/// Every projection code of FITS WCS paper II, the old spellings, the distortion codes of
/// other conventions, and garbage.
const CODES: [&str; 44] = [
    "AZP",
    "SZP",
    "TAN",
    "STG",
    "SIN",
    "ARC",
    "ZPN",
    "ZEA",
    "AIR",
    "CYP",
    "CEA",
    "CAR",
    "MER",
    "SFL",
    "PAR",
    "MOL",
    "AIT",
    "COP",
    "COE",
    "COD",
    "COO",
    "BON",
    "PCO",
    "TSC",
    "CSC",
    "QSC",
    "HPX",
    "XPH",
    "GLS",
    "NCP",
    "TPV",
    "TNX",
    "ZPX",
    "TPD",
    "DSS",
    "",
    "TA",
    "TANN",
    "tan",
    "T N",
    "???",
    "\u{e9}\u{e9}",
    "SIP",
    "-",
];

const KINDS: [(&str, &str); 9] = [
    ("RA", "DEC"),
    ("GLON", "GLAT"),
    ("ELON", "ELAT"),
    ("DEC", "RA"),
    ("GLAT", "GLON"),
    ("RA", "GLAT"),
    ("HPLN", "HPLT"),
    ("", ""),
    ("X", "Y"),
];

const SUFFIXES: [&str; 7] = ["", "", "", "-SIP", "-TPV", "-SIP-XYZ", "-"];

fn ctype(kind: &str, code: &str, suffix: &str) -> String {
    let mut s = kind.to_string();
    while s.len() < 4 {
        s.push('-');
    }
    format!("{s}-{code}{suffix}")
}

/// Number spellings that have broken parsers somewhere.
const NASTY: [&str; 48] = [
    "NaN",
    "nan",
    "-NaN",
    "inf",
    "-inf",
    "+inf",
    "infinity",
    "1e308",
    "-1e308",
    "1.7976931348623157E308",
    "1e309",
    "-1e309",
    "-0",
    "-0.0",
    "0",
    "0.0",
    "1e-308",
    "5e-324",
    "-1e-320",
    "1.0D+05",
    "1.0d-300",
    "1D400",
    "-2.5D-7",
    "",
    "'",
    "''",
    "'RA---TAN'",
    "'unterminated",
    "' 12.5 '",
    "T",
    "F",
    "garbage",
    "0x10",
    "1_0",
    "+",
    "-",
    ".",
    "e5",
    "1e",
    "(1.0, 2.0)",
    "   ",
    "/ only a comment",
    "9999999999999999999999",
    "-9223372036854775808",
    "18446744073709551616",
    "1e+99999",
    "1.0.0",
    "\u{2212}1.0",
];

fn random_number(rng: &mut Rng) -> String {
    let x = match rng.below(6) {
        0 => rng.scaled(-12..=3),
        1 => rng.scaled(-320..=308),
        2 => (rng.below(41) as f64 - 20.0) * 0.5,
        3 => rng
            .pick(&[0.0, -0.0, 90.0, -90.0, 180.0, 360.0, 1.0, -1.0, 1e-9, 1e-12])
            .to_owned(),
        4 => f64::from_bits(rng.next()),
        _ => rng.scaled(-3..=3).round(),
    };
    match rng.below(5) {
        0 => format!("{x:e}"),
        1 => format!("{x:E}").replace('E', "D"),
        2 => format!("{x:.3}"),
        _ => format!("{x}"),
    }
}

fn random_value(rng: &mut Rng) -> String {
    if rng.chance(0.5) {
        rng.pick(&NASTY).to_string()
    } else {
        random_number(rng)
    }
}

const CELESTIAL: [&str; 20] = [
    "CTYPE1", "CTYPE2", "CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2", "CDELT1", "CDELT2", "CD1_1",
    "CD1_2", "CD2_1", "CD2_2", "PC1_1", "PC1_2", "PC2_1", "PC2_2", "CROTA2", "LONPOLE", "LATPOLE",
    "RADESYS",
];

/// One random change to a header.
fn mutate(rng: &mut Rng, cards: &mut Vec<String>, corpus: &[(String, Vec<String>)]) {
    match rng.below(17) {
        // A value replaced by a nasty or random one.
        0 | 1 => {
            let key = if rng.chance(0.7) || cards.is_empty() {
                rng.pick(&CELESTIAL).to_string()
            } else {
                key_of(&cards[rng.below(cards.len())]).to_string()
            };
            let v = random_value(rng);
            set(cards, &key, &v);
        }
        // A card removed.
        2 => {
            if !cards.is_empty() {
                let i = rng.below(cards.len());
                cards.remove(i);
            }
        }
        // A card repeated, with another value.
        3 => {
            if !cards.is_empty() {
                let key = key_of(&cards[rng.below(cards.len())]).to_string();
                let v = random_value(rng);
                let at = rng.below(cards.len() + 1);
                cards.insert(at, card(&key, &v));
            }
        }
        // Axes swapped.
        4 => {
            let (a, b) = (value_of(cards, "CTYPE1"), value_of(cards, "CTYPE2"));
            let (a, b) = (a.unwrap_or("").to_string(), b.unwrap_or("").to_string());
            set(cards, "CTYPE1", &quoted(&b));
            set(cards, "CTYPE2", &quoted(&a));
        }
        // Another projection.
        5 | 6 => {
            let (k1, k2) = if rng.chance(0.8) {
                ("RA", "DEC")
            } else {
                *rng.pick(&KINDS)
            };
            let code = rng.pick(&CODES);
            let code2 = if rng.chance(0.9) {
                code
            } else {
                rng.pick(&CODES)
            };
            let suffix = rng.pick(&SUFFIXES);
            set(cards, "CTYPE1", &quoted(&ctype(k1, code, suffix)));
            set(cards, "CTYPE2", &quoted(&ctype(k2, code2, suffix)));
        }
        // Projection parameters.
        7 => {
            for _ in 0..1 + rng.below(4) {
                let key = match rng.below(3) {
                    0 => format!("PV2_{}", rng.below(25)),
                    1 => format!("PV1_{}", rng.below(8)),
                    _ => format!("PROJP{}", rng.below(11)),
                };
                let v = if rng.chance(0.7) {
                    format!("{}", rng.scaled(-6..=2))
                } else {
                    random_value(rng)
                };
                set(cards, &key, &v);
            }
        }
        // SIP polynomials of any order.
        8 => {
            remove_prefixed(cards, &["A_", "B_", "AP_", "BP_"]);
            if rng.chance(0.8) {
                let c1 = value_of(cards, "CTYPE1").unwrap_or("RA---TAN").to_string();
                let c2 = value_of(cards, "CTYPE2").unwrap_or("DEC--TAN").to_string();
                let strip = |c: &str| c.trim_end_matches("-SIP").to_string();
                set(cards, "CTYPE1", &quoted(&format!("{}-SIP", strip(&c1))));
                set(cards, "CTYPE2", &quoted(&format!("{}-SIP", strip(&c2))));
            }
            let order = rng.below(21);
            // Realistic terms shrink with the order (1e-5 px at 1000 px for order 2); some
            // headers have wild ones.
            let wild = rng.chance(0.2);
            let names: &[&str] = if rng.chance(0.4) {
                &["A", "B", "AP", "BP"]
            } else {
                &["A", "B"]
            };
            for name in names {
                if rng.chance(0.05) {
                    continue;
                }
                let o = if rng.chance(0.9) {
                    order
                } else {
                    rng.below(21)
                };
                set(cards, &format!("{name}_ORDER"), &o.to_string());
                for p in 0..=o {
                    for q in 0..=o - p {
                        if p + q < 2 && !rng.chance(0.1) || rng.chance(0.3) {
                            continue;
                        }
                        let c = if wild {
                            rng.scaled(-12..=2)
                        } else {
                            rng.scaled(-7..=-5) / 1000f64.powi((p + q) as i32 - 2)
                        };
                        set(cards, &format!("{name}_{p}_{q}"), &format!("{c:e}"));
                    }
                }
            }
        }
        // Native pole.
        9 => {
            let key = if rng.chance(0.6) {
                "LONPOLE"
            } else {
                "LATPOLE"
            };
            let v = if rng.chance(0.6) {
                format!("{}", rng.scaled(0..=2))
            } else {
                random_value(rng)
            };
            set(cards, key, &v);
        }
        // CROTA2 instead of a matrix.
        10 => {
            remove_prefixed(cards, &["CD1_", "CD2_", "PC1_", "PC2_"]);
            let v = if rng.chance(0.7) {
                format!("{}", rng.scaled(0..=3))
            } else {
                random_value(rng)
            };
            set(cards, "CROTA2", &v);
            if !cards.iter().any(|c| key_of(c) == "CDELT1") {
                set(cards, "CDELT1", "-0.001");
                set(cards, "CDELT2", "0.001");
            }
        }
        // Singular, tiny or zero scales.
        11 => match rng.below(4) {
            0 => {
                let (a, b, k) = (rng.scaled(-6..=0), rng.scaled(-6..=0), rng.scaled(-2..=2));
                set(cards, "CD1_1", &format!("{a:e}"));
                set(cards, "CD1_2", &format!("{b:e}"));
                set(cards, "CD2_1", &format!("{:e}", k * a));
                set(cards, "CD2_2", &format!("{:e}", k * b));
            }
            1 => {
                let t = rng.scaled(-320..=-100);
                for k in ["CD1_1", "CD2_2"] {
                    set(cards, k, &format!("{t:e}"));
                }
            }
            2 => {
                remove_prefixed(cards, &["CD1_", "CD2_"]);
                let k = if rng.chance(0.5) { "CDELT1" } else { "CDELT2" };
                set(cards, k, "0");
            }
            _ => {
                // Almost parallel rows.
                let a = rng.scaled(-5..=-3);
                set(cards, "CD1_1", &format!("{a:e}"));
                set(cards, "CD1_2", &format!("{a:e}"));
                set(cards, "CD2_1", &format!("{a:e}"));
                set(
                    cards,
                    "CD2_2",
                    &format!("{:e}", a * (1.0 + rng.scaled(-16..=-8))),
                );
            }
        },
        // Damaged card images.
        12 => {
            if !cards.is_empty() {
                let i = rng.below(cards.len());
                let mut chars: Vec<char> = cards[i].chars().collect();
                match rng.below(4) {
                    0 => chars.truncate(rng.below(chars.len() + 1)),
                    1 => {
                        let at = rng.below(chars.len() + 1);
                        let c = *rng.pick(&['\'', '/', '=', ' ', 'D', '\0', '\u{e9}', '\u{1F600}']);
                        chars.insert(at, c);
                    }
                    2 => {
                        if !chars.is_empty() {
                            let at = rng.below(chars.len());
                            chars[at] = char::from(b' ' + (rng.below(95) as u8));
                        }
                    }
                    _ => chars.extend(std::iter::repeat_n('x', rng.below(200))),
                }
                cards[i] = chars.into_iter().collect();
            }
        }
        // A number nudged by orders of magnitude or flipped.
        13 => {
            let key = *rng.pick(&CELESTIAL);
            if let Some(x) = value_of(cards, key).and_then(|v| v.parse::<f64>().ok()) {
                let y = match rng.below(3) {
                    0 => -x,
                    1 => x * 10f64.powi(rng.below(61) as i32 - 30),
                    _ => x + rng.scaled(-15..=0),
                };
                set(cards, key, &format!("{y:e}"));
            }
        }
        // Reference points at the edges of the sphere, and far reference pixels.
        14 => {
            let v = rng.pick(&[
                "90",
                "-90",
                "90.000000000001",
                "89.9999999999",
                "360",
                "-720",
                "1e20",
                "0",
                "180",
            ]);
            let key = rng.pick(&["CRVAL1", "CRVAL2", "CRPIX1", "CRPIX2"]);
            set(cards, key, v);
        }
        // Frames.
        15 => {
            let key = rng.pick(&["RADESYS", "RADECSYS", "EQUINOX", "EPOCH"]);
            let v = rng.pick(&[
                "'FK4'",
                "'FK5'",
                "'ICRS'",
                "'GAPPT'",
                "'fk4-no-e'",
                "1950.0",
                "2000",
                "'2000.'",
                "NaN",
                "-1e308",
                "''",
            ]);
            set(cards, key, v);
        }
        // Cards of another corpus header spliced in.
        _ => {
            let (_, other) = rng.pick(corpus);
            if !other.is_empty() {
                let start = rng.below(other.len());
                let len = 1 + rng.below(other.len() - start);
                cards.extend(other[start..start + len].iter().cloned());
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Properties.

/// A broken property: `kind` groups findings (panic location or property name and projection).
#[derive(Debug)]
struct Failure {
    kind: String,
    detail: String,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    executions: u64,
    accepted: u64,
    points: u64,
    round_trips: u64,
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static QUIET: RefCell<bool> = const { RefCell::new(false) };
}

/// Panics inside `guarded` are recorded (message and location) instead of printed.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if QUIET.with(|q| *q.borrow()) {
                let msg = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                let at = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(format!("{at}: {msg}")));
            } else {
                default(info);
            }
        }));
    });
}

fn guarded<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, Failure> {
    QUIET.with(|q| *q.borrow_mut() = true);
    let r = catch_unwind(AssertUnwindSafe(f));
    QUIET.with(|q| *q.borrow_mut() = false);
    r.map_err(|_| {
        let msg = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_default();
        let at = msg.split(": ").next().unwrap_or("").to_string();
        Failure {
            kind: format!("panic in {what} at {at}"),
            detail: msg,
        }
    })
}

fn fail<T>(kind: &str, code: &str, detail: String) -> Result<T, Failure> {
    Err(Failure {
        kind: format!("{kind} [{code}]"),
        detail,
    })
}

/// Upper bound of |∇(ξ − x)| + |∇(η − y)| over the disk of radius `r` degrees, from the
/// header's PV1_k/PV2_k cards (TPV's term k has total degree `TPV_DEGREES[k]`).
fn tpv_gradient_bound(h: &Header, r: f64) -> f64 {
    const TPV_DEGREES: [i32; 40] = [
        0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 6, 6, 6, 6, 6, 6,
        6, 7, 7, 7, 7, 7, 7, 7, 7, 7,
    ];
    let mut gradient = 0.0;
    for axis in [1, 2] {
        for (k, d) in TPV_DEGREES.iter().enumerate() {
            let Some(c) = h.get_f64(&format!("PV{axis}_{k}")) else {
                continue;
            };
            let c = if k == 1 { c - 1.0 } else { c }.abs();
            if c != 0.0 && *d > 0 {
                gradient += c * f64::from(*d) * r.powi(d - 1);
            }
        }
    }
    if gradient.is_finite() {
        gradient
    } else {
        f64::INFINITY
    }
}

/// Upper bounds of |A| + |B| and of |∇A| + |∇B| over the disk of radius `r` pixels, from the
/// header's SIP cards (every declared term, whatever order the reader keeps).
fn sip_bounds(h: &Header, r: f64) -> (f64, f64) {
    let (mut value, mut gradient) = (0.0, 0.0);
    for name in ["A", "B"] {
        let Some(order) = h.get_i64(&format!("{name}_ORDER")) else {
            continue;
        };
        for p in 0..=order.clamp(0, 20) {
            for q in 0..=order.clamp(0, 20) - p {
                let c = h.get_f64(&format!("{name}_{p}_{q}")).unwrap_or(0.0).abs();
                if c != 0.0 {
                    value += c * r.powi((p + q) as i32);
                }
                if c != 0.0 && p + q > 0 {
                    gradient += c * (p + q) as f64 * r.powi((p + q - 1) as i32);
                }
            }
        }
    }
    let finite = |x: f64| if x.is_finite() { x } else { f64::INFINITY };
    (finite(value), finite(gradient))
}

/// Singular values of a 2×2 matrix, largest first.
fn singular_values(m: [[f64; 2]; 2]) -> (f64, f64) {
    let (a, b, c, d) = (m[0][0], m[0][1], m[1][0], m[1][1]);
    let s1 = (a * a + b * b + c * c + d * d) / 2.0;
    let det = (a * d - b * c).abs();
    let root = (s1 * s1 - det * det).max(0.0).sqrt();
    let big = (s1 + root).sqrt();
    (big, if big > 0.0 { det / big } else { 0.0 })
}

fn angle_between(a: [f64; 3], b: [f64; 3]) -> f64 {
    let cross = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let dot = a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    (cross[0].hypot(cross[1]).hypot(cross[2])).atan2(dot)
}

/// Whether the sky Jacobian at pixel (px, py) (central differences of 0.001 px: the curvature
/// of a degenerate projection cancels) has both singular values between 1e-9° and 10° per
/// pixel, within a factor 1e4 of each other: where a round trip can close to 1e-4 px.
fn locally_sane(wcs: &Wcs, px: f64, py: f64) -> bool {
    const H: f64 = 1e-3;
    let diff = |dx: f64, dy: f64| -> Option<[f64; 3]> {
        let a = wcs.pixel_to_xyz(px + dx, py + dy)?;
        let b = wcs.pixel_to_xyz(px - dx, py - dy)?;
        Some(std::array::from_fn(|i| (a[i] - b[i]) / (2.0 * H)))
    };
    let (Some(a), Some(b)) = (diff(H, 0.0), diff(0.0, H)) else {
        return false;
    };
    let cross = [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ];
    let norm = |v: [f64; 3]| v[0].hypot(v[1]).hypot(v[2]);
    let big = norm(a).max(norm(b));
    let small = (norm(cross) / big).to_degrees();
    let big = big.to_degrees();
    let degrees = 1e-9..=10.0;
    degrees.contains(&big) && degrees.contains(&small) && big / small < 1e4
}

const NEAR_OFFSETS: [f64; 10] = [0.0, 0.5, -0.5, 1.0, -3.7, 10.0, -25.0, 100.0, -150.0, 300.0];

fn far_points(crpix: [f64; 2], naxis: (f64, f64)) -> Vec<(f64, f64)> {
    vec![
        (1.0, 1.0),
        (0.5, 0.5),
        naxis,
        (naxis.0 + 0.5, naxis.1 + 0.5),
        (-1e4, 5e3),
        (1e6, -1e6),
        (1e9, 1e9),
        (-1e15, 3.0),
        (1e300, 1e300),
        (-1e300, 1e300),
        (f64::MAX, 0.0),
        (crpix[0] + 1e8, crpix[1]),
        (crpix[0], crpix[1] - 1e5),
        (crpix[0] + 3000.0, crpix[1] + 3000.0),
    ]
}

/// Checks every property on one header; `Ok(round trips checked)` or the first broken one.
/// How far a CSC round trip may stray (its polynomials disagree by up to 45″).
const CSC_ROUND_TRIP_ARCSEC: f64 = 50.0;

fn check(cards: &[String], counts: &mut Counts, rng: &mut Rng) -> Result<(), Failure> {
    counts.executions += 1;
    let header = guarded("Header::from_cards", || {
        Header::from_cards(cards.iter().map(String::as_str))
    })?;
    let wcs = match guarded("Wcs::from_header", || Wcs::from_header(&header))? {
        Ok(w) => w,
        Err(e) => {
            guarded("WcsError display", || e.to_string())?;
            return Ok(());
        }
    };
    counts.accepted += 1;
    let code = header
        .get("CTYPE1")
        .unwrap_or("")
        .split('-')
        .filter(|s| !s.is_empty())
        .skip(1)
        .collect::<Vec<_>>()
        .join("-");
    let scale = guarded("pixel_scale_deg", || wcs.pixel_scale_deg())?;
    if !(scale.is_finite() && scale > 0.0) {
        return fail(
            "pixel scale not finite and positive",
            &code,
            format!("{scale}"),
        );
    }
    let crpix = wcs.linear.crpix;
    let (big, small) = singular_values(wcs.linear.cd);
    // Sane: every direction of a pixel between 1e-9° and 10° on the sky, well conditioned, in
    // the matrix and through the projection at CRPIX (a ZPN with PV2_1 = 1e200 shrinks it 1e200
    // times, a CEA with λ = 1e-308 squashes one axis), SIP a small perturbation.
    let locally_sane = |px: f64, py: f64| guarded("pixel_to_xyz", || locally_sane(&wcs, px, py));
    let degrees = 1e-9..=10.0;
    let sane = degrees.contains(&big)
        && degrees.contains(&small)
        && big / small < 1e4
        && locally_sane(crpix[0], crpix[1])?
        && {
            // Points within 300 px of CRPIX have their root within 400 px, in a disk where
            // the distortion is a contraction: the root is unique.
            let (value, _) = sip_bounds(&header, 300.0);
            let (_, gradient) = sip_bounds(&header, 1000.0);
            value < 100.0 && gradient < 0.2
        }
        // Likewise a TPV polynomial: a contraction (beyond the identity) over 1000 px.
        && tpv_gradient_bound(&header, 1000.0 * big) < 0.2;
    // CSC's forward and inverse polynomials are no exact inverses (up to 45″ in wcslib as in
    // ours): its round trips close within 50″ only.
    let round_trip_px = if code.starts_with("CSC") {
        (CSC_ROUND_TRIP_ARCSEC / 3600.0 / small).max(1e-4)
    } else {
        1e-4
    };
    let naxis = (
        header.get_f64("NAXIS1").unwrap_or(100.0),
        header.get_f64("NAXIS2").unwrap_or(100.0),
    );

    let mut points: Vec<(f64, f64, bool)> = Vec::with_capacity(130);
    for (i, &dx) in NEAR_OFFSETS.iter().enumerate() {
        for (j, &dy) in NEAR_OFFSETS.iter().enumerate() {
            // A checkerboard of the full grid keeps the cost down; the diagonal is always in.
            if (i + j) % 2 == 0 || rng.chance(0.2) {
                let within = dx.hypot(dy) * big <= 20.0;
                points.push((crpix[0] + dx, crpix[1] + dy, within));
            }
        }
    }
    points.extend(
        far_points(crpix, naxis)
            .into_iter()
            .map(|(x, y)| (x, y, false)),
    );
    let layer = cdshealpix::nested::get(12);
    for (px, py, near) in points {
        counts.points += 1;
        let Some(v) = guarded("pixel_to_xyz", || wcs.pixel_to_xyz(px, py))? else {
            continue;
        };
        let norm = v[0].hypot(v[1]).hypot(v[2]);
        if !(v.iter().all(|c| c.is_finite()) && (norm - 1.0).abs() < 1e-9) {
            return fail(
                "pixel_to_xyz not a finite unit vector",
                &code,
                format!("({px:e}, {py:e}) → {v:?}"),
            );
        }
        let (lon, lat) = xyz_to_lonlat(v);
        if !(lon.is_finite() && lat.is_finite() && lat.abs() <= std::f64::consts::FRAC_PI_2) {
            return fail(
                "sky position not finite or |lat| > 90°",
                &code,
                format!("({px:e}, {py:e}) → ({lon}, {lat})"),
            );
        }
        guarded("cdshealpix hash", || layer.hash(lon, lat))?;
        let back = guarded("xyz_to_pixel", || wcs.xyz_to_pixel(v))?;
        if let Some((bx, by)) = back {
            if !(bx.is_finite() && by.is_finite()) {
                return fail(
                    "xyz_to_pixel not finite",
                    &code,
                    format!("({px:e}, {py:e}) → {v:?} → ({bx:e}, {by:e})"),
                );
            }
            if sane && near {
                counts.round_trips += 1;
                let err = (bx - px).hypot(by - py);
                if (err.is_nan() || err >= round_trip_px) && locally_sane(px, py)? {
                    return fail(
                        "pixel → sky → pixel off by more than 1e-4 px",
                        &code,
                        format!("({px:e}, {py:e}) → {v:?} → ({bx:e}, {by:e}): {err:e} px"),
                    );
                }
            }
        }
    }

    // Sky → pixel everywhere: random directions, poles, the reference point and its antipode.
    let mut dirs: Vec<[f64; 3]> = vec![
        [0.0, 0.0, 1.0],
        [0.0, 0.0, -1.0],
        [1.0, 0.0, 0.0],
        [-1.0, 0.0, 0.0],
    ];
    if let Some(v) = guarded("pixel_to_xyz", || wcs.pixel_to_xyz(crpix[0], crpix[1]))? {
        dirs.push(v);
        dirs.push([-v[0], -v[1], -v[2]]);
    }
    // Special directions sit on projection boundaries, where rounding decides either way: they
    // are checked for crashes only.
    let special = dirs.len();
    for _ in 0..12 {
        let z = 2.0 * rng.unit() - 1.0;
        let phi = std::f64::consts::TAU * rng.unit();
        let r = (1.0 - z * z).sqrt();
        dirs.push([r * phi.cos(), r * phi.sin(), z]);
    }
    for (k, v) in dirs.into_iter().enumerate() {
        counts.points += 1;
        let Some((px, py)) = guarded("xyz_to_pixel", || wcs.xyz_to_pixel(v))? else {
            continue;
        };
        if !(px.is_finite() && py.is_finite()) {
            return fail(
                "xyz_to_pixel not finite",
                &code,
                format!("{v:?} → ({px:e}, {py:e})"),
            );
        }
        let offset = (px - crpix[0]).hypot(py - crpix[1]);
        if sane && k >= special && offset <= 300.0 && offset * big <= 20.0 {
            counts.round_trips += 1;
            let Some(w) = guarded("pixel_to_xyz", || wcs.pixel_to_xyz(px, py))? else {
                if !locally_sane(px, py)? {
                    continue;
                }
                return fail(
                    "sky → pixel → sky lost the point",
                    &code,
                    format!("{v:?} → ({px:e}, {py:e}) → None"),
                );
            };
            let err_px = angle_between(v, w).to_degrees() / small;
            if (err_px.is_nan() || err_px >= round_trip_px) && locally_sane(px, py)? {
                return fail(
                    "sky → pixel → sky off by more than 1e-4 px",
                    &code,
                    format!("{v:?} → ({px:e}, {py:e}) → {w:?}: {err_px:e} px"),
                );
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Corpus and driver.

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz_wcs")
}

fn load_corpus() -> Vec<(String, Vec<String>)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("tests/data/fuzz_wcs")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, text.lines().map(str::to_string).collect())
        })
        .collect()
}

fn save_finding(dir: &Path, n: usize, failure: &Failure, cards: &[String]) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(format!("finding-{n:03}.txt"));
    let mut text = String::new();
    for line in [&failure.kind, &failure.detail] {
        for chunk in line.as_bytes().chunks(70) {
            text.push_str(&format!("COMMENT {}\n", String::from_utf8_lossy(chunk)));
        }
    }
    for c in cards {
        text.push_str(c);
        text.push('\n');
    }
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn corpus_cases_hold_the_properties() {
    install_panic_hook();
    let corpus = load_corpus();
    assert!(corpus.len() >= 40, "corpus has {} files", corpus.len());
    let mut counts = Counts::default();
    let mut rng = Rng::new(1);
    let mut broken = Vec::new();
    for (name, cards) in &corpus {
        if let Err(f) = check(cards, &mut counts, &mut rng) {
            broken.push(format!("{name}: {}: {}", f.kind, f.detail));
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n"));
    // The real headers are all read.
    assert!(counts.accepted >= 30, "{counts:?}");
}

#[test]
fn mutated_headers_hold_the_properties() {
    install_panic_hook();
    let corpus = load_corpus();
    let env = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
    let seconds = env("FUZZ_SECONDS");
    let seed = env("FUZZ_SEED").unwrap_or(match seconds {
        // Long runs explore; the in-suite run is the same every time.
        Some(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
        None => 0x9e37_79b9_7f4a_7c15,
    });
    let iterations = env("FUZZ_ITERS").unwrap_or(if seconds.is_some() { u64::MAX } else { 12_000 });
    let deadline = seconds.map(|s| Instant::now() + Duration::from_secs(s));
    let findings_dir = std::env::var_os("FUZZ_FINDINGS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("fuzz_wcs"));
    println!("fuzz_wcs: seed {seed}, {} corpus files", corpus.len());

    let mut rng = Rng::new(seed);
    let mut counts = Counts::default();
    let mut kinds: BTreeMap<String, (u64, PathBuf)> = BTreeMap::new();
    let start = Instant::now();
    let mut next_report = start + Duration::from_secs(60);
    for i in 0..iterations {
        if deadline.is_some_and(|d| i % 64 == 0 && Instant::now() >= d) {
            break;
        }
        let (_, seed_cards) = rng.pick(&corpus);
        let mut cards = seed_cards.clone();
        let n = 1 + rng.below(3) + if rng.chance(0.2) { rng.below(8) } else { 0 };
        for _ in 0..n {
            mutate(&mut rng, &mut cards, &corpus);
        }
        if let Err(f) = check(&cards, &mut counts, &mut rng) {
            let n_kinds = kinds.len();
            let entry = kinds.entry(f.kind.clone()).or_insert_with(|| {
                let path = save_finding(&findings_dir, n_kinds, &f, &cards);
                println!("NEW: {} — {}\n  saved {}", f.kind, f.detail, path.display());
                (0, path)
            });
            entry.0 += 1;
        }
        if seconds.is_some() && Instant::now() >= next_report {
            next_report += Duration::from_secs(60);
            println!(
                "fuzz_wcs: {:.0} s, {counts:?}, {} kinds of finding",
                start.elapsed().as_secs_f64(),
                kinds.len()
            );
        }
    }
    println!(
        "fuzz_wcs: seed {seed}, {:.1} s, {counts:?}",
        start.elapsed().as_secs_f64()
    );
    let report: Vec<String> = kinds
        .iter()
        .map(|(k, (n, p))| format!("{n:>7} × {k} (first: {})", p.display()))
        .collect();
    assert!(report.is_empty(), "findings:\n{}", report.join("\n"));
    assert!(counts.accepted * 20 > counts.executions, "{counts:?}");
}

/// Writes the celestial cards of every image HDU in ../shared/data as a seed file
/// (`cargo test --test fuzz_wcs -- --ignored write_seed_corpus`).
#[test]
#[ignore]
fn write_seed_corpus() {
    use hipsforge::fits::{list_image_hdus, HduSelection};
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let keep = |k: &str| {
        matches!(
            k,
            "NAXIS"
                | "NAXIS1"
                | "NAXIS2"
                | "WCSAXES"
                | "RADESYS"
                | "RADECSYS"
                | "EQUINOX"
                | "EPOCH"
        ) || [
            "CTYPE", "CRVAL", "CRPIX", "CDELT", "CROTA", "CUNIT", "CD1_", "CD2_", "PC1_",
        ]
        .iter()
        .chain(&["PC2_", "PV1_", "PV2_", "PROJP", "LONPOLE", "LATPOLE"])
        .chain(&["A_", "B_", "AP_", "BP_"])
        .any(|p| k.starts_with(p))
    };
    let mut stack = vec![data.clone()];
    let mut files = Vec::new();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains(".fit") {
                files.push(p);
            }
        }
    }
    files.sort();
    for path in files {
        let Ok((images, _)) = list_image_hdus(&path, &HduSelection::All) else {
            continue;
        };
        for im in images {
            let mut lines = vec![format!(
                "COMMENT seed: {}[{}]",
                path.strip_prefix(&data).unwrap().display(),
                im.hdu
            )];
            let mut seen = std::collections::BTreeSet::new();
            for k in im.header.keys().filter(|k| keep(k)) {
                if !seen.insert(k.to_string()) {
                    continue;
                }
                let v = im.header.get(k).unwrap();
                let numeric = v.replace(['D', 'd'], "E").parse::<f64>().is_ok()
                    && !k.starts_with("CTYPE")
                    && !k.starts_with("CUNIT");
                let v = if numeric { v.to_string() } else { quoted(v) };
                lines.push(card(k, &v));
            }
            if !lines.iter().any(|l| l.starts_with("CTYPE1")) {
                continue;
            }
            let stem: String = path
                .file_name()
                .unwrap()
                .to_string_lossy()
                .split(".fit")
                .next()
                .unwrap()
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let name = format!("real_{stem}_hdu{}.txt", im.hdu);
            std::fs::write(corpus_dir().join(name), lines.join("\n") + "\n").unwrap();
        }
    }
}
