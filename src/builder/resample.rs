//! Resampling input images onto one max-order tile and coadding them.
//!
//! Speed by design: the exact sky → source-pixel transform (HEALPix cell → sphere → WCS) runs
//! only at the corners of blocks of [`BLOCK`] HiPS pixels; inside a block, source positions
//! come from a checked [`Quad`] (see [`crate::interp`]). The error against the exact transform
//! is measured on real headers in `tests/resample_grid.rs`.

use cdshealpix::nested::{self, Layer};

use super::inputs::SourceImage;
use crate::hips::layout::fits_index;
use crate::interp::{bilinear_weights, weighted_mean_of_valid, Quad, BLOCK};
use crate::wcs::frame::lonlat_to_xyz;

/// How a source value is read at a fractional pixel position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Interpolation {
    /// Bilinear between the four nearest source pixels (blanks left out).
    #[default]
    Bilinear,
    /// The source pixel that contains the position.
    Nearest,
}

/// How overlapping images combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Coadd {
    /// Plain mean of the images that cover a pixel.
    #[default]
    Mean,
    /// The first image (in input order) that covers a pixel wins.
    First,
    /// Mean weighted by the distance to each image's edge, so overlaps blend without seams.
    Fading,
}

/// How source images are sampled onto a tile.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sampling {
    /// How a value is read at a fractional source pixel.
    pub interpolation: Interpolation,
    /// How overlapping images combine.
    pub coadd: Coadd,
    /// Pixels ignored along every image edge.
    pub border: usize,
}

/// An input image's pixels (row-major from FITS y = 1, blanks as NaN) with its geometry.
pub struct SourcePixels<'a> {
    /// The image and its WCS.
    pub image: &'a SourceImage,
    /// Its pixels, `width × height`, row-major from FITS y = 1, blanks as NaN.
    pub data: &'a [f32],
}

impl SourcePixels<'_> {
    /// Value at FITS pixel (px, py) (1-based centres) and the coadd weight there, or `None`
    /// where the image has no valid data: outside it, in the border, or on a blank nearest pixel.
    #[inline]
    fn sample(&self, px: f64, py: f64, s: &Sampling) -> Option<(f32, f32)> {
        let (w, h) = (self.image.hdu.width, self.image.hdu.height);
        let (fx, fy) = (px - 1.0, py - 1.0);
        // An image narrower than twice the border has no valid pixel (the range is empty).
        let (lo, hi_x, hi_y) = (
            s.border as f64 - 0.5,
            w.saturating_sub(s.border) as f64 - 0.5,
            h.saturating_sub(s.border) as f64 - 0.5,
        );
        if !(fx >= lo && fx < hi_x && fy >= lo && fy < hi_y) {
            return None;
        }
        let (ix, iy) = ((fx + 0.5) as usize, (fy + 0.5) as usize);
        let nearest = self.data[iy * w + ix];
        if nearest.is_nan() {
            return None;
        }
        let value = match s.interpolation {
            Interpolation::Nearest => nearest,
            Interpolation::Bilinear => self.bilinear(fx, fy, s.border).unwrap_or(nearest),
        };
        let weight = match s.coadd {
            Coadd::Fading => (fx - lo)
                .min(hi_x - fx)
                .min(fy - lo)
                .min(hi_y - fy)
                .max(1e-3) as f32,
            _ => 1.0,
        };
        Some((value, weight))
    }

    /// Bilinear interpolation over the valid (in-border, non-blank) neighbours, weights renormalised.
    #[inline]
    fn bilinear(&self, fx: f64, fy: f64, border: usize) -> Option<f32> {
        let (w, h) = (
            self.image.hdu.width as isize,
            self.image.hdu.height as isize,
        );
        // fx, fy > -1 here, so shifting by one makes truncation a floor (no libm call).
        let (x0, y0) = ((fx + 1.0) as isize - 1, (fy + 1.0) as isize - 1);
        let b = border as isize;
        // Fast path, almost every pixel: four interior neighbours, none blank.
        if x0 >= b && y0 >= b && x0 + 1 < w - b && y0 + 1 < h - b {
            let i = (y0 * w + x0) as usize;
            let (p00, p10) = (self.data[i], self.data[i + 1]);
            let (p01, p11) = (self.data[i + w as usize], self.data[i + w as usize + 1]);
            if !(p00.is_nan() || p10.is_nan() || p01.is_nan() || p11.is_nan()) {
                let (tx, ty) = ((fx - x0 as f64) as f32, (fy - y0 as f64) as f32);
                let bottom = p00 + (p10 - p00) * tx;
                let top = p01 + (p11 - p01) * tx;
                return Some(bottom + (top - bottom) * ty);
            }
        }
        let valid = bilinear_weights(fx - x0 as f64, fy - y0 as f64)
            .into_iter()
            .filter_map(|(dx, dy, wt)| {
                let (x, y) = (x0 + dx as isize, y0 + dy as isize);
                (x >= b && y >= b && x < w - b && y < h - b)
                    .then(|| (self.data[(y * w + x) as usize], wt))
            });
        weighted_mean_of_valid(valid)
    }
}

