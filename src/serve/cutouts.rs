//! Cutouts over HTTP: `GET /hips-image-services/hips2fits` speaking the hips2fits API (so
//! astroquery.hips2fits works by changing its server URL), and `POST /cutouts` for a list of
//! objects answered with a `.npy` stack.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use rayon::prelude::*;

use super::AppState;
use crate::cutout::bulk::{parse_scale, stamps};
use crate::cutout::positions::{parse_positions, Columns, Position};
use crate::cutout::stack::npy_header;
use crate::cutout::{cutout, CutoutError, Grid, GridSpec, Kernel, Survey};
use crate::fits::write::{encode_image, Card, CardValue, Encoding};
use crate::fits::Header;
use crate::preview::tone::CutValue;
use crate::preview::{CutSpec, Picture, PreviewFormat, Stretch, ToneMap};
use crate::wcs::Frame;

/// Largest hips2fits image, in pixels.
pub const MAX_PIXELS: usize = 25_000_000;
/// Largest POST /cutouts stamp side, in pixels.
pub const MAX_STAMP: usize = 1024;
/// Largest POST /cutouts answer, in float32 values (256 MB).
pub const MAX_STACK_VALUES: usize = 64 << 20;

/// An error answer in the form astroquery reads: JSON with `title` and `description`.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    title: &'static str,
    description: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "title": self.title, "description": self.description });
        (self.status, axum::Json(body)).into_response()
    }
}

impl ApiError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// What went wrong, naming the parameter.
    pub fn description(&self) -> &str {
        &self.description
    }
}

pub(super) fn error(
    status: StatusCode,
    title: &'static str,
    description: impl Into<String>,
) -> ApiError {
    ApiError {
        status,
        title,
        description: description.into(),
    }
}

pub(super) fn bad(description: impl Into<String>) -> ApiError {
    error(StatusCode::BAD_REQUEST, "Bad request", description)
}

/// A request's own mistakes (grid, positions, options) are 400; failures of the data are 500.
impl From<CutoutError> for ApiError {
    fn from(e: CutoutError) -> ApiError {
        if e.is_caller_error() {
            bad(e.to_string())
        } else {
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Cutout failed",
                e.to_string(),
            )
        }
    }
}

/// The survey a `hips` parameter names: mount name, creator_did, or creator_did without `ivo://`.
fn find_survey<'a>(state: &'a AppState, id: &str) -> Option<&'a Survey> {
    let id = id.trim();
    let bare = id.strip_prefix("ivo://").unwrap_or(id);
    state.mounts.iter().zip(&state.surveys).find_map(|(m, s)| {
        let did = m.properties.get("creator_did").unwrap_or("");
        (m.name == id || did == id || did.strip_prefix("ivo://") == Some(bare)).then_some(s)
    })
}

fn param<'a>(q: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    q.get(key).map(String::as_str).filter(|v| !v.is_empty())
}

fn number<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    key: &str,
) -> Result<Option<T>, ApiError> {
    param(q, key)
        .map(|v| {
            v.trim()
                .parse::<T>()
                .map_err(|_| bad(format!("{key}={v:?} is not a number")))
        })
        .transpose()
}

/// `coordsys`: `icrs` (the default) or `galactic`.
fn coordsys(q: &HashMap<String, String>) -> Result<Frame, ApiError> {
    match param(q, "coordsys").unwrap_or("icrs") {
        "icrs" => Ok(Frame::Equatorial),
        "galactic" => Ok(Frame::Galactic),
        other => Err(bad(format!("coordsys={other:?}: icrs or galactic"))),
    }
}

/// Runs cutout work on the blocking pool (it is CPU-bound and would stall the async
/// workers). Its error maps by kind; a panic of the worker is a 500 and the server goes on.
async fn on_blocking_pool<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CutoutError> + Send + 'static,
) -> Result<T, ApiError> {
    let finished = tokio::task::spawn_blocking(work).await.map_err(|e| {
        error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Cutout failed",
            format!("the cutout worker stopped: {e}"),
        )
    })?;
    Ok(finished?)
}

