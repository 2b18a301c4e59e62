//! Input discovery: files and directories (recursed) → image HDUs with a usable celestial WCS.
//! Everything passed over is reported with its reason, one line each.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use super::controls::Region;
use crate::fits::{list_image_hdus, read_primary_header, HduSelection, ImageHdu};
use crate::wcs::frame::FrameChange;
use crate::wcs::{Frame, Wcs};

/// One input image ready to be resampled.
#[derive(Debug)]
pub struct SourceImage {
    /// Where the pixels are, and the header cards kept after discovery.
    pub hdu: ImageHdu,
    /// The image's celestial WCS (in the image's own frame).
    pub wcs: Wcs,
    /// Its `.fov` mask (`--fov`): pixels outside are blank and its footprint stops there.
    pub fov: Option<Region>,
    /// Image frame → HiPS frame.
    to_hips: FrameChange,
}

impl SourceImage {
    /// An image whose pixels will be placed in a HiPS of frame `hips_frame`.
    pub fn new(hdu: ImageHdu, wcs: Wcs, hips_frame: Frame) -> SourceImage {
        let to_hips = wcs.frame.change_to(hips_frame);
        SourceImage {
            hdu,
            wcs,
            fov: None,
            to_hips,
        }
    }

    /// Sky position (unit vector, HiPS frame) of FITS pixel (px, py), 1-based.
    #[inline]
    pub fn pixel_to_hips(&self, px: f64, py: f64) -> Option<[f64; 3]> {
        Some(self.to_hips.apply(self.wcs.pixel_to_xyz(px, py)?))
    }

    /// FITS pixel (1-based) of a unit vector in the HiPS frame, where the projection reaches.
    #[inline]
    pub fn hips_to_pixel(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        self.wcs.xyz_to_pixel(self.to_hips.invert(v))
    }

    /// `file.fits[2]` style name for messages.
    pub fn label(&self) -> String {
        self.hdu.label()
    }

    /// Pixels in the image (`width × height`).
    pub fn pixel_count(&self) -> usize {
        self.hdu.width * self.hdu.height
    }
}

/// What input discovery found.
#[derive(Debug, Default)]
pub struct Inputs {
    /// The usable images, in input order.
    pub images: Vec<SourceImage>,
    /// `file[hdu]: reason` or `file: reason` for everything not used.
    pub skipped: Vec<String>,
}

/// Pixel scales (degrees) a sky image can have: finer than any survey (36 µas) or coarser
/// than a few pixels across the sky (30°) is a broken header, not an image to place.
const PIXEL_SCALE_RANGE: std::ops::RangeInclusive<f64> = 1e-8..=30.0;

fn usable_scale(wcs: Wcs) -> Result<Wcs, String> {
    let scale = wcs.pixel_scale_deg();
    if PIXEL_SCALE_RANGE.contains(&scale) {
        Ok(wcs)
    } else {
        Err(format!(
            "pixel scale {scale:e}°/px is outside {:e}..{}°/px (CD/CDELT wrong?)",
            PIXEL_SCALE_RANGE.start(),
            PIXEL_SCALE_RANGE.end()
        ))
    }
}

/// Header keywords used after discovery (data_pixel_bitpix, t_min/t_max).
const KEPT_KEYWORDS: [&str; 4] = ["BITPIX", "MJD-OBS", "DATE-OBS", "EXPTIME"];

const FITS_SUFFIXES: [&str; 10] = [
    ".fits",
    ".fit",
    ".fts",
    ".fz",
    ".fits.gz",
    ".fit.gz",
    ".fts.gz",
    ".fits.bz2",
    ".fit.bz2",
    ".fits.fz",
];

fn looks_like_fits(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    FITS_SUFFIXES.iter().any(|s| name.ends_with(s))
}

/// The candidate input files, and the named inputs that gave none (with the reason).
#[derive(Debug, Default)]
pub struct Candidates {
    /// FITS files to open, in input order (directories walked in sorted order).
    pub files: Vec<PathBuf>,
    /// `path: reason` for a named input that is missing, unlistable or holds no FITS file.
    pub skipped: Vec<String>,
}

/// Files named on the command line are taken as they are; directories are walked for FITS
/// names, in sorted order so that builds are reproducible (and `--coadd first` is stable).
/// A missing or unreadable input is passed over with its reason, never stopping the others.
pub fn collect_files(inputs: &[PathBuf]) -> Candidates {
    let mut found = Candidates::default();
    for input in inputs {
        if input.is_dir() {
            let before = found.files.len();
            let mut visited = HashSet::new();
            if let Err(e) = walk(input, &mut found.files, &mut visited) {
                found.skipped.push(format!("{}: {e}", input.display()));
            } else if found.files.len() == before {
                found.skipped.push(format!(
                    "{}: no FITS file in this directory",
                    input.display()
                ));
            }
        } else if input.is_file() {
            found.files.push(input.clone());
        } else {
            let why = match std::fs::metadata(input) {
                Err(e) if input.is_symlink() => format!("broken symbolic link ({e})"),
                Err(_) => "no such file or directory".to_string(),
                Ok(_) => "not a regular file".to_string(),
            };
            found.skipped.push(format!("{}: {why}", input.display()));
        }
    }
    found
}

