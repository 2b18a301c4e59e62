//! Sampling a HiPS onto a cutout grid.
//!
//! Speed by design (as in the builder, see [`crate::interp`]): the exact transform (grid pixel
//! → sky → HEALPix tile and in-tile position) runs at the corners of blocks of [`BLOCK`]²
//! pixels, and a checked [`Quad`] gives the positions inside when the block lies within one
//! tile. Other blocks (tile edges, projection edges) are done exactly, pixel by pixel, with
//! HEALPix's own bilinear neighbours across tiles.

use std::collections::HashMap;
use std::sync::Arc;

use cdshealpix::nested;

use super::grid::Grid;
use super::{CutoutError, Survey, TileStore};
use crate::hips::layout::fits_index;
use crate::interp::{bilinear_weights, weighted_mean_of_valid, Quad, BLOCK};
use crate::wcs::frame::{xyz_to_lonlat, FrameChange};

/// Sub-samples per axis of the flux-conserving kernel.
const FLUX_SUBSAMPLES: usize = 4;

/// How HiPS pixels become cutout pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Kernel {
    /// Bilinear between the four nearest HiPS pixel centres.
    #[default]
    Bilinear,
    /// The HiPS pixel containing the cutout pixel centre.
    Nearest,
    /// Mean over a 4×4 sub-grid of each cutout pixel (bilinear at each): surface brightness is
    /// kept when cutout pixels are coarser than HiPS pixels.
    Flux,
}

impl std::str::FromStr for Kernel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "bilinear" => Ok(Kernel::Bilinear),
            "nearest" => Ok(Kernel::Nearest),
            "flux" => Ok(Kernel::Flux),
            other => Err(format!(
                "unknown kernel {other:?} (bilinear, nearest, flux)"
            )),
        }
    }
}

type Tile = Arc<Option<Vec<f32>>>;

/// Tiles used by one cutout, so that each is looked up in the shared cache once.
struct LocalTiles<'a> {
    store: &'a TileStore,
    survey: &'a Survey,
    order: u8,
    tiles: HashMap<u64, Tile>,
}

impl LocalTiles<'_> {
    fn tile(&mut self, npix: u64) -> Result<&Tile, CutoutError> {
        if !self.tiles.contains_key(&npix) {
            let t = self.store.tile(self.survey, self.order, npix)?;
            self.tiles.insert(npix, t);
        }
        Ok(&self.tiles[&npix])
    }
}

/// NaN-aware bilinear inside one tile at continuous in-tile position (u, v) (pixel centres at
/// +0.5). The nearest pixel must hold data (so blank areas do not grow); the other weights are
/// renormalised over pixels with data. Requires 0.5 ≤ u, v < W − 0.5.
#[inline]
fn bilinear_in_tile(data: &[f32], w: usize, u: f64, v: f64) -> f32 {
    let (fu, fv) = (u - 0.5, v - 0.5);
    let (x0, y0) = (fu as usize, fv as usize);
    let nearest = data[fits_index(w, u as usize, v as usize)];
    if nearest.is_nan() {
        return f32::NAN;
    }
    let neighbours = bilinear_weights(fu - x0 as f64, fv - y0 as f64)
        .into_iter()
        .map(|(dx, dy, wt)| (data[fits_index(w, x0 + dx, y0 + dy)], wt));
    weighted_mean_of_valid(neighbours).unwrap_or(nearest)
}

/// The sampler of one cutout: grid → HiPS at one order.
struct Sampler<'a> {
    grid: &'a Grid,
    layer: &'static nested::Layer,
    width: usize,
    depth: u8,
    to_hips: FrameChange,
}

impl Sampler<'_> {
    /// Sky position (HiPS frame, radians) of grid pixel (x, y), 0-based, fractional.
    #[inline]
    fn lonlat(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let v = self.grid.wcs.pixel_to_xyz(x + 1.0, y + 1.0)?;
        Some(xyz_to_lonlat(self.to_hips.apply(v)))
    }

    /// Tile and continuous in-tile position of grid pixel (x, y).
    #[inline]
    fn locate(&self, x: f64, y: f64) -> Option<(u64, f64, f64)> {
        let (lon, lat) = self.lonlat(x, y)?;
        let (hash, dx, dy) = self.layer.hash_with_dxdy(lon, lat);
        Some((hash, dx * self.width as f64, dy * self.width as f64))
    }

    /// The tile and in-tile interpolation of the block with corners (ax, ay) and (cx, cy), when
    /// all four corners and the centre fall in one tile, a pixel away from its edges (so that
    /// bilinear neighbours stay inside), and the interpolation matches the exact centre.
    fn block_quad(&self, ax: f64, ay: f64, cx: f64, cy: f64) -> Option<(u64, Quad)> {
        let corners = [
            self.locate(ax, ay)?,
            self.locate(cx, ay)?,
            self.locate(ax, cy)?,
            self.locate(cx, cy)?,
        ];
        let tile = corners[0].0;
        if corners.iter().any(|c| c.0 != tile) {
            return None;
        }
        let quad = Quad::from_corners(corners.map(|(_, u, v)| Some((u, v))))?;
        let inside = |u: f64| u >= 1.0 && u < self.width as f64 - 1.0;
        let (centre_tile, u, v) = self.locate((ax + cx) / 2.0, (ay + cy) / 2.0)?;
        (quad.all_corners(|(u, v)| inside(u) && inside(v))
            && centre_tile == tile
            && quad.matches_centre(Some((u, v))))
        .then_some((tile, quad))
    }

    /// Exact value at grid position (x, y), reading across tiles as HEALPix neighbours need.
    fn exact(
        &self,
        tiles: &mut LocalTiles,
        x: f64,
        y: f64,
        kernel: Kernel,
    ) -> Result<f32, CutoutError> {
        let Some((lon, lat)) = self.lonlat(x, y) else {
            return Ok(f32::NAN);
        };
        let bits = 2 * (self.depth - tiles.order) as u32;
        let mut pixel = |hash: u64| -> Result<f32, CutoutError> {
            let tile = tiles.tile(hash >> bits)?;
            let s = hash & ((1u64 << bits) - 1);
            let (px, py) = crate::hips::layout::split_subindex(s);
            Ok(tile.as_ref().as_ref().map_or(f32::NAN, |d| {
                d[fits_index(self.width, px as usize, py as usize)]
            }))
        };
        let nearest = pixel(nested::hash(self.depth, lon, lat))?;
        if kernel == Kernel::Nearest || nearest.is_nan() {
            return Ok(nearest);
        }
        let mut neighbours = [(f32::NAN, 0.0); 4];
        for (slot, (hash, w)) in neighbours
            .iter_mut()
            .zip(nested::bilinear_interpolation(self.depth, lon, lat))
        {
            *slot = (pixel(hash)?, w);
        }
        Ok(weighted_mean_of_valid(neighbours).unwrap_or(nearest))
    }
}

