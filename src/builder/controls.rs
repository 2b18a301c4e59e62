//! Hipsgen's per-image build controls (the "HiPS in 10 steps" guide): `--pilot`, `--shape`,
//! `.fov` masks, `--valid-range`, `--skyval` and `--max-ratio`.
//!
//! The value controls and masks are applied once per decoded image, where the image cache
//! loads it ([`InputControls::apply`]): masked pixels become NaN, so the sampler, the coadd and
//! the MOC treat them as blank with no extra work per HiPS pixel.

use std::path::{Path, PathBuf};

use super::inputs::{Inputs, SourceImage};

/// The valid area of round detectors (`--shape`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Shape {
    /// The circle inscribed in the data area (diameter: its shorter side).
    Circle,
    /// The ellipse inscribed in the data area.
    Ellipse,
}

/// Background subtraction before coadding (`--skyval`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkyVal {
    /// Subtract the value of this header keyword (e.g. SKYVAL).
    Keyword(String),
    /// Subtract each image's estimated sky ([`estimate_sky`]).
    Auto,
}

impl std::str::FromStr for SkyVal {
    type Err = String;

    fn from_str(s: &str) -> Result<SkyVal, String> {
        if s.eq_ignore_ascii_case("auto") {
            return Ok(SkyVal::Auto);
        }
        let key = s.trim().to_ascii_uppercase();
        let legal = |c: char| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_';
        if key.is_empty() || key.len() > 8 || !key.chars().all(legal) {
            return Err(format!(
                "{s:?} is neither `auto` nor a FITS keyword (1 to 8 of A-Z 0-9 - _)"
            ));
        }
        Ok(SkyVal::Keyword(key))
    }
}

impl std::fmt::Display for SkyVal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkyVal::Keyword(k) => f.write_str(k),
            SkyVal::Auto => f.write_str("auto"),
        }
    }
}

/// Hipsgen's controls over which images and which of their pixels a build uses.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InputControls {
    /// Only the first N usable images, in input order (a quick-look "pilot" HiPS); applied
    /// where the inputs are discovered.
    pub pilot: Option<usize>,
    /// Blank the pixels outside the circle or ellipse inscribed in each image's data area.
    pub shape: Option<Shape>,
    /// Read each image's `.fov` mask file (Hipsgen's `fov=true`).
    pub fov: bool,
    /// Input values outside `[min, max]` are blank.
    pub valid_range: Option<(f32, f32)>,
    /// Sky background subtracted from each image before coadding.
    pub skyval: Option<SkyVal>,
    /// Images whose pixel sides differ by more than this factor are passed over.
    pub max_ratio: Option<f64>,
}

impl InputControls {
    /// Checks the values; `Err` names the flag.
    pub fn check(&self) -> Result<(), String> {
        if self.pilot == Some(0) {
            return Err("--pilot must be at least 1 image".into());
        }
        if let Some((min, max)) = self.valid_range {
            if !(min.is_finite() && max.is_finite() && min <= max) {
                return Err(format!(
                    "--valid-range MIN MAX needs finite MIN <= MAX, not {min} {max}"
                ));
            }
        }
        if let Some(r) = self.max_ratio {
            if !(r.is_finite() && r >= 1.0) {
                return Err(format!(
                    "--max-ratio must be a finite ratio >= 1 (long side over short side), not {r}"
                ));
            }
        }
        Ok(())
    }

    /// The controls in force as (key, value) pairs named after Hipsgen's parameters, for the
    /// build journal and `properties`; empty when none is set.
    pub fn describe(&self) -> Vec<(&'static str, String)> {
        let mut d = Vec::new();
        if let Some(n) = self.pilot {
            d.push(("pilot", n.to_string()));
        }
        if let Some(s) = self.shape {
            d.push(("shape", format!("{s:?}").to_lowercase()));
        }
        if self.fov {
            d.push(("fov", "true".into()));
        }
        if let Some((min, max)) = self.valid_range {
            d.push(("validRange", format!("{min} {max}")));
        }
        if let Some(s) = &self.skyval {
            d.push(("skyval", s.to_string()));
        }
        if let Some(r) = self.max_ratio {
            d.push(("maxRatio", r.to_string()));
        }
        d
    }

