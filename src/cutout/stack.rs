//! Writing stamp stacks incrementally: a NumPy `.npy` array (N, bands, size, size) float32, a
//! FITS image with NAXIS4 = N, or a Zarr v3 store. The output is laid out (header, full size)
//! first; rows are then written in place at their offsets, in any order, from any thread.
//!
//! The Zarr store's metadata and chunk keys come from `zarrs`; its `stamps` chunks are
//! uncompressed (the `bytes` codec) so that a stamp is written in place like a `.npy` row:
//! objects arrive in HEALPix order, not in row order, and a compressed chunk would have to be
//! read, changed and rewritten for each of them.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use zarrs::array::{data_type, ArrayBuilder, ZARR_NAN_F32};
use zarrs::filesystem::FilesystemStore;
use zarrs::group::GroupBuilder;

use super::CutoutError;
use crate::fits::write::{encode_image, Card, CardValue, Encoding};

/// Bytes of one chunk of the Zarr `stamps` array, about (whole stamps per chunk).
const ZARR_CHUNK_BYTES: usize = 4 << 20;

/// Objects per chunk of the Zarr per-object arrays (`ra`, `dec`, `id`).
const ZARR_OBJECT_CHUNK: u64 = 1 << 16;

/// Output file format of a stamp stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackFormat {
    /// NumPy `.npy`, little-endian float32.
    Npy,
    /// FITS, BITPIX −32.
    Fits,
    /// A Zarr v3 store (a directory): the array `stamps` (object, band, y, x) float32, the
    /// per-object arrays `ra`, `dec`, `id`, and the stamp WCS in the group's attributes.
    Zarr,
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
            Some("zarr") => Ok(StackFormat::Zarr),
            _ => Err(CutoutError::Options(format!(
                "{}: the output must end in .npy, .fits or .zarr",
                path.display()
            ))),
        }
    }
}

/// An output of `rows` stamps of `bands × size × size` float32.
pub struct StackFile {
    target: Target,
    row_values: usize,
}

/// Where the rows go.
enum Target {
    /// One file, data from `data_offset`; FITS is big-endian, `.npy` little-endian.
    File {
        file: File,
        data_offset: u64,
        big_endian: bool,
    },
    /// Zarr chunk files of `chunk_rows` stamps each (opened per write: a million-stamp store
    /// has more chunks than a process may hold open), and which were written since the last
    /// sync.
    Zarr {
        root: PathBuf,
        chunks: Vec<PathBuf>,
        chunk_rows: usize,
        dirty: Vec<AtomicBool>,
    },
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
        if format == StackFormat::Zarr {
            let target = open_zarr(path, [rows, bands, size, size], extra, fresh)?;
            return Ok(StackFile { target, row_values });
        }
        let header = match format {
            StackFormat::Npy | StackFormat::Zarr => npy_header(&[rows, bands, size, size]),
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
            StackFormat::Fits => data_offset + data_len.div_ceil(2880) * 2880,
            _ => data_offset + data_len,
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
            target: Target::File {
                file,
                data_offset,
                big_endian: format == StackFormat::Fits,
            },
            row_values,
        })
    }

    /// Writes consecutive stamps starting at row `first` (values row-major per stamp).
    pub fn write_rows(&self, first: usize, values: &[f32]) -> std::io::Result<()> {
        match &self.target {
            Target::File {
                file,
                data_offset,
                big_endian,
            } => {
                let bytes: Vec<u8> = if *big_endian {
                    values.iter().flat_map(|v| v.to_be_bytes()).collect()
                } else {
                    values.iter().flat_map(|v| v.to_le_bytes()).collect()
                };
                file.write_all_at(&bytes, data_offset + (first * self.row_values * 4) as u64)
            }
            Target::Zarr {
                chunks,
                chunk_rows,
                dirty,
                ..
            } => {
                for (i, stamp) in values.chunks(self.row_values).enumerate() {
                    let row = first + i;
                    let c = row / chunk_rows;
                    let bytes: Vec<u8> = stamp.iter().flat_map(|v| v.to_le_bytes()).collect();
                    let file = std::fs::OpenOptions::new().write(true).open(&chunks[c])?;
                    file.write_all_at(&bytes, ((row % chunk_rows) * self.row_values * 4) as u64)?;
                    dirty[c].store(true, Ordering::Relaxed);
                }
                Ok(())
            }
        }
    }

    /// Flushes the data written so far to disk (before a chunk is recorded as done).
    pub fn sync(&self) -> std::io::Result<()> {
        match &self.target {
            Target::File { file, .. } => file.sync_data(),
            Target::Zarr { chunks, dirty, .. } => {
                for (path, d) in chunks.iter().zip(dirty) {
                    if d.swap(false, Ordering::Relaxed) {
                        File::open(path)?.sync_data()?;
                    }
                }
                Ok(())
            }
        }
    }

    /// For a Zarr store, the per-object arrays `id`, `ra` and `dec` (degrees, in the frame of
    /// the run: with the WCS template of the attributes they give each stamp's WCS); other
    /// formats keep these in the manifest only.
    pub fn write_objects(
        &self,
        ids: &[String],
        ra: &[f64],
        dec: &[f64],
    ) -> Result<(), CutoutError> {
        let Target::Zarr { root, .. } = &self.target else {
            return Ok(());
        };
        let failed = |e: &dyn std::fmt::Display| zarr_error(root, e);
        let store = Arc::new(FilesystemStore::new(root).map_err(|e| failed(&e))?);
        let n = ids.len() as u64;
        let chunk = vec![ZARR_OBJECT_CHUNK.min(n.max(1))];
        for (name, values) in [("ra", ra), ("dec", dec)] {
            let array = ArrayBuilder::new(vec![n], chunk.clone(), data_type::float64(), f64::NAN)
                .dimension_names(Some(["object"]))
                .build(store.clone(), &format!("/{name}"))
                .map_err(|e| failed(&e))?;
            array.store_metadata().map_err(|e| failed(&e))?;
            array
                .store_array_subset(&array.subset_all(), values)
                .map_err(|e| failed(&e))?;
        }
        let array = ArrayBuilder::new(vec![n], chunk, data_type::string(), "")
            .dimension_names(Some(["object"]))
            .build(store, "/id")
            .map_err(|e| failed(&e))?;
        array.store_metadata().map_err(|e| failed(&e))?;
        array
            .store_array_subset(&array.subset_all(), ids)
            .map_err(|e| failed(&e))
    }
}

