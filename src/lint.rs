//! LINT: checks a HiPS directory against HiPS 1.0 — properties keywords and syntax, orders
//! present, Allsky sizes, tile sizes and formats, tiles versus Moc.fits.

use std::path::Path;

use crate::fits::{list_image_hdus, HduSelection};
use crate::hips::allsky::{thumbnail_width, ALLSKY_ORDER};
use crate::hips::layout::tile_path;
use crate::hips::moc::Coverage;
use crate::hips::properties::Properties;

/// How serious a finding is (`Warning < Error`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Not required by HiPS 1.0, but clients or users may miss it.
    Warning,
    /// Against HiPS 1.0.
    Error,
}

/// One problem found in a HiPS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// How serious it is.
    pub level: Level,
    /// What is wrong, and where.
    pub message: String,
}

const MANDATORY: [&str; 9] = [
    "creator_did",
    "obs_title",
    "dataproduct_type",
    "hips_version",
    "hips_release_date",
    "hips_status",
    "hips_tile_format",
    "hips_order",
    "hips_frame",
];
/// Recommended keywords whose absence the reference validator reports.
const RECOMMENDED: [&str; 8] = [
    "hips_tile_width",
    "obs_description",
    "prov_progenitor",
    "obs_regime",
    "t_min",
    "t_max",
    "em_min",
    "em_max",
];
const STATUS_WORDS: [&str; 7] = [
    "public",
    "private",
    "master",
    "mirror",
    "partial",
    "clonable",
    "unclonable",
];
/// Tiles per order and format whose size and type are opened and checked.
const TILES_CHECKED_PER_ORDER: usize = 200;

struct Lint {
    findings: Vec<Finding>,
}

impl Lint {
    fn error(&mut self, m: impl Into<String>) {
        self.findings.push(Finding {
            level: Level::Error,
            message: m.into(),
        });
    }
    fn warn(&mut self, m: impl Into<String>) {
        self.findings.push(Finding {
            level: Level::Warning,
            message: m.into(),
        });
    }
}

