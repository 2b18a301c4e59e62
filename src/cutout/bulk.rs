//! Bulk cutouts for machine learning: a list of objects → one array (N, bands, size, size)
//! float32 in `.npy` or FITS, plus a manifest. Objects are processed in HEALPix order (each
//! tile is read once while it is hot in the cache), written in place at their input row, in
//! chunks recorded in a progress file so that an interrupted run continues where it stopped.

use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;

use super::positions::{read_positions, Columns, Position};
use super::stack::{StackFile, StackFormat};
use super::{CutoutError, Grid, GridSpec, Kernel, Survey, TileStore};
use crate::fits::write::{Card, CardValue};
use crate::reader::RemoteOptions;
use crate::wcs::frame::Rotation;
use crate::wcs::Frame;

/// Objects per chunk: the unit of parallel work and of resumption.
const CHUNK: usize = 512;

/// Everything `hipsforge cutout` can be told.
#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// (band name, HiPS directory), in output band order.
    pub bands: Vec<(String, PathBuf)>,
    /// The object list (delimited text with a header line).
    pub positions: PathBuf,
    /// Which columns of the list hold id, ra and dec.
    pub columns: Columns,
    /// Width and height of each stamp, in pixels (1 to 4096).
    pub size: usize,
    /// Degrees per pixel; default: the first band's HiPS pixel.
    pub scale_deg: Option<f64>,
    /// Three-letter WCS projection code of the stamps (TAN, SIN, ...).
    pub projection: String,
    /// Frame of the positions (and of the stamps' grids).
    pub frame: Frame,
    /// How tile values are sampled.
    pub kernel: Kernel,
    /// Tile order to read; `None` picks the order matching `scale_deg` in each band.
    pub order: Option<u8>,
    /// Output stack, `.npy` or `.fits`; the manifest and progress file are named after it.
    pub out: PathBuf,
    /// Ignore a previous interrupted run and start again.
    pub restart: bool,
    /// Budget for decoded tiles, in bytes.
    pub cache_bytes: usize,
    /// Where HiPS given by URL are cached and how politely they are fetched.
    pub remote: RemoteOptions,
    /// Progress bar on stderr.
    pub verbose: bool,
}

/// What a bulk run did.
#[derive(Debug, Clone, Default)]
pub struct BulkReport {
    /// Objects in the list, i.e. rows of the output.
    pub rows: usize,
    /// Objects with no data in any band.
    pub outside: usize,
    /// Rows already done by an earlier, interrupted run.
    pub resumed: usize,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// The manifest written (`row,id,ra,dec,outside,blank_BAND...`).
    pub manifest: PathBuf,
    /// (files, bytes) fetched over the network for HiPS given by URL.
    pub fetched: (u64, u64),
}

/// The stamps of one object, band after band.
pub fn stamps(
    store: &TileStore,
    bands: &[&Survey],
    spec: &GridSpec,
    kernel: Kernel,
    order: Option<u8>,
) -> Result<Vec<f32>, CutoutError> {
    let grid = Grid::from_spec(spec)?;
    let mut out = Vec::with_capacity(bands.len() * spec.width * spec.height);
    for survey in bands {
        out.extend(super::cutout(store, survey, &grid, kernel, order)?);
    }
    Ok(out)
}

