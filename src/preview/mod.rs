//! PREVIEWS: 8-bit tiles (PNG, JPEG, WebP) and Allsky images made from the FITS tiles of every
//! order (never from other 8-bit tiles), with one pixel cut for the whole survey.

pub mod encode;
pub mod rgb;
pub mod tone;

use std::path::Path;

use rayon::prelude::*;

use crate::hips::allsky::{self, ALLSKY_ORDER};
use crate::hips::layout::tile_path;
use crate::hips::properties::Properties;
use crate::output::write_atomic;
use crate::reader::HipsDir;
pub use encode::PreviewFormat;
pub use encode::{Channels, Picture};
pub use tone::{CutSpec, Stretch, ToneMap};

#[derive(Debug, Clone)]
pub struct PreviewOptions {
    pub formats: Vec<PreviewFormat>,
    pub cut: CutSpec,
    pub stretch: Stretch,
    pub verbose: bool,
}

/// What the PREVIEWS step did.
#[derive(Debug, Clone)]
pub struct PreviewReport {
    pub tone: ToneMap,
    pub tiles: usize,
    pub seconds: f64,
}

/// At most this many max-order tiles are sampled for percentile cuts, spread evenly.
const SAMPLE_TILES: usize = 1000;
/// Values taken from each sampled tile.
const SAMPLE_PER_TILE: usize = 4096;

/// Finite values sampled evenly from up to `SAMPLE_TILES` max-order tiles of the survey.
fn survey_sample(hips: &HipsDir) -> Result<Vec<f32>, String> {
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
        .collect::<Result<_, String>>()?;
    Ok(per_tile.concat())
}

/// Writes 8-bit tiles of every order and their Allsky for each format, and records the
/// formats and the cut in `properties`.
pub fn write_previews(root: &Path, o: &PreviewOptions) -> Result<PreviewReport, String> {
    let started = std::time::Instant::now();
    let hips = HipsDir::open(root)?;
    let (low, high) = o.cut.resolve(&mut survey_sample(&hips)?)?;
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
    let mut jobs = Vec::new();
    for order in hips.orders()? {
        jobs.extend(hips.tiles(order, "fits")?.into_iter().map(|t| (order, t)));
    }
    jobs.par_iter().try_for_each(|&(order, npix)| {
        let data = hips
            .read_tile(order, npix)?
            .ok_or_else(|| format!("tile {order}/{npix} vanished"))?;
        let picture = Picture::grey(&data, width, width, &tone);
        for &f in &o.formats {
            let path = tile_path(root, order, npix, f.extension());
            let bytes = picture.encode(f)?;
            write_atomic(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok::<(), String>(())
    })?;
    if hips.orders()?.contains(&ALLSKY_ORDER) {
        let tiles = hips.tiles(ALLSKY_ORDER, "fits")?;
        let read: Vec<(u64, Vec<f32>)> = tiles
            .iter()
            .map(|&t| Ok((t, hips.read_tile(ALLSKY_ORDER, t)?.unwrap_or_default())))
            .collect::<Result<_, String>>()?;
        let (w, h, data) = allsky::pack_fits(width, read);
        let picture = Picture::grey(&data, w, h, &tone);
        for &f in &o.formats {
            let path = root.join(format!("Norder{ALLSKY_ORDER}/Allsky.{}", f.extension()));
            write_atomic(&path, &picture.encode(f)?)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    write_preview_jpg(root, &hips, &tone)?;
    update_properties(root, &hips.properties, &o.formats, &tone)?;
    Ok(PreviewReport {
        tone,
        tiles: jobs.len(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Width of `preview.jpg`, the thumbnail HiPS lists show.
const PREVIEW_SIZE: usize = 256;

/// `preview.jpg`: the initial view (hips_initial_ra/dec/fov) cut from the FITS tiles through
/// the survey's cut; an all-sky survey is shown whole in Aitoff.
fn write_preview_jpg(root: &Path, hips: &HipsDir, tone: &ToneMap) -> Result<(), String> {
    use crate::cutout::{cutout, Grid, GridSpec, Kernel, Survey, TileStore};
    let num = |k: &str, d: f64| {
        hips.properties
            .get(k)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(d)
    };
    let fov = num("hips_initial_fov", 1.0);
    // Aitoff spans about 324° × 162° on the sphere: 330° across leaves a small margin.
    let (projection, lon, lat, width) = if fov >= 180.0 {
        ("AIT", 0.0, 0.0, 330.0)
    } else {
        (
            "TAN",
            num("hips_initial_ra", 0.0),
            num("hips_initial_dec", 0.0),
            fov.min(120.0),
        )
    };
    let (w, h) = if projection == "AIT" {
        (PREVIEW_SIZE, PREVIEW_SIZE / 2)
    } else {
        (PREVIEW_SIZE, PREVIEW_SIZE)
    };
    let spec = GridSpec {
        lon,
        lat,
        width: w,
        height: h,
        scale_deg: width / w as f64,
        projection: projection.into(),
        rotation_deg: 0.0,
        frame: hips.frame,
    };
    let grid = Grid::from_spec(&spec)?;
    let survey = Survey::open(root, 0)?;
    let data = cutout(
        &TileStore::new(256 << 20),
        &survey,
        &grid,
        Kernel::Flux,
        None,
    )?;
    let path = root.join("preview.jpg");
    write_atomic(
        &path,
        &Picture::grey(&data, w, h, tone).encode(PreviewFormat::Jpeg)?,
    )
    .map_err(|e| format!("{}: {e}", path.display()))
}

fn update_properties(
    root: &Path,
    current: &Properties,
    formats: &[PreviewFormat],
    tone: &ToneMap,
) -> Result<(), String> {
    let mut p = current.clone();
    let mut words: Vec<&str> = formats.iter().map(|f| f.extension()).collect();
    words.push("fits");
    p.set("hips_tile_format", words.join(" "));
    p.set("hips_pixel_cut", format!("{} {}", tone.low, tone.high));
    p.set("hips_pixel_func", tone.stretch.name());
    for (name, text) in [
        ("properties", p.to_text()),
        ("index.html", crate::hips::html::index_html(&p)),
    ] {
        let path = root.join(name);
        write_atomic(&path, text.as_bytes()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}
