//! The progenitor index (Hipsgen's `HpxFinder/`, see [`crate::hips::hpxfinder`]): for each
//! max-order tile written, the input images whose footprint touches it, with their file, HDU,
//! outline and `--fitskey` values, and the coarser orders merged from them (Hipsgen's DETAILS).
//! Written after TILES from the tiles the pyramid produced (computed or kept by `--resume`), so
//! a resumed build writes the same index.

use std::path::{Component, Path, PathBuf};

use cdshealpix::compass_point::Cardinal;
use cdshealpix::nested;
use rayon::prelude::*;

use super::index::TileIndex;
use super::inputs::SourceImage;
use super::{write_atomic, BuildError, BuildOptions};
use crate::finish;
use crate::hips::hpxfinder::{
    index_path, index_properties, metadata_xml, Progenitor, HPXFINDER_DIR,
};
use crate::hips::moc::Coverage;
use crate::wcs::frame::{lonlat_to_xyz, xyz_to_lonlat, Rotation};
use crate::wcs::Frame;

/// Points per side of an image's outline in the index (16 vertices: close enough to follow
/// distortion and non-TAN edges, small enough for one line per image per tile).
const OUTLINE_STEPS: usize = 4;

/// Segments per side of a tile's edge when it is tested against an image.
const TILE_EDGE_STEPS: u32 = 8;

/// What the index holds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IndexReport {
    /// Index tile files written, every order (the Allsky aside).
    pub tiles: usize,
    /// Lines written: (tile, image) pairs.
    pub entries: usize,
}

/// The valid pixels of an image as FITS pixel edges `[x0, x1, y0, y1]` (1-based centres):
/// what TILES samples, `border` pixels in from every edge.
fn valid_rect(image: &SourceImage, border: usize) -> [f64; 4] {
    let b = border as f64;
    [
        0.5 + b,
        image.hdu.width as f64 + 0.5 - b,
        0.5 + b,
        image.hdu.height as f64 + 0.5 - b,
    ]
}

/// Whether the max-order tile `npix` and the image's valid pixels overlap: the tile's edge,
/// taken into the image's pixel grid, is tested against the valid rectangle there.
pub fn touches(image: &SourceImage, order: u8, npix: u64, border: usize) -> bool {
    let rect = valid_rect(image, border);
    if rect[0] >= rect[1] || rect[2] >= rect[3] {
        return false;
    }
    let edge = nested::path_along_cell_edge(order, npix, &Cardinal::S, false, TILE_EDGE_STEPS);
    let polygon: Vec<(f64, f64)> = edge
        .iter()
        .filter_map(|&(lon, lat)| image.hips_to_pixel(lonlat_to_xyz(lon, lat)))
        .collect();
    polygon.len() >= 3 && polygon_meets_rect(&polygon, rect)
}

/// Whether a simple plane polygon and the rectangle `[x0, x1, y0, y1]` share any point.
fn polygon_meets_rect(polygon: &[(f64, f64)], rect: [f64; 4]) -> bool {
    let [x0, x1, y0, y1] = rect;
    let in_rect = |&(x, y): &(f64, f64)| x >= x0 && x <= x1 && y >= y0 && y <= y1;
    let corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
    if polygon.iter().any(in_rect) || corners.iter().any(|&c| in_polygon(polygon, c)) {
        return true;
    }
    let sides = |pts: &[(f64, f64)]| -> Vec<((f64, f64), (f64, f64))> {
        (0..pts.len())
            .map(|i| (pts[i], pts[(i + 1) % pts.len()]))
            .collect()
    };
    let rect_sides = sides(&corners);
    sides(polygon)
        .iter()
        .any(|&(a, b)| rect_sides.iter().any(|&(c, d)| segments_cross(a, b, c, d)))
}

/// Even-odd rule.
fn in_polygon(polygon: &[(f64, f64)], (x, y): (f64, f64)) -> bool {
    let mut inside = false;
    for i in 0..polygon.len() {
        let (a, b) = (polygon[i], polygon[(i + 1) % polygon.len()]);
        if (a.1 > y) != (b.1 > y) && x < a.0 + (y - a.1) * (b.0 - a.0) / (b.1 - a.1) {
            inside = !inside;
        }
    }
    inside
}

