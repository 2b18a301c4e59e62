//! FINISH: what every HiPS we write ends with, whoever made its tiles (`build`, `rgb`,
//! `previews`): the base `properties` keywords, `Norder3/Allsky.*`, `Moc.fits`, `index.html`
//! and `preview.jpg`. One place, so that the files agree between the commands that write them.

use std::path::{Path, PathBuf};

use crate::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
use crate::hips::allsky::{self, ALLSKY_ORDER};
use crate::hips::html::index_html;
use crate::hips::moc::Coverage;
use crate::hips::properties::Properties;
use crate::output::write_atomic;
use crate::preview::{Picture, PreviewFormat, ToneMap};
use crate::reader::{tiles_in, HipsDir, ReadError};

/// Why finishing a HiPS failed.
#[derive(Debug, thiserror::Error)]
pub enum FinishError {
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// Tiles or properties of the HiPS could not be read back.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// Making the content of a file failed (MOC serialisation, picture encoding, sampling).
    #[error("{path}: {message}")]
    Content {
        /// The file being made.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// Writes `bytes` at `path` atomically, naming the file on failure.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), FinishError> {
    write_atomic(path, bytes).map_err(|source| FinishError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// The time of this build as `YYYY-MM-DDTHH:MMZ`: now, or `SOURCE_DATE_EPOCH` (seconds since
/// 1970, the reproducible-builds convention) when set, so that two builds of the same inputs
/// can be byte-identical.
pub fn timestamp() -> String {
    let fixed = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| chrono::DateTime::from_timestamp(s, 0));
    fixed
        .unwrap_or_else(chrono::Utc::now)
        .format("%Y-%m-%dT%H:%MZ")
        .to_string()
}

/// The keywords every HiPS starts with: identity, title, type, version, dates, status and
/// the producer. `created` is the creation date to keep (an earlier build's), else now.
pub fn base_properties(creator_did: &str, title: &str, created: Option<&str>) -> Properties {
    let now = timestamp();
    let mut p = Properties::default();
    p.set("creator_did", creator_did);
    p.set("obs_title", title);
    p.set("dataproduct_type", "image");
    p.set("hips_version", "1.4");
    p.set("hips_release_date", &now);
    p.set("hips_creation_date", created.unwrap_or(&now));
    p.set("hips_status", "public master clonableOnce");
    p.set("hips_builder", crate::PRODUCER);
    p
}

/// `moc_sky_fraction` of a coverage: significant digits, not decimals, since small surveys
/// cover tiny fractions of the sky.
pub fn sky_fraction(coverage: &Coverage) -> String {
    let fraction = coverage.sky_fraction();
    if fraction >= 1e-3 {
        format!("{fraction:.6}")
    } else {
        format!("{fraction:.5e}")
    }
}

/// Writes `Moc.fits` (always ICRS, as HiPS 1.0 clients expect).
pub fn write_moc(root: &Path, coverage: &Coverage) -> Result<(), FinishError> {
    let path = root.join("Moc.fits");
    let bytes = coverage.to_fits().map_err(|e| FinishError::Content {
        path: path.clone(),
        message: e.to_string(),
    })?;
    write_file(&path, &bytes)
}

/// Writes `properties` and the `index.html` made from them.
pub fn write_properties(root: &Path, p: &Properties) -> Result<(), FinishError> {
    write_file(&root.join("properties"), p.to_text().as_bytes())?;
    write_file(&root.join("index.html"), index_html(p).as_bytes())
}

/// The order-3 FITS tiles under `root` packed into one Allsky array (width, height, data in
/// FITS storage order), or `None` when the HiPS has no order 3.
pub fn packed_allsky(
    root: &Path,
    tile_width: usize,
) -> Result<Option<(usize, usize, Vec<f32>)>, FinishError> {
    if !root.join(format!("Norder{ALLSKY_ORDER}")).is_dir() {
        return Ok(None);
    }
    let read: Vec<(u64, Vec<f32>)> = tiles_in(root, ALLSKY_ORDER, "fits")?
        .into_iter()
        .map(|t| {
            let path = crate::hips::layout::tile_path(root, ALLSKY_ORDER, t, "fits");
            Ok((
                t,
                crate::fits::read_tile(&path, tile_width).map_err(ReadError::from)?,
            ))
        })
        .collect::<Result<_, FinishError>>()?;
    Ok(Some(allsky::pack_fits(tile_width, read)))
}

/// `root/Norder3/Allsky.{ext}`.
pub fn allsky_path(root: &Path, ext: &str) -> PathBuf {
    root.join(format!("Norder{ALLSKY_ORDER}/Allsky.{ext}"))
}

/// Width of `preview.jpg`, the thumbnail HiPS lists show.
const PREVIEW_SIZE: usize = 256;

/// `preview.jpg`: the initial view (hips_initial_ra/dec/fov) cut from the FITS tiles through
/// `tone`; an all-sky survey is shown whole in Aitoff.
pub fn write_preview_jpg(hips: &HipsDir, tone: &ToneMap) -> Result<(), FinishError> {
    let path = hips.root.join("preview.jpg");
    let failed = |message: String| FinishError::Content {
        path: path.clone(),
        message,
    };
    let num = |k: &str, d: f64| {
        hips.properties
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(d)
    };
    let fov = num("hips_initial_fov", 1.0);
    // Aitoff spans about 324° × 162° on the sphere: 330° across leaves a small margin.
    let spec = if fov >= 180.0 {
        GridSpec {
            lon: 0.0,
            lat: 0.0,
            width: PREVIEW_SIZE,
            height: PREVIEW_SIZE / 2,
            scale_deg: 330.0 / PREVIEW_SIZE as f64,
            projection: "AIT".into(),
            rotation_deg: 0.0,
            frame: hips.frame,
        }
    } else {
        GridSpec {
            lon: num("hips_initial_ra", 0.0),
            lat: num("hips_initial_dec", 0.0),
            width: PREVIEW_SIZE,
            height: PREVIEW_SIZE,
            scale_deg: fov.min(120.0) / PREVIEW_SIZE as f64,
            projection: "TAN".into(),
            rotation_deg: 0.0,
            frame: hips.frame,
        }
    };
    let grid = Grid::from_spec(&spec).map_err(|e| failed(e.to_string()))?;
    let survey = Survey::open(&hips.root, 0).map_err(|e| failed(e.to_string()))?;
    let data = cutout(
        &TileStore::new(256 << 20),
        &survey,
        &grid,
        Kernel::Flux,
        None,
    )
    .map_err(|e| failed(e.to_string()))?;
    let bytes = Picture::grey(&data, spec.width, spec.height, tone)
        .encode(PreviewFormat::Jpeg)
        .map_err(failed)?;
    write_file(&path, &bytes)
}
