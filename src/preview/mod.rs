//! PREVIEWS: 8-bit tiles (PNG, JPEG, WebP) and Allsky images made from the FITS tiles of every
//! order (never from other 8-bit tiles), with one pixel cut for the whole survey.

pub mod encode;
pub mod rgb;
pub mod tone;

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::finish;
use crate::finish::FinishError;
use crate::hips::layout::tile_path;
use crate::hips::properties::Properties;
use crate::reader::{HipsDir, ReadError};
pub use encode::{parse_formats, PreviewFormat};
pub use encode::{Channels, Picture};
pub use tone::{CutSpec, Stretch, ToneMap};

/// Cut and stretch as the user gave them, to be completed from a survey's suggestion.
#[derive(Debug, Clone, Copy, Default)]
pub struct Look {
    /// `--pixel-cut`, if given.
    pub cut: Option<CutSpec>,
    /// `--stretch`, if given.
    pub stretch: Option<Stretch>,
}

impl Look {
    /// The given values, else the suggestion of a preset or properties file
    /// (`hips_pixel_cut`, `hips_pixel_func`), else the defaults.
    pub fn resolve(&self, suggested: &Properties) -> Result<(CutSpec, Stretch), String> {
        Ok((
            given_or_suggested(self.cut, suggested, "hips_pixel_cut")?,
            given_or_suggested(self.stretch, suggested, "hips_pixel_func")?,
        ))
    }
}

/// `given`, else the value of `key` in `suggested`, else the default.
fn given_or_suggested<T>(given: Option<T>, suggested: &Properties, key: &str) -> Result<T, String>
where
    T: std::str::FromStr<Err = String> + Default,
{
    match (given, suggested.get(key)) {
        (Some(v), _) => Ok(v),
        (None, Some(s)) => s.parse().map_err(|e| format!("{key} {s:?}: {e}")),
        (None, None) => Ok(T::default()),
    }
}

/// What the PREVIEWS step is told.
#[derive(Debug, Clone)]
pub struct PreviewOptions {
    /// 8-bit formats to write.
    pub formats: Vec<PreviewFormat>,
    /// Pixel cut, resolved against values sampled from the max-order tiles.
    pub cut: CutSpec,
    /// Transfer function between the cuts.
    pub stretch: Stretch,
    /// Log line on stderr.
    pub verbose: bool,
}

/// What the PREVIEWS step did.
#[derive(Debug, Clone)]
pub struct PreviewReport {
    /// The cut and stretch used.
    pub tone: ToneMap,
    /// FITS tiles turned into previews, all orders (each written in every format).
    pub tiles: usize,
    /// Wall-clock seconds of the step.
    pub seconds: f64,
}

/// At most this many max-order tiles are sampled for percentile cuts, spread evenly.
const SAMPLE_TILES: usize = 1000;
/// Values taken from each sampled tile.
const SAMPLE_PER_TILE: usize = 4096;