fn is_iso_date(s: &str) -> bool {
    let s = s.trim_end_matches('Z');
    [
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .any(|f| chrono::NaiveDateTime::parse_from_str(s, f).is_ok())
        || chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

fn check_properties(l: &mut Lint, p: &Properties) {
    check_presence(l, p);
    check_words(l, p);
    check_numbers(l, p);
}

/// Mandatory keywords are errors when missing, recommended ones warnings.
fn check_presence(l: &mut Lint, p: &Properties) {
    for key in MANDATORY {
        if p.get(key).is_none_or(str::is_empty) {
            l.error(format!("properties: mandatory keyword {key} is missing"));
        }
    }
    for key in RECOMMENDED {
        if p.get(key).is_none() {
            l.warn(format!("properties: recommended keyword {key} is missing"));
        }
    }
}

/// Keywords whose values come from a fixed vocabulary (identifiers, dates, words).
fn check_words(l: &mut Lint, p: &Properties) {
    if let Some(did) = p.get("creator_did") {
        if !did.starts_with("ivo://") || did.len() <= 6 {
            l.error(format!(
                "properties: creator_did {did:?} is not an ivo:// identifier"
            ));
        }
    }
    if let Some(t) = p.get("dataproduct_type") {
        if !["image", "cube", "catalog"].contains(&t) {
            l.error(format!(
                "properties: dataproduct_type {t:?} is not image, cube or catalog"
            ));
        }
    }
    for key in ["hips_release_date", "hips_creation_date"] {
        if let Some(d) = p.get(key) {
            if !is_iso_date(d) {
                l.error(format!("properties: {key} {d:?} is not an ISO 8601 date"));
            }
        }
    }
    if let Some(s) = p.get("hips_status") {
        for w in s.split_whitespace() {
            if !STATUS_WORDS.contains(&w) && w != "clonableOnce" {
                l.error(format!("properties: hips_status word {w:?} is not allowed"));
            }
        }
    }
    if let Some(f) = p.get("hips_frame") {
        if !["equatorial", "galactic", "ecliptic"].contains(&f) {
            l.error(format!(
                "properties: hips_frame {f:?} is not equatorial, galactic or ecliptic"
            ));
        }
    }
    if let Some(formats) = p.get("hips_tile_format") {
        for w in formats.split_whitespace() {
            if !["fits", "png", "jpeg", "jpg", "webp"].contains(&w) {
                l.error(format!(
                    "properties: hips_tile_format word {w:?} is not a tile format"
                ));
            }
        }
        if formats.split_whitespace().any(|w| w == "fits") && p.get("hips_pixel_bitpix").is_none() {
            l.error("properties: hips_pixel_bitpix is missing (clients cannot read FITS tiles without it)");
        }
    }
}

/// Numeric keywords: in range, powers of two, BITPIX values, pairs of numbers.
fn check_numbers(l: &mut Lint, p: &Properties) {
    let numbers: [(&str, f64, f64); 8] = [
        ("hips_order", 0.0, 29.0),
        ("hips_order_min", 0.0, 29.0),
        ("hips_initial_ra", 0.0, 360.0),
        ("hips_initial_dec", -90.0, 90.0),
        ("hips_initial_fov", 0.0, 360.0),
        ("hips_pixel_scale", 0.0, 180.0),
        ("moc_sky_fraction", 0.0, 1.0),
        ("hips_tile_width", 1.0, 65536.0),
    ];
    for (key, lo, hi) in numbers {
        if let Some(v) = p.get(key) {
            match v.parse::<f64>() {
                Ok(x) if (lo..=hi).contains(&x) => {}
                _ => l.error(format!(
                    "properties: {key} {v:?} is not a number in {lo}..{hi}"
                )),
            }
        }
    }
    if let Some(w) = p.get("hips_tile_width").and_then(|w| w.parse::<u64>().ok()) {
        if !w.is_power_of_two() {
            l.error(format!(
                "properties: hips_tile_width {w} is not a power of two"
            ));
        }
    }
    if let Some(b) = p.get("hips_pixel_bitpix") {
        if !["8", "16", "32", "64", "-32", "-64"].contains(&b) {
            l.error(format!(
                "properties: hips_pixel_bitpix {b:?} is not a FITS BITPIX"
            ));
        }
    }
    for key in ["hips_pixel_cut", "hips_data_range"] {
        if let Some(v) = p.get(key) {
            let n: Vec<Option<f64>> = v.split_whitespace().map(|x| x.parse().ok()).collect();
            if n.len() != 2 || n.iter().any(Option::is_none) {
                l.error(format!("properties: {key} {v:?} is not two numbers"));
            }
        }
    }
}

/// (width, height) of an image file: FITS via its header, others via their own header.
fn image_size(path: &Path, ext: &str) -> Result<(usize, usize), String> {
    if ext == "fits" {
        let (hdus, _) =
            list_image_hdus(path, &HduSelection::FirstImage).map_err(|e| e.to_string())?;
        let h = hdus.first().ok_or("no image HDU")?;
        Ok((h.width, h.height))
    } else {
        let (w, h) = image::image_dimensions(path).map_err(|e| e.to_string())?;
        Ok((w as usize, h as usize))
    }
}

/// Lints the HiPS at `root`; findings sorted errors first.
pub fn lint(root: &Path) -> Vec<Finding> {
    let mut l = Lint {
        findings: Vec::new(),
    };
    let props_path = root.join("properties");
    let props = match std::fs::read_to_string(&props_path)
        .map_err(|e| e.to_string())
        .and_then(|t| Properties::parse(&t).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            l.error(format!("properties: cannot be read: {e}"));
            return l.findings;
        }
    };
    check_properties(&mut l, &props);
    let Some(order) = props.get("hips_order").and_then(|o| o.parse::<u8>().ok()) else {
        return l.findings;
    };
    let layout = Layout {
        root,
        order,
        min_order: props
            .get("hips_order_min")
            .and_then(|o| o.parse::<u8>().ok())
            .unwrap_or(0),
        width: props
            .get("hips_tile_width")
            .and_then(|w| w.parse().ok())
            .unwrap_or(512),
        formats: props
            .get("hips_tile_format")
            .unwrap_or("")
            .split_whitespace()
            .map(|f| f.replace("jpg", "jpeg"))
            .collect(),
    };
    if layout.min_order > 2 {
        l.warn(format!("orders 0..{} are missing (hips_order_min = {}): some clients show nothing at wide fields", layout.min_order - 1, layout.min_order));
    }
    let mut deepest = Vec::new();
    for k in layout.min_order..=order {
        deepest = check_order(&mut l, &layout, k);
    }
    check_allsky(&mut l, &layout);
    check_moc(&mut l, root, &props, (order, &deepest));
    l.findings.sort_by_key(|f| std::cmp::Reverse(f.level));
    l.findings
}

/// What properties say of the tiles.
struct Layout<'a> {
    root: &'a Path,
    order: u8,
    min_order: u8,
    width: usize,
    formats: Vec<String>,
}

