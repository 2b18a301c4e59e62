//! Writing stamp stacks incrementally: a NumPy `.npy` array (N, bands, size, size) float32, or
//! a FITS image with NAXIS4 = N. The file is laid out (header, full size) first; rows are then
//! written in place at their offsets, in any order, from any thread.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

use super::CutoutError;
use crate::fits::write::{encode_image, Card, CardValue, Encoding};

/// Output file format of a stamp stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackFormat {
    /// NumPy `.npy`, little-endian float32.
    Npy,
    /// FITS, BITPIX −32.
    Fits,
}

impl StackFormat {
    /// The format named by the extension of `path` (`.npy`, `.fits` or `.fit`).
    pub fn from_path(path: &Path) -> Result<StackFormat, CutoutError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("npy") => Ok(StackFormat::Npy),
            Some("fits") | Some("fit") => Ok(StackFormat::Fits),
            _ => Err(CutoutError::Options(format!(
                "{}: the output must end in .npy or .fits",
                path.display()
            ))),
        }
    }
}

/// An output file of `rows` stamps of `bands × size × size` float32.
pub struct StackFile {
    file: File,
    format: StackFormat,
    data_offset: u64,
    row_values: usize,
}

/// The `.npy` v1.0 header for a C-order little-endian float32 array of `shape`.
pub fn npy_header(shape: &[usize]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // magic (6) + version (2) + length (2) + dict + padding + '\n', a multiple of 64.
    let total = (10 + dict.len() + 1).div_ceil(64) * 64;
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    h
}

impl StackFile {
    /// Opens `path` for `rows` stamps; `fresh` lays the file out anew, else an existing file of
    /// the right size is reused (resuming).
    pub fn open(
        path: &Path,
        format: StackFormat,
        rows: usize,
        bands: usize,
        size: usize,
        extra: &[Card],
        fresh: bool,
    ) -> Result<StackFile, CutoutError> {
        let err = |e: std::io::Error| CutoutError::output(path, e);
        let row_values = bands * size * size;
        let header = match format {
            StackFormat::Npy => npy_header(&[rows, bands, size, size]),
            StackFormat::Fits => {
                // A 4-D primary image: take the header of an empty 2-D image and fix the axes.
                let mut cards = vec![
                    Card::new("NAXIS3", CardValue::Int(bands as i64), "bands"),
                    Card::new("NAXIS4", CardValue::Int(rows as i64), "objects"),
                ];
                cards.extend_from_slice(extra);
                let h = encode_image(
                    size,
                    size,
                    &vec![0.0; size * size],
                    Encoding::float32(),
                    &cards,
                );
                let mut text = h[..h.len() - (size * size * 4).div_ceil(2880) * 2880].to_vec();
                let naxis = format!("{:<8}= {:>20}", "NAXIS", 4);
                // NAXIS is the third card; NAXIS3/NAXIS4 follow NAXIS2 as the first extra cards.
                text[160..160 + naxis.len()].copy_from_slice(naxis.as_bytes());
                text
            }
        };
        let data_offset = header.len() as u64;
        let data_len = (rows * row_values * 4) as u64;
        let total = match format {
            StackFormat::Npy => data_offset + data_len,
            StackFormat::Fits => data_offset + data_len.div_ceil(2880) * 2880,
        };
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(err)?;
        let reuse = !fresh && file.metadata().map_err(err)?.len() == total;
        if !reuse {
            file.set_len(0).map_err(err)?;
            file.set_len(total).map_err(err)?;
            file.write_all_at(&header, 0).map_err(err)?;
        }
        Ok(StackFile {
            file,
            format,
            data_offset,
            row_values,
        })
    }

    /// Writes consecutive stamps starting at row `first` (values row-major per stamp).
    pub fn write_rows(&self, first: usize, values: &[f32]) -> std::io::Result<()> {
        let bytes: Vec<u8> = match self.format {
            StackFormat::Npy => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            StackFormat::Fits => values.iter().flat_map(|v| v.to_be_bytes()).collect(),
        };
        self.file.write_all_at(
            &bytes,
            self.data_offset + (first * self.row_values * 4) as u64,
        )
    }

    /// Flushes the data written so far to disk (before a chunk is recorded as done).
    pub fn sync(&self) -> std::io::Result<()> {
        self.file.sync_data()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parsable() {
        let h = npy_header(&[1000, 5, 28, 28]);
        assert_eq!(h.len() % 64, 0);
        assert_eq!(&h[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([h[8], h[9]]) as usize;
        assert_eq!(len + 10, h.len());
        let text = std::str::from_utf8(&h[10..]).unwrap();
        assert!(text
            .starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (1000, 5, 28, 28), }"));
        assert!(text.ends_with('\n'));
    }

    #[test]
    fn fits_cube_header_has_four_axes_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.fits");
        let s = StackFile::open(&path, StackFormat::Fits, 3, 2, 4, &[], true).unwrap();
        s.write_rows(2, &[7.0; 32]).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let header = String::from_utf8_lossy(&bytes[..2880]);
        let cards: Vec<&str> = (0..36).map(|i| &header[i * 80..i * 80 + 8]).collect();
        assert_eq!(
            &cards[2..7],
            &["NAXIS   ", "NAXIS1  ", "NAXIS2  ", "NAXIS3  ", "NAXIS4  "]
        );
        assert!(header[160..240].contains("4"));
        let last = &bytes[2880 + 2 * 32 * 4..2880 + 2 * 32 * 4 + 4];
        assert_eq!(
            f32::from_be_bytes([last[0], last[1], last[2], last[3]]),
            7.0
        );
    }
}
