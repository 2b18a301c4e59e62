//! The build pipeline (Hipsgen's vocabulary): INDEX (which tiles each image touches),
//! TILES (resample + coadd every max-order tile, in parallel), TREE (parents from children),
//! then Allsky, Moc.fits and properties.

pub mod cache;
pub mod controls;
pub mod index;
pub mod inputs;
pub mod journal;
pub mod progenitors;
pub mod pyramid;
pub mod resample;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use rayon::prelude::*;

use crate::finish::{self, FinishError};
use crate::fits::write::{encode_image, Card, Encoding, PixelType};
use crate::fits::HduSelection;
use crate::hips::allsky::ALLSKY_ORDER;
use crate::hips::geometry::{cell_size_deg, moc_depth, order_for_pixel_scale, MAX_DEPTH};
use crate::hips::moc::Coverage;
use crate::hips::pixels::Reducer;
use crate::hips::properties::Properties;
use crate::preview::{write_previews, Look, PreviewFormat, PreviewOptions, PreviewReport};
use crate::wcs::frame::{xyz_to_lonlat, Rotation};
use crate::wcs::Frame;
use cache::ImageCache;
use controls::InputControls;
use index::build_index;
use inputs::{collect_files, discover_keeping, Inputs, SourceImage};
use journal::Journal;
use pyramid::Pyramid;
use resample::{Coadd, Interpolation, Sampling};

/// Everything `hipsforge build` can be told.
#[derive(Debug, Clone)]
pub struct BuildOptions {
    /// FITS files, or directories searched recursively for FITS names.
    pub inputs: Vec<PathBuf>,
    /// Output directory of the HiPS.
    pub out: PathBuf,
    /// `creator_did` of the HiPS: `ivo://AUTHORITY/P/name`.
    pub creator_did: String,
    /// Deepest order; `None` picks the shallowest order not coarser than the finest input pixel.
    pub order: Option<u8>,
    /// Shallowest order written (`hips_order_min`).
    pub min_order: u8,
    /// Tile width in pixels: a power of two from 8 to 4096.
    pub tile_width: usize,
    /// Celestial frame of the HiPS (`hips_frame`).
    pub frame: Frame,
    /// How source pixels are read and overlapping images combined.
    pub sampling: Sampling,
    /// An input value to treat as blank, besides NaN and BLANK.
    pub blank: Option<f32>,
    /// How a parent tile is made from its four children.
    pub tree: Reducer,
    /// BITPIX of the FITS tiles; integer types are scaled over the input data range.
    pub bitpix: i32,
    /// Which HDUs of each file are used as images.
    pub hdus: HduSelection,
    /// Hipsgen's controls: pilot, shape, `.fov` masks, valid range, sky value, max ratio.
    pub controls: InputControls,
    /// Descriptive keywords from presets, `--properties` files and `--prop` (in that order).
    pub properties: Properties,
    /// Keep max-order tiles already written by an interrupted build of the same HiPS.
    pub resume: bool,
    /// Replace an existing HiPS in `out`.
    pub force: bool,
    /// Budget for decoded input images, in bytes.
    pub cache_bytes: usize,
    /// 8-bit preview formats made from the FITS tiles once they are written (none: FITS only).
    pub previews: Vec<PreviewFormat>,
    /// Cut and stretch of the previews; what the flags leave open comes from `properties`.
    pub look: Look,
    /// Progress bar and log lines on stderr.
    pub verbose: bool,
    /// Header keywords whose values the progenitor index (`HpxFinder/`) keeps for each image.
    pub fitskeys: Vec<String>,
}

impl BuildOptions {
    /// The `hipsforge build` defaults for these inputs, output directory and `creator_did`.
    pub fn new(inputs: Vec<PathBuf>, out: PathBuf, creator_did: &str) -> BuildOptions {
        BuildOptions {
            inputs,
            out,
            creator_did: creator_did.to_string(),
            order: None,
            min_order: 0,
            tile_width: 512,
            frame: Frame::Equatorial,
            sampling: Sampling::default(),
            blank: None,
            tree: Reducer::Mean,
            bitpix: -32,
            hdus: HduSelection::FirstImage,
            controls: InputControls::default(),
            properties: Properties::default(),
            resume: false,
            force: false,
            cache_bytes: 2 << 30,
            previews: Vec::new(),
            look: Look::default(),
            verbose: false,
            fitskeys: Vec::new(),
        }
    }
}