/// Offsets of the sub-samples within a pixel for a kernel.
fn subsamples(kernel: Kernel) -> Vec<(f64, f64)> {
    if kernel != Kernel::Flux {
        return vec![(0.0, 0.0)];
    }
    let n = FLUX_SUBSAMPLES;
    let step = |i: usize| (i as f64 + 0.5) / n as f64 - 0.5;
    (0..n)
        .flat_map(|i| (0..n).map(move |j| (step(i), step(j))))
        .collect()
}

fn mean_of_finite(values: impl Iterator<Item = f32>) -> f32 {
    let (mut sum, mut n) = (0.0f64, 0usize);
    for v in values.filter(|v| !v.is_nan()) {
        sum += v as f64;
        n += 1;
    }
    if n == 0 {
        f32::NAN
    } else {
        (sum / n as f64) as f32
    }
}

/// Samples `survey` at tile order `order` onto `grid`; row-major from grid y = 1 (as a FITS
/// array), NaN where the HiPS has no data.
pub fn sample(
    store: &TileStore,
    survey: &Survey,
    grid: &Grid,
    order: u8,
    kernel: Kernel,
) -> Result<Vec<f32>, CutoutError> {
    let width = survey.hips.width;
    let bits = width.trailing_zeros() as u8;
    let sampler = Sampler {
        grid,
        layer: nested::get(order),
        width,
        depth: order + bits,
        to_hips: grid.wcs.frame.change_to(survey.hips.frame),
    };
    let mut tiles = LocalTiles {
        store,
        survey,
        order,
        tiles: HashMap::new(),
    };
    let (gw, gh) = (grid.width, grid.height);
    let mut out = vec![f32::NAN; gw * gh];
    let subs = subsamples(kernel);
    for by in (0..gh).step_by(BLOCK) {
        for bx in (0..gw).step_by(BLOCK) {
            let (x1, y1) = ((bx + BLOCK).min(gw) - 1, (by + BLOCK).min(gh) - 1);
            // Block corners a half pixel outside the pixel centres, so sub-samples stay inside.
            let (ax, ay, cx, cy) = (
                bx as f64 - 0.5,
                by as f64 - 0.5,
                x1 as f64 + 0.5,
                y1 as f64 + 0.5,
            );
            match sampler.block_quad(ax, ay, cx, cy) {
                Some((tile, quad)) => {
                    let tile = tiles.tile(tile)?.clone();
                    let Some(data) = tile.as_ref() else { continue };
                    let (sx, sy) = (cx - ax, cy - ay);
                    for y in by..=y1 {
                        for x in bx..=x1 {
                            let value = |(ox, oy): &(f64, f64)| {
                                let (u, v) =
                                    quad.at((x as f64 + ox - ax) / sx, (y as f64 + oy - ay) / sy);
                                match kernel {
                                    Kernel::Nearest => {
                                        data[fits_index(width, u as usize, v as usize)]
                                    }
                                    _ => bilinear_in_tile(data, width, u, v),
                                }
                            };
                            out[y * gw + x] = if subs.len() == 1 {
                                value(&subs[0])
                            } else {
                                mean_of_finite(subs.iter().map(value))
                            };
                        }
                    }
                }
                None => {
                    for y in by..=y1 {
                        for x in bx..=x1 {
                            let mut values = Vec::with_capacity(subs.len());
                            for (ox, oy) in &subs {
                                values.push(sampler.exact(
                                    &mut tiles,
                                    x as f64 + ox,
                                    y as f64 + oy,
                                    kernel,
                                )?);
                            }
                            out[y * gw + x] = mean_of_finite(values.into_iter());
                        }
                    }
                }
            }
        }
    }
    Ok(out)
}