/// Whether segments ab and cd intersect (touching counts).
fn segments_cross(a: (f64, f64), b: (f64, f64), c: (f64, f64), d: (f64, f64)) -> bool {
    let side = |p: (f64, f64), q: (f64, f64), r: (f64, f64)| {
        (q.0 - p.0) * (r.1 - p.1) - (q.1 - p.1) * (r.0 - p.0)
    };
    let (d1, d2) = (side(c, d, a), side(c, d, b));
    let (d3, d4) = (side(a, b, c), side(a, b, d));
    d1 * d2 <= 0.0 && d3 * d4 <= 0.0
}

/// The directory all inputs are named relative to: the deepest one holding every file.
fn common_dir(files: &[PathBuf]) -> PathBuf {
    let dirs: Vec<PathBuf> = files
        .iter()
        .map(|f| {
            std::path::absolute(f)
                .unwrap_or_else(|_| f.clone())
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default()
        })
        .collect();
    let Some(first) = dirs.first() else {
        return PathBuf::new();
    };
    let mut common: Vec<Component> = first.components().collect();
    for d in &dirs[1..] {
        let shared = common
            .iter()
            .zip(d.components())
            .take_while(|(a, b)| **a == *b)
            .count();
        common.truncate(shared);
    }
    common.iter().collect()
}

/// How the index describes `image`; `base` is the directory its path is relative to.
pub fn describe(
    image: &SourceImage,
    base: &Path,
    fitskeys: &[String],
    border: usize,
) -> Progenitor {
    let hdu = &image.hdu;
    let absolute = std::path::absolute(&hdu.path).unwrap_or_else(|_| hdu.path.clone());
    let path = absolute
        .strip_prefix(base)
        .unwrap_or(&absolute)
        .to_string_lossy()
        .into_owned();
    let file = hdu.path.file_name().unwrap_or_default().to_string_lossy();
    let stem = file.rsplit_once('.').map_or(&*file, |(s, _)| s);
    let name = match hdu.hdu {
        0 => stem.to_string(),
        n => format!("{stem}[{n}]"),
    };
    let to_icrs = image.wcs.frame.change_to(Frame::Equatorial);
    let sky = |px: f64, py: f64| -> Option<(f64, f64)> {
        let (lon, lat) = xyz_to_lonlat(to_icrs.apply(image.wcs.pixel_to_xyz(px, py)?));
        Some((lon.to_degrees().rem_euclid(360.0), lat.to_degrees()))
    };
    let [x0, x1, y0, y1] = valid_rect(image, border);
    // Around the valid pixels from (x0, y0), in Hipsgen's corner order.
    let outline: Option<Vec<(f64, f64)>> = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
        .windows(2)
        .flat_map(|w| {
            let ((ax, ay), (bx, by)) = (w[0], w[1]);
            (0..OUTLINE_STEPS).map(move |k| {
                let t = k as f64 / OUTLINE_STEPS as f64;
                (ax + (bx - ax) * t, ay + (by - ay) * t)
            })
        })
        .map(|(px, py)| sky(px, py))
        .collect();
    let bytes_per_pixel = hdu
        .header
        .get_i64("BITPIX")
        .map_or(4, |b| b.unsigned_abs() / 8);
    Progenitor {
        name,
        path,
        hdu: hdu.hdu,
        center: sky((x0 + x1) / 2.0, (y0 + y1) / 2.0).unwrap_or((0.0, 0.0)),
        footprint: outline.unwrap_or_default(),
        cell_bytes: (hdu.width * hdu.height) as u64 * bytes_per_pixel,
        keys: fitskeys
            .iter()
            .filter_map(|k| Some((k.clone(), hdu.header.get(k)?.to_string())))
            .collect(),
    }
}

/// Images (indices into the inputs, ascending) listed for each tile of one order, by npix.
type Listing = Vec<(u64, Vec<u32>)>;

