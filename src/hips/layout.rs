//! Where HiPS tiles live and how HEALPix pixels sit inside them (HiPS 1.0, section 4; the
//! in-tile layout checked against astropy-healpix in tests/tile_layout.rs).

use std::path::{Path, PathBuf};

use crate::fits::write::{Card, CardValue};

/// `root/Norder{order}/Dir{D}/Npix{npix}.{ext}` with `D = (npix / 10000) * 10000`.
///
/// ```
/// use std::path::{Path, PathBuf};
/// use hipsforge::hips::layout::tile_path;
///
/// assert_eq!(tile_path(Path::new("h"), 3, 42, "png"), PathBuf::from("h/Norder3/Dir0/Npix42.png"));
/// assert_eq!(
///     tile_path(Path::new("h"), 9, 123_456, "fits"),
///     PathBuf::from("h/Norder9/Dir120000/Npix123456.fits")
/// );
/// ```
pub fn tile_path(root: &Path, order: u8, npix: u64, ext: &str) -> PathBuf {
    root.join(format!("Norder{order}"))
        .join(format!("Dir{}", (npix / 10_000) * 10_000))
        .join(format!("Npix{npix}.{ext}"))
}

/// Spreads the bits of `v` to the even positions (bit i → bit 2i).
#[inline]
fn spread(mut v: u64) -> u64 {
    v &= 0xFFFF_FFFF;
    v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
    v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v << 2)) & 0x3333_3333_3333_3333;
    (v | (v << 1)) & 0x5555_5555_5555_5555
}

/// Gathers the even bits of `v` (bit 2i → bit i).
#[inline]
fn gather(mut v: u64) -> u64 {
    v &= 0x5555_5555_5555_5555;
    v = (v | (v >> 1)) & 0x3333_3333_3333_3333;
    v = (v | (v >> 2)) & 0x0F0F_0F0F_0F0F_0F0F;
    v = (v | (v >> 4)) & 0x00FF_00FF_00FF_00FF;
    v = (v | (v >> 8)) & 0x0000_FFFF_0000_FFFF;
    (v | (v >> 16)) & 0x0000_0000_FFFF_FFFF
}

/// In-tile sub-index `s` → `(x, y)`: x from the even bits, y from the odd bits.
///
/// ```
/// use hipsforge::hips::layout::{join_subindex, split_subindex};
///
/// // 0b1101: even bits 1, 1 → x = 3; odd bits 0, 1 → y = 2.
/// assert_eq!(split_subindex(0b1101), (3, 2));
/// assert_eq!(join_subindex(3, 2), 0b1101);
/// ```
#[inline]
pub fn split_subindex(s: u64) -> (u32, u32) {
    (gather(s) as u32, gather(s >> 1) as u32)
}

/// `(x, y)` → in-tile sub-index `s`: x into the even bits, y into the odd bits.
///
/// ```
/// use hipsforge::hips::layout::{join_subindex, split_subindex};
///
/// assert_eq!(join_subindex(1, 0), 1);
/// assert_eq!(join_subindex(0, 1), 2);
/// assert_eq!(split_subindex(join_subindex(5, 6)), (5, 6));
/// ```
#[inline]
pub fn join_subindex(x: u32, y: u32) -> u64 {
    spread(x as u64) | (spread(y as u64) << 1)
}

/// Index in a FITS tile array as stored (row-major, first stored row at the bottom) of the
/// pixel `(x, y)`: column `y`, row `W − 1 − x`.
///
/// ```
/// use hipsforge::hips::layout::fits_index;
///
/// assert_eq!(fits_index(4, 0, 0), 12); // row 3, column 0
/// assert_eq!(fits_index(4, 3, 0), 0); // the first stored value
/// assert_eq!(fits_index(4, 1, 2), 10); // row 2, column 2
/// ```
#[inline]
pub fn fits_index(width: usize, x: usize, y: usize) -> usize {
    (width - 1 - x) * width + y
}

/// HEALPix nested index (at order + log2 W) of the pixel at FITS column `col`, row `row` of
/// tile `npix`.
///
/// ```
/// use hipsforge::hips::layout::pixel_nested_index;
///
/// // Width 4: 16 pixels per tile, so tile 2 holds indices 32..48.
/// assert_eq!(pixel_nested_index(2, 4, 0, 3), 32); // top row, column 0: x = 0, y = 0
/// assert_eq!(pixel_nested_index(2, 4, 0, 0), 32 + 0b101); // bottom row: x = 3, y = 0
/// assert_eq!(pixel_nested_index(0, 4, 1, 3), 2); // x = 0, y = 1
/// ```
pub fn pixel_nested_index(npix: u64, width: usize, col: usize, row: usize) -> u64 {
    let (x, y) = ((width - 1 - row) as u32, col as u32);
    npix * (width * width) as u64 + join_subindex(x, y)
}

