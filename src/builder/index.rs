//! The spatial index: which max-order tiles each input image touches, so that each tile
//! reads only the images that overlap it.

use std::collections::{BTreeMap, BTreeSet};

use cdshealpix::nested;

use super::inputs::SourceImage;
use crate::hips::geometry::cell_size_deg;
use crate::wcs::frame::xyz_to_lonlat;

/// Tile → the images (indices into the input list, in input order) that may cover it.
pub type TileIndex = BTreeMap<u64, Vec<u32>>;

/// Tiles touched by one image: pixel positions sampled at a quarter of a tile across the whole
/// image (edges included), hashed, plus the neighbours of each hit so that a tile clipped only
/// at a corner is not missed. Extra tiles cost one quick empty resampling each. An image with
/// a `.fov` mask is sampled inside the mask and along its outline only.
pub fn tiles_of_image(image: &SourceImage, order: u8) -> BTreeSet<u64> {
    let scale = image.wcs.pixel_scale_deg().max(1e-12);
    let step = (cell_size_deg(order) / 4.0 / scale).clamp(0.25, 1e6);
    let (w, h) = (image.hdu.width as f64, image.hdu.height as f64);
    // The sampled box, in FITS pixel coordinates (edges of the outer pixels).
    let (x0, x1, y0, y1) = match &image.fov {
        None => (0.5, w + 0.5, 0.5, h + 0.5),
        Some(fov) => {
            let (a, b, c, d) = fov.bounds();
            (a.max(0.5), b.min(w + 0.5), c.max(0.5), d.min(h + 0.5))
        }
    };
    let samples = |lo: f64, hi: f64| -> Vec<f64> {
        let len = (hi - lo).max(0.0);
        let n = ((len / step).ceil() as usize).max(1);
        (0..=n).map(|i| lo + len * i as f64 / n as f64).collect()
    };
    let ys = samples(y0, y1);
    let mut points: Vec<(f64, f64)> = samples(x0, x1)
        .into_iter()
        .flat_map(|px| ys.iter().map(move |&py| (px, py)))
        .filter(|&(px, py)| image.fov.as_ref().is_none_or(|f| f.contains(px, py)))
        .collect();
    if let Some(fov) = &image.fov {
        let inside =
            |&(px, py): &(f64, f64)| px >= 0.5 && px <= w + 0.5 && py >= 0.5 && py <= h + 0.5;
        points.extend(fov.outline(step).into_iter().filter(inside));
    }
    let layer = nested::get(order);
    let mut hit = BTreeSet::new();
    for (px, py) in points {
        let Some(v) = image.pixel_to_hips(px, py) else {
            continue;
        };
        let (lon, lat) = xyz_to_lonlat(v);
        hit.insert(layer.hash(lon, lat));
    }
    let mut tiles = BTreeSet::new();
    for &t in &hit {
        tiles.extend(layer.neighbours(t, true).values_vec());
    }
    tiles
}

/// The index of all images at `order`.
pub fn build_index(images: &[SourceImage], order: u8) -> TileIndex {
    use rayon::prelude::*;
    let per_image: Vec<BTreeSet<u64>> = images
        .par_iter()
        .map(|im| tiles_of_image(im, order))
        .collect();
    let mut index = TileIndex::new();
    for (i, tiles) in per_image.into_iter().enumerate() {
        for t in tiles {
            index.entry(t).or_default().push(i as u32);
        }
    }
    index
}