/// Sky position (unit vector, HiPS frame) of the in-tile continuous coordinate (u, v), in
/// HiPS pixels along the tile's x (even bits) and y (odd bits) axes.
#[inline]
fn tile_point(layer: &Layer, tile: u64, width: usize, u: f64, v: f64) -> [f64; 3] {
    // cdshealpix takes offsets in [0, 1); the far edges (u or v = W) are nudged inside by
    // 1e-12 of a tile, far below any precision that matters here.
    let edge = 1.0 - 1e-12;
    let (lon, lat) = layer.sph_coo(
        tile,
        (u / width as f64).min(edge),
        (v / width as f64).min(edge),
    );
    lonlat_to_xyz(lon, lat)
}

/// How source positions are found for a tile's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Positions {
    /// Exact transform on the coarse grid, checked bilinear interpolation inside (the default).
    Grid,
    /// Exact transform for every pixel (reference for tests).
    Exact,
}

/// The exact map from continuous in-tile coordinates of one tile to an image's source pixels.
struct TileToImage<'a> {
    layer: &'static Layer,
    tile: u64,
    width: usize,
    image: &'a SourceImage,
}

/// What to do with one block of a tile's pixels.
enum BlockPlan {
    /// No pixel of the block can reach the image.
    Skip,
    /// The exact transform for every pixel (projection edges, frame seams).
    Exact,
    /// The checked interpolation between the block's corners.
    Interpolate(Quad),
}

impl TileToImage<'_> {
    /// Source pixel at in-tile coordinates (u, v) (pixel centres at +0.5), exactly.
    #[inline]
    fn at(&self, u: f64, v: f64) -> Option<(f64, f64)> {
        self.image
            .hips_to_pixel(tile_point(self.layer, self.tile, self.width, u, v))
    }

    /// The plan for the block of `step`² pixels whose lower corner is (x0, y0), given the
    /// exact positions of its four corners.
    fn plan(
        &self,
        corners: [Option<(f64, f64)>; 4],
        x0: usize,
        y0: usize,
        step: usize,
    ) -> BlockPlan {
        if corners.iter().all(Option::is_none) {
            return BlockPlan::Skip;
        }
        let Some(quad) = Quad::from_corners(corners) else {
            return BlockPlan::Exact;
        };
        let (w, h) = (self.image.hdu.width as f64, self.image.hdu.height as f64);
        let (min_x, max_x, min_y, max_y) = quad.bounds();
        // A block this far outside the image has no pixel in it (blocks are nearly
        // parallelograms; the margin covers their curvature).
        let margin = 0.25 * ((max_x - min_x) + (max_y - min_y)) + 2.0;
        if max_x < 0.5 - margin
            || min_x > w + 0.5 + margin
            || max_y < 0.5 - margin
            || min_y > h + 0.5 + margin
        {
            return BlockPlan::Skip;
        }
        let half = step as f64 / 2.0;
        if quad.matches_centre(self.at(x0 as f64 + half, y0 as f64 + half)) {
            BlockPlan::Interpolate(quad)
        } else {
            BlockPlan::Exact
        }
    }
}