/// FNV-1a over the run's parameters: a progress file is only resumed by the same run.
fn fingerprint(o: &BulkOptions, rows: usize) -> String {
    let meta = std::fs::metadata(&o.positions).ok();
    let stamp = meta
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let text = format!(
        "{:?}|{}|{rows}|{:?}|{}|{:?}|{}|{:?}|{:?}|{:?}",
        o.bands,
        o.positions.display(),
        stamp,
        o.size,
        o.scale_deg,
        o.projection,
        o.frame.hips_name(),
        o.kernel,
        o.order
    );
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// An angle like `0.396arcsec`, `0.396"`, `1.5arcmin`, `0.001deg` or `0.396` (arcsec), in degrees.
pub fn parse_scale(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (number, factor) = if let Some(v) = t.strip_suffix("arcsec").or_else(|| t.strip_suffix('"'))
    {
        (v, 1.0 / 3600.0)
    } else if let Some(v) = t.strip_suffix("arcmin").or_else(|| t.strip_suffix('\'')) {
        (v, 1.0 / 60.0)
    } else if let Some(v) = t.strip_suffix("deg") {
        (v, 1.0)
    } else {
        (t, 1.0 / 3600.0)
    };
    match number.trim().parse::<f64>() {
        Ok(v) if v > 0.0 && v.is_finite() => Ok(v * factor),
        _ => Err(format!(
            "scale {s:?}: expected e.g. 0.396arcsec, 1.5arcmin or 0.001deg"
        )),
    }
}

/// The manifest path for an output `cutouts.npy`: `cutouts.manifest.csv`.
pub fn manifest_path(out: &Path) -> PathBuf {
    out.with_extension("manifest.csv")
}

/// Manifest lines by input row.
type ManifestLines = Vec<(usize, String)>;

/// Completed chunks and their manifest lines from a progress file of the same run.
fn read_progress(path: &Path, fingerprint: &str) -> Option<(HashSet<usize>, ManifestLines)> {
    let file = std::fs::File::open(path).ok()?;
    let mut lines = std::io::BufReader::new(file).lines();
    if lines.next()?.ok()? != format!("hipsforge-cutout 1 {fingerprint}") {
        return None;
    }
    let (mut done, mut manifest, mut pending) = (HashSet::new(), Vec::new(), Vec::new());
    for line in lines.map_while(Result::ok) {
        if let Some(c) = line.strip_prefix("done ") {
            // A chunk counts only once its "done" line is complete: lines before it are its own.
            done.insert(c.parse().ok()?);
            manifest.append(&mut pending);
        } else if let Some(rest) = line.strip_prefix("row ") {
            let (row, text) = rest.split_once(' ')?;
            pending.push((row.parse().ok()?, text.to_string()));
        }
    }
    Some((done, manifest))
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Cuts a stamp per object and band into one stack file, resuming an interrupted run of the
/// same parameters unless `restart`.
pub fn run_bulk(o: &BulkOptions) -> Result<BulkReport, CutoutError> {
    let started = std::time::Instant::now();
    if o.bands.is_empty() {
        return Err(CutoutError::Options("no --hips given".into()));
    }
    if o.size == 0 || o.size > 4096 {
        return Err(CutoutError::Options(format!(
            "--size {} must be 1..4096",
            o.size
        )));
    }
    let surveys = open_bands(&o.bands, &o.remote)?;
    let positions = read_positions(&o.positions, &o.columns)?;
    if positions.is_empty() {
        return Err(CutoutError::Positions(format!(
            "{}: no objects",
            o.positions.display()
        )));
    }
    let format = StackFormat::from_path(&o.out)?;
    let scale = match o.scale_deg {
        Some(s) => s,
        None => surveys[0]
            .hips
            .properties
            .get("hips_pixel_scale")
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                CutoutError::Options(
                    "--scale is needed: the first HiPS has no hips_pixel_scale".into(),
                )
            })?,
    };
    let n = positions.len();
    let progress = Progress::open(o, n)?;
    let mut extra = stack_cards(o, scale);
    if format == StackFormat::Zarr {
        extra.extend(stamp_wcs_template(o, scale, &positions[0])?);
    }
    let stack = StackFile::open(
        &o.out,
        format,
        n,
        surveys.len(),
        o.size,
        &extra,
        !progress.resuming,
    )?;
    if let Some(k) = o.order.filter(|&k| k > surveys[0].hips.order) {
        return Err(CutoutError::Options(format!(
            "--order {k} is deeper than the first HiPS (order {})",
            surveys[0].hips.order
        )));
    }
    // The tile order the first band will read: objects in HEALPix order at it share tiles.
    let order = o.order.unwrap_or_else(|| surveys[0].order_for(scale));
    let sorted = healpix_order(
        positions.iter().map(|p| (p.ra, p.dec)),
        o.frame,
        surveys[0].hips.frame,
        order,
    );
    let chunks: Vec<(usize, &[(u64, usize)])> = sorted
        .chunks(CHUNK)
        .enumerate()
        .filter(|(c, _)| !progress.done.contains(c))
        .collect();
    let resumed = n - chunks.iter().map(|(_, c)| c.len()).sum::<usize>();
    let bar = progress_bar(o.verbose, n, resumed);
    let store = TileStore::new(o.cache_bytes);
    let bands: Vec<&Survey> = surveys.iter().collect();
    let job = ChunkJob {
        o,
        bands: &bands,
        positions: &positions,
        scale,
        store: &store,
        stack: &stack,
        progress: &progress,
        bar: &bar,
    };
    let in_order = chunks
        .iter()
        .flat_map(|(_, members)| members.iter())
        .map(|&(_, row)| {
            let p = &positions[row];
            (p.ra, p.dec)
        });
    let results: Vec<ManifestLines> = with_prefetch(
        &bands,
        in_order,
        o.frame,
        scale,
        o.order,
        o.remote.max_connections,
        || {
            chunks
                .par_iter()
                .map(|(c, members)| job.run(*c, members))
                .collect::<Result<_, CutoutError>>()
        },
    )?;
    bar.finish_and_clear();
    let mut manifest = progress.manifest.clone();
    manifest.extend(results.into_iter().flatten());
    let (manifest_file, outside) = write_manifest(o, manifest, n, &progress.path)?;
    if format == StackFormat::Zarr {
        let ids: Vec<String> = positions.iter().map(|p| p.id.clone()).collect();
        let ra: Vec<f64> = positions.iter().map(|p| p.ra).collect();
        let dec: Vec<f64> = positions.iter().map(|p| p.dec).collect();
        stack.write_objects(&ids, &ra, &dec)?;
    }
    let _ = std::fs::remove_file(&progress.path);
    Ok(BulkReport {
        rows: n,
        outside,
        resumed,
        seconds: started.elapsed().as_secs_f64(),
        manifest: manifest_file,
        fetched: fetched(&surveys),
    })
}

