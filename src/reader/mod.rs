//! Reading a FITS-tile HiPS back: its properties, its tiles, and values at sky positions.
//! Used by cutouts (and so the server's cutout endpoints), previews, rgb, finish and lint.

pub mod remote;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::fits::read_tile;
use crate::hips::geometry::MAX_DEPTH;
use crate::hips::layout::{fits_index, split_subindex, tile_path};
use crate::hips::moc::Coverage;
use crate::hips::properties::Properties;
use crate::hips::FormatError;
use crate::wcs::Frame;
pub use remote::{is_url, Remote, RemoteOptions};

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
    /// For a HiPS on a server: the client that fills the mirror `root` on demand, and the
    /// server's MOC (tiles it excludes are not asked for).
    remote: Option<Arc<(Remote, Option<Coverage>)>>,
}

/// Why a HiPS could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A file or directory of the HiPS could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// `properties` is not a properties file.
    #[error("{path}: {source}")]
    Properties {
        /// The `properties` file.
        path: PathBuf,
        /// The line at fault.
        source: FormatError,
    },
    /// A keyword of `properties` is missing or has a value no HiPS can have.
    #[error("{path}: {problem}")]
    Keyword {
        /// The `properties` file.
        path: PathBuf,
        /// Which keyword and why.
        problem: String,
    },
    /// A tile could not be read.
    #[error(transparent)]
    Tile(#[from] crate::fits::FitsError),
    /// A file of a remote HiPS could not be fetched.
    #[error("{url}: {problem}")]
    Remote {
        /// What was asked for.
        url: String,
        /// What went wrong (the last attempt's error).
        problem: String,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ReadError + '_ {
    move |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl HipsDir {
    /// Opens a HiPS directory, or (an `http://` or `https://` base URL) a HiPS on a server,
    /// mirrored on demand under `remote.cache_dir`.
    pub fn open_location(location: &str, remote: &RemoteOptions) -> Result<HipsDir, ReadError> {
        if !is_url(location) {
            return HipsDir::open(Path::new(location));
        }
        let client = Remote::new(location, remote);
        let missing = |what: &str| ReadError::Remote {
            url: format!("{}/{what}", location.trim_end_matches('/')),
            problem: "not found (404): not a HiPS?".into(),
        };
        client
            .local("properties", true)?
            .ok_or_else(|| missing("properties"))?;
        let mut hips = HipsDir::open(client.mirror())?;
        let coverage = match client.local("Moc.fits", true)? {
            // The MOC is ICRS: it tells which tiles exist only for an equatorial HiPS.
            Some(path) if hips.frame == Frame::Equatorial => {
                let file = std::fs::File::open(&path).map_err(io_error(&path))?;
                Some(
                    Coverage::from_fits(std::io::BufReader::new(file))
                        .map_err(|source| ReadError::Properties { path, source })?,
                )
            }
            _ => None,
        };
        hips.remote = Some(Arc::new((client, coverage)));
        Ok(hips)
    }

    /// Whether this HiPS is read from a server.
    pub fn is_remote(&self) -> bool {
        self.remote.is_some()
    }

    /// (files, bytes) fetched over the network for this HiPS (0 for a directory).
    pub fn fetched(&self) -> (u64, u64) {
        self.remote.as_ref().map_or((0, 0), |r| r.0.fetched())
    }

    /// Opens the HiPS directory `root`; `Err` says which file or properties keyword is missing
    /// or wrong.
    pub fn open(root: &Path) -> Result<HipsDir, ReadError> {
        let path = root.join("properties");
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        let properties = Properties::parse(&text).map_err(|source| ReadError::Properties {
            path: path.clone(),
            source,
        })?;
        let keyword = |problem: String| ReadError::Keyword {
            path: path.clone(),
            problem,
        };
        let number = |key: &str| -> Result<u64, ReadError> {
            let value = properties
                .get(key)
                .ok_or_else(|| keyword(format!("no {key}")))?;
            value
                .parse()
                .map_err(|_| keyword(format!("{key} = {value:?} is not a whole number")))
        };
        let width = match properties.get("hips_tile_width") {
            Some(_) => number("hips_tile_width")?,
            None => 512,
        };
        if !width.is_power_of_two() || width > 1 << 16 {
            return Err(keyword(format!(
                "hips_tile_width = {width} is not a power of two"
            )));
        }
        let order = number("hips_order")?;
        let max_order = (MAX_DEPTH - width.trailing_zeros() as u8) as u64;
        if order > max_order {
            return Err(keyword(format!(
                "hips_order = {order} is beyond HEALPix depth {MAX_DEPTH} with {width}-pixel tiles"
            )));
        }
        let name = properties.get("hips_frame").unwrap_or("equatorial");
        let frame = Frame::from_hips_name(name)
            .ok_or_else(|| keyword(format!("hips_frame {name} is not supported")))?;
        Ok(HipsDir {
            root: root.to_path_buf(),
            properties,
            order: order as u8,
            width: width as usize,
            frame,
            remote: None,
        })
    }

    /// Orders that have a `NorderK` directory, ascending.
    pub fn orders(&self) -> Result<Vec<u8>, ReadError> {
        let entries = std::fs::read_dir(&self.root).map_err(io_error(&self.root))?;
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
    pub fn tiles(&self, order: u8, ext: &str) -> Result<Vec<u64>, ReadError> {
        tiles_in(&self.root, order, ext)
    }

    /// The tile in FITS storage layout, or `None` where the HiPS has no tile.
    pub fn read_tile(&self, order: u8, npix: u64) -> Result<Option<Vec<f32>>, ReadError> {
        match self.local_tile(order, npix)? {
            Some(path) => Ok(Some(read_tile(&path, self.width)?)),
            None => Ok(None),
        }
    }

    /// The tile's file on this machine — for a HiPS on a server, fetched into the mirror
    /// first — or `None` where the HiPS has no such tile.
    pub fn local_tile(&self, order: u8, npix: u64) -> Result<Option<PathBuf>, ReadError> {
        let path = tile_path(&self.root, order, npix, "fits");
        let Some(remote) = &self.remote else {
            return Ok(path.exists().then_some(path));
        };
        let (client, coverage) = remote.as_ref();
        if coverage
            .as_ref()
            .is_some_and(|c| !c.intersects_cell(order, npix))
        {
            return Ok(None);
        }
        let rel = path.strip_prefix(&self.root).expect("tile path under root");
        client.local(&rel.to_string_lossy(), false)
    }
}

/// Nested indices of the tiles with extension `ext` at `order` in the HiPS directory `root`,
/// ascending (also for a HiPS still being written, before it has properties).
pub fn tiles_in(root: &Path, order: u8, ext: &str) -> Result<Vec<u64>, ReadError> {
    let dir = root.join(format!("Norder{order}"));
    let read = |d: &Path| std::fs::read_dir(d).map_err(io_error(d));
    let suffix = format!(".{ext}");
    let mut tiles = Vec::new();
    for sub in read(&dir)? {
        let sub = sub.map_err(io_error(&dir))?.path();
        if !sub.is_dir() {
            continue;
        }
        for f in read(&sub)? {
            let name = f.map_err(io_error(&sub))?.file_name();
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
    pub fn pixel(&mut self, hash: u64) -> Result<f32, ReadError> {
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
    pub fn bilinear(&mut self, lon: f64, lat: f64) -> Result<f32, ReadError> {
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
