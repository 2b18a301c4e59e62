//! Reading a FITS-tile HiPS back: its properties, its tiles, and values at sky positions.
//! Used by cutouts (and so the server's cutout endpoints), previews, rgb, finish and lint.

use std::path::{Path, PathBuf};

use crate::fits::read_tile;
use crate::hips::layout::{fits_index, split_subindex, tile_path};
use crate::hips::properties::Properties;
use crate::wcs::Frame;

/// An on-disk HiPS with FITS tiles.
#[derive(Debug, Clone)]
pub struct HipsDir {
    /// The directory holding `properties` and the `NorderK` directories.
    pub root: PathBuf,
    /// The `properties` file as read.
    pub properties: Properties,
    /// Deepest order (`hips_order`).
    pub order: u8,
    /// Tile width in pixels (`hips_tile_width`, default 512).
    pub width: usize,
    /// Celestial frame (`hips_frame`, default equatorial).
    pub frame: Frame,
}

impl HipsDir {
    /// Opens `root`; `Err` says which properties keyword is missing or wrong.
    pub fn open(root: &Path) -> Result<HipsDir, String> {
        let path = root.join("properties");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let properties =
            Properties::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let number = |key: &str| -> Result<u64, String> {
            properties
                .get(key)
                .ok_or_else(|| format!("{}: no {key}", path.display()))?
                .parse()
                .map_err(|_| format!("{}: {key} is not a number", path.display()))
        };
        let order = number("hips_order")? as u8;
        let width = properties
            .get("hips_tile_width")
            .map_or(Ok(512), |_| number("hips_tile_width"))? as usize;
        let frame = match properties.get("hips_frame").unwrap_or("equatorial") {
            "galactic" => Frame::Galactic,
            "equatorial" => Frame::Equatorial,
            other => {
                return Err(format!(
                    "{}: hips_frame {other} is not supported",
                    path.display()
                ))
            }
        };
        Ok(HipsDir {
            root: root.to_path_buf(),
            properties,
            order,
            width,
            frame,
        })
    }

    /// Orders that have a `NorderK` directory, ascending.
    pub fn orders(&self) -> Result<Vec<u8>, String> {
        let entries =
            std::fs::read_dir(&self.root).map_err(|e| format!("{}: {e}", self.root.display()))?;
        let mut orders: Vec<u8> = entries
            .filter_map(|e| {
                e.ok()?
                    .file_name()
                    .to_str()?
                    .strip_prefix("Norder")?
                    .parse()
                    .ok()
            })
            .collect();
        orders.sort_unstable();
        Ok(orders)
    }

    /// Nested indices of the tiles with extension `ext` at `order`, ascending.
    pub fn tiles(&self, order: u8, ext: &str) -> Result<Vec<u64>, String> {
        tiles_in(&self.root, order, ext)
    }

    /// The tile in FITS storage layout, or `None` where the HiPS has no tile.
    pub fn read_tile(&self, order: u8, npix: u64) -> Result<Option<Vec<f32>>, String> {
        let path = tile_path(&self.root, order, npix, "fits");
        if !path.exists() {
            return Ok(None);
        }
        read_tile(&path, self.width)
            .map(Some)
            .map_err(|e| e.to_string())
    }
}

/// Nested indices of the tiles with extension `ext` at `order` in the HiPS directory `root`,
/// ascending (also for a HiPS still being written, before it has properties).
pub fn tiles_in(root: &Path, order: u8, ext: &str) -> Result<Vec<u64>, String> {
    let dir = root.join(format!("Norder{order}"));
    let read = |d: &Path| std::fs::read_dir(d).map_err(|e| format!("{}: {e}", d.display()));
    let suffix = format!(".{ext}");
    let mut tiles = Vec::new();
    for sub in read(&dir)? {
        let sub = sub.map_err(|e| e.to_string())?.path();
        if !sub.is_dir() {
            continue;
        }
        for f in read(&sub)? {
            let name = f.map_err(|e| e.to_string())?.file_name();
            let n = name.to_str().and_then(|n| {
                n.strip_prefix("Npix")?
                    .strip_suffix(suffix.as_str())?
                    .parse::<u64>()
                    .ok()
            });
            tiles.extend(n);
        }
    }
    tiles.sort_unstable();
    Ok(tiles)
}

/// Reads HiPS pixels by HEALPix index at one order, keeping decoded tiles in memory.
/// (Unbounded: meant for a region at a time; the shared bounded cache comes with the server.)
pub struct PixelReader<'a> {
    hips: &'a HipsDir,
    order: u8,
    bits: u8,
    tiles: std::collections::HashMap<u64, Option<Vec<f32>>>,
}

impl<'a> PixelReader<'a> {
    /// Reads at tile order `order` (pixels at order + log2 width).
    pub fn new(hips: &'a HipsDir, order: u8) -> Self {
        PixelReader {
            hips,
            order,
            bits: hips.width.trailing_zeros() as u8,
            tiles: Default::default(),
        }
    }

    /// HEALPix depth of the pixels read.
    pub fn depth(&self) -> u8 {
        self.order + self.bits
    }

    /// Value of pixel `hash` (nested, at [`Self::depth`]); NaN where there is no data.
    pub fn pixel(&mut self, hash: u64) -> Result<f32, String> {
        let tile = hash >> (2 * self.bits);
        if !self.tiles.contains_key(&tile) {
            let data = self.hips.read_tile(self.order, tile)?;
            self.tiles.insert(tile, data);
        }
        let (x, y) = split_subindex(hash & ((1u64 << (2 * self.bits)) - 1));
        Ok(self.tiles[&tile].as_ref().map_or(f32::NAN, |d| {
            d[fits_index(self.hips.width, x as usize, y as usize)]
        }))
    }

    /// Bilinear interpolation between HiPS pixel centres at (lon, lat) radians, blanks
    /// left out with the weights renormalised; NaN where all four are blank.
    pub fn bilinear(&mut self, lon: f64, lat: f64) -> Result<f32, String> {
        let mut neighbours = [(f32::NAN, 0.0); 4];
        for (slot, (hash, w)) in
            neighbours
                .iter_mut()
                .zip(cdshealpix::nested::bilinear_interpolation(
                    self.depth(),
                    lon,
                    lat,
                ))
        {
            *slot = (self.pixel(hash)?, w);
        }
        Ok(crate::interp::weighted_mean_of_valid(neighbours).unwrap_or(f32::NAN))
    }
}