/// Deepest HEALPix order a request may name (cdshealpix's depth table ends there).
pub const MAX_ORDER: u8 = crate::hips::geometry::MAX_DEPTH;

/// What a hips2fits answer is encoded as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// float32 FITS with the grid's WCS.
    Fits,
    /// 8-bit grey PNG.
    Png,
    /// 8-bit grey JPEG.
    Jpeg,
}

/// The tone of a PNG/JPEG answer: cut, stretch, and whether black and white are swapped.
#[derive(Debug, Clone)]
pub struct Look {
    /// min_cut/max_cut.
    pub cut: CutSpec,
    /// stretch.
    pub stretch: Stretch,
    /// inverse (or an inverted cmap).
    pub inverse: bool,
}

/// A checked hips2fits request: every value finite and in range, the image within
/// [`MAX_PIXELS`].
#[derive(Debug)]
pub struct Hips2fitsQuery {
    /// The `hips` parameter as given (mount name or creator_did).
    pub hips: String,
    /// The output grid.
    pub grid: Grid,
    /// What the grid was made from, unless it came from a `wcs` header.
    pub spec: Option<GridSpec>,
    /// Output encoding.
    pub format: ImageFormat,
    /// Tone for PNG/JPEG (`None` for FITS).
    pub look: Option<Look>,
    /// The order asked for, if any (0..=[`MAX_ORDER`]).
    pub order: Option<u8>,
}

/// Parses and checks a hips2fits query (the HTTP handler's first step, public so that it can
/// be tested without a server). Errors are 400 naming the parameter, 413 for too many pixels.
pub fn parse_hips2fits_query(q: &HashMap<String, String>) -> Result<Hips2fitsQuery, ApiError> {
    let hips = param(q, "hips")
        .ok_or_else(|| bad("hips is required"))?
        .to_string();
    let (grid, spec) = hips2fits_grid(q)?;
    let format = match param(q, "format")
        .unwrap_or("fits")
        .to_ascii_lowercase()
        .as_str()
    {
        "fits" => ImageFormat::Fits,
        "png" => ImageFormat::Png,
        "jpg" | "jpeg" => ImageFormat::Jpeg,
        other => return Err(bad(format!("format={other:?}: fits, png or jpg"))),
    };
    let look = match format {
        ImageFormat::Fits => None,
        _ => Some(image_look(q)?),
    };
    let order = match param(q, "order") {
        None => None,
        Some(v) => match v.trim().parse::<u64>() {
            Ok(k) if k <= MAX_ORDER as u64 => Some(k as u8),
            _ => return Err(bad(format!("order={v:?}: an integer 0..{MAX_ORDER}"))),
        },
    };
    Ok(Hips2fitsQuery {
        hips,
        grid,
        spec,
        format,
        look,
        order,
    })
}

/// A finite number, or a 400 naming `key`.
pub(super) fn finite(q: &HashMap<String, String>, key: &str) -> Result<Option<f64>, ApiError> {
    match number::<f64>(q, key)? {
        Some(v) if !v.is_finite() => Err(bad(format!("{key}={v}: must be a finite number"))),
        v => Ok(v),
    }
}

/// `width` or `height`: a positive integer (written as an integer or an integral float).
fn image_size(q: &HashMap<String, String>, key: &str) -> Result<u64, ApiError> {
    let v = finite(q, key)?.ok_or_else(|| bad(format!("{key} is required (or give wcs)")))?;
    if v < 1.0 || v.fract() != 0.0 {
        return Err(bad(format!("{key}={v}: must be a positive integer")));
    }
    // Saturating: anything beyond u64 is far beyond MAX_PIXELS anyway.
    Ok(v as u64)
}