/// Order `k`: tiles in every format, the same set in each, sampled tiles of the right size.
/// Returns the order's tiles (of the first format).
fn check_order(l: &mut Lint, layout: &Layout, k: u8) -> Vec<u64> {
    let (formats, width) = (&layout.formats, layout.width);
    let mut per_format = Vec::new();
    for f in formats {
        match crate::reader::tiles_in(layout.root, k, f) {
            Ok(t) if !t.is_empty() => per_format.push(t),
            _ => {
                l.error(format!(
                    "Norder{k}: no {f} tile (orders {}..{} must all exist)",
                    layout.min_order, layout.order
                ));
                per_format.push(Vec::new());
            }
        }
    }
    for (f, t) in formats.iter().zip(&per_format).skip(1) {
        if *t != per_format[0] {
            l.error(format!(
                "Norder{k}: the {f} tiles are not the same set as the {} tiles",
                formats[0]
            ));
        }
    }
    for (f, t) in formats.iter().zip(&per_format) {
        let stride = t.len().div_ceil(TILES_CHECKED_PER_ORDER).max(1);
        for &n in t.iter().step_by(stride) {
            let path = tile_path(layout.root, k, n, f);
            match image_size(&path, f) {
                Ok(size) if size == (width, width) => {}
                Ok((w, h)) => l.error(format!(
                    "{}: {w}×{h} pixels, hips_tile_width says {width}",
                    path.display()
                )),
                Err(e) => l.error(format!("{}: unreadable: {e}", path.display())),
            }
        }
    }
    per_format.into_iter().next().unwrap_or_default()
}

/// Allsky files of every format, of the packed size, where order 3 is in the HiPS.
fn check_allsky(l: &mut Lint, layout: &Layout) {
    if layout.order < ALLSKY_ORDER || layout.min_order > ALLSKY_ORDER {
        return;
    }
    let t = thumbnail_width(layout.width);
    for f in &layout.formats {
        let path = layout.root.join(format!("Norder{ALLSKY_ORDER}/Allsky.{f}"));
        match image_size(&path, f) {
            Ok(size) if size == (27 * t, 29 * t) => {}
            Ok((w, h)) => l.error(format!(
                "{}: {w}×{h}, expected {}×{}",
                path.display(),
                27 * t,
                29 * t
            )),
            Err(_) if !path.exists() => l.error(format!("{}: missing", path.display())),
            Err(e) => l.error(format!("{}: unreadable: {e}", path.display())),
        }
    }
}

/// Moc.fits: present, ICRS, readable, holding every deepest tile, and agreeing with
/// `moc_sky_fraction`.
fn check_moc(l: &mut Lint, root: &Path, props: &Properties, (k, leaves): (u8, &[u64])) {
    let path = root.join("Moc.fits");
    let Ok(bytes) = std::fs::read(&path) else {
        l.error("Moc.fits: missing");
        return;
    };
    let header = String::from_utf8_lossy(&bytes[..bytes.len().min(2 * 2880)]).into_owned();
    if let Some(card) = header
        .as_bytes()
        .chunks(80)
        .map(String::from_utf8_lossy)
        .find(|c| c.starts_with("COORDSYS"))
    {
        if !card.contains("'C'") {
            l.error(format!(
                "Moc.fits: {}: HiPS 1.0 wants the MOC in ICRS (COORDSYS = 'C')",
                card.trim()
            ));
        }
    }
    let moc = match Coverage::from_fits(std::io::Cursor::new(bytes)) {
        Ok(moc) => moc,
        Err(e) => {
            l.error(format!("Moc.fits: {e}"));
            return;
        }
    };
    // The MOC is ICRS; tiles are cells of the HiPS frame, comparable only when equal.
    let equatorial = props.get("hips_frame").is_none_or(|f| f == "equatorial");
    if equatorial {
        let outside = leaves
            .iter()
            .filter(|&&n| !moc.intersects_cell(k, n))
            .count();
        if outside > 0 {
            l.error(format!(
                "Moc.fits: {outside} tiles of Norder{k} lie outside the MOC"
            ));
        }
        if moc.depth() >= k {
            let covered: std::collections::HashSet<u64> = leaves.iter().copied().collect();
            let missing = moc.cells_at(k).filter(|c| !covered.contains(c)).count();
            if missing > 0 {
                l.warn(format!(
                    "Moc.fits: covers {missing} Norder{k} cells that have no tile"
                ));
            }
        }
    }
    if let Some(f) = props
        .get("moc_sky_fraction")
        .and_then(|f| f.parse::<f64>().ok())
    {
        if (f - moc.sky_fraction()).abs() > 1e-4 * f.max(1e-6) + 1e-9 {
            l.warn(format!(
                "moc_sky_fraction {f} differs from the MOC's {}",
                moc.sky_fraction()
            ));
        }
    }
}
