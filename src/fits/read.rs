//! Reading image HDUs with cfitsio (bundled): plain, gzip, tile-compressed (RICE/GZIP) and
//! multi-extension files through cfitsio itself; bzip2 files are inflated in memory first
//! because the bundled cfitsio has no bzip2 support.

use std::ffi::{c_char, c_int, c_long, c_void, CString};
use std::io::Read;
use std::path::{Path, PathBuf};

use fitsio::sys;

use super::header::Header;
use super::FitsError;

/// Which HDUs of a file to use as images.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum HduSelection {
    /// The first HDU that holds an image.
    #[default]
    FirstImage,
    /// Every HDU that holds an image.
    All,
    /// These HDUs (0 = primary).
    List(Vec<usize>),
}

impl std::str::FromStr for HduSelection {
    type Err = String;
    /// `first`, `all`, or a comma-separated list of HDU numbers (`1,2,3`; 0 = primary).
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "first" => Ok(HduSelection::FirstImage),
            "all" => Ok(HduSelection::All),
            list => list
                .split(',')
                .map(|n| {
                    n.trim()
                        .parse::<usize>()
                        .map_err(|_| format!("{n:?} is not an HDU number (first, all, or 1,2,3)"))
                })
                .collect::<Result<Vec<_>, _>>()
                .map(HduSelection::List),
        }
    }
}

/// An image HDU found in a file: where it is, its header and its size.
#[derive(Debug, Clone)]
pub struct ImageHdu {
    /// The file holding the HDU.
    pub path: PathBuf,
    /// 0-based HDU number (0 = primary).
    pub hdu: usize,
    /// The header's cards (a build keeps only a few after discovery).
    pub header: Header,
    /// NAXIS1, in pixels.
    pub width: usize,
    /// NAXIS2, in pixels.
    pub height: usize,
}

impl ImageHdu {
    /// `file.fits[2]` style name for messages.
    pub fn label(&self) -> String {
        format!("{}[{}]", self.path.display(), self.hdu)
    }
}

/// Outcome for one HDU that is not used, with the reason (reported as one line).
#[derive(Debug, Clone)]
pub struct SkippedHdu {
    /// 0-based HDU number (0 = primary).
    pub hdu: usize,
    /// Why it is not used.
    pub reason: String,
}

/// An open cfitsio handle, closed on drop. For in-memory files it owns the buffer too:
/// cfitsio keeps pointers to the buffer pointer and size, so both live in a stable box.
struct RawFits {
    ptr: *mut sys::fitsfile,
    _memory: Option<Box<(Vec<u8>, *mut c_void, usize)>>,
}

impl Drop for RawFits {
    fn drop(&mut self) {
        let mut status = 0;
        unsafe {
            sys::ffclos(self.ptr, &mut status);
        }
    }
}

fn check(status: c_int, path: &Path, what: &str) -> Result<(), FitsError> {
    if status == 0 {
        return Ok(());
    }
    let mut text = [0 as c_char; 31];
    unsafe { sys::ffgerr(status, text.as_mut_ptr()) };
    let message = unsafe { std::ffi::CStr::from_ptr(text.as_ptr()) }.to_string_lossy();
    Err(FitsError::Cfitsio {
        path: path.to_path_buf(),
        what: what.to_string(),
        status,
        message: message.into_owned(),
    })
}

fn is_bzip2(path: &Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("bz2"))
}

impl RawFits {
    fn open(path: &Path) -> Result<RawFits, FitsError> {
        RawFits::open_prefix(path, u64::MAX)
    }

    /// Opens `path`; a bzip2 file is inflated only up to `limit` bytes (enough for headers at
    /// its start; the rest of such a handle is unreadable).
    fn open_prefix(path: &Path, limit: u64) -> Result<RawFits, FitsError> {
        let mut ptr = std::ptr::null_mut();
        let mut status = 0;
        if is_bzip2(path) {
            let file = std::fs::File::open(path).map_err(|e| FitsError::io(path, e))?;
            let mut bytes = Vec::new();
            bzip2::read::MultiBzDecoder::new(std::io::BufReader::new(file))
                .take(limit)
                .read_to_end(&mut bytes)
                .map_err(|e| FitsError::io(path, e))?;
            let mut memory = Box::new((bytes, std::ptr::null_mut(), 0usize));
            memory.1 = memory.0.as_mut_ptr() as *mut c_void;
            memory.2 = memory.0.len();
            let name = CString::new("mem.fits").expect("static name");
            unsafe {
                sys::ffomem(
                    &mut ptr,
                    name.as_ptr(),
                    0,
                    &mut memory.1,
                    &mut memory.2,
                    0,
                    None,
                    &mut status,
                );
            }
            check(status, path, "open (bzip2 in memory)")?;
            Ok(RawFits {
                ptr,
                _memory: Some(memory),
            })
        } else {
            // The path's own bytes (not a lossy UTF-8 copy), opened as a plain disk file: with
            // ffopen, names holding cfitsio's extended syntax ("[1]", "+2", "(...)") would be
            // parsed as HDU or filter selections.
            let name = CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
                .map_err(|_| FitsError::BadPath(path.to_path_buf()))?;
            unsafe { sys::ffdkopn(&mut ptr, name.as_ptr(), 0, &mut status) };
            check(status, path, "open")?;
            Ok(RawFits { ptr, _memory: None })
        }
    }