/// 413 unless `width × height` (checked, nothing allocated yet) is within [`MAX_PIXELS`].
fn check_pixels(width: u64, height: u64) -> Result<(usize, usize), ApiError> {
    let total = width.checked_mul(height);
    match total {
        Some(n) if n <= MAX_PIXELS as u64 => Ok((width as usize, height as usize)),
        _ => Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Image too large",
            format!("{width}x{height} exceeds {MAX_PIXELS} pixels"),
        )),
    }
}

/// The output grid of a hips2fits request: `wcs` (JSON header) or width/height/fov/ra/dec.
fn hips2fits_grid(q: &HashMap<String, String>) -> Result<(Grid, Option<GridSpec>), ApiError> {
    if let Some(wcs) = param(q, "wcs") {
        return wcs_grid(wcs).map(|g| (g, None));
    }
    let (width, height) = check_pixels(image_size(q, "width")?, image_size(q, "height")?)?;
    let need = |key: &str| -> Result<f64, ApiError> {
        finite(q, key)?.ok_or_else(|| bad(format!("{key} is required (or give wcs)")))
    };
    let fov = need("fov")?;
    if !(fov > 0.0 && fov <= 360.0) {
        return Err(bad(format!("fov={fov}: degrees, in (0, 360]")));
    }
    let ra = need("ra")?.rem_euclid(360.0);
    let dec = need("dec")?;
    if !(-90.0..=90.0).contains(&dec) {
        return Err(bad(format!("dec={dec}: degrees, in [-90, 90]")));
    }
    let rotation = finite(q, "rotation_angle")?
        .unwrap_or(0.0)
        .rem_euclid(360.0);
    let scale_deg = fov / width.max(height) as f64;
    if !(scale_deg > 0.0 && scale_deg.is_normal()) {
        return Err(bad(format!(
            "fov={fov}: too small for {width}x{height} pixels"
        )));
    }
    let spec = GridSpec {
        lon: ra,
        lat: dec,
        width,
        height,
        scale_deg,
        projection: param(q, "projection").unwrap_or("TAN").to_string(),
        rotation_deg: rotation,
        frame: coordsys(q)?,
    };
    let grid = Grid::from_spec(&spec).map_err(|e| bad(format!("projection or grid: {e}")))?;
    Ok((grid, Some(spec)))
}

/// A grid from the `wcs` parameter: a JSON object of FITS keywords; every numeric value
/// finite, the image within [`MAX_PIXELS`].
fn wcs_grid(wcs: &str) -> Result<Grid, ApiError> {
    let json: serde_json::Value =
        serde_json::from_str(wcs).map_err(|e| bad(format!("wcs is not JSON: {e}")))?;
    let obj = json
        .as_object()
        .ok_or_else(|| bad("wcs must be a JSON object of FITS keywords"))?;
    let mut pairs = Vec::with_capacity(obj.len());
    for (k, v) in obj {
        let key = k.to_ascii_uppercase();
        let value = v.as_str().map_or_else(|| v.to_string(), str::to_string);
        if value.trim().parse::<f64>().is_ok_and(|x| !x.is_finite()) {
            return Err(bad(format!("wcs: {key}={value}: must be a finite number")));
        }
        pairs.push((key, value));
    }
    let header = Header::from_pairs(pairs);
    let size = |k: &str| -> Result<u64, ApiError> {
        header
            .get_i64(k)
            .filter(|&n| n > 0)
            .map(|n| n as u64)
            .ok_or_else(|| bad(format!("wcs: {k} missing or not a positive integer")))
    };
    check_pixels(size("NAXIS1")?, size("NAXIS2")?)?;
    let grid = Grid::from_header(&header).map_err(|e| bad(format!("wcs: {e}")))?;
    if !(grid.scale_deg() > 0.0 && grid.scale_deg().is_finite()) {
        return Err(bad("wcs: the pixel scale is not a positive number"));
    }
    Ok(grid)
}

