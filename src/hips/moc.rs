//! `Moc.fits`: the coverage of a HiPS as a MOC (IVOA MOC 2.0, NUNIQ cells), with the `moc` crate.

use super::FormatError;
use crate::wcs::frame::Rotation;
use moc::moc::range::RangeMOC;
use moc::moc::{CellHpxMOCIterator, RangeMOCIntoIterator, RangeMOCIterator};
use moc::qty::Hpx;

/// A coverage built from HEALPix cells of one depth.
#[derive(Debug, Clone)]
pub struct Coverage {
    moc: RangeMOC<u64, Hpx<u64>>,
}

impl Coverage {
    /// The union of (depth, index) cells, none deeper than `depth` (the MOC's order).
    pub fn from_cells(depth: u8, cells: impl Iterator<Item = (u8, u64)>) -> Coverage {
        Coverage {
            moc: RangeMOC::from_cells(depth, cells, None),
        }
    }

    /// Reads a MOC FITS file (NUNIQ or RANGE, 16/32/64-bit) of a spatial MOC. The `moc` crate
    /// accepts only COORDSYS = 'C'; galactic MOCs (COORDSYS = 'G') are read as the same cells.
    pub fn from_fits(mut reader: impl std::io::BufRead) -> Result<Coverage, FormatError> {
        use moc::deser::fits::{from_fits_ivoa, MocIdxType, MocQtyType};
        use moc::qty::Hpx as H;
        let mut bytes = Vec::new();
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| FormatError::Moc(e.to_string()))?;
        set_coordsys(&mut bytes, 'C');
        let reader = std::io::Cursor::new(bytes);
        let moc = match from_fits_ivoa(reader).map_err(|e| FormatError::Moc(e.to_string()))? {
            MocIdxType::U64(MocQtyType::Hpx(m)) => m.collect(),
            MocIdxType::U32(MocQtyType::Hpx(m)) => m.collect_to_u64::<H<u64>>(),
            MocIdxType::U16(MocQtyType::Hpx(m)) => m.collect_to_u64::<H<u64>>(),
            _ => return Err(FormatError::Moc("not a spatial MOC".into())),
        };
        Ok(Coverage { moc })
    }

    /// The same sky in another frame: each cell (split to at most depth 10 so that its edges
    /// are close to great circles) has its vertices rotated by `rotation` and is covered
    /// exactly, at this MOC's depth, by cdshealpix's polygon coverage. A slight superset.
    pub fn rotated(&self, rotation: &Rotation) -> Coverage {
        if rotation.is_identity() {
            return self.clone();
        }
        let depth = self.depth();
        let split = depth.min(10);
        let mut cells: Vec<(u8, u64)> = Vec::new();
        for cell in (&self.moc).into_range_moc_iter().cells() {
            let (d, idx) = (cell.depth, cell.idx);
            let (sub, shift) = if d < split {
                (split, 2 * (split - d) as u32)
            } else {
                (d, 0)
            };
            for child in (idx << shift)..((idx + 1) << shift) {
                let corners: Vec<(f64, f64)> = cdshealpix::nested::vertices(sub, child)
                    .iter()
                    .map(|&(lon, lat)| rotation.apply_lonlat(lon, lat))
                    .collect();
                let bmoc = cdshealpix::nested::polygon_coverage(depth, &corners, true);
                cells.extend((&bmoc).into_iter().map(|c| (c.depth, c.hash)));
            }
        }
        Coverage::from_cells(depth, cells.into_iter())
    }

    /// Cells covered by `self` or `other` (at the deeper of the two depths).
    pub fn union(&self, other: &Coverage) -> Coverage {
        Coverage {
            moc: self.moc.or(&other.moc),
        }
    }

    /// Whether any part of the cell (`depth`, `idx`) is covered.
    pub fn intersects_cell(&self, depth: u8, idx: u64) -> bool {
        self.moc.cell_fraction(depth, idx) > 0.0
    }

    /// The cells at `depth` (≤ the MOC depth) that the coverage touches, ascending.
    pub fn cells_at(&self, depth: u8) -> impl Iterator<Item = u64> + '_ {
        let shift = 2 * (29 - depth as u32);
        let mut last = None;
        self.moc.moc_ranges().iter().flat_map(move |r| {
            let first = r.start >> shift;
            let end = (r.end - 1) >> shift;
            let start = match last {
                Some(l) if l >= first => l + 1,
                _ => first,
            };
            last = Some(end.max(last.unwrap_or(0)));
            start..=end
        })
    }

    /// The MOC's depth (max order).
    pub fn depth(&self) -> u8 {
        self.moc.depth_max()
    }

    /// Fraction of the sky covered, 0..1.
    pub fn sky_fraction(&self) -> f64 {
        self.moc.coverage_percentage()
    }

    /// The MOC FITS file as bytes (COORDSYS = 'C': HiPS 1.0 wants the MOC in ICRS whatever the
    /// HiPS frame; see [`Coverage::rotated`]).
    pub fn to_fits(&self) -> Result<Vec<u8>, FormatError> {
        let mut bytes = Vec::new();
        (&self.moc)
            .into_range_moc_iter()
            .cells()
            .hpx_cells_to_fits_ivoa(None, None, &mut bytes)
            .map_err(|e| FormatError::Moc(format!("serialisation: {e}")))?;
        Ok(bytes)
    }
}