    /// Header keywords the images must keep after discovery (the `--skyval` keyword).
    pub fn header_keywords(&self) -> Vec<&str> {
        match &self.skyval {
            Some(SkyVal::Keyword(k)) => vec![k.as_str()],
            _ => Vec::new(),
        }
    }

    /// Whether [`InputControls::apply`] changes pixels at all.
    fn touches_pixels(&self, image: &SourceImage) -> bool {
        self.valid_range.is_some()
            || self.shape.is_some()
            || self.skyval.is_some()
            || image.fov.is_some()
    }

    /// Applies the value controls and masks to the decoded pixels of `image` (row-major from
    /// FITS row 1, blanks NaN): values outside `--valid-range`, pixels outside the `--shape` and
    /// the image's `.fov` become NaN, then the sky is subtracted. `Err` when the `--skyval`
    /// keyword has no numeric value (discovery passes such images over, so only a header read
    /// differently would get here).
    pub fn apply(&self, image: &SourceImage, data: &mut [f32]) -> Result<(), String> {
        if data.is_empty() || !self.touches_pixels(image) {
            return Ok(());
        }
        let (w, h) = (image.hdu.width, image.hdu.height);
        if let Some((min, max)) = self.valid_range {
            data.iter_mut()
                .filter(|v| !(min..=max).contains(*v))
                .for_each(|v| *v = f32::NAN);
        }
        if let Some(shape) = self.shape {
            blank_outside(&inscribed(shape, data_area(data, w, h)), data, w, h);
        }
        if let Some(fov) = &image.fov {
            blank_outside(fov, data, w, h);
        }
        let sky = match &self.skyval {
            None => return Ok(()),
            Some(SkyVal::Keyword(k)) => sky_keyword(image, k)?,
            Some(SkyVal::Auto) => match estimate_sky(data) {
                Some(s) => s,
                None => return Ok(()),
            },
        };
        data.iter_mut().for_each(|v| *v -= sky);
        Ok(())
    }

    /// Passes over the images `--max-ratio` rejects or that lack the `--skyval` keyword, and
    /// reads the `.fov` masks (`roots`: the inputs named on the command line). What is passed
    /// over is added to `found.skipped`; a malformed `.fov` file is an error naming it.
    pub fn select(&self, found: &mut Inputs, roots: &[PathBuf]) -> Result<(), String> {
        let images = std::mem::take(&mut found.images);
        for mut im in images {
            if let Some(reason) = self.rejection(&im) {
                found.skipped.push(format!("{}: {reason}", im.label()));
                continue;
            }
            if self.fov {
                im.fov = fov_for(&im.hdu.path, roots)?;
            }
            found.images.push(im);
        }
        Ok(())
    }

    /// Why `--max-ratio` or `--skyval KEY` rules `image` out, if they do.
    fn rejection(&self, image: &SourceImage) -> Option<String> {
        if let Some(max) = self.max_ratio {
            if let Some((ratio, sides)) = pixel_ratio(image) {
                if ratio > max {
                    return Some(format!(
                        "pixel ratio {ratio:.2} ({:.4}″ × {:.4}″) exceeds --max-ratio {max}: suspicious calibration",
                        sides.0 * 3600.0,
                        sides.1 * 3600.0
                    ));
                }
            }
        }
        match &self.skyval {
            Some(SkyVal::Keyword(k)) => sky_keyword(image, k).err(),
            _ => None,
        }
    }
}

