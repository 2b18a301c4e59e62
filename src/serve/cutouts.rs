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
use crate::preview::{CutSpec, Picture, PreviewFormat, Stretch, ToneMap};
use crate::wcs::Frame;

/// Largest hips2fits image, in pixels.
pub const MAX_PIXELS: usize = 25_000_000;
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

fn error(status: StatusCode, title: &'static str, description: impl Into<String>) -> ApiError {
    ApiError {
        status,
        title,
        description: description.into(),
    }
}

fn bad(description: impl Into<String>) -> ApiError {
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

/// The output grid of a hips2fits request: `wcs` (JSON header) or width/height/fov/ra/dec.
fn hips2fits_grid(q: &HashMap<String, String>) -> Result<Grid, ApiError> {
    if let Some(wcs) = param(q, "wcs") {
        let json: serde_json::Value =
            serde_json::from_str(wcs).map_err(|e| bad(format!("wcs is not JSON: {e}")))?;
        let obj = json
            .as_object()
            .ok_or_else(|| bad("wcs must be a JSON object of FITS keywords"))?;
        let pairs = obj.iter().map(|(k, v)| {
            (
                k.to_ascii_uppercase(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        });
        let header = Header::from_pairs(pairs);
        return Grid::from_header(&header).map_err(|e| bad(format!("wcs: {e}")));
    }
    let need = |key: &str| -> Result<f64, ApiError> {
        number::<f64>(q, key)?.ok_or_else(|| bad(format!("{key} is required (or give wcs)")))
    };
    let (width, height) = (need("width")?, need("height")?);
    if width < 1.0 || height < 1.0 || width.fract() != 0.0 || height.fract() != 0.0 {
        return Err(bad("width and height must be positive integers"));
    }
    let (fov, ra, dec) = (need("fov")?, need("ra")?, need("dec")?);
    let frame = coordsys(q)?;
    let spec = GridSpec {
        lon: ra,
        lat: dec,
        width: width as usize,
        height: height as usize,
        scale_deg: fov / width.max(height),
        projection: param(q, "projection").unwrap_or("TAN").to_string(),
        rotation_deg: number::<f64>(q, "rotation_angle")?.unwrap_or(0.0),
        frame,
    };
    Ok(Grid::from_spec(&spec)?)
}

/// `GET /hips-image-services/hips2fits`.
pub async fn hips2fits(
    State(state): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let id = param(&q, "hips").ok_or_else(|| bad("hips is required"))?;
    let survey = find_survey(&state, id).ok_or_else(|| {
        error(
            StatusCode::NOT_FOUND,
            "Unknown HiPS",
            format!("no HiPS {id:?} on this server (see /hipslist)"),
        )
    })?;
    let grid = hips2fits_grid(&q)?;
    if grid.width * grid.height > MAX_PIXELS {
        return Err(error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Image too large",
            format!("{}x{} exceeds {MAX_PIXELS} pixels", grid.width, grid.height),
        ));
    }
    let format = param(&q, "format").unwrap_or("fits").to_ascii_lowercase();
    let look = match format.as_str() {
        "fits" => None,
        "png" | "jpg" | "jpeg" => Some(image_look(&q)?),
        other => return Err(bad(format!("format={other:?}: fits, png or jpg"))),
    };
    let order = number::<u8>(&q, "order")?;
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
    let Some((cut, stretch, inverse)) = look else {
        let mut cards = grid.cards.clone();
        cards.push(Card::new(
            "HIPS",
            CardValue::Str(id.to_string()),
            "HiPS sampled",
        ));
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
    let (fmt, mime) = if format == "png" {
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
fn image_look(q: &HashMap<String, String>) -> Result<(CutSpec, Stretch, bool), ApiError> {
    let cut = format!(
        "{} {}",
        param(q, "min_cut").unwrap_or("0.5%"),
        param(q, "max_cut").unwrap_or("99.5%")
    );
    let cut: CutSpec = cut
        .parse()
        .map_err(|e: String| bad(format!("min_cut/max_cut: {e}")))?;
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
    Ok((cut, stretch, inverse ^ inverted_map))
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
    let size = number::<usize>(q, "size")?.unwrap_or(64);
    if size == 0 || size > 1024 {
        return Err(bad("size must be 1..1024"));
    }
    let first = &state.surveys[keys[0] as usize];
    let scale = match param(q, "scale") {
        Some(s) => parse_scale(s).map_err(bad)?,
        None => first
            .hips
            .properties
            .get("hips_pixel_scale")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1.0 / 3600.0),
    };
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
    if positions.len() * keys.len() * size * size > MAX_STACK_VALUES {
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