/// Why making previews or a colour HiPS failed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// A data HiPS could not be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The pixel cut cannot be resolved (e.g. no finite value in the survey).
    #[error("{hips}: pixel cut: {problem}")]
    Cut {
        /// The survey's directory.
        hips: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Three channels that are not one grid of tiles.
    #[error("{0}")]
    Mismatch(String),
    /// The output directory holds a HiPS that was not to be replaced.
    #[error("{0}: already holds a HiPS; pass --force to replace it")]
    OutputInUse(PathBuf),
    /// An 8-bit picture could not be encoded.
    #[error("{path}: {problem}")]
    Encode {
        /// The file it was meant for.
        path: PathBuf,
        /// What the encoder said.
        problem: String,
    },
    /// A tile, Allsky, MOC or properties file could not be written.
    #[error(transparent)]
    Finish(#[from] FinishError),
}

/// Encodes `picture` for `path` and writes it atomically.
fn write_picture(
    picture: &Picture,
    format: PreviewFormat,
    path: &Path,
) -> Result<(), PreviewError> {
    let bytes = picture
        .encode(format)
        .map_err(|problem| PreviewError::Encode {
            path: path.to_path_buf(),
            problem,
        })?;
    Ok(finish::write_file(path, &bytes)?)
}

/// The (low, high) values of `cut` over the survey's sampled pixels.
fn resolve_cut(hips: &HipsDir, cut: &CutSpec) -> Result<(f64, f64), PreviewError> {
    cut.resolve(&mut survey_sample(hips)?)
        .map_err(|problem| PreviewError::Cut {
            hips: hips.root.clone(),
            problem,
        })
}

/// Finite values sampled evenly from up to `SAMPLE_TILES` max-order tiles of the survey.
fn survey_sample(hips: &HipsDir) -> Result<Vec<f32>, ReadError> {
    let tiles = hips.tiles(hips.order, "fits")?;
    let stride = tiles.len().div_ceil(SAMPLE_TILES).max(1);
    let chosen: Vec<u64> = tiles.iter().step_by(stride).copied().collect();
    let per_tile: Vec<Vec<f32>> = chosen
        .par_iter()
        .map(|&t| {
            let data = hips.read_tile(hips.order, t)?.unwrap_or_default();
            let step = (data.len() / SAMPLE_PER_TILE).max(1);
            Ok(data
                .iter()
                .step_by(step)
                .copied()
                .filter(|v| v.is_finite())
                .collect())
        })
        .collect::<Result<_, ReadError>>()?;
    Ok(per_tile.concat())
}

/// Every FITS tile of the HiPS as (order, npix), shallow orders first.
fn all_tiles(hips: &HipsDir) -> Result<Vec<(u8, u64)>, ReadError> {
    let mut jobs = Vec::new();
    for order in hips.orders()? {
        jobs.extend(hips.tiles(order, "fits")?.into_iter().map(|t| (order, t)));
    }
    Ok(jobs)
}

/// Writes 8-bit tiles of every order and their Allsky for each format, and records the
/// formats and the cut in `properties`.
pub fn write_previews(root: &Path, o: &PreviewOptions) -> Result<PreviewReport, PreviewError> {
    let started = std::time::Instant::now();
    let hips = HipsDir::open(root)?;
    let (low, high) = resolve_cut(&hips, &o.cut)?;
    let tone = ToneMap {
        low,
        high,
        stretch: o.stretch,
    };
    if o.verbose {
        eprintln!(
            "PREVIEWS: cut {low} .. {high}, {} stretch",
            o.stretch.name()
        );
    }
    let width = hips.width;
    let jobs = all_tiles(&hips)?;
    jobs.par_iter().try_for_each(|&(order, npix)| {
        // Listed a moment ago: a tile gone now was removed under us, which is an error.
        let data = hips.read_tile(order, npix)?.ok_or_else(|| ReadError::Io {
            path: tile_path(root, order, npix, "fits"),
            source: std::io::ErrorKind::NotFound.into(),
        })?;
        let picture = Picture::grey(&data, width, width, &tone);
        for &f in &o.formats {
            write_picture(&picture, f, &tile_path(root, order, npix, f.extension()))?;
        }
        Ok::<(), PreviewError>(())
    })?;
    if let Some((w, h, data)) = finish::packed_allsky(root, width)? {
        let picture = Picture::grey(&data, w, h, &tone);
        for &f in &o.formats {
            write_picture(&picture, f, &finish::allsky_path(root, f.extension()))?;
        }
    }
    finish::write_preview_jpg(&hips, &tone)?;
    let mut p = hips.properties.clone();
    record_look(&mut p, &o.formats, &tone);
    finish::write_properties(root, &p)?;
    Ok(PreviewReport {
        tone,
        tiles: jobs.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Records the 8-bit formats (with fits) and the cut of the previews in `p`.
fn record_look(p: &mut Properties, formats: &[PreviewFormat], tone: &ToneMap) {
    let mut words: Vec<&str> = formats.iter().map(|f| f.extension()).collect();
    words.push("fits");
    p.set("hips_tile_format", words.join(" "));
    p.set("hips_pixel_cut", format!("{} {}", tone.low, tone.high));
    p.set("hips_pixel_func", tone.stretch.name());
}