/// The `--skyval` keyword's value in the image header.
fn sky_keyword(image: &SourceImage, key: &str) -> Result<f32, String> {
    let header = &image.hdu.header;
    let raw = header
        .get(key)
        .ok_or_else(|| format!("--skyval {key}: no {key} card in the header"))?;
    match header.get_f64(key) {
        Some(v) if v.is_finite() => Ok(v as f32),
        _ => Err(format!("--skyval {key}: {key} = {raw} is not a number")),
    }
}

/// `.fov` coordinate + this = FITS pixel coordinate (Hipsgen's masks count pixels from 0).
const HIPSGEN_TO_FITS: f64 = 1.0;

/// A valid region of an image in FITS pixel coordinates (1-based, pixel centres at integers).
#[derive(Debug, Clone, PartialEq)]
pub enum Region {
    /// The ellipse of centre (x, y) and semi-axes a (along x) and b (along y); a circle when
    /// a = b.
    Ellipse {
        /// Centre x.
        x: f64,
        /// Centre y.
        y: f64,
        /// Semi-axis along x.
        a: f64,
        /// Semi-axis along y.
        b: f64,
    },
    /// A polygon (vertices in order; the even-odd rule decides what is inside).
    Polygon(Vec<[f64; 2]>),
}

impl Region {
    /// Hipsgen's `.fov` syntax: numbers separated by blanks, commas, semicolons or line ends;
    /// three are a circle `X Y RADIUS`, an even number of at least six a polygon `X1 Y1 X2 Y2
    /// ...`. Coordinates are those Hipsgen tests: 0-based pixel indices along NAXIS1 and NAXIS2
    /// (FITS orientation), so FITS pixel = value + 1 (Hipsgen 12.001 centres the mask `80 50 30`
    /// of a 1″ image at FITS pixel (80.95, 51.00) of its HiPS; see the README).
    pub fn parse(text: &str) -> Result<Region, String> {
        let numbers = text
            .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
            .filter(|t| !t.is_empty())
            .map(|t| match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(v),
                _ => Err(format!("{t:?} is not a number")),
            })
            .collect::<Result<Vec<f64>, String>>()?;
        match numbers.len() {
            3 if numbers[2] > 0.0 => Ok(Region::Ellipse {
                x: numbers[0] + HIPSGEN_TO_FITS,
                y: numbers[1] + HIPSGEN_TO_FITS,
                a: numbers[2],
                b: numbers[2],
            }),
            3 => Err(format!("circle radius {} is not positive", numbers[2])),
            n if n >= 6 && n % 2 == 0 => Ok(Region::Polygon(
                numbers
                    .chunks(2)
                    .map(|p| [p[0] + HIPSGEN_TO_FITS, p[1] + HIPSGEN_TO_FITS])
                    .collect(),
            )),
            n => Err(format!(
                "{n} numbers: expected `X Y RADIUS` (a circle) or at least three `X Y` vertices"
            )),
        }
    }

    /// The x intervals `[start, end)` of row `y` that lie inside, in increasing order.
    fn row_spans(&self, y: f64, spans: &mut Vec<(f64, f64)>) {
        spans.clear();
        match self {
            Region::Ellipse { x, y: cy, a, b } => {
                let t = 1.0 - ((y - cy) / b).powi(2);
                if t >= 0.0 {
                    let half = a * t.sqrt();
                    spans.push((x - half, x + half));
                }
            }
            Region::Polygon(vertices) => {
                // The crossings are gathered in `spans` itself, then paired in place (no
                // allocation per row).
                let n = vertices.len();
                for i in 0..n {
                    let ([x0, y0], [x1, y1]) = (vertices[i], vertices[(i + 1) % n]);
                    // Half-open in y, so a vertex on the row counts once.
                    if (y0 <= y) != (y1 <= y) {
                        let x = x0 + (y - y0) / (y1 - y0) * (x1 - x0);
                        spans.push((x, x));
                    }
                }
                spans.sort_by(|a, b| a.0.total_cmp(&b.0));
                let pairs = spans.len() / 2;
                for i in 0..pairs {
                    spans[i] = (spans[2 * i].0, spans[2 * i + 1].0);
                }
                spans.truncate(pairs);
            }
        }
    }

    /// Whether FITS pixel position (px, py) is inside.
    pub fn contains(&self, px: f64, py: f64) -> bool {
        let mut spans = Vec::new();
        self.row_spans(py, &mut spans);
        spans.iter().any(|&(a, b)| px >= a && px < b)
    }

    /// (min x, max x, min y, max y).
    pub fn bounds(&self) -> (f64, f64, f64, f64) {
        match self {
            Region::Ellipse { x, y, a, b } => (x - a, x + a, y - b, y + b),
            Region::Polygon(v) => v.iter().fold(
                (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
                |(x0, x1, y0, y1), p| (x0.min(p[0]), x1.max(p[0]), y0.min(p[1]), y1.max(p[1])),
            ),
        }
    }

    /// Points along the outline, at most `step` pixels apart.
    pub fn outline(&self, step: f64) -> Vec<(f64, f64)> {
        let step = step.max(0.25);
        match self {
            Region::Ellipse { x, y, a, b } => {
                let n = ((std::f64::consts::TAU * a.max(*b) / step).ceil() as usize).max(8);
                (0..n)
                    .map(|i| {
                        let t = std::f64::consts::TAU * i as f64 / n as f64;
                        (x + a * t.cos(), y + b * t.sin())
                    })
                    .collect()
            }
            Region::Polygon(v) => {
                let mut points = Vec::new();
                for i in 0..v.len() {
                    let ([x0, y0], [x1, y1]) = (v[i], v[(i + 1) % v.len()]);
                    let n = (((x1 - x0).hypot(y1 - y0) / step).ceil() as usize).max(1);
                    points.extend((0..n).map(|k| {
                        let t = k as f64 / n as f64;
                        (x0 + t * (x1 - x0), y0 + t * (y1 - y0))
                    }));
                }
                points
            }
        }
    }
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Region::Ellipse { x, y, a, b } => write!(f, "ellipse {x} {y} {a} {b}"),
            Region::Polygon(v) => {
                f.write_str("polygon")?;
                v.iter().try_for_each(|p| write!(f, " {} {}", p[0], p[1]))
            }
        }
    }
}

