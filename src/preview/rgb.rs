//! Colour HiPS from three data HiPS of the same order, tile width and frame (e.g. SDSS i, r, g
//! as red, green, blue): per-channel cuts, then either each channel through the stretch, or
//! Lupton et al. (2004) asinh on the summed intensity, which keeps colours of bright sources.

use std::path::PathBuf;

use rayon::prelude::*;

use super::{
    all_tiles, resolve_cut, write_picture, CutSpec, Picture, PreviewError, PreviewFormat, Stretch,
    ToneMap,
};
use crate::finish;
use crate::hips::allsky::{self, ALLSKY_ORDER};
use crate::hips::layout::tile_path;
use crate::hips::moc::Coverage;
use crate::hips::properties::Properties;
use crate::reader::{HipsDir, ReadError};

/// What `hipsforge rgb` is told.
#[derive(Debug, Clone)]
pub struct RgbOptions {
    /// Red, green, blue HiPS directories.
    pub channels: [PathBuf; 3],
    /// Output directory of the colour HiPS.
    pub out: PathBuf,
    /// `creator_did` of the colour HiPS.
    pub creator_did: String,
    /// The 8-bit format of its tiles.
    pub format: PreviewFormat,
    /// Pixel cut of each channel (red, green, blue).
    pub cuts: [CutSpec; 3],
    /// Transfer function of each channel; unused with `lupton`.
    pub stretch: Stretch,
    /// Lupton softening Q; `None` maps each channel on its own.
    pub lupton: Option<f64>,
    /// Replace a HiPS already in `out` (without it, one there is refused).
    pub force: bool,
}

/// How three values become one colour.
#[derive(Debug, Clone, Copy)]
pub struct ColourMap {
    /// Tone map of each channel (red, green, blue).
    pub tones: [ToneMap; 3],
    /// Lupton softening Q; `None` maps each channel on its own.
    pub lupton: Option<f64>,
}

impl ColourMap {
    /// Colour of three channel values; `None` where all are blank.
    pub fn colour(&self, v: [f32; 3]) -> Option<[u8; 3]> {
        if v.iter().all(|x| x.is_nan()) {
            return None;
        }
        let Some(q) = self.lupton else {
            return Some(std::array::from_fn(|c| {
                self.tones[c].grey(v[c]).unwrap_or(0)
            }));
        };
        // Channel values scaled by their cut (0 at the low cut, 1 at the high cut).
        let x: [f64; 3] = std::array::from_fn(|c| {
            let t = &self.tones[c];
            if v[c].is_nan() {
                0.0
            } else {
                ((v[c] as f64 - t.low) / (t.high - t.low)).max(0.0)
            }
        });
        let intensity = (x[0] + x[1] + x[2]) / 3.0;
        if intensity <= 0.0 {
            return Some([0, 0, 0]);
        }
        let f = (q * intensity).asinh() / (q.asinh() * intensity);
        let mut out = x.map(|c| c * f);
        // Saturated pixels keep their hue: scale the colour down instead of clipping.
        let max = out.iter().copied().fold(0.0, f64::max);
        if max > 1.0 {
            out = out.map(|c| c / max);
        }
        Some(out.map(|c| (c * 255.0).round() as u8))
    }
}

/// Builds the colour HiPS; returns the number of tiles written.
pub fn write_rgb(o: &RgbOptions) -> Result<usize, PreviewError> {
    if o.out.join("properties").exists() && !o.force {
        return Err(PreviewError::OutputInUse(o.out.clone()));
    }
    let hips = open_channels(&o.channels)?;
    let tones: Vec<ToneMap> = hips
        .iter()
        .zip(&o.cuts)
        .map(|(h, cut)| {
            let (low, high) = resolve_cut(h, cut)?;
            Ok(ToneMap {
                low,
                high,
                stretch: o.stretch,
            })
        })
        .collect::<Result<_, PreviewError>>()?;
    let map = ColourMap {
        tones: [tones[0], tones[1], tones[2]],
        lupton: o.lupton,
    };
    let width = hips[0].width;
    let picture = |data: &[Option<Vec<f32>>; 3], w: usize, h: usize| {
        Picture::from_rows(w, h, super::Channels::Rgba, |k| {
            map.colour(std::array::from_fn(|c| {
                data[c].as_ref().map_or(f32::NAN, |d| d[k])
            }))
        })
    };
    let jobs = union_of_tiles(&hips)?;
    let ext = o.format.extension();
    jobs.par_iter().try_for_each(|&(order, npix)| {
        let data: [Option<Vec<f32>>; 3] = [
            hips[0].read_tile(order, npix)?,
            hips[1].read_tile(order, npix)?,
            hips[2].read_tile(order, npix)?,
        ];
        write_picture(
            &picture(&data, width, width),
            o.format,
            &tile_path(&o.out, order, npix, ext),
        )
    })?;
    if jobs.iter().any(|(order, _)| *order == ALLSKY_ORDER) {
        let mut packed: [Option<Vec<f32>>; 3] = Default::default();
        for (slot, h) in packed.iter_mut().zip(&hips) {
            *slot = finish::packed_allsky(&h.root, width)?.map(|(_, _, d)| d);
        }
        let t = allsky::thumbnail_width(width);
        write_picture(
            &picture(&packed, 27 * t, 29 * t),
            o.format,
            &finish::allsky_path(&o.out, ext),
        )?;
    }
    let coverage = union_of_coverages(&hips)?;
    finish::write_moc(&o.out, &coverage)?;
    finish::write_properties(&o.out, &rgb_properties(o, &hips, &map, &coverage))?;
    Ok(jobs.len())
}