/// A failure of the Zarr store at `root`, as an output error naming it.
fn zarr_error(root: &Path, e: &dyn std::fmt::Display) -> CutoutError {
    CutoutError::output(root, std::io::Error::other(e.to_string()))
}

/// Lays out a Zarr store at `root` for stamps of `shape` (objects, bands, size, size): the
/// group with the `extra` cards as attributes, the `stamps` array and its chunk files at full
/// size. Without `fresh`, a store already laid out for this shape is reused (resuming); a
/// directory that is not a Zarr store is never removed.
fn open_zarr(
    root: &Path,
    shape: [usize; 4],
    extra: &[Card],
    fresh: bool,
) -> Result<Target, CutoutError> {
    let failed = |e: &dyn std::fmt::Display| zarr_error(root, e);
    let row_bytes = shape[1] * shape[2] * shape[3] * 4;
    let chunk_rows = (ZARR_CHUNK_BYTES / row_bytes).clamp(1, shape[0]);
    let is_store = root.join("zarr.json").is_file();
    if root.exists()
        && !is_store
        && std::fs::read_dir(root).map_or(true, |mut d| d.next().is_some())
    {
        return Err(failed(&"exists and is not a Zarr store: not overwritten"));
    }
    let reuse = !fresh && is_store;
    if !reuse && is_store {
        std::fs::remove_dir_all(root).map_err(|e| failed(&e))?;
    }
    std::fs::create_dir_all(root).map_err(|e| failed(&e))?;
    let store = Arc::new(FilesystemStore::new(root).map_err(|e| failed(&e))?);
    let mut group = GroupBuilder::new()
        .build(store.clone(), "/")
        .map_err(|e| failed(&e))?;
    let header: serde_json::Map<String, serde_json::Value> = extra
        .iter()
        .map(|c| {
            let v = match &c.value {
                CardValue::Float(v) => serde_json::json!(v),
                CardValue::Int(v) => serde_json::json!(v),
                CardValue::Str(v) => serde_json::json!(v),
                CardValue::Bool(v) => serde_json::json!(v),
            };
            (c.key.clone(), v)
        })
        .collect();
    let attributes = group.attributes_mut();
    attributes.insert("header".into(), serde_json::Value::Object(header));
    // Stamp i's WCS: the header cards with CRVAL1 = ra[i], CRVAL2 = dec[i].
    attributes.insert("crval".into(), serde_json::json!(["ra", "dec"]));
    let manifest = super::bulk::manifest_path(root);
    if let Some(name) = manifest.file_name() {
        attributes.insert("manifest".into(), serde_json::json!(name.to_string_lossy()));
    }
    let shape: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let mut chunk_shape = shape.clone();
    chunk_shape[0] = chunk_rows as u64;
    let array = ArrayBuilder::new(
        shape.clone(),
        chunk_shape,
        data_type::float32(),
        ZARR_NAN_F32,
    )
    .dimension_names(Some(["object", "band", "y", "x"]))
    .build(store, "/stamps")
    .map_err(|e| failed(&e))?;
    if !reuse {
        group.store_metadata().map_err(|e| failed(&e))?;
        array.store_metadata().map_err(|e| failed(&e))?;
    }
    let count = (shape[0] as usize).div_ceil(chunk_rows);
    let chunk_len = (chunk_rows * row_bytes) as u64;
    let mut chunks = Vec::with_capacity(count);
    for c in 0..count {
        let path = root.join(array.chunk_key(&[c as u64, 0, 0, 0]).as_str());
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| failed(&e))?;
        }
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| failed(&e))?;
        if !reuse || file.metadata().map_err(|e| failed(&e))?.len() != chunk_len {
            file.set_len(0).map_err(|e| failed(&e))?;
            file.set_len(chunk_len).map_err(|e| failed(&e))?;
        }
        chunks.push(path);
    }
    Ok(Target::Zarr {
        root: root.to_path_buf(),
        dirty: (0..count).map(|_| AtomicBool::new(false)).collect(),
        chunks,
        chunk_rows,
    })
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