/// What a build did.
#[derive(Debug, Default)]
pub struct BuildReport {
    /// Deepest order written (`hips_order`).
    pub order: u8,
    /// Image HDUs that passed discovery and were resampled.
    pub images_used: usize,
    /// Total pixels of those images.
    pub input_pixels: u64,
    /// (order, tiles written), deepest first.
    pub tiles_per_order: Vec<(u8, usize)>,
    /// Inputs passed over during discovery, `file[hdu]: reason` or `file: reason` each.
    pub skipped: Vec<String>,
    /// Images that failed to read during TILES (their tiles lack them).
    pub read_errors: Vec<String>,
    /// Images whose pixels are all blank (they add nothing).
    pub blank_images: Vec<String>,
    /// Finite (min, max) over the max-order tiles.
    pub data_range: Option<(f32, f32)>,
    /// Wall-clock seconds of TILES and TREE.
    pub seconds_tiles: f64,
    /// Wall-clock seconds of the whole build, previews included.
    pub seconds_total: f64,
    /// What the PREVIEWS step did, when previews were asked for.
    pub previews: Option<PreviewReport>,
    /// What the progenitor index (`HpxFinder/`) holds.
    pub progenitors: progenitors::IndexReport,
}

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// An option that cannot be used, as given or together with the others.
    #[error("{0}")]
    Invalid(String),
    /// An input path that does not exist or cannot be listed.
    #[error("{0}")]
    Input(String),
    /// Nothing usable among the inputs; what was passed over, one line each.
    #[error("no usable input image; passed over:\n  {}", .0.join("\n  "))]
    NoInput(Vec<String>),
    /// `--resume` of a build that is not the one in the output directory.
    #[error("{out}: --resume refused: the HiPS there was built differently ({}); rebuild with --force", .differences.join("; "))]
    NotTheSameBuild {
        /// The output directory.
        out: PathBuf,
        /// What differs, one phrase each.
        differences: Vec<String>,
    },
    /// `--resume` where tiles exist but no journal says what built them.
    #[error("{0}: --resume refused: no build journal says what made the tiles there; rebuild with --force")]
    NoJournal(PathBuf),
    /// No tile could be made because the pixels of the images could not be read.
    #[error("no tile made: the pixels of these input images could not be read:\n  {}", .0.join("\n  "))]
    Unreadable(Vec<String>),
    /// The output directory holds a HiPS that this build was not told to continue or replace.
    #[error("{0}: already holds a HiPS; pass --resume to continue an interrupted build or --force to replace it")]
    OutputInUse(PathBuf),
    /// The output directory cannot be made, or is not writable.
    #[error("{path}: cannot create the output directory or write in it: {source}")]
    OutputDirectory {
        /// The output directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// An output file or directory that cannot be made or written.
    #[error("{path}: {source}")]
    Write {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// A tile written by this build that cannot be read back.
    #[error(transparent)]
    ReadBack(#[from] crate::fits::FitsError),
    /// Allsky, MOC, properties or index.html could not be written.
    #[error(transparent)]
    Finish(#[from] FinishError),
    /// The PREVIEWS step failed.
    #[error("previews: {0}")]
    Previews(#[from] crate::preview::PreviewError),
}

fn write_err(path: &Path, source: std::io::Error) -> BuildError {
    BuildError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes an output file atomically (see [`crate::output::write_atomic`]).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), BuildError> {
    crate::output::write_atomic(path, bytes).map_err(|e| write_err(path, e))
}

/// Reads back a tile written by this build (any BITPIX; blanks as NaN).
fn read_tile(path: &Path, width: usize) -> Result<Vec<f32>, BuildError> {
    Ok(crate::fits::read_tile(path, width)?)
}

fn check_options(o: &BuildOptions) -> Result<u8, BuildError> {
    let bad = |m: String| Err(BuildError::Invalid(m));
    if !o.tile_width.is_power_of_two() || !(8..=4096).contains(&o.tile_width) {
        return bad(format!(
            "--tile-width must be a power of two from 8 to 4096, not {}",
            o.tile_width
        ));
    }
    let did = o.creator_did.strip_prefix("ivo://").unwrap_or("");
    if did.is_empty() || !did.contains('/') {
        return bad(format!(
            "--id must look like ivo://AUTHORITY/P/name, not {:?}",
            o.creator_did
        ));
    }
    if PixelType::from_bitpix(o.bitpix).is_none() {
        return bad(format!(
            "--bitpix must be one of 8, 16, 32, 64, -32, -64, not {}",
            o.bitpix
        ));
    }
    o.controls.check().map_err(BuildError::Invalid)?;
    let width_bits = o.tile_width.trailing_zeros() as u8;
    if o.min_order + width_bits > MAX_DEPTH {
        return bad(format!(
            "--min-order {} with {}-pixel tiles exceeds HEALPix depth {MAX_DEPTH}",
            o.min_order, o.tile_width
        ));
    }
    if let Some(order) = o.order {
        if order + width_bits > 29 {
            return bad(format!(
                "--order {order} with {}-pixel tiles exceeds HEALPix depth 29",
                o.tile_width
            ));
        }
        if order < o.min_order {
            return bad(format!(
                "--min-order {} is above --order {order}",
                o.min_order
            ));
        }
    }
    check_fitskeys(&o.fitskeys)?;
    Ok(width_bits)
}

/// `--fitskey` names: FITS keywords (1 to 8 of A-Z 0-9 - _), each once.
fn check_fitskeys(keys: &[String]) -> Result<(), BuildError> {
    for (i, k) in keys.iter().enumerate() {
        let valid = (1..=8).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !valid {
            return Err(BuildError::Invalid(format!(
                "--fitskey {k:?}: a FITS keyword is 1 to 8 characters of A-Z, 0-9, '-' and '_'"
            )));
        }
        if keys[..i].contains(k) {
            return Err(BuildError::Invalid(format!("--fitskey {k} is given twice")));
        }
    }
    Ok(())
}

/// Prepares `out`: refuses to mix with an existing HiPS unless resuming or forced.
fn prepare_output(o: &BuildOptions) -> Result<(), BuildError> {
    let out = &o.out;
    let unusable = |source| BuildError::OutputDirectory {
        path: out.clone(),
        source,
    };
    std::fs::create_dir_all(out).map_err(unusable)?;
    let existing: Vec<PathBuf> = std::fs::read_dir(out)
        .map_err(|e| write_err(out, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.starts_with("Norder")
                || name == "properties"
                || name == "Moc.fits"
                || name == crate::hips::hpxfinder::HPXFINDER_DIR
        })
        .collect();
    if o.resume {
        remove_partial_files(out)?;
    }
    if !existing.is_empty() && !o.resume {
        if !o.force {
            return Err(BuildError::OutputInUse(out.clone()));
        }
        for p in existing {
            let r = if p.is_dir() {
                std::fs::remove_dir_all(&p)
            } else {
                std::fs::remove_file(&p)
            };
            r.map_err(|e| write_err(&p, e))?;
        }
    }
    let probe = out.join(".hipsforge-write-test");
    std::fs::write(&probe, b"").map_err(unusable)?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn log(o: &BuildOptions, message: &str) {
    if o.verbose {
        eprintln!("{message}");
    }
}

fn progress(o: &BuildOptions, len: usize, what: &str) -> indicatif::ProgressBar {
    if !o.verbose {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{prefix:>6} [{bar:40}] {pos}/{len} tiles {per_sec} eta {eta}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_prefix(what.to_string());
    bar
}

fn finite_range(data: &[f32]) -> Option<(f32, f32)> {
    data.iter()
        .filter(|v| v.is_finite())
        .fold(None, |acc, &v| match acc {
            None => Some((v, v)),
            Some((a, b)) => Some((a.min(v), b.max(v))),
        })
}

fn merge_range(a: Option<(f32, f32)>, b: Option<(f32, f32)>) -> Option<(f32, f32)> {
    match (a, b) {
        (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
        (x, None) | (None, x) => x,
    }
}

/// Runs the whole build: INDEX, TILES + TREE, then FINISH (Allsky, MOC, properties), then
/// PREVIEWS when asked. Kept as one function (a little over 80 lines) on purpose: it is the
/// pipeline as a reader meets it, each step a call.
pub fn build(o: &BuildOptions) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    let width_bits = check_options(o)?;
    prepare_output(o)?;

    // INDEX
    let (files, found) = discover_inputs(o)?;
    let images = &found.images;
    let order = choose_order(o, images, width_bits);
    let journal = settle_journal(o, &files, images, order)?;
    let index = build_index(images, order);
    log(
        o,
        &format!(
            "{} images, {} candidate tiles at order {order}",
            images.len(),
            index.len()
        ),
    );
    let encoding = choose_encoding(o, images)?;

    // TILES and TREE
    let tiles_started = Instant::now();
    let pyramid = Pyramid {
        options: o,
        images,
        index: &index,
        cache: ImageCache::new(images, o.blank, &o.controls, o.cache_bytes),
        encoding,
        order,
        moc_delta: moc_depth(order, width_bits) - order,
        bytes_written: AtomicU64::new(0),
        read_errors: Mutex::new(Vec::new()),
        progress: progress(o, index.len(), "TILES"),
    };
    let produced = pyramid.run(o.min_order)?;
    pyramid.progress.finish_and_clear();
    let seconds_tiles = tiles_started.elapsed().as_secs_f64();
    let read_errors = pyramid.read_errors.into_inner().expect("lock");
    if produced.tiles.is_empty() && !read_errors.is_empty() {
        return Err(BuildError::Unreadable(read_errors));
    }
    let blank_images = pyramid.cache.blank_images();
    if produced.tiles.is_empty() {
        let mut reasons = found.skipped.clone();
        reasons.extend(blank_images);
        if reasons.is_empty() {
            reasons.push("the inputs produced no tile with data".into());
        }
        return Err(BuildError::NoInput(reasons));
    }
    log(
        o,
        &format!(
            "TILES+TREE: {} tiles in {seconds_tiles:.2} s",
            produced.tiles.len()
        ),
    );
    let progenitors = progenitors::write_index(o, images, &files, &index, order, &produced.tiles)?;

    // FINISH
    // MOC cells are in the HiPS frame; Moc.fits is ICRS (HiPS 1.0), so a galactic one is rotated.
    let coverage = Coverage::from_cells(
        order + pyramid.moc_delta,
        produced.moc_cells.iter().copied(),
    )
    .rotated(&Rotation::between(o.frame, Frame::Equatorial));
    let report = BuildReport {
        order,
        images_used: images.len(),
        input_pixels: images.iter().map(|im| im.pixel_count() as u64).sum(),
        tiles_per_order: tiles_per_order(&produced.tiles, o.min_order..=order),
        skipped: found.skipped.clone(),
        read_errors,
        blank_images,
        data_range: produced.range,
        seconds_tiles,
        seconds_total: 0.0,
        previews: None,
        progenitors,
    };
    let bytes = pyramid.bytes_written.load(Ordering::Relaxed);
    let props = properties(
        o,
        &report,
        images,
        &coverage,
        encoding,
        bytes,
        journal.created(),
    );
    finish_build(o, &props, &coverage, encoding)?;
    let previews = if o.previews.is_empty() {
        None
    } else {
        let (cut, stretch) = o.look.resolve(&o.properties).map_err(BuildError::Invalid)?;
        let options = PreviewOptions {
            formats: o.previews.clone(),
            cut,
            stretch,
            verbose: o.verbose,
        };
        Some(write_previews(&o.out, &options)?)
    };
    Ok(BuildReport {
        seconds_total: started.elapsed().as_secs_f64(),
        previews,
        ..report
    })
}

/// The input images with a usable WCS (what was passed over is logged), or why there is none.
fn discover_inputs(o: &BuildOptions) -> Result<(Vec<PathBuf>, Inputs), BuildError> {
    let candidates = collect_files(&o.inputs);
    let files = candidates.files;
    // A pilot opens files only until it has its images (a quick look at a huge survey).
    let chunk = o.controls.pilot.map_or(files.len(), |n| n.max(64)).max(1);
    let keep = o.controls.header_keywords();
    let mut found = Inputs {
        images: Vec::new(),
        skipped: candidates.skipped,
    };
    let mut examined = 0;
    for part in files.chunks(chunk) {
        let mut more = discover_keeping(part, &o.hdus, o.frame, &keep, &o.fitskeys);
        o.controls
            .select(&mut more, &o.inputs)
            .map_err(BuildError::Invalid)?;
        found.images.append(&mut more.images);
        found.skipped.append(&mut more.skipped);
        examined += part.len();
        if o.controls.pilot.is_some_and(|n| found.images.len() >= n) {
            break;
        }
    }
    for s in &found.skipped {
        log(o, &format!("skipped {s}"));
    }
    if let Some(n) = o.controls.pilot {
        found.images.truncate(n);
        log(
            o,
            &format!(
                "pilot: {} images (--pilot {n}) from the first {examined} of {} files: a partial HiPS",
                found.images.len(),
                files.len()
            ),
        );
    }
    if found.images.is_empty() {
        return Err(BuildError::NoInput(if found.skipped.is_empty() {
            vec!["no FITS file among the inputs".into()]
        } else {
            found.skipped
        }));
    }
    Ok((files, found))
}

/// Writes the journal of a new build, or checks that a resumed build is the one the
/// journal describes (keeping its creation date). Returns the journal in force.
fn settle_journal(
    o: &BuildOptions,
    files: &[PathBuf],
    images: &[SourceImage],
    order: u8,
) -> Result<Journal, BuildError> {
    let now = finish::timestamp();
    let journal = Journal::describe(o, files, images, order, &now)?;
    let previous = if o.resume {
        Journal::read(&o.out)?
    } else {
        None
    };
    match previous {
        Some(before) => {
            let differences = before.differences(&journal);
            if !differences.is_empty() {
                return Err(BuildError::NotTheSameBuild {
                    out: o.out.clone(),
                    differences,
                });
            }
            Ok(before)
        }
        None if o.resume && has_tiles(&o.out) => Err(BuildError::NoJournal(o.out.clone())),
        None => {
            journal.write(&o.out)?;
            Ok(journal)
        }
    }
}

fn has_tiles(out: &Path) -> bool {
    std::fs::read_dir(out).is_ok_and(|entries| {
        entries
            .filter_map(Result::ok)
            .any(|e| e.file_name().to_string_lossy().starts_with("Norder"))
    })
}

/// Removes the temporary files an interrupted build left (a tile being written when it
/// stopped), so that the resumed output holds only complete files.
fn remove_partial_files(dir: &Path) -> Result<(), BuildError> {
    let entries = std::fs::read_dir(dir).map_err(|e| write_err(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| write_err(dir, e))?.path();
        if path.is_dir() {
            remove_partial_files(&path)?;
        } else if path.extension().is_some_and(|e| e == "tmp") {
            std::fs::remove_file(&path).map_err(|e| write_err(&path, e))?;
        }
    }
    Ok(())
}

/// `--order`, else the shallowest order whose HiPS pixel is not coarser than the finest input
/// pixel (at least the Allsky order).
fn choose_order(o: &BuildOptions, images: &[SourceImage], width_bits: u8) -> u8 {
    if let Some(k) = o.order {
        return k;
    }
    let finest = finest_pixel_deg(images);
    let k = order_for_pixel_scale(
        finest,
        width_bits,
        o.min_order.max(ALLSKY_ORDER)..=MAX_DEPTH - width_bits,
    );
    log(
        o,
        &format!(
            "order {k} chosen: HiPS pixel {:.4}″ for the finest input pixel {:.4}″ (--order to override)",
            cell_size_deg(k + width_bits) * 3600.0,
            finest * 3600.0
        ),
    );
    k
}

fn finest_pixel_deg(images: &[SourceImage]) -> f64 {
    images
        .iter()
        .map(|im| im.wcs.pixel_scale_deg())
        .fold(f64::MAX, f64::min)
}

/// (order, tiles written) for the orders in `orders` that have tiles, deepest first.
fn tiles_per_order(tiles: &[(u8, u64)], orders: std::ops::RangeInclusive<u8>) -> Vec<(u8, usize)> {
    orders
        .rev()
        .map(|k| (k, tiles.iter().filter(|(t, _)| *t == k).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

/// Float output keeps values; integer output needs the data range first, so the inputs are
/// scanned once for it.
fn choose_encoding(o: &BuildOptions, images: &[SourceImage]) -> Result<Encoding, BuildError> {
    let pixel_type = PixelType::from_bitpix(o.bitpix).expect("checked");
    if !pixel_type.is_integer() {
        return Ok(Encoding {
            pixel_type,
            bzero: 0.0,
            bscale: 1.0,
        });
    }
    let cache = ImageCache::new(images, o.blank, &o.controls, 0);
    let range = (0..images.len() as u32)
        .into_par_iter()
        .filter_map(|i| cache.get(i).ok().and_then(|p| finite_range(&p)))
        .reduce_with(|a, b| (a.0.min(b.0), a.1.max(b.1)))
        .ok_or_else(|| {
            BuildError::Invalid(format!(
                "--bitpix {}: no finite input pixel to scale integer tiles with",
                o.bitpix
            ))
        })?;
    log(
        o,
        &format!("BITPIX {}: data range {} .. {}", o.bitpix, range.0, range.1),
    );
    Ok(Encoding::for_range(
        pixel_type,
        range.0 as f64,
        range.1 as f64,
    ))
}

/// FINISH: Allsky.fits (when order 3 was written), Moc.fits, properties and index.html.
fn finish_build(
    o: &BuildOptions,
    props: &Properties,
    coverage: &Coverage,
    encoding: Encoding,
) -> Result<(), BuildError> {
    if let Some((w, h, data)) = finish::packed_allsky(&o.out, o.tile_width)? {
        let bytes = encode_image(w, h, &data, encoding, &[Card::origin()]);
        finish::write_file(&finish::allsky_path(&o.out, "fits"), &bytes)?;
    }
    finish::write_moc(&o.out, coverage)?;
    finish::write_properties(&o.out, props)?;
    Ok(())
}

/// Centre (lon, lat in degrees, HiPS frame) and a field of view (degrees) covering all images.
fn initial_view(images: &[SourceImage]) -> (f64, f64, f64) {
    // A 9×9 grid over each image, edges included: corners alone miss the sky of all-sky
    // projections (their corners are off the sphere).
    let mut corners = Vec::new();
    for im in images {
        let (w, h) = (im.hdu.width as f64, im.hdu.height as f64);
        let grid = (0..9).flat_map(|i| {
            (0..9).map(move |j| (0.5 + w * i as f64 / 8.0, 0.5 + h * j as f64 / 8.0))
        });
        for (px, py) in grid {
            corners.extend(im.pixel_to_hips(px, py));
        }
    }
    let sum = corners
        .iter()
        .fold([0.0; 3], |a, v| [a[0] + v[0], a[1] + v[1], a[2] + v[2]]);
    let norm = (sum[0] * sum[0] + sum[1] * sum[1] + sum[2] * sum[2]).sqrt();
    if norm < 1e-9 {
        return (0.0, 0.0, 180.0);
    }
    let c = [sum[0] / norm, sum[1] / norm, sum[2] / norm];
    let radius = corners
        .iter()
        .map(|v| {
            (v[0] * c[0] + v[1] * c[1] + v[2] * c[2])
                .clamp(-1.0, 1.0)
                .acos()
        })
        .fold(0.0, f64::max);
    let (lon, lat) = xyz_to_lonlat(c);
    (
        lon.to_degrees(),
        lat.to_degrees(),
        (2.0 * radius.to_degrees()).clamp(1.0 / 60.0, 180.0),
    )
}

/// Observation times (MJD) of the inputs from MJD-OBS or DATE-OBS, plus exposure.
fn time_range(images: &[SourceImage]) -> Option<(f64, f64)> {
    let mut range: Option<(f64, f64)> = None;
    for im in images {
        let h = &im.hdu.header;
        let Some(start) = h
            .get_f64("MJD-OBS")
            .or_else(|| h.get("DATE-OBS").and_then(crate::fits::date_to_mjd))
        else {
            continue;
        };
        let end = start + h.get_f64("EXPTIME").unwrap_or(0.0) / 86400.0;
        range = Some(range.map_or((start, end), |(a, b)| (a.min(start), b.max(end))));
    }
    range
}

/// Keywords only the build itself may set.
const STRUCTURAL: [&str; 9] = [
    "creator_did",
    "hips_order",
    "hips_order_min",
    "hips_tile_width",
    "hips_tile_format",
    "hips_frame",
    "hips_pixel_bitpix",
    "dataproduct_type",
    "hips_version",
];

fn properties(
    o: &BuildOptions,
    r: &BuildReport,
    images: &[SourceImage],
    coverage: &Coverage,
    encoding: Encoding,
    bytes: u64,
    created: &str,
) -> Properties {
    let width_bits = o.tile_width.trailing_zeros() as u8;
    let title = o.creator_did.rsplit('/').next().unwrap_or("HiPS");
    let mut p = finish::base_properties(&o.creator_did, title, Some(created));
    p.set("hips_tile_format", "fits");
    p.set("hips_tile_width", o.tile_width);
    p.set("hips_order", r.order);
    p.set("hips_order_min", o.min_order);
    p.set("hips_frame", o.frame.hips_name());
    p.set("hips_pixel_bitpix", encoding.pixel_type.bitpix());
    if let Some(b) = images
        .first()
        .and_then(|im| im.hdu.header.get_i64("BITPIX"))
    {
        p.set("data_pixel_bitpix", b);
    }
    if let Some((lo, hi)) = r.data_range {
        p.set("hips_data_range", format!("{lo} {hi}"));
    }
    let (ra, dec, fov) = initial_view(images);
    p.set("hips_initial_ra", format!("{ra:.6}"));
    p.set("hips_initial_dec", format!("{dec:.6}"));
    p.set("hips_initial_fov", format!("{fov:.6}"));
    p.set(
        "hips_pixel_scale",
        format!("{:.6e}", cell_size_deg(r.order + width_bits)),
    );
    let finest = finest_pixel_deg(images);
    p.set("s_pixel_scale", format!("{finest:.6e}"));
    p.set("moc_sky_fraction", finish::sky_fraction(coverage));
    p.set(
        "hips_sampling",
        match o.sampling.interpolation {
            Interpolation::Bilinear => "bilinear",
            Interpolation::Nearest => "nearest",
        },
    );
    let overlay = match o.sampling.coadd {
        Coadd::Mean => "overlayMean",
        Coadd::First => "overlayNone",
        Coadd::Fading => "overlayFading",
    };
    let tree = match o.tree {
        Reducer::Mean => "treeMean",
        Reducer::Median => "treeMedian",
        Reducer::First => "treeFirst",
    };
    p.set("hips_overlay", format!("{overlay} {tree}"));
    p.set("hips_estsize", bytes / 1024);
    input_control_properties(&o.controls, &mut p);
    if let Some((t0, t1)) = time_range(images) {
        p.set("t_min", format!("{t0:.5}"));
        p.set("t_max", format!("{t1:.5}"));
    }
    for (k, v) in o.properties.iter() {
        if !STRUCTURAL.contains(&k) {
            p.set(k, v);
        }
    }
    p
}

/// The input controls in force, where Hipsgen records them: `hips_skyval_method` for
/// `--skyval`, and all of them, in Hipsgen's parameter syntax, in `hipsforge_controls`.
fn input_control_properties(c: &InputControls, p: &mut Properties) {
    if let Some(s) = &c.skyval {
        p.set("hips_skyval_method", s.to_string());
    }
    let described = c.describe();
    if !described.is_empty() {
        let params: Vec<String> = described
            .iter()
            .map(|(k, v)| {
                if v.contains(' ') {
                    format!("{k}=\"{v}\"")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        p.set("hipsforge_controls", params.join(" "));
    }
}