/// Sets to NaN every pixel whose centre is outside `region`, row by row (one span computation
/// per row, not one test per pixel).
fn blank_outside(region: &Region, data: &mut [f32], width: usize, height: usize) {
    let mut spans = Vec::new();
    for (row, line) in data.chunks_exact_mut(width).take(height).enumerate() {
        region.row_spans(row as f64 + 1.0, &mut spans);
        let mut next = 0usize;
        for &(a, b) in &spans {
            // Pixel x (0-based) has FITS centre x + 1: inside when a <= x + 1 < b.
            let first = ((a - 1.0).ceil().max(0.0) as usize).min(width);
            let end = ((b - 1.0).ceil().max(0.0) as usize).min(width);
            if first > next {
                line[next..first].fill(f32::NAN);
            }
            next = next.max(end);
        }
        line[next.min(width)..].fill(f32::NAN);
    }
}

/// Hipsgen's data area: the bounding box of the pixels that differ from the first (corner)
/// pixel, as 0-based (first column, last column, first row, last row); the whole image when
/// every pixel equals it.
fn data_area(data: &[f32], width: usize, height: usize) -> (usize, usize, usize, usize) {
    let corner = data[0];
    let differs = |v: f32| !(v == corner || (v.is_nan() && corner.is_nan()));
    let (mut x0, mut x1, mut y0, mut y1) = (width, 0, height, 0);
    for (y, line) in data.chunks_exact(width).take(height).enumerate() {
        let Some(first) = line.iter().position(|&v| differs(v)) else {
            continue;
        };
        let last = line.iter().rposition(|&v| differs(v)).unwrap_or(first);
        (x0, x1) = (x0.min(first), x1.max(last));
        (y0, y1) = (y0.min(y), y1.max(y));
    }
    if x0 > x1 {
        (0, width - 1, 0, height - 1)
    } else {
        (x0, x1, y0, y1)
    }
}