/// Writes `HpxFinder/`: one file per max-order tile among `tiles` (every tile written, as
/// (order, npix)) listing the images of `index` that touch it; the coarser orders of Hipsgen's
/// DETAILS step ([`write_details`]); then the index's `Moc.fits` (ICRS), `properties` and
/// `metadata.xml`. `files` are all candidate inputs.
pub fn write_index(
    o: &BuildOptions,
    images: &[SourceImage],
    files: &[PathBuf],
    index: &TileIndex,
    order: u8,
    tiles: &[(u8, u64)],
) -> Result<IndexReport, BuildError> {
    let started = std::time::Instant::now();
    let border = o.sampling.border;
    let base = common_dir(files);
    let lines: Vec<String> = images
        .par_iter()
        .map(|im| describe(im, &base, &o.fitskeys, border).to_json_line())
        .collect();
    let mut leaves: Vec<u64> = tiles
        .iter()
        .filter(|(k, _)| *k == order)
        .map(|(_, n)| *n)
        .collect();
    leaves.sort_unstable();
    let listing: Listing = leaves
        .par_iter()
        .map(|&npix| {
            let touching = index.get(&npix).into_iter().flatten().copied();
            let list = touching
                .filter(|&i| touches(&images[i as usize], order, npix, border))
                .collect();
            (npix, list)
        })
        .filter(|(_, list): &(u64, Vec<u32>)| !list.is_empty())
        .collect();
    let mut report = IndexReport {
        tiles: listing.len(),
        entries: write_tiles(o, &lines, order, &listing)?,
    };
    let dir = o.out.join(HPXFINDER_DIR);
    let coverage = Coverage::from_cells(order, listing.iter().map(|(n, _)| (order, *n)))
        .rotated(&Rotation::between(o.frame, Frame::Equatorial));
    finish::write_moc(&dir, &coverage)?;
    let first_width = images.first().map_or(0, |im| im.hdu.width);
    let detail = detail_order(order, first_width, o.tile_width);
    let min_order = write_details(o, &lines, order, detail, listing, &mut report)?;
    let title = o
        .properties
        .get("obs_title")
        .or_else(|| o.creator_did.rsplit('/').next())
        .unwrap_or("HiPS");
    let props = index_properties(
        &o.creator_did,
        title,
        o.frame.hips_name(),
        (min_order, order),
        o.tile_width,
        &finish::timestamp(),
    );
    finish::write_file(&dir.join("properties"), props.to_text().as_bytes())?;
    finish::write_file(
        &dir.join("metadata.xml"),
        metadata_xml(title, &o.fitskeys).as_bytes(),
    )?;
    super::log(
        o,
        &format!(
            "HpxFinder: {} progenitor entries in {} tiles (orders {min_order}..{order}) in {:.2} s",
            report.entries,
            report.tiles,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(report)
}

/// Writes the index file of each (tile, images) at `order`; returns the lines written.
fn write_tiles(
    o: &BuildOptions,
    lines: &[String],
    order: u8,
    listing: &[(u64, Vec<u32>)],
) -> Result<usize, BuildError> {
    listing
        .par_iter()
        .map(|(npix, list)| {
            write_atomic(&index_path(&o.out, order, *npix), &joined(lines, list))?;
            Ok(list.len())
        })
        .try_reduce(|| 0, |a, b| Ok(a + b))
}

/// The lines of `list`, each ended by a newline.
fn joined(lines: &[String], list: &[u32]) -> Vec<u8> {
    let mut text = String::new();
    for &i in list {
        text.push_str(&lines[i as usize]);
        text.push('\n');
    }
    text.into_bytes()
}

/// The coarsest order Aladin's progenitor view reads (Hipsgen's `BuilderDetails.MINORDER`).
const DETAILS_MIN_ORDER: u8 = 3;

/// Most lines in a DETAILS file below the detail order (Aladin's `HealpixProgen.TOOMANY`).
const TOO_MANY: usize = 5000;

/// Hipsgen's detail order: from it down to the max order every tile is listed in full; above
/// it, only tiles of at most [`TOO_MANY`] images. `max order − image width / tile width − 2`
/// for its reference (first) image, at least 3.
fn detail_order(order: u8, image_width: usize, tile_width: usize) -> u8 {
    let coarser = (image_width / tile_width.max(1) + 2).min(u8::MAX as usize) as u8;
    order
        .saturating_sub(coarser)
        .max(DETAILS_MIN_ORDER)
        .min(order)
}

/// Hipsgen's DETAILS: the index at each order from the max order − 1 down to 3, a tile listing
/// the images of its four children, so that Aladin shows progenitors zoomed out too; plus
/// `Norder3/Allsky` (every image) when it holds at most [`TOO_MANY`]. Above `detail`, a tile
/// of more images is not written, nor are its parents (Hipsgen drops only the tile, leaving
/// its parents short of those images). Returns the coarsest order written.
fn write_details(
    o: &BuildOptions,
    lines: &[String],
    order: u8,
    detail: u8,
    leaves: Listing,
    report: &mut IndexReport,
) -> Result<u8, BuildError> {
    let mut level: Vec<(u64, Option<Vec<u32>>)> =
        leaves.into_iter().map(|(n, l)| (n, Some(l))).collect();
    let mut coarsest = order;
    for k in (DETAILS_MIN_ORDER..order).rev() {
        // `level` is in nested order: the children of a parent are neighbours.
        let mut parents: Vec<(u64, Option<Vec<u32>>)> = Vec::new();
        for (npix, list) in level {
            match parents.last_mut() {
                Some((p, merged)) if *p == npix >> 2 => *merged = union(merged.take(), list),
                _ => parents.push((npix >> 2, list)),
            }
        }
        for (_, list) in &mut parents {
            if k < detail && list.as_ref().is_some_and(|l| l.len() > TOO_MANY) {
                *list = None;
            }
        }
        let written: Listing = parents
            .iter()
            .filter_map(|(n, l)| Some((*n, l.clone()?)))
            .collect();
        if !written.is_empty() {
            report.tiles += written.len();
            report.entries += write_tiles(o, lines, k, &written)?;
            coarsest = k;
        }
        level = parents;
    }
    let everything = level
        .into_iter()
        .try_fold(Vec::new(), |all, (_, l)| union(Some(all), l))
        .filter(|all| order >= DETAILS_MIN_ORDER && !all.is_empty() && all.len() <= TOO_MANY);
    if let Some(all) = everything {
        let path = o
            .out
            .join(HPXFINDER_DIR)
            .join(format!("Norder{DETAILS_MIN_ORDER}/Allsky"));
        write_atomic(&path, &joined(lines, &all))?;
    }
    Ok(coarsest)
}

/// The images of two ascending lists, ascending, each once; `None` (too many) wins.
fn union(a: Option<Vec<u32>>, b: Option<Vec<u32>>) -> Option<Vec<u32>> {
    let (a, b) = (a?, b?);
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let next = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x == y => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (_, Some(&y)) => {
                j += 1;
                y
            }
            (None, None) => unreachable!("loop condition"),
        };
        out.push(next);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygons_and_rectangles() {
        let rect = [0.5, 10.5, 0.5, 20.5];
        let square = |x: f64, y: f64, s: f64| vec![(x, y), (x + s, y), (x + s, y + s), (x, y + s)];
        assert!(polygon_meets_rect(&square(5.0, 5.0, 1.0), rect), "inside");
        assert!(
            polygon_meets_rect(&square(-100.0, -100.0, 300.0), rect),
            "around"
        );
        assert!(
            polygon_meets_rect(&square(10.0, 10.0, 5.0), rect),
            "corner in"
        );
        assert!(!polygon_meets_rect(&square(11.0, 5.0, 1.0), rect), "beside");
        // A diamond whose vertices are all outside but whose edges cross the rectangle.
        let diamond = vec![(5.5, -3.0), (13.0, 10.5), (5.5, 24.0), (-2.0, 10.5)];
        assert!(polygon_meets_rect(&diamond, rect));
        // A thin bar across the rectangle: no vertex inside, no rectangle corner inside.
        let bar = vec![(-5.0, 9.0), (15.0, 9.0), (15.0, 9.5), (-5.0, 9.5)];
        assert!(polygon_meets_rect(&bar, rect));
        let far_diamond = vec![(30.0, 0.0), (40.0, 10.0), (30.0, 20.0), (20.0, 10.0)];
        assert!(!polygon_meets_rect(&far_diamond, rect));
    }

    #[test]
    fn unions_keep_input_order_and_too_many_wins() {
        assert_eq!(
            union(Some(vec![1, 4, 7]), Some(vec![0, 4, 9])),
            Some(vec![0, 1, 4, 7, 9])
        );
        assert_eq!(union(Some(vec![]), Some(vec![2])), Some(vec![2]));
        assert_eq!(union(None, Some(vec![2])), None);
    }

    #[test]
    fn detail_orders_follow_hipsgen() {
        // HST F555W in Hipsgen's comment: order 14, 5000-pixel images, 512-pixel tiles.
        assert_eq!(detail_order(14, 5000, 512), 3);
        assert_eq!(detail_order(12, 2048, 256), 3);
        assert_eq!(detail_order(12, 1024, 512), 8);
        assert_eq!(detail_order(9, 100, 512), 7);
        assert_eq!(detail_order(2, 100, 512), 2);
    }

    #[test]
    fn inputs_are_named_from_their_common_directory() {
        let files = [
            PathBuf::from("/data/survey/a/1.fits"),
            PathBuf::from("/data/survey/b/c/2.fits"),
        ];
        assert_eq!(common_dir(&files), PathBuf::from("/data/survey"));
        assert_eq!(common_dir(&files[..1]), PathBuf::from("/data/survey/a"));
    }
}