/// (files, bytes) fetched over the network for the HiPS given by URL among `surveys`.
fn fetched<'a>(surveys: impl IntoIterator<Item = &'a Survey>) -> (u64, u64) {
    surveys.into_iter().fold((0, 0), |(f, b), s| {
        let (sf, sb) = s.hips.fetched();
        (f + sf, b + sb)
    })
}

/// The HiPS of each band, in band order (each is the cache key of its tiles).
fn open_bands(
    bands: &[(String, PathBuf)],
    remote: &RemoteOptions,
) -> Result<Vec<Survey>, CutoutError> {
    bands
        .iter()
        .enumerate()
        .map(|(i, (name, location))| {
            Survey::open_location(&location.to_string_lossy(), i as u32, remote).map_err(
                |e| match e {
                    CutoutError::Survey(source) => CutoutError::Band {
                        band: name.clone(),
                        source,
                    },
                    other => other,
                },
            )
        })
        .collect()
}

/// The grid of the stamp of object `p`.
fn stamp_spec(o: &BulkOptions, scale_deg: f64, p: &Position) -> GridSpec {
    GridSpec {
        lon: p.ra,
        lat: p.dec,
        width: o.size,
        height: o.size,
        scale_deg,
        projection: o.projection.clone(),
        rotation_deg: 0.0,
        frame: o.frame,
    }
}

/// The WCS cards every stamp shares (all but CRVAL1/CRVAL2, which are the object's position).
fn stamp_wcs_template(
    o: &BulkOptions,
    scale_deg: f64,
    p: &Position,
) -> Result<Vec<Card>, CutoutError> {
    let grid = Grid::from_spec(&stamp_spec(o, scale_deg, p))?;
    Ok(grid
        .cards
        .into_iter()
        .filter(|c| c.key != "CRVAL1" && c.key != "CRVAL2")
        .collect())
}

/// Header cards of a FITS stack: the band names and the pixel scale.
fn stack_cards(o: &BulkOptions, scale_deg: f64) -> Vec<Card> {
    let names: Vec<&str> = o.bands.iter().map(|(b, _)| b.as_str()).collect();
    vec![
        Card::new("BANDS", CardValue::Str(names.join(",")), ""),
        Card::new(
            "PIXSCALE",
            CardValue::Float(scale_deg * 3600.0),
            "arcsec per pixel",
        ),
    ]
}

/// (HEALPix cell at `order` in the HiPS frame, index) of every (ra, dec) in degrees (in
/// `frame`), sorted: neighbours in this order share tiles.
pub fn healpix_order(
    positions: impl Iterator<Item = (f64, f64)>,
    frame: Frame,
    hips_frame: Frame,
    order: u8,
) -> Vec<(u64, usize)> {
    let to_hips = Rotation::between(frame, hips_frame);
    let layer = cdshealpix::nested::get(order);
    let mut sorted: Vec<(u64, usize)> = positions
        .enumerate()
        .map(|(i, (ra, dec))| {
            let (lon, lat) = to_hips.apply_lonlat(ra.to_radians(), dec.to_radians());
            (layer.hash(lon, lat), i)
        })
        .collect();
    sorted.sort_unstable();
    sorted
}