/// `GET /hips-image-services/hips2fits`.
pub async fn hips2fits(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let Hips2fitsQuery {
        hips: id,
        grid,
        format,
        look,
        order,
        ..
    } = parse_hips2fits_query(&q)?;
    let survey = find_survey(&state, &id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "Unknown HiPS",
            format!("no HiPS {id:?} on this server (see /hipslist)"),
        )
    })?;
    let key = survey.key as usize;
    let worker = state.clone();
    let (grid, data) = on_blocking_pool(move || {
        cutout(
            &worker.tiles,
            &worker.surveys[key],
            &grid,
            Kernel::Bilinear,
            order,
        )
        .map(|data| (grid, data))
    })
    .await?;
    let Some(Look {
        cut,
        stretch,
        inverse,
    }) = look
    else {
        let mut cards = grid.cards.clone();
        cards.push(Card::new("HIPS", CardValue::Str(id), "HiPS sampled"));
        cards.push(Card::origin());
        let bytes = encode_image(grid.width, grid.height, &data, Encoding::float32(), &cards);
        return Ok(([(header::CONTENT_TYPE, "application/fits")], bytes).into_response());
    };
    let mut sample: Vec<f32> = data.iter().copied().filter(|v| v.is_finite()).collect();
    let (low, high) = cut.resolve(&mut sample).map_err(bad)?;
    let tone = ToneMap { low, high, stretch };
    let mut picture = Picture::grey(&data, grid.width, grid.height, &tone);
    if inverse {
        picture.data.chunks_mut(2).for_each(|p| p[0] = 255 - p[0]);
    }
    let (fmt, mime) = if format == ImageFormat::Png {
        (PreviewFormat::Png, "image/png")
    } else {
        (PreviewFormat::Jpeg, "image/jpeg")
    };
    let bytes = picture
        .encode(fmt)
        .map_err(|e| error(StatusCode::INTERNAL_SERVER_ERROR, "Encoding failed", e))?;
    Ok(([(header::CONTENT_TYPE, mime)], bytes).into_response())
}

/// min_cut/max_cut (values, or percentiles with %), stretch, cmap and inverse for png/jpg.
fn image_look(q: &HashMap<String, String>) -> Result<Look, ApiError> {
    let cut = format!(
        "{} {}",
        param(q, "min_cut").unwrap_or("0.5%"),
        param(q, "max_cut").unwrap_or("99.5%")
    );
    let cut: CutSpec = cut
        .parse()
        .map_err(|e: String| bad(format!("min_cut/max_cut: {e}")))?;
    for (key, c) in [("min_cut", cut.low), ("max_cut", cut.high)] {
        if matches!(c, CutValue::Value(v) if !v.is_finite()) {
            return Err(bad(format!(
                "{key}: must be a finite number or a percentile"
            )));
        }
    }
    let stretch: Stretch = param(q, "stretch")
        .unwrap_or("linear")
        .parse()
        .map_err(|e: String| bad(e))?;
    let inverse = matches!(param(q, "inverse"), Some("true" | "True" | "1"));
    let inverted_map = match param(q, "cmap").unwrap_or("Greys_r") {
        "Greys_r" | "gray" | "grey" => false,
        "Greys" | "binary" | "gray_r" | "grey_r" => true,
        other => {
            return Err(bad(format!(
                "cmap={other:?}: only grey maps are supported (Greys_r, Greys, gray, binary)"
            )))
        }
    };
    Ok(Look {
        cut,
        stretch,
        inverse: inverse ^ inverted_map,
    })
}

/// A checked `POST /cutouts` request.
struct BulkRequest {
    /// Survey keys, one per band.
    keys: Vec<u32>,
    positions: Vec<Position>,
    /// The grid of every stamp; its centre is replaced by each object's.
    stamp: GridSpec,
    kernel: Kernel,
}

