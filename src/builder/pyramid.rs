//! TILES and TREE together: the pyramid is built subtree by subtree. Each task owns the
//! max-order tiles under one tile of a coarser order, computes them in nested order and makes
//! their parents from the children still in memory, so nothing is read back from disk and a
//! task holds at most three pending siblings per level. Orders above the subtree roots (a
//! handful of tiles) are then made from the roots on disk.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use super::cache::ImageCache;
use super::index::TileIndex;
use super::inputs::SourceImage;
use super::resample::{resample_tile, SourcePixels};
use super::{finite_range, merge_range, read_tile, write_atomic, BuildError, BuildOptions};
use crate::fits::write::{encode_image, Encoding};
use crate::hips::geometry::coverage_cells;
use crate::hips::layout::{tile_header_cards, tile_path};
use crate::hips::pixels::{child_origin, paste, shrink};

/// Shared state of the pyramid workers.
pub struct Pyramid<'a> {
    /// What the build was told.
    pub options: &'a BuildOptions,
    /// The inputs, indexed by the numbers in `index`.
    pub images: &'a [SourceImage],
    /// Max-order tile → the images that may cover it.
    pub index: &'a TileIndex,
    /// Decoded input pixels shared by the workers.
    pub cache: ImageCache<'a>,
    /// How tile values are stored.
    pub encoding: Encoding,
    /// Max order: the order of the tiles that are resampled.
    pub order: u8,
    /// MOC depth minus tile order.
    pub moc_delta: u8,
    /// Bytes of FITS tiles written so far (for `hips_estsize`).
    pub bytes_written: AtomicU64,
    /// Input read failures met during TILES, each once.
    pub read_errors: Mutex<Vec<String>>,
    /// TILES progress bar (hidden unless verbose).
    pub progress: indicatif::ProgressBar,
}

/// What a subtree produced.
#[derive(Default)]
pub struct Produced {
    /// Every tile written, as (order, npix).
    pub tiles: Vec<(u8, u64)>,
    /// MOC cells as (depth, index).
    pub moc_cells: Vec<(u8, u64)>,
    /// Finite (min, max) of the max-order tiles of the subtree.
    pub range: Option<(f32, f32)>,
}

impl Produced {
    fn absorb(&mut self, other: Produced) {
        self.tiles.extend(other.tiles);
        self.moc_cells.extend(other.moc_cells);
        self.range = merge_range(self.range, other.range);
    }
}