/// Appends the FITS files under `dir`; each directory is entered once (symbolic links that
/// loop back are not followed again).
fn walk(
    dir: &Path,
    files: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
) -> std::io::Result<()> {
    if !visited.insert(dir.canonicalize()?) {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, files, visited)?;
        } else if looks_like_fits(&path) {
            files.push(path);
        }
    }
    Ok(())
}

/// Opens every file (in parallel: reading headers of compressed files is slow) and keeps the
/// image HDUs that have a celestial WCS we support, in input order.
pub fn discover(files: &[PathBuf], selection: &HduSelection, hips_frame: Frame) -> Inputs {
    discover_keeping(files, selection, hips_frame, &[], &[])
}

/// [`discover`], keeping also the header cards `keep` (those build controls read later) and
/// the keywords `fitskeys` (for the progenitor index): an extension HDU that lacks one of
/// those takes it from the primary header, as Hipsgen does.
pub fn discover_keeping(
    files: &[PathBuf],
    selection: &HduSelection,
    hips_frame: Frame,
    keep: &[&str],
    fitskeys: &[String],
) -> Inputs {
    use rayon::prelude::*;
    let mut kept: Vec<&str> = KEPT_KEYWORDS.to_vec();
    kept.extend_from_slice(keep);
    kept.extend(fitskeys.iter().map(String::as_str));
    let per_file: Vec<Inputs> = files
        .par_iter()
        .map(|f| {
            let mut found = discover_file(f, selection, hips_frame, &kept);
            inherit_primary_keys(&mut found.images, fitskeys);
            found
        })
        .collect();
    let mut found = Inputs::default();
    for mut f in per_file {
        found.images.append(&mut f.images);
        found.skipped.append(&mut f.skipped);
    }
    found
}

/// Adds to extension HDUs the `fitskeys` their own header lacks, from the file's primary
/// header (read once per file, only when needed).
fn inherit_primary_keys(images: &mut [SourceImage], fitskeys: &[String]) {
    let lacking =
        |im: &SourceImage| im.hdu.hdu > 0 && fitskeys.iter().any(|k| !im.hdu.header.contains(k));
    let Some(first) = images.iter().find(|im| lacking(im)) else {
        return;
    };
    let Ok(primary) = read_primary_header(&first.hdu.path) else {
        return;
    };
    for im in images.iter_mut().filter(|im| lacking(im)) {
        let inherited: Vec<(String, String)> = fitskeys
            .iter()
            .filter(|k| !im.hdu.header.contains(k))
            .filter_map(|k| Some((k.clone(), primary.get(k)?.to_string())))
            .collect();
        im.hdu.header.append(inherited);
    }
}

fn discover_file(
    file: &Path,
    selection: &HduSelection,
    hips_frame: Frame,
    kept: &[&str],
) -> Inputs {
    let mut found = Inputs::default();
    let (hdus, skipped) = match list_image_hdus(file, selection) {
        Ok(r) => r,
        Err(e) => {
            found.skipped.push(e.to_string());
            return found;
        }
    };
    // With the default selection, other HDUs of a file that has an image are not worth a line.
    if *selection != HduSelection::FirstImage || hdus.is_empty() {
        found.skipped.extend(
            skipped
                .iter()
                .map(|s| format!("{}[{}]: {}", file.display(), s.hdu, s.reason)),
        );
    }
    if hdus.is_empty() && found.skipped.is_empty() {
        found
            .skipped
            .push(format!("{}: no image HDU", file.display()));
    }
    for mut hdu in hdus {
        if hdu.header.get_f64("BSCALE") == Some(0.0) {
            found.skipped.push(format!(
                "{}: BSCALE = 0 makes every pixel the same value",
                hdu.label()
            ));
            continue;
        }
        match Wcs::from_header(&hdu.header)
            .map_err(|e| e.to_string())
            .and_then(usable_scale)
        {
            Ok(wcs) => {
                // The WCS is parsed: keep only what properties need, not every card of every
                // input (a survey of 10^5 frames would otherwise hold gigabytes of headers).
                hdu.header = hdu.header.subset(kept);
                found.images.push(SourceImage::new(hdu, wcs, hips_frame));
            }
            Err(reason) => found.skipped.push(format!("{}: {reason}", hdu.label())),
        }
    }
    found
}