/// Source FITS pixel (1-based) of every pixel of `tile`, in FITS storage layout; NaN where
/// the projection does not reach or, in `Grid` mode, where a block lies wholly outside
/// the image. Empty when no pixel of the tile has a position.
pub fn source_positions(
    order: u8,
    tile: u64,
    width: usize,
    image: &SourceImage,
    mode: Positions,
) -> Vec<[f64; 2]> {
    let map = TileToImage {
        layer: nested::get(order),
        tile,
        width,
        image,
    };
    let exact_at = |x: usize, y: usize| map.at(x as f64 + 0.5, y as f64 + 0.5);
    // Allocated at the first position found: tiles listed for an image only as a neighbour of
    // its footprint cost no 4 MB array and no pass over it.
    let mut out: Vec<[f64; 2]> = Vec::new();
    let mut put = |x: usize, y: usize, p: Option<(f64, f64)>| {
        if let Some((px, py)) = p {
            if out.is_empty() {
                out = vec![[f64::NAN; 2]; width * width];
            }
            out[fits_index(width, x, y)] = [px, py];
        }
    };
    let step = if mode == Positions::Exact {
        1
    } else {
        BLOCK.min(width)
    };
    let blocks = width / step;
    // Block corners are shared by up to four blocks: each is projected once.
    let nodes: Vec<Option<(f64, f64)>> = match mode {
        Positions::Exact => Vec::new(),
        Positions::Grid => (0..=blocks)
            .flat_map(|i| (0..=blocks).map(move |j| (i, j)))
            .map(|(i, j)| map.at((i * step) as f64, (j * step) as f64))
            .collect(),
    };
    let node = |i: usize, j: usize| nodes[i * (blocks + 1) + j];
    for bi in 0..blocks {
        for bj in 0..blocks {
            let (x0, y0) = (bi * step, bj * step);
            let pixels = (x0..x0 + step).flat_map(|x| (y0..y0 + step).map(move |y| (x, y)));
            let plan = match mode {
                Positions::Exact => BlockPlan::Exact,
                Positions::Grid => {
                    let corners = [
                        node(bi, bj),
                        node(bi + 1, bj),
                        node(bi, bj + 1),
                        node(bi + 1, bj + 1),
                    ];
                    map.plan(corners, x0, y0, step)
                }
            };
            match plan {
                BlockPlan::Skip => {}
                BlockPlan::Exact => pixels.for_each(|(x, y)| put(x, y, exact_at(x, y))),
                BlockPlan::Interpolate(quad) => {
                    for (x, y) in pixels {
                        let s = ((x - x0) as f64 + 0.5) / step as f64;
                        let t = ((y - y0) as f64 + 0.5) / step as f64;
                        put(x, y, Some(quad.at(s, t)));
                    }
                }
            }
        }
    }
    out
}

/// Resamples and coadds `sources` (in input order) onto tile `tile` at `order`. Returns the
/// tile in FITS storage layout, or `None` when no pixel received data.
pub fn resample_tile(
    order: u8,
    tile: u64,
    width: usize,
    sources: &[SourcePixels],
    s: &Sampling,
) -> Option<Vec<f32>> {
    let n = width * width;
    let mut sum = vec![0f64; n];
    let mut weight = vec![0f32; n];
    for src in sources {
        let positions = source_positions(order, tile, width, src.image, Positions::Grid);
        for (k, &[px, py]) in positions.iter().enumerate() {
            if px.is_nan() {
                continue;
            }
            let Some((value, w)) = src.sample(px, py, s) else {
                continue;
            };
            if s.coadd == Coadd::First {
                if weight[k] == 0.0 {
                    sum[k] = value as f64;
                    weight[k] = 1.0;
                }
            } else {
                sum[k] += value as f64 * w as f64;
                weight[k] += w;
            }
        }
    }
    let mut any = false;
    let out = sum
        .iter()
        .zip(&weight)
        .map(|(&s, &w)| {
            if w > 0.0 {
                any = true;
                (s / w as f64) as f32
            } else {
                f32::NAN
            }
        })
        .collect();
    any.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hips::layout::join_subindex;

    #[test]
    fn tile_points_are_healpix_pixel_centres() {
        // sph_coo's dx runs along the even bits (x), dy along the odd bits (y).
        let (order, tile, width) = (6u8, 12_345u64, 64usize);
        let layer = nested::get(order);
        for (x, y) in [(0usize, 0usize), (63, 0), (0, 63), (10, 47), (31, 32)] {
            let v = tile_point(layer, tile, width, x as f64 + 0.5, y as f64 + 0.5);
            let hash = tile * (width * width) as u64 + join_subindex(x as u32, y as u32);
            let (lon, lat) = nested::center(order + 6, hash);
            let c = lonlat_to_xyz(lon, lat);
            let d = ((v[0] - c[0]).powi(2) + (v[1] - c[1]).powi(2) + (v[2] - c[2]).powi(2)).sqrt();
            assert!(d < 1e-12, "({x}, {y}): {d}");
        }
    }
}