/// The tiles under `positions` (degrees, in `frame`) of every band read from a server, as
/// (band, order, npix), each once, in the order of `positions`. `order`: the tile order asked
/// for (else each band's order for `scale_deg`).
fn remote_tiles(
    bands: &[&Survey],
    positions: impl Iterator<Item = (f64, f64)> + Clone,
    frame: Frame,
    scale_deg: f64,
    order: Option<u8>,
) -> Vec<(usize, u8, u64)> {
    let mut seen = HashSet::new();
    let mut tiles = Vec::new();
    let remote: Vec<(usize, u8, Rotation)> = bands
        .iter()
        .enumerate()
        .filter(|(_, band)| band.hips.is_remote())
        .map(|(b, band)| {
            let order = order
                .unwrap_or_else(|| band.order_for(scale_deg))
                .min(band.hips.order);
            (b, order, Rotation::between(frame, band.hips.frame))
        })
        .collect();
    for (ra, dec) in positions {
        for (b, order, to_hips) in &remote {
            let (lon, lat) = to_hips.apply_lonlat(ra.to_radians(), dec.to_radians());
            let tile = (*b, *order, cdshealpix::nested::get(*order).hash(lon, lat));
            if seen.insert(tile) {
                tiles.push(tile);
            }
        }
    }
    tiles
}

/// Runs `work` (the cutting of `positions`, in that order) while the tiles under them are
/// fetched ahead of it into the disk mirror, `connections` at a time, for every band read from
/// a server: a cold run then waits on the network in parallel, not tile after tile, and the
/// cutting finds most tiles on disk (a tile it asks for while being fetched waits for that
/// fetch). Fetch failures are left for the cutting to report.
pub fn with_prefetch<T>(
    bands: &[&Survey],
    positions: impl Iterator<Item = (f64, f64)> + Clone,
    frame: Frame,
    scale_deg: f64,
    order: Option<u8>,
    connections: usize,
    work: impl FnOnce() -> T,
) -> T {
    let tiles = remote_tiles(bands, positions, frame, scale_deg, order);
    if tiles.is_empty() {
        return work();
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for _ in 0..connections.clamp(1, tiles.len()) {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let Some(&(b, order, npix)) = tiles.get(next.fetch_add(1, Ordering::Relaxed))
                    else {
                        break;
                    };
                    let _ = bands[b].hips.local_tile(order, npix);
                }
            });
        }
        let done = work();
        stop.store(true, Ordering::Relaxed);
        done
    })
}

fn progress_bar(verbose: bool, n: usize, done: usize) -> indicatif::ProgressBar {
    let bar = if verbose {
        indicatif::ProgressBar::new(n as u64)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "cutouts [{bar:40}] {pos}/{len} {per_sec} eta {eta} {msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.set_position(done as u64);
    bar
}

/// The progress file of a run: what an interrupted run of the same parameters completed, and
/// the file new chunks are recorded in.
struct Progress {
    path: PathBuf,
    resuming: bool,
    done: HashSet<usize>,
    manifest: ManifestLines,
    file: Mutex<std::fs::File>,
}

impl Progress {
    /// Continues the progress of the same run (unless `--restart`), else starts a new one.
    fn open(o: &BulkOptions, rows: usize) -> Result<Progress, CutoutError> {
        let print = fingerprint(o, rows);
        let path = with_suffix(&o.out, ".progress");
        let previous = if o.restart {
            None
        } else {
            read_progress(&path, &print)
        };
        let resuming = previous.is_some() && o.out.is_file();
        let (done, manifest) = if resuming {
            previous.expect("checked")
        } else {
            std::fs::write(&path, format!("hipsforge-cutout 1 {print}\n"))
                .map_err(|e| CutoutError::output(&path, e))?;
            Default::default()
        };
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(|e| CutoutError::output(&path, e))?;
        Ok(Progress {
            path,
            resuming,
            done,
            manifest,
            file: Mutex::new(file),
        })
    }

    /// Records chunk `c` as complete with its manifest lines (after its stamps are synced).
    fn record(&self, c: usize, lines: &ManifestLines) -> Result<(), CutoutError> {
        let mut record: String = lines
            .iter()
            .map(|(r, l)| format!("row {r} {l}\n"))
            .collect();
        record.push_str(&format!("done {c}\n"));
        let mut f = self.file.lock().expect("progress lock");
        f.write_all(record.as_bytes())
            .and_then(|_| f.flush())
            .map_err(|e| CutoutError::output(&self.path, e))
    }
}

/// What every chunk of a run shares.
struct ChunkJob<'a> {
    o: &'a BulkOptions,
    bands: &'a [&'a Survey],
    positions: &'a [Position],
    scale: f64,
    store: &'a TileStore,
    stack: &'a StackFile,
    progress: &'a Progress,
    bar: &'a indicatif::ProgressBar,
}