    fn hdu_count(&self, path: &Path) -> Result<usize, FitsError> {
        let (mut n, mut status) = (0, 0);
        unsafe { sys::ffthdu(self.ptr, &mut n, &mut status) };
        check(status, path, "count HDUs")?;
        Ok(n as usize)
    }

    /// Moves to HDU `hdu` (0-based) and returns its type (0 = image).
    fn move_to(&self, hdu: usize, path: &Path) -> Result<c_int, FitsError> {
        let (mut kind, mut status) = (0, 0);
        unsafe { sys::ffmahd(self.ptr, hdu as c_int + 1, &mut kind, &mut status) };
        check(status, path, &format!("move to HDU {hdu}"))?;
        Ok(kind)
    }

    fn header(&self, path: &Path) -> Result<Header, FitsError> {
        let (mut count, mut more, mut status) = (0, 0, 0);
        unsafe { sys::ffghsp(self.ptr, &mut count, &mut more, &mut status) };
        check(status, path, "read header size")?;
        let mut cards = Vec::with_capacity(count as usize);
        for i in 1..=count {
            let mut card = [0 as c_char; 81];
            unsafe { sys::ffgrec(self.ptr, i, card.as_mut_ptr(), &mut status) };
            check(status, path, "read header card")?;
            let text = unsafe { std::ffi::CStr::from_ptr(card.as_ptr()) };
            cards.push(text.to_string_lossy().into_owned());
        }
        Ok(Header::from_cards(cards.iter().map(String::as_str)))
    }

    fn image_shape(&self, path: &Path) -> Result<Vec<usize>, FitsError> {
        let (mut naxis, mut status) = (0, 0);
        unsafe { sys::ffgidm(self.ptr, &mut naxis, &mut status) };
        check(status, path, "read NAXIS")?;
        let mut axes = vec![0 as c_long; naxis.max(0) as usize];
        if naxis > 0 {
            unsafe { sys::ffgisz(self.ptr, naxis, axes.as_mut_ptr(), &mut status) };
            check(status, path, "read NAXISn")?;
        }
        Ok(axes.into_iter().map(|a| a.max(0) as usize).collect())
    }
}

/// Largest image plane read (8 GiB as float32): a corrupt NAXISn must not exhaust memory.
const MAX_PIXELS: usize = 1 << 31;

/// Why an HDU cannot be used as a 2-D image, or its (width, height).
fn plane_size(shape: &[usize]) -> Result<(usize, usize), String> {
    match shape {
        [] | [_] => Err(format!("not an image (NAXIS = {})", shape.len())),
        [w, h, rest @ ..] => {
            if *w == 0 || *h == 0 {
                Err("empty image".into())
            } else if w.saturating_mul(*h) > MAX_PIXELS {
                Err(format!(
                    "{w}×{h} pixels: more than this tool reads in one image ({MAX_PIXELS})"
                ))
            } else if rest.iter().any(|&n| n > 1) {
                Err(format!(
                    "a cube with extra axes {rest:?} (only length-1 extra axes are supported)"
                ))
            } else {
                Ok((*w, *h))
            }
        }
    }
}