/// Rewrites the value of the `COORDSYS` card in place (headers only: stops at the table's END).
fn set_coordsys(fits: &mut [u8], letter: char) {
    let mut ends = 0;
    for card in fits.chunks_mut(80) {
        if card.starts_with(b"END ") {
            ends += 1;
            if ends == 2 {
                break;
            }
        } else if card.starts_with(b"COORDSYS") && card.len() == 80 {
            let new = format!("{:<80}", format!("COORDSYS= '{letter}'"));
            card.copy_from_slice(new.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_make_a_nuniq_icrs_table_and_read_back() {
        // Two order-5 cells.
        let cov = Coverage::from_cells(5, [(5u8, 100u64), (5, 101)].into_iter());
        assert!((cov.sky_fraction() - 2.0 / (12.0 * 1024.0)).abs() < 1e-12);
        let bytes = cov.to_fits().unwrap();
        let text = String::from_utf8_lossy(&bytes[..5760]);
        assert!(
            text.contains("COORDSYS= 'C'") && text.contains("NUNIQ"),
            "{text}"
        );
        assert_eq!(bytes.len() % 2880, 0);
        let back = Coverage::from_fits(std::io::Cursor::new(bytes)).unwrap();
        assert!(back.intersects_cell(5, 100) && !back.intersects_cell(5, 99));
    }

    #[test]
    fn rotation_to_icrs_covers_the_same_sky() {
        use crate::wcs::Frame;
        // A patch of galactic order-8 cells around (l, b) = (10.5°, 0°).
        let layer = cdshealpix::nested::get(8);
        let centre = layer.hash(10.5f64.to_radians(), 0.0);
        let mut cells: Vec<(u8, u64)> = layer
            .neighbours(centre, true)
            .values_vec()
            .into_iter()
            .map(|c| (8, c))
            .collect();
        cells.sort_unstable();
        let galactic = Coverage::from_cells(8, cells.into_iter());
        let to_icrs = Rotation::between(Frame::Galactic, Frame::Equatorial);
        let icrs = galactic.rotated(&to_icrs);
        // Every galactic cell centre, in ICRS, is inside; the area is about the same.
        for c in layer.neighbours(centre, true).values_vec() {
            let (l, b) = layer.center(c);
            let (ra, dec) = to_icrs.apply_lonlat(l, b);
            assert!(icrs.intersects_cell(8, layer.hash(ra, dec)));
        }
        let ratio = icrs.sky_fraction() / galactic.sky_fraction();
        assert!(
            (1.0..3.0).contains(&ratio),
            "ICRS area / galactic area = {ratio}"
        );
    }
}
