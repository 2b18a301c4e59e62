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
/// at a corner is not missed. Extra tiles cost one quick empty resampling each.
pub fn tiles_of_image(image: &SourceImage, order: u8) -> BTreeSet<u64> {
    let scale = image.wcs.pixel_scale_deg().max(1e-12);
    let step = (cell_size_deg(order) / 4.0 / scale).clamp(0.25, 1e6);
    let (w, h) = (image.hdu.width as f64, image.hdu.height as f64);
    let samples = |len: f64| -> Vec<f64> {
        let n = (len / step).ceil() as usize;
        (0..=n).map(|i| 0.5 + len * i as f64 / n as f64).collect()
    };
    let layer = nested::get(order);
    let mut hit = BTreeSet::new();
    let ys = samples(h);
    for px in samples(w) {
        for &py in &ys {
            let Some(v) = image.pixel_to_hips(px, py) else {
                continue;
            };
            let (lon, lat) = xyz_to_lonlat(v);
            hit.insert(layer.hash(lon, lat));
        }
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