impl ChunkJob<'_> {
    /// Cuts, writes and syncs the stamps of one chunk, then records it; returns its manifest
    /// lines.
    fn run(&self, c: usize, members: &[(u64, usize)]) -> Result<ManifestLines, CutoutError> {
        let o = self.o;
        let mut lines = Vec::with_capacity(members.len());
        for &(_, row) in members {
            let p = &self.positions[row];
            let spec = stamp_spec(o, self.scale, p);
            let values = stamps(self.store, self.bands, &spec, o.kernel, o.order)?;
            self.stack
                .write_rows(row, &values)
                .map_err(|e| CutoutError::output(&o.out, e))?;
            lines.push((row, manifest_line(p, &values, self.bands.len())));
            self.bar.inc(1);
        }
        self.stack
            .sync()
            .map_err(|e| CutoutError::output(&o.out, e))?;
        self.progress.record(c, &lines)?;
        let (files, bytes) = fetched(self.bands.iter().copied());
        if files > 0 {
            self.bar.set_message(format!(
                "({files} files, {:.1} MB fetched)",
                bytes as f64 / 1e6
            ));
        }
        Ok(lines)
    }
}

/// `id,ra,dec,outside,blank fraction per band` of one object's stamps.
fn manifest_line(p: &Position, values: &[f32], bands: usize) -> String {
    let blank: Vec<f64> = values
        .chunks(values.len() / bands)
        .map(|b| b.iter().filter(|v| v.is_nan()).count() as f64 / b.len() as f64)
        .collect();
    let outside = blank.iter().all(|&f| f == 1.0);
    let fractions: Vec<String> = blank.iter().map(|f| format!("{f:.4}")).collect();
    format!(
        "{},{},{},{},{}",
        csv_field(&p.id),
        p.ra,
        p.dec,
        outside as u8,
        fractions.join(",")
    )
}

/// Writes the manifest CSV (one line per input row, in row order); returns its path and the
/// number of objects outside every survey.
fn write_manifest(
    o: &BulkOptions,
    mut manifest: ManifestLines,
    rows: usize,
    progress_path: &Path,
) -> Result<(PathBuf, usize), CutoutError> {
    manifest.sort_unstable_by_key(|(row, _)| *row);
    manifest.dedup_by_key(|(row, _)| *row);
    if manifest.len() != rows {
        return Err(CutoutError::Options(format!(
            "{}: the progress of an earlier run holds {} of {rows} rows; run again with --restart",
            progress_path.display(),
            manifest.len()
        )));
    }
    let mut text = String::from("row,id,ra,dec,outside");
    for (band, _) in &o.bands {
        text.push_str(&format!(",blank_{band}"));
    }
    text.push('\n');
    let mut outside = 0;
    for (row, line) in &manifest {
        // From the end: ids may hold quoted commas, blank fractions do not.
        outside += line
            .rsplit(',')
            .nth(o.bands.len())
            .is_some_and(|f| f == "1") as usize;
        text.push_str(&format!("{row},{line}\n"));
    }
    let path = manifest_path(&o.out);
    crate::output::write_atomic(&path, text.as_bytes())
        .map_err(|e| CutoutError::output(&path, e))?;
    Ok((path, outside))
}

#[cfg(test)]
mod tests {
    use super::parse_scale;

    #[test]
    fn scales() {
        assert!((parse_scale("0.396arcsec").unwrap() - 0.396 / 3600.0).abs() < 1e-15);
        assert!((parse_scale("1.5arcmin").unwrap() - 0.025).abs() < 1e-15);
        assert_eq!(parse_scale("0.5deg").unwrap(), 0.5);
        assert!((parse_scale("2").unwrap() - 2.0 / 3600.0).abs() < 1e-15);
        assert!(parse_scale("-1arcsec").is_err() && parse_scale("fast").is_err());
    }
}
