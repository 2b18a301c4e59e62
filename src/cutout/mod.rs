//! Cutouts: any grid (centre, size, scale, projection, rotation, frame, or a full WCS) sampled
//! from a HiPS at the right order, through one bounded tile cache shared by all requests.

pub mod bulk;
pub mod grid;
pub mod positions;
pub mod sample;
pub mod stack;

use std::sync::Arc;

pub use grid::{Grid, GridSpec};
pub use sample::Kernel;

use crate::cache::BoundedCache;
use crate::hips::geometry::order_for_pixel_scale;
use crate::reader::HipsDir;

/// Why a cutout (or a run of them) failed. The first kinds are the caller's mistakes (a server
/// answers them with 400); the others are failures of the data or the machine.
#[derive(Debug, thiserror::Error)]
pub enum CutoutError {
    /// The grid asked for cannot be made (size, scale, projection).
    #[error("{0}")]
    Grid(String),
    /// The grid's WCS cannot be made.
    #[error("grid WCS: {0}")]
    GridWcs(#[from] crate::wcs::WcsError),
    /// A list of positions that cannot be read (missing column, bad number, |dec| > 90).
    #[error("{0}")]
    Positions(String),
    /// Options of a bulk run that do not fit together.
    #[error("{0}")]
    Options(String),
    /// A HiPS could not be opened.
    #[error(transparent)]
    Survey(#[from] crate::reader::ReadError),
    /// The HiPS of a band could not be opened.
    #[error("--hips {band}: {source}")]
    Band {
        /// The band's name.
        band: String,
        /// Why its HiPS could not be opened.
        source: crate::reader::ReadError,
    },
    /// A tile of an opened HiPS could not be read.
    #[error("{0}")]
    Tile(String),
    /// An output file could not be written.
    #[error("{path}: {source}")]
    Output {
        /// The file.
        path: std::path::PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl CutoutError {
    /// Whether the request itself is at fault (grid, positions, options), not the data.
    pub fn is_caller_error(&self) -> bool {
        matches!(
            self,
            CutoutError::Grid(_)
                | CutoutError::GridWcs(_)
                | CutoutError::Positions(_)
                | CutoutError::Options(_)
        )
    }

    pub(crate) fn output(path: &std::path::Path, source: std::io::Error) -> CutoutError {
        CutoutError::Output {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// An opened HiPS with a key for the tile cache.
#[derive(Debug)]
pub struct Survey {
    /// The opened HiPS.
    pub hips: HipsDir,
    /// Distinguishes this HiPS's tiles from other surveys' in a shared [`TileStore`].
    pub key: u32,
    /// Shallowest order to sample (`hips_order_min`, else 0).
    pub min_order: u8,
}

impl Survey {
    /// Opens the HiPS at `root`; `key` must differ from the other surveys sharing a [`TileStore`].
    pub fn open(root: &std::path::Path, key: u32) -> Result<Survey, CutoutError> {
        Survey::from_hips(HipsDir::open(root)?, key)
    }

    /// Opens a HiPS directory or, for an `http(s)://` base URL, a HiPS on a server (tiles
    /// fetched on demand into the cache of `remote`).
    pub fn open_location(
        location: &str,
        key: u32,
        remote: &crate::reader::RemoteOptions,
    ) -> Result<Survey, CutoutError> {
        Survey::from_hips(HipsDir::open_location(location, remote)?, key)
    }

    fn from_hips(hips: HipsDir, key: u32) -> Result<Survey, CutoutError> {
        let min_order = hips
            .properties
            .get("hips_order_min")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        Ok(Survey {
            hips,
            key,
            min_order,
        })
    }

    /// The tile order whose pixels are not coarser than `scale_deg` (capped at the HiPS's
    /// deepest order).
    pub fn order_for(&self, scale_deg: f64) -> u8 {
        let bits = self.hips.width.trailing_zeros() as u8;
        order_for_pixel_scale(scale_deg, bits, self.min_order..=self.hips.order)
    }
}

/// Decoded tiles shared by every cutout (server requests, bulk workers), bounded by bytes.
pub struct TileStore {
    cache: BoundedCache<(u32, u8, u64), Option<Vec<f32>>>,
}

impl TileStore {
    /// A store holding at most `budget_bytes` of decoded tiles (4 bytes a pixel).
    pub fn new(budget_bytes: usize) -> TileStore {
        TileStore {
            cache: BoundedCache::new(budget_bytes),
        }
    }

    /// Tile `npix` at `order` (`None` where the HiPS has none); decoded once while cached.
    pub fn tile(
        &self,
        s: &Survey,
        order: u8,
        npix: u64,
    ) -> Result<Arc<Option<Vec<f32>>>, CutoutError> {
        let bytes = s.hips.width * s.hips.width * 4;
        self.cache
            .get_or_load(&(s.key, order, npix), bytes, || {
                // The cache remembers failures for every thread, so it keeps them as text.
                s.hips.read_tile(order, npix).map_err(|e| e.to_string())
            })
            .map_err(CutoutError::Tile)
    }
}

/// One cutout: `order` (or the order matching the grid's pixel scale) sampled with `kernel`.
pub fn cutout(
    store: &TileStore,
    survey: &Survey,
    grid: &Grid,
    kernel: Kernel,
    order: Option<u8>,
) -> Result<Vec<f32>, CutoutError> {
    let order = order
        .unwrap_or_else(|| survey.order_for(grid.scale_deg()))
        .min(survey.hips.order);
    sample::sample(store, survey, grid, order, kernel)
}