/// Lists the image HDUs of `path` that `selection` asks for, with the reasons others were
/// passed over.
pub fn list_image_hdus(
    path: &Path,
    selection: &HduSelection,
) -> Result<(Vec<ImageHdu>, Vec<SkippedHdu>), FitsError> {
    if *selection == HduSelection::FirstImage && is_bzip2(path) {
        // Inflating a whole .bz2 frame just to read its header is slow (SDSS frames: 0.3 s);
        // when the primary HDU is the image, a prefix holds everything needed.
        if let Ok(prefix) = RawFits::open_prefix(path, BZIP2_HEADER_PREFIX) {
            if let Ok((images, skipped)) = scan(&prefix, path, &[0], true) {
                if !images.is_empty() {
                    return Ok((images, skipped));
                }
            }
        }
    }
    let fits = RawFits::open(path)?;
    let count = fits.hdu_count(path)?;
    let wanted: Vec<usize> = match selection {
        HduSelection::List(list) => {
            if let Some(bad) = list.iter().find(|&&h| h >= count) {
                return Err(FitsError::NoSuchHdu {
                    path: path.to_path_buf(),
                    hdu: *bad,
                    count,
                });
            }
            list.clone()
        }
        _ => (0..count).collect(),
    };
    scan(&fits, path, &wanted, *selection == HduSelection::FirstImage)
}

/// The primary header of `path`: the keywords its extensions inherit (the DATE-OBS, FILTER,
/// EXPTIME of a multi-extension exposure live there).
pub fn read_primary_header(path: &Path) -> Result<Header, FitsError> {
    let fits = RawFits::open_prefix(path, BZIP2_HEADER_PREFIX)?;
    fits.move_to(0, path)?;
    fits.header(path)
}

/// Bytes of a bzip2 file inflated to read the primary header.
const BZIP2_HEADER_PREFIX: u64 = 1 << 20;

/// The image HDUs among `wanted` (stopping at the first when `first_only`) and why the others
/// were passed over.
fn scan(
    fits: &RawFits,
    path: &Path,
    wanted: &[usize],
    first_only: bool,
) -> Result<(Vec<ImageHdu>, Vec<SkippedHdu>), FitsError> {
    let mut images = Vec::new();
    let mut skipped = Vec::new();
    for &hdu in wanted {
        let kind = fits.move_to(hdu, path)?;
        if kind != 0 {
            skipped.push(SkippedHdu {
                hdu,
                reason: "a table, not an image".into(),
            });
            continue;
        }
        match plane_size(&fits.image_shape(path)?) {
            Ok((width, height)) => {
                let header = fits.header(path)?;
                images.push(ImageHdu {
                    path: path.to_path_buf(),
                    hdu,
                    header,
                    width,
                    height,
                });
                if first_only {
                    break;
                }
            }
            Err(reason) => skipped.push(SkippedHdu { hdu, reason }),
        }
    }
    Ok((images, skipped))
}

/// Reads the first plane of an image HDU as f32, scaled by BSCALE/BZERO, with every blank
/// (BLANK, ZBLANK, NaN) as NaN. Row-major from the first stored row (FITS y = 1).
pub fn read_pixels(image: &ImageHdu) -> Result<Vec<f32>, FitsError> {
    let path = &image.path;
    let fits = RawFits::open(path)?;
    fits.move_to(image.hdu, path)?;
    let n = image.width * image.height;
    let mut data = vec![0f32; n];
    let (mut any_null, mut status) = (0, 0);
    unsafe {
        sys::ffgpve(
            fits.ptr,
            0,
            1,
            n as i64,
            f32::NAN,
            data.as_mut_ptr(),
            &mut any_null,
            &mut status,
        );
    }
    check(status, path, &format!("read pixels of HDU {}", image.hdu))?;
    Ok(data)
}

/// Reads a square tile of `width` pixels (a HiPS tile or one we wrote) from the primary HDU.
pub fn read_tile(path: &Path, width: usize) -> Result<Vec<f32>, FitsError> {
    read_pixels(&ImageHdu {
        path: path.to_path_buf(),
        hdu: 0,
        header: Header::default(),
        width,
        height: width,
    })
}

#[cfg(test)]
mod tests {
    use super::plane_size;

    #[test]
    fn hdu_selections_parse() {
        use super::HduSelection;
        assert_eq!("first".parse(), Ok(HduSelection::FirstImage));
        assert_eq!("all".parse(), Ok(HduSelection::All));
        assert_eq!("0, 2".parse(), Ok(HduSelection::List(vec![0, 2])));
        assert!("1,x".parse::<HduSelection>().unwrap_err().contains("\"x\""));
    }

    #[test]
    fn degenerate_axes_are_accepted_and_cubes_refused() {
        assert_eq!(plane_size(&[300, 200, 1, 1]), Ok((300, 200)));
        assert!(plane_size(&[300, 200, 3]).unwrap_err().contains("cube"));
        assert!(plane_size(&[]).unwrap_err().contains("not an image"));
    }
}
