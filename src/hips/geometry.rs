//! HEALPix geometry that every stage shares: cell sizes, the choice of order for a pixel
//! scale, and the MOC cells of a tile.

use super::layout::split_subindex;

/// Deepest HEALPix depth (order + log2 tile width) that 64-bit nested indices reach.
pub const MAX_DEPTH: u8 = 29;

/// Angular size (degrees) of a HEALPix cell at `depth`: the square root of its area.
///
/// ```
/// use hipsforge::hips::geometry::cell_size_deg;
/// // Order 0 cells are 1/12 of the sky: 58.6°.
/// assert!((cell_size_deg(0) - 58.6323).abs() < 1e-4);
/// // Each depth halves the size.
/// assert!((cell_size_deg(10) * 1024.0 - cell_size_deg(0)).abs() < 1e-9);
/// ```
pub fn cell_size_deg(depth: u8) -> f64 {
    (4.0 * std::f64::consts::PI / (12.0 * 4f64.powi(depth as i32)))
        .sqrt()
        .to_degrees()
}

/// The shallowest tile order in `orders` whose HiPS pixels (tiles of `2^width_bits` pixels)
/// are not coarser than `pixel_deg`; the deepest order of the range when none is fine enough.
/// The builder picks its order with it, and readers pick the order to read a cutout from.
///
/// ```
/// use hipsforge::hips::geometry::order_for_pixel_scale;
/// // 1″ pixels with 512-pixel tiles: order 9 (0.805″ HiPS pixels), as Hipsgen picks.
/// assert_eq!(order_for_pixel_scale(1.0 / 3600.0, 9, 3..=20), 9);
/// // Coarser than the whole range allows: its first order; finer: its last.
/// assert_eq!(order_for_pixel_scale(1.0, 9, 3..=20), 3);
/// assert_eq!(order_for_pixel_scale(1e-9, 9, 3..=11), 11);
/// ```
pub fn order_for_pixel_scale(
    pixel_deg: f64,
    width_bits: u8,
    orders: std::ops::RangeInclusive<u8>,
) -> u8 {
    let deepest = *orders.end();
    orders
        .into_iter()
        .find(|&k| cell_size_deg(k + width_bits) <= pixel_deg)
        .unwrap_or(deepest)
}

/// The depth of the MOC cells written for tiles of `order`: up to 4 levels below the tiles
/// (32×32-pixel blocks of 512-pixel tiles).
pub fn moc_depth(order: u8, width_bits: u8) -> u8 {
    (order + width_bits.min(4)).min(MAX_DEPTH)
}

/// MOC cells of a tile in FITS storage layout: the tile itself (at its order) when every block
/// holds data, else its non-blank blocks `delta` orders deeper. Cells are (depth, index) so
/// that the memory of a build grows with the survey's edges, not its area.
pub fn coverage_cells(
    order: u8,
    tile: u64,
    data: &[f32],
    width: usize,
    delta: u8,
) -> Vec<(u8, u64)> {
    let blocks = 1usize << delta;
    let b = width / blocks;
    let mut cells = Vec::new();
    for s in 0..(blocks * blocks) as u64 {
        let (bx, by) = split_subindex(s);
        let (x0, y0) = (bx as usize * b, by as usize * b);
        let any = (x0..x0 + b).any(|x| {
            let row = width - 1 - x;
            data[row * width + y0..row * width + y0 + b]
                .iter()
                .any(|v| !v.is_nan())
        });
        if any {
            cells.push((order + delta, (tile << (2 * delta)) | s));
        }
    }
    if cells.len() == blocks * blocks {
        return vec![(order, tile)];
    }
    cells
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_choice_matches_the_reference_generator() {
        // Hipsgen picks order 9 for 1″/px with 512-pixel tiles (HiPS pixel 0.805″).
        assert_eq!(order_for_pixel_scale(1.0 / 3600.0, 9, 3..=20), 9);
        assert!((cell_size_deg(18) * 3600.0 - 0.805).abs() < 1e-3);
        // FIRST (1.8″): order 8 (1.61″). ROSAT (0.675°): clamped to the minimum.
        assert_eq!(order_for_pixel_scale(1.8 / 3600.0, 9, 3..=20), 8);
        assert_eq!(order_for_pixel_scale(0.675, 9, 3..=20), 3);
    }

    #[test]
    fn coverage_cells_mark_blocks_with_data() {
        let width = 8;
        let mut data = vec![f32::NAN; 64];
        // Pixel (x=7, y=0): column 0, row 0.
        data[0] = 1.0;
        let cells = coverage_cells(9, 5, &data, width, 2);
        // Block (bx=3, by=0) → sub-index join(3, 0) = 0b0101 = 5.
        assert_eq!(cells, vec![(11, (5 << 4) | 5)]);
        // A full tile is one cell at its own order.
        assert_eq!(coverage_cells(9, 5, &[1.0; 64], width, 2), vec![(9, 5)]);
    }
}
