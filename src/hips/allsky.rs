//! `Norder3/Allsky.*`: the 768 order-3 tiles shrunk and packed 27 per row, tile n at column
//! n % 27, row n / 27 of the picture read top-down. In FITS storage the whole picture is
//! flipped like every tile, so each shrunk tile keeps its own storage rows, placed from the
//! bottom: tile row r starts at stored row H − (r + 1)·w.

use super::pixels::{paste, shrink, Reducer};

/// The order whose tiles make up `Norder3/Allsky.*` (HiPS 1.0).
pub const ALLSKY_ORDER: u8 = 3;
const TILES: usize = 768;
const PER_ROW: usize = 27;
const ROWS: usize = TILES.div_ceil(PER_ROW);

/// Width of one thumbnail for tiles of `tile_width` (64 for 512).
pub fn thumbnail_width(tile_width: usize) -> usize {
    (tile_width / 8).max(1)
}

/// The packed Allsky array (`width`, `height`, data in FITS storage order) from order-3 tiles.
pub fn pack_fits(
    tile_width: usize,
    tiles: impl IntoIterator<Item = (u64, Vec<f32>)>,
) -> (usize, usize, Vec<f32>) {
    let w = thumbnail_width(tile_width);
    let (width, height) = (PER_ROW * w, ROWS * w);
    let mut out = vec![f32::NAN; width * height];
    for (npix, data) in tiles {
        let n = npix as usize;
        let thumb = shrink(&data, tile_width, tile_width / w, Reducer::Mean);
        let (col, row) = (n % PER_ROW, n / PER_ROW);
        paste(&mut out, width, height - (row + 1) * w, col * w, &thumb, w);
    }
    (width, height, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_placement() {
        let mut tile = vec![1.0f32; 16 * 16];
        tile[0] = 5.0; // first stored pixel: bottom-left of the tile
        let (w, h, data) = pack_fits(16, [(28u64, tile)]);
        assert_eq!((w, h), (27 * 2, 29 * 2));
        // Tile 28 → column 1, row 1 from the top → stored rows h-4 .. h-2, columns 2..4.
        let idx = (h - 4) * w + 2;
        assert_eq!(data[idx], (5.0 + 63.0) / 64.0);
        assert_eq!(data[idx + 1], 1.0);
        assert!(data[0].is_nan());
    }
}
