//! The output grid of a cutout: size, and a WCS made from centre, pixel scale, projection,
//! rotation and frame (or taken from a full header).

use super::CutoutError;
use crate::fits::write::{Card, CardValue};
use crate::fits::Header;
use crate::wcs::{Frame, Linear, Wcs};

/// A cutout grid described by its centre and pixel scale.
#[derive(Debug, Clone, PartialEq)]
pub struct GridSpec {
    /// Longitude of the centre (degrees) in `frame`.
    pub lon: f64,
    /// Latitude of the centre (degrees) in `frame`.
    pub lat: f64,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Degrees per pixel.
    pub scale_deg: f64,
    /// Three-letter WCS projection code (TAN, SIN, CAR, AIT, ZEA, STG, ...).
    pub projection: String,
    /// Position angle of the grid's y axis, east of north (degrees).
    pub rotation_deg: f64,
    /// Celestial frame of the centre and of the grid's WCS.
    pub frame: Frame,
}

/// A grid ready for sampling: size, WCS, and the header cards describing it.
#[derive(Debug)]
pub struct Grid {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// Pixel (1-based FITS) → sky.
    pub wcs: Wcs,
    /// WCS cards for the cutout's FITS header.
    pub cards: Vec<Card>,
}

impl Grid {
    /// A grid centred on the spec's position: CRPIX at the middle, east to the left, north up before `rotation_deg`.
    pub fn from_spec(s: &GridSpec) -> Result<Grid, CutoutError> {
        if s.width == 0 || s.height == 0 {
            return Err(CutoutError::Grid(
                "width and height must be positive".into(),
            ));
        }
        if !(s.scale_deg > 0.0 && s.scale_deg.is_finite()) {
            return Err(CutoutError::Grid(format!(
                "pixel scale {} is not a positive number",
                s.scale_deg
            )));
        }
        let code = s.projection.to_ascii_uppercase();
        // East to the left, north up, then the y axis turned to position angle `rotation`
        // (east of north): CD = [[−s cos ρ, s sin ρ], [s sin ρ, s cos ρ]].
        let (sn, cs) = s.rotation_deg.to_radians().sin_cos();
        let d = s.scale_deg;
        let cd = [[-d * cs, d * sn], [d * sn, d * cs]];
        let crpix = [(s.width as f64 + 1.0) / 2.0, (s.height as f64 + 1.0) / 2.0];
        let linear =
            Linear::new(crpix, cd).ok_or_else(|| CutoutError::Grid("degenerate grid".into()))?;
        let wcs = Wcs::from_parts(s.frame, &code, [s.lon, s.lat], linear)?;
        let (lon, lat) = s.frame.ctype_prefixes();
        let f = CardValue::Float;
        let mut cards = vec![
            Card::new("CTYPE1", CardValue::Str(format!("{lon}{code}")), ""),
            Card::new("CTYPE2", CardValue::Str(format!("{lat}{code}")), ""),
            Card::new("CRPIX1", f(crpix[0]), ""),
            Card::new("CRPIX2", f(crpix[1]), ""),
            Card::new("CRVAL1", f(s.lon), ""),
            Card::new("CRVAL2", f(s.lat), ""),
            Card::new("CD1_1", f(cd[0][0]), ""),
            Card::new("CD1_2", f(cd[0][1]), ""),
            Card::new("CD2_1", f(cd[1][0]), ""),
            Card::new("CD2_2", f(cd[1][1]), ""),
            Card::new("CUNIT1", CardValue::Str("deg".into()), ""),
            Card::new("CUNIT2", CardValue::Str("deg".into()), ""),
        ];
        if s.frame == Frame::Equatorial {
            cards.push(Card::new("RADESYS", CardValue::Str("ICRS".into()), ""));
        }
        Ok(Grid {
            width: s.width,
            height: s.height,
            wcs,
            cards,
        })
    }

    /// A grid from a full FITS header (NAXIS1, NAXIS2 and a celestial WCS).
    pub fn from_header(h: &Header) -> Result<Grid, CutoutError> {
        let size = |k: &str| -> Result<usize, CutoutError> {
            h.get_i64(k)
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| CutoutError::Grid(format!("{k} missing or not positive")))
        };
        let (width, height) = (size("NAXIS1")?, size("NAXIS2")?);
        let wcs = Wcs::from_header(h)?;
        let cards = h
            .keys()
            .filter(|k| {
                ![
                    "SIMPLE", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "EXTEND", "END",
                ]
                .contains(k)
            })
            .map(|k| {
                let v = h.get(k).unwrap_or("");
                let value = v
                    .parse::<i64>()
                    .map(CardValue::Int)
                    .or_else(|_| v.parse::<f64>().map(CardValue::Float))
                    .unwrap_or_else(|_| CardValue::Str(v.to_string()));
                Card::new(k, value, "")
            })
            .collect();
        Ok(Grid {
            width,
            height,
            wcs,
            cards,
        })
    }

    /// Degrees per pixel.
    pub fn scale_deg(&self) -> f64 {
        self.wcs.pixel_scale_deg()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_centre_scale_and_rotation() {
        let spec = GridSpec {
            lon: 150.0,
            lat: 2.0,
            width: 29,
            height: 21,
            scale_deg: 1.0 / 3600.0,
            projection: "TAN".into(),
            rotation_deg: 30.0,
            frame: Frame::Equatorial,
        };
        let g = Grid::from_spec(&spec).unwrap();
        let (ra, dec) = g.wcs.pixel_to_world(15.0, 11.0).unwrap();
        assert!((ra - 150.0).abs() < 1e-12 && (dec - 2.0).abs() < 1e-12);
        // One pixel up the y axis is 1″ towards position angle 30° (east of north).
        let (ra2, dec2) = g.wcs.pixel_to_world(15.0, 12.0).unwrap();
        let east = (ra2 - 150.0) * 3600.0 * 2f64.to_radians().cos();
        let north = (dec2 - 2.0) * 3600.0;
        assert!(
            (east - 0.5).abs() < 1e-6 && (north - 3f64.sqrt() / 2.0).abs() < 1e-6,
            "{east} {north}"
        );
        assert_eq!(g.cards[0].value, CardValue::Str("RA---TAN".into()));
        assert_eq!(g.cards[1].value, CardValue::Str("DEC--TAN".into()));
        let gal = Grid::from_spec(&GridSpec {
            frame: Frame::Galactic,
            ..spec
        })
        .unwrap();
        assert_eq!(gal.cards[0].value, CardValue::Str("GLON-TAN".into()));
    }
}