/// The circle or ellipse inscribed in a 0-based pixel box (pixel edges included), in FITS
/// pixel coordinates.
fn inscribed(shape: Shape, (x0, x1, y0, y1): (usize, usize, usize, usize)) -> Region {
    let (a, b) = ((x1 - x0 + 1) as f64 / 2.0, (y1 - y0 + 1) as f64 / 2.0);
    let (a, b) = match shape {
        Shape::Ellipse => (a, b),
        Shape::Circle => (a.min(b), a.min(b)),
    };
    Region::Ellipse {
        x: (x0 + x1) as f64 / 2.0 + 1.0,
        y: (y0 + y1) as f64 / 2.0 + 1.0,
        a,
        b,
    }
}

/// Values sampled for the sky estimate (evenly strided over the image).
const SKY_SAMPLE: usize = 100_000;

/// The sky level of an image: the median of a sample of its valid pixels, 3σ-clipped five
/// times (σ from the median absolute deviation, so stars and bad columns do not widen it).
/// `None` when the image has no valid pixel.
pub fn estimate_sky(data: &[f32]) -> Option<f32> {
    let stride = (data.len() / SKY_SAMPLE).max(1);
    let mut sample: Vec<f32> = data
        .iter()
        .step_by(stride)
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let mut median = median_of(&mut sample)?;
    for _ in 0..5 {
        let mut deviations: Vec<f32> = sample.iter().map(|v| (v - median).abs()).collect();
        let sigma = 1.4826 * median_of(&mut deviations)?;
        let before = sample.len();
        sample.retain(|v| (v - median).abs() <= 3.0 * sigma);
        median = median_of(&mut sample)?;
        if sample.len() == before {
            break;
        }
    }
    Some(median)
}

fn median_of(values: &mut [f32]) -> Option<f32> {
    if values.is_empty() {
        return None;
    }
    let mid = values.len() / 2;
    let (_, &mut m, _) = values.select_nth_unstable_by(mid, f32::total_cmp);
    if values.len() % 2 == 1 {
        return Some(m);
    }
    let below = values[..mid].iter().copied().fold(f32::MIN, f32::max);
    Some((below + m) / 2.0)
}

/// Hipsgen's `maxRatio` test: the angular size of a pixel along x over its size along y (or
/// the inverse, whichever is above 1), with the sizes (degrees). Hipsgen measures the mean
/// pixel along the bottom and right image edges; here one pixel step at the image centre, the
/// same for small fields and still defined for all-sky projections whose corners are off the
/// sky (so cylindrical maps need no exemption). `None` where the centre has no sky position.
pub fn pixel_ratio(image: &SourceImage) -> Option<(f64, (f64, f64))> {
    let (cx, cy) = (
        image.hdu.width as f64 / 2.0 + 0.5,
        image.hdu.height as f64 / 2.0 + 0.5,
    );
    let angle = |a: (f64, f64), b: (f64, f64)| -> Option<f64> {
        let (u, v) = (
            image.pixel_to_hips(a.0, a.1)?,
            image.pixel_to_hips(b.0, b.1)?,
        );
        let cross = [
            u[1] * v[2] - u[2] * v[1],
            u[2] * v[0] - u[0] * v[2],
            u[0] * v[1] - u[1] * v[0],
        ];
        let dot = u[0] * v[0] + u[1] * v[1] + u[2] * v[2];
        Some(
            (cross[0].hypot(cross[1]).hypot(cross[2]))
                .atan2(dot)
                .to_degrees(),
        )
    };
    let along_x = angle((cx - 0.5, cy), (cx + 0.5, cy))?;
    let along_y = angle((cx, cy - 0.5), (cx, cy + 0.5))?;
    if along_x <= 0.0 || along_y <= 0.0 {
        return None;
    }
    Some((
        along_x.max(along_y) / along_x.min(along_y),
        (along_x, along_y),
    ))
}