/// `POST /cutouts?hips=a,b&size=28&scale=0.396arcsec` with a CSV body (ra, dec[, id]) → a
/// `.npy` array (N, bands, size, size) float32 in the order of the lines.
pub async fn bulk(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = bulk_request(&state, &q, &body)?;
    let worker = state.clone();
    let bytes = on_blocking_pool(move || npy_stack(&worker, &request)).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"cutouts.npy\"",
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The bands, objects and stamp grid of a `POST /cutouts`, checked against the limits.
fn bulk_request(
    state: &AppState,
    q: &HashMap<String, String>,
    body: &[u8],
) -> Result<BulkRequest, ApiError> {
    let ids = param(q, "hips")
        .ok_or_else(|| bad("hips is required (comma-separated for several bands)"))?;
    let keys = ids
        .split(',')
        .map(|id| {
            find_survey(state, id).map(|s| s.key).ok_or_else(|| {
                error(
                    StatusCode::NOT_FOUND,
                    "Unknown HiPS",
                    format!("no HiPS {id:?} on this server"),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let size = match param(q, "size") {
        None => 64,
        Some(v) => match v.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_STAMP).contains(&n) => n,
            _ => return Err(bad(format!("size={v:?}: an integer 1..{MAX_STAMP}"))),
        },
    };
    let first = &state.surveys[keys[0] as usize];
    let scale = match param(q, "scale") {
        Some(s) => parse_scale(s).map_err(bad)?,
        None => first
            .hips
            .properties
            .get("hips_pixel_scale")
            .and_then(|v| v.parse().ok())
            .filter(|v: &f64| v.is_finite() && *v > 0.0)
            .unwrap_or(1.0 / 3600.0),
    };
    if scale * size as f64 > 180.0 {
        return Err(bad(format!(
            "scale: {size} pixels of {scale} degrees span more than 180 degrees"
        )));
    }
    let kernel: Kernel = param(q, "kernel")
        .unwrap_or("bilinear")
        .parse()
        .map_err(bad)?;
    let stamp = GridSpec {
        lon: 0.0,
        lat: 0.0,
        width: size,
        height: size,
        scale_deg: scale,
        projection: param(q, "projection").unwrap_or("TAN").to_string(),
        rotation_deg: 0.0,
        frame: coordsys(q)?,
    };
    let text = std::str::from_utf8(body)
        .map_err(|_| bad("the body must be UTF-8 text (CSV with ra, dec columns)"))?;
    let positions = parse_positions(text, &Columns::default())?;
    if positions.is_empty() {
        return Err(bad("no objects in the body"));
    }
    let values = [keys.len(), size, size]
        .iter()
        .try_fold(positions.len(), |n, &k| n.checked_mul(k));
    if values.is_none_or(|n| n > MAX_STACK_VALUES) {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Too many cutouts",
            format!("{} objects × {} bands × {size}² exceeds {MAX_STACK_VALUES} values; split the list or use `hipsforge cutout`", positions.len(), keys.len()),
        ));
    }
    Ok(BulkRequest {
        keys,
        positions,
        stamp,
        kernel,
    })
}

/// The stamps of every object in every band, as `.npy` bytes (objects in parallel).
fn npy_stack(state: &AppState, request: &BulkRequest) -> Result<Vec<u8>, CutoutError> {
    let BulkRequest {
        keys,
        positions,
        stamp,
        kernel,
    } = request;
    let shape = [positions.len(), keys.len(), stamp.height, stamp.width];
    let bands: Vec<&Survey> = keys.iter().map(|&k| &state.surveys[k as usize]).collect();
    let stacks = positions
        .par_iter()
        .map(|p| {
            let spec = GridSpec {
                lon: p.ra,
                lat: p.dec,
                ..stamp.clone()
            };
            stamps(&state.tiles, &bands, &spec, *kernel, None)
        })
        .collect::<Result<Vec<Vec<f32>>, CutoutError>>()?;
    let mut bytes = npy_header(&shape);
    bytes.reserve(shape.iter().product::<usize>() * 4);
    for v in stacks.iter().flatten() {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    Ok(bytes)
}