/// The red, green and blue HiPS, refused unless they share order, tile width and frame.
fn open_channels(dirs: &[PathBuf; 3]) -> Result<[HipsDir; 3], PreviewError> {
    let [r, g, b] = [
        HipsDir::open(&dirs[0])?,
        HipsDir::open(&dirs[1])?,
        HipsDir::open(&dirs[2])?,
    ];
    for other in [&g, &b] {
        if (other.order, other.width, other.frame) != (r.order, r.width, r.frame) {
            return Err(PreviewError::Mismatch(format!(
                "{} (order {}, width {}, {}) does not match {} (order {}, width {}, {})",
                other.root.display(),
                other.order,
                other.width,
                other.frame.hips_name(),
                r.root.display(),
                r.order,
                r.width,
                r.frame.hips_name()
            )));
        }
    }
    Ok([r, g, b])
}

/// Every (order, npix) that has a FITS tile in at least one channel, sorted.
fn union_of_tiles(hips: &[HipsDir]) -> Result<Vec<(u8, u64)>, ReadError> {
    let mut jobs = Vec::new();
    for h in hips {
        jobs.extend(all_tiles(h)?);
    }
    jobs.sort_unstable();
    jobs.dedup();
    Ok(jobs)
}

/// The sky covered by any channel (the union of their MOCs).
fn union_of_coverages(hips: &[HipsDir]) -> Result<Coverage, PreviewError> {
    let mut union: Option<Coverage> = None;
    for h in hips {
        let path = h.root.join("Moc.fits");
        let file = std::fs::File::open(&path).map_err(|source| ReadError::Io {
            path: path.clone(),
            source,
        })?;
        let c = Coverage::from_fits(std::io::BufReader::new(file))
            .map_err(|e| PreviewError::Mismatch(format!("{}: {e}", path.display())))?;
        union = Some(match union {
            Some(u) => u.union(&c),
            None => c,
        });
    }
    Ok(union.expect("three channels"))
}

fn rgb_properties(
    o: &RgbOptions,
    hips: &[HipsDir],
    map: &ColourMap,
    coverage: &Coverage,
) -> Properties {
    let r = &hips[0].properties;
    let did = |h: &HipsDir| h.properties.get("creator_did").unwrap_or("?").to_string();
    let title = format!(
        "RGB of {} / {} / {}",
        did(&hips[0]),
        did(&hips[1]),
        did(&hips[2])
    );
    let mut p = finish::base_properties(&o.creator_did, &title, None);
    p.set(
        "obs_description",
        "Colour composite: red, green and blue from three data HiPS (hips_rgb_*)",
    );
    p.set("dataproduct_subtype", "color");
    p.set("hips_tile_format", o.format.extension());
    for key in [
        "hips_tile_width",
        "hips_order",
        "hips_order_min",
        "hips_frame",
        "hips_initial_ra",
        "hips_initial_dec",
        "hips_initial_fov",
        "hips_pixel_scale",
        "s_pixel_scale",
        "obs_regime",
        "t_min",
        "t_max",
    ] {
        if let Some(v) = r.get(key) {
            p.set(key, v);
        }
    }
    let bound = |key: &str, pick: fn(f64, f64) -> f64| {
        hips.iter()
            .filter_map(|h| h.properties.get(key)?.parse::<f64>().ok())
            .reduce(pick)
    };
    if let (Some(lo), Some(hi)) = (bound("em_min", f64::min), bound("em_max", f64::max)) {
        p.set("em_min", lo);
        p.set("em_max", hi);
    }
    p.set(
        "prov_progenitor",
        format!("{}, {}, {}", did(&hips[0]), did(&hips[1]), did(&hips[2])),
    );
    for (c, name) in ["hips_rgb_red", "hips_rgb_green", "hips_rgb_blue"]
        .iter()
        .enumerate()
    {
        let t = &map.tones[c];
        p.set(
            name,
            format!(
                "{} [{} {} {}]",
                did(&hips[c]),
                t.low,
                t.high,
                t.stretch.name()
            ),
        );
    }
    if let Some(q) = map.lupton {
        p.set("hips_rgb_method", format!("lupton Q={q}"));
    }
    p.set(
        "moc_sky_fraction",
        format!("{:.5e}", coverage.sky_fraction()),
    );
    p.set("hips_builder", crate::PRODUCER);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(low: f64, high: f64) -> ToneMap {
        ToneMap {
            low,
            high,
            stretch: Stretch::Linear,
        }
    }

    #[test]
    fn lupton_keeps_hue_and_channels_map_alone_otherwise() {
        let plain = ColourMap {
            tones: [tone(0.0, 10.0), tone(0.0, 20.0), tone(0.0, 10.0)],
            lupton: None,
        };
        assert_eq!(plain.colour([5.0, 5.0, f32::NAN]), Some([128, 64, 0]));
        assert_eq!(plain.colour([f32::NAN; 3]), None);
        let lupton = ColourMap {
            lupton: Some(8.0),
            ..plain
        };
        // A bright red source: saturated, but red stays twice green.
        let [r, g, b] = lupton.colour([100.0, 100.0, 0.0]).unwrap();
        assert_eq!(r, 255);
        assert!(
            (g as f64 / r as f64 - 0.5).abs() < 0.01 && b == 0,
            "{r} {g} {b}"
        );
        // Faint pixels keep channel ratios too.
        let [r, g, _] = lupton.colour([1.0, 1.0, 0.0]).unwrap();
        assert!((g as f64 / r as f64 - 0.5).abs() < 0.05);
    }
}