/// The `.fov` file of an image, Hipsgen's way: `NAME.fov` beside `NAME.EXT` (the last
/// extension replaced), else `DIR.fov` beside the nearest enclosing directory `DIR` up to the
/// input directory named on the command line (a mask for every image below it).
fn fov_file(image: &Path, roots: &[PathBuf]) -> Option<PathBuf> {
    let own = image.with_extension("fov");
    if own.is_file() {
        return Some(own);
    }
    let root = roots.iter().find(|r| r.is_dir() && image.starts_with(r))?;
    let mut dir = image.parent();
    while let Some(d) = dir {
        if !d.starts_with(root) {
            break;
        }
        let name = d.file_name()?;
        let file = d.with_file_name(format!("{}.fov", name.to_string_lossy()));
        if file.is_file() {
            return Some(file);
        }
        dir = d.parent();
    }
    None
}

/// The `.fov` mask of an image, if it has one; `Err` names the file and what is wrong in it.
pub fn fov_for(image: &Path, roots: &[PathBuf]) -> Result<Option<Region>, String> {
    let Some(path) = fov_file(image, roots) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Region::parse(&text)
        .map(Some)
        .map_err(|e| format!("{}: not a Hipsgen .fov mask: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fov_syntax_gives_circles_and_polygons_or_says_why_not() {
        assert_eq!(
            Region::parse("10 20 5\n").unwrap(),
            Region::Ellipse {
                x: 11.0,
                y: 21.0,
                a: 5.0,
                b: 5.0
            }
        );
        assert_eq!(
            Region::parse("1 1\n9,1\n9;9\n").unwrap(),
            Region::Polygon(vec![[2.0, 2.0], [10.0, 2.0], [10.0, 10.0]])
        );
        for bad in ["", "1 2 3 4 5", "1 2 x 4 5 6", "1 2 0", "1 2 3 4"] {
            assert!(Region::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn masks_keep_exactly_the_pixel_centres_inside() {
        let (w, h) = (13, 9);
        let regions = [
            Region::Polygon(vec![[2.0, 1.5], [11.3, 3.0], [6.0, 8.7]]),
            Region::Polygon(vec![[0.0, 0.0], [14.0, 0.0], [14.0, 10.0], [0.0, 10.0]]),
            Region::Ellipse {
                x: 7.0,
                y: 5.0,
                a: 6.5,
                b: 3.2,
            },
        ];
        for region in regions {
            let mut data = vec![1.0f32; w * h];
            blank_outside(&region, &mut data, w, h);
            for (k, v) in data.iter().enumerate() {
                let (px, py) = ((k % w + 1) as f64, (k / w + 1) as f64);
                assert_eq!(
                    v.is_finite(),
                    region.contains(px, py),
                    "{region} ({px}, {py})"
                );
            }
        }
        // A triangle of vertices at pixel centres: (1,1), (5,1), (1,5) keeps x + y < 6 (the
        // diagonal edge is half-open).
        let mut data = vec![1.0f32; 25];
        blank_outside(
            &Region::Polygon(vec![[1.0, 1.0], [5.0, 1.0], [1.0, 5.0]]),
            &mut data,
            5,
            5,
        );
        assert_eq!(data.iter().filter(|v| v.is_finite()).count(), 10);
    }

    #[test]
    fn shapes_are_inscribed_in_the_data_area() {
        // An 8×6 image padded with zeros around a 6×4 data block from (1, 1) (0-based).
        let (w, h) = (8, 6);
        let mut data = vec![0.0f32; w * h];
        for y in 1..5 {
            for x in 1..7 {
                data[y * w + x] = 5.0;
            }
        }
        data[2 * w + 3] = 0.0;
        assert_eq!(data_area(&data, w, h), (1, 6, 1, 4));
        assert_eq!(
            inscribed(Shape::Ellipse, (1, 6, 1, 4)),
            Region::Ellipse {
                x: 4.5,
                y: 3.5,
                a: 3.0,
                b: 2.0
            }
        );
        assert_eq!(
            inscribed(Shape::Circle, (1, 6, 1, 4)),
            Region::Ellipse {
                x: 4.5,
                y: 3.5,
                a: 2.0,
                b: 2.0
            }
        );
        assert_eq!(data_area(&[3.0; 12], 4, 3), (0, 3, 0, 2));
    }

    #[test]
    fn sky_estimate_ignores_stars_and_blanks() {
        // Background 50 ± 1 (a deterministic ramp), 10 % bright stars, 5 % blank.
        let data: Vec<f32> = (0..40_000)
            .map(|i| match i % 20 {
                0 | 1 => 5000.0,
                2 => f32::NAN,
                _ => 49.0 + (i % 7) as f32 / 3.0,
            })
            .collect();
        let sky = estimate_sky(&data).unwrap();
        assert!((sky - 50.0).abs() < 0.01, "{sky}");
        assert_eq!(estimate_sky(&[f32::NAN; 4]), None);
    }

    #[test]
    fn skyval_takes_auto_or_a_fits_keyword() {
        assert_eq!("AUTO".parse::<SkyVal>(), Ok(SkyVal::Auto));
        assert_eq!(
            "skylevel".parse::<SkyVal>(),
            Ok(SkyVal::Keyword("SKYLEVEL".into()))
        );
        assert!("NINECHARS".parse::<SkyVal>().is_err());
        assert!("SKY VAL".parse::<SkyVal>().is_err());
    }

    /// A TAN image at (150°, +2°) with pixels `sx` × `sy` arcsec.
    fn image(sx: f64, sy: f64) -> SourceImage {
        let pairs = [
            ("CTYPE1", "RA---TAN".to_string()),
            ("CTYPE2", "DEC--TAN".into()),
            ("CRPIX1", "50.5".into()),
            ("CRPIX2", "50.5".into()),
            ("CRVAL1", "150.0".into()),
            ("CRVAL2", "2.0".into()),
            ("CD1_1", format!("{}", -sx / 3600.0)),
            ("CD2_2", format!("{}", sy / 3600.0)),
        ];
        let header = crate::fits::Header::from_pairs(pairs);
        let wcs = crate::wcs::Wcs::from_header(&header).unwrap();
        let hdu = crate::fits::ImageHdu {
            path: PathBuf::from("img.fits"),
            hdu: 0,
            header,
            width: 100,
            height: 100,
        };
        SourceImage::new(hdu, wcs, crate::wcs::Frame::Equatorial)
    }

    #[test]
    fn pixel_ratio_is_the_long_side_over_the_short_side() {
        for (sx, sy) in [(1.0, 1.0), (1.0, 4.0), (2.5, 0.5)] {
            let (ratio, (x, y)) = pixel_ratio(&image(sx, sy)).unwrap();
            let want = sx.max(sy) / sx.min(sy);
            assert!((ratio - want).abs() < 1e-6 * want, "{sx}×{sy}: {ratio}");
            assert!((x * 3600.0 - sx).abs() < 1e-6 && (y * 3600.0 - sy).abs() < 1e-6);
        }
        let controls = InputControls {
            max_ratio: Some(3.0),
            ..Default::default()
        };
        assert!(controls.rejection(&image(1.0, 2.9)).is_none());
        let why = controls.rejection(&image(1.0, 4.0)).unwrap();
        assert!(
            why.contains("pixel ratio 4.00") && why.contains("--max-ratio 3"),
            "{why}"
        );
    }
}