/// Every card a tile header carries: ORDER, NPIX, the HPX WCS and ORIGIN.
pub fn tile_header_cards(
    order: u8,
    npix: u64,
    width: usize,
    frame: crate::wcs::Frame,
) -> Vec<Card> {
    let mut cards = vec![
        Card::new("ORDER", CardValue::Int(order as i64), "HEALPix order"),
        Card::new("NPIX", CardValue::Int(npix as i64), "HEALPix nested index"),
    ];
    cards.extend(tile_wcs_cards(order, npix, width, frame));
    cards.push(Card::origin());
    cards
}

/// The HPX celestial WCS cards (PV2_1 = 4, PV2_2 = 3) under which a standard FITS reader puts
/// each tile pixel at its HEALPix cell centre. The HPX plane holds the 12 base cells as 90°
/// diamonds; the tile grid is that plane turned by 45°.
pub fn tile_wcs_cards(order: u8, npix: u64, width: usize, frame: crate::wcs::Frame) -> Vec<Card> {
    let w = width as f64;
    let ns = (1u64 << order) as f64 * w;
    let a = 45.0 / ns;
    let base = npix >> (2 * order as u64);
    let (tx, ty) = split_subindex(npix & ((1u64 << (2 * order as u64)) - 1));
    let (tx, ty) = (tx as f64, ty as f64);
    // Centre of the base cell in the HPX plane (degrees).
    let (mut xc, yc) = match base {
        0..=3 => (45.0 + 90.0 * base as f64, 45.0),
        4..=7 => (90.0 * (base - 4) as f64, 0.0),
        _ => (45.0 + 90.0 * (base - 8) as f64, -45.0),
    };
    // WCSLIB rejects |x| > 180 in the HPX plane: centre cell 6 (at longitude 180) on CRVAL1 = 180.
    let crval1 = if base == 6 { 180.0 } else { 0.0 };
    xc = (xc - crval1 + 180.0).rem_euclid(360.0) - 180.0;
    let big_a = (tx - ty + 1.0) * w + 1.0 + xc * ns / 45.0;
    let big_b = (45.0 - yc) * ns / 45.0 - (tx + ty + 1.0) * w;
    let (lon, lat) = frame.ctype_prefixes();
    let (lon, lat) = (format!("{lon}HPX"), format!("{lat}HPX"));
    let f = CardValue::Float;
    let mut cards = vec![
        Card::new("CTYPE1", CardValue::Str(lon), "HEALPix projection"),
        Card::new("CTYPE2", CardValue::Str(lat), ""),
        Card::new("CRPIX1", f((big_a + big_b) / 2.0), ""),
        Card::new("CRPIX2", f((big_a - big_b) / 2.0), ""),
        Card::new("CRVAL1", f(crval1), ""),
        Card::new("CRVAL2", f(0.0), ""),
        Card::new("CD1_1", f(-a), ""),
        Card::new("CD1_2", f(-a), ""),
        Card::new("CD2_1", f(a), ""),
        Card::new("CD2_2", f(-a), ""),
        Card::new("PV2_1", CardValue::Int(4), "HPX H"),
        Card::new("PV2_2", CardValue::Int(3), "HPX K"),
    ];
    if frame == crate::wcs::Frame::Equatorial {
        cards.push(Card::new("RADESYS", CardValue::Str("ICRS".into()), ""));
    }
    cards
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_the_dir_rule() {
        let p = tile_path(Path::new("/h"), 9, 123_456, "fits");
        assert_eq!(p, PathBuf::from("/h/Norder9/Dir120000/Npix123456.fits"));
        assert_eq!(
            tile_path(Path::new("h"), 3, 42, "png"),
            PathBuf::from("h/Norder3/Dir0/Npix42.png")
        );
    }

    #[test]
    fn subindex_round_trip() {
        for s in [0u64, 1, 2, 3, 5, 0x3FFFF, 123_456, (1 << 40) - 7] {
            let (x, y) = split_subindex(s);
            assert_eq!(join_subindex(x, y), s);
        }
        assert_eq!(split_subindex(0b10), (0, 1));
        assert_eq!(split_subindex(0b01), (1, 0));
        assert_eq!(split_subindex(0b1101), (3, 2));
    }
}