impl Pyramid<'_> {
    /// Writes a tile, leaving in `data` the values a reader gets back (integer BITPIX
    /// quantises), so that parents are the same whether children were computed or resumed.
    fn write(&self, order: u8, npix: u64, data: &mut [f32]) -> Result<(), BuildError> {
        self.encoding.round_trip(data);
        let width = self.options.tile_width;
        let bytes = encode_image(
            width,
            width,
            data,
            self.encoding,
            &tile_header_cards(order, npix, width, self.options.frame),
        );
        self.bytes_written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        write_atomic(&tile_path(&self.options.out, order, npix, "fits"), &bytes)
    }

    /// One max-order tile: read back when resuming and already complete, else resampled.
    fn leaf(
        &self,
        npix: u64,
        sources: &[u32],
        out: &mut Produced,
    ) -> Result<Option<Vec<f32>>, BuildError> {
        let o = self.options;
        let path = tile_path(&o.out, self.order, npix, "fits");
        let data = if o.resume && path.exists() {
            // A tile kept from the interrupted run counts in hips_estsize like a new one.
            let kept = std::fs::metadata(&path).map_or(0, |m| m.len());
            self.bytes_written.fetch_add(kept, Ordering::Relaxed);
            Some(read_tile(&path, o.tile_width)?)
        } else {
            let pixels: Vec<(u32, Arc<Vec<f32>>)> = sources
                .iter()
                .filter_map(|&i| match self.cache.get(i) {
                    Ok(p) => Some((i, p)),
                    Err(e) => {
                        let mut errors = self.read_errors.lock().expect("lock");
                        if !errors.contains(&e) {
                            errors.push(e);
                        }
                        None
                    }
                })
                .collect();
            let sources: Vec<SourcePixels> = pixels
                .iter()
                .map(|(i, p)| SourcePixels {
                    image: &self.images[*i as usize],
                    data: p,
                })
                .collect();
            let mut data = resample_tile(self.order, npix, o.tile_width, &sources, &o.sampling);
            if let Some(d) = &mut data {
                self.write(self.order, npix, d)?;
            }
            data
        };
        self.progress.inc(1);
        if let Some(d) = &data {
            out.tiles.push((self.order, npix));
            out.moc_cells.extend(coverage_cells(
                self.order,
                npix,
                d,
                o.tile_width,
                self.moc_delta,
            ));
            out.range = merge_range(out.range, finite_range(d));
        }
        Ok(data)
    }

    /// Parent tile from up to four children (index i = child nested index mod 4).
    fn combine(&self, children: [Option<Vec<f32>>; 4]) -> Vec<f32> {
        let width = self.options.tile_width;
        let mut data = vec![f32::NAN; width * width];
        for (i, child) in children.iter().enumerate() {
            if let Some(c) = child {
                let (row0, col0) = child_origin(i, width);
                paste(
                    &mut data,
                    width,
                    row0,
                    col0,
                    &shrink(c, width, 2, self.options.tree),
                    width / 2,
                );
            }
        }
        data
    }

    /// Builds and writes tile `npix` at `order` and everything under it; `None` when no
    /// max-order tile below has data.
    pub fn subtree(
        &self,
        order: u8,
        npix: u64,
        out: &mut Produced,
    ) -> Result<Option<Vec<f32>>, BuildError> {
        let shift = 2 * (self.order - order) as u32;
        let mut below = self
            .index
            .range(npix << shift..(npix + 1) << shift)
            .peekable();
        if below.peek().is_none() {
            return Ok(None);
        }
        if order == self.order {
            let (_, sources) = below.next().expect("peeked");
            return self.leaf(npix, sources, out);
        }
        let mut children: [Option<Vec<f32>>; 4] = Default::default();
        for (i, child) in children.iter_mut().enumerate() {
            *child = self.subtree(order + 1, (npix << 2) | i as u64, out)?;
        }
        if children.iter().all(Option::is_none) {
            return Ok(None);
        }
        let mut data = self.combine(children);
        self.write(order, npix, &mut data)?;
        out.tiles.push((order, npix));
        Ok(Some(data))
    }

    /// Builds the whole pyramid down to `min_order`.
    pub fn run(&self, min_order: u8) -> Result<Produced, BuildError> {
        let root_order = self.root_order(min_order);
        let shift = 2 * (self.order - root_order) as u32;
        let mut roots: Vec<u64> = self.index.keys().map(|t| t >> shift).collect();
        roots.dedup();
        let mut produced = roots
            .par_iter()
            .map(|&root| {
                let mut out = Produced::default();
                self.subtree(root_order, root, &mut out)?;
                Ok::<_, BuildError>(out)
            })
            .try_reduce(Produced::default, |mut a, b| {
                a.absorb(b);
                Ok(a)
            })?;
        // Orders above the roots: few tiles, made from their children on disk.
        for order in (min_order..root_order).rev() {
            let children: HashSet<u64> = produced
                .tiles
                .iter()
                .filter(|(k, _)| *k == order + 1)
                .map(|(_, n)| *n)
                .collect();
            let mut parents: Vec<u64> = children.iter().map(|n| n >> 2).collect();
            parents.sort_unstable();
            parents.dedup();
            parents.par_iter().try_for_each(|&p| {
                let mut kids: [Option<Vec<f32>>; 4] = Default::default();
                for (i, kid) in kids.iter_mut().enumerate() {
                    let child = (p << 2) | i as u64;
                    if children.contains(&child) {
                        *kid = Some(read_tile(
                            &tile_path(&self.options.out, order + 1, child, "fits"),
                            self.options.tile_width,
                        )?);
                    }
                }
                self.write(order, p, &mut self.combine(kids))
            })?;
            produced
                .tiles
                .extend(parents.into_iter().map(|p| (order, p)));
        }
        Ok(produced)
    }

    /// The coarsest order whose tiles still give every worker thread many subtrees (so the
    /// uneven ones balance out), at most 3 orders above the leaves (up to 64 leaves each).
    fn root_order(&self, min_order: u8) -> u8 {
        let wanted = 32 * rayon::current_num_threads();
        let mut root = self.order;
        while root > min_order && self.order - root < 3 {
            let shift = 2 * (self.order - root + 1) as u32;
            let mut parents: Vec<u64> = self.index.keys().map(|t| t >> shift).collect();
            parents.dedup();
            if parents.len() < wanted {
                break;
            }
            root -= 1;
        }
        root
    }
}
