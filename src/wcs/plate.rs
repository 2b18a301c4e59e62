//! DSS plate solutions (the GSSS `AMDX`/`AMDY` model, as wcstools' dsspos/dsspix and wcslib
//! read it): plate pixel → millimetres from the plate centre (PPO3/PPO6, XPIXELSZ/YPIXELSZ,
//! CNPIX1/2) → standard coordinates ξ, η (arcsec) by a cubic polynomial with radial terms →
//! gnomonic (TAN) projection at the plate centre (PLTRAH…, PLTDECSN…). The magnitude and
//! colour terms (AMDX14…20) are ignored, as by every reader.
//!
//! Here the millimetre step is folded into a nominal [`Linear`] (CD = pixel size × PLTSCALE,
//! so CRPIX is the plate centre and the CD matrix a fair pixel scale); [`Plate`] maps its
//! nominal intermediate coordinates (degrees) to ξ, η (degrees).

use super::linear::Linear;
use super::{number, WcsError};
use crate::fits::Header;

/// Polynomial terms read (AMDX1…13, AMDY1…13).
const N_TERMS: usize = 13;

/// The plate polynomials and the millimetres per nominal degree.
#[derive(Debug, Clone, PartialEq)]
pub struct Plate {
    x: [f64; N_TERMS],
    y: [f64; N_TERMS],
    /// PLTSCALE in degrees per millimetre.
    scale: f64,
}

/// What a DSS header gives: the model, its nominal linear part and the plate centre.
pub struct PlateSolution {
    /// The plate polynomials.
    pub plate: Plate,
    /// Pixel → nominal intermediate coordinates.
    pub linear: Linear,
    /// Plate centre (RA, Dec) in degrees.
    pub centre: [f64; 2],
}

/// `AMDX`/`AMDY` model: ξ (or η with x, y swapped) in arcsec from x, y in mm.
fn amd(c: &[f64; N_TERMS], x: f64, y: f64) -> f64 {
    let (x2, y2, xy) = (x * x, y * y, x * y);
    let r2 = x2 + y2;
    c[0] * x
        + c[1] * y
        + c[2]
        + c[3] * x2
        + c[4] * xy
        + c[5] * y2
        + c[6] * r2
        + c[7] * x2 * x
        + c[8] * x2 * y
        + c[9] * x * y2
        + c[10] * y2 * y
        + c[11] * x * r2
        + c[12] * x * r2 * r2
}

impl PlateSolution {
    /// `Ok(None)` without PLTRAH (no plate solution); `Err` names a missing or unusable card.
    pub fn from_header(h: &Header) -> Result<Option<PlateSolution>, WcsError> {
        if !h.contains("PLTRAH") {
            return Ok(None);
        }
        let finite = |key: &str, default: Option<f64>| -> Result<f64, WcsError> {
            match number(h, key)?.or(default) {
                Some(v) if v.is_finite() => Ok(v),
                Some(v) => Err(WcsError::invalid(
                    key,
                    format!("{v} is not a finite number"),
                )),
                None => Err(WcsError::invalid(
                    key,
                    "missing from the DSS plate solution",
                )),
            }
        };
        let positive = |key: &str, default: Option<f64>| -> Result<f64, WcsError> {
            let v = finite(key, default)?;
            (v > 0.0)
                .then_some(v)
                .ok_or_else(|| WcsError::invalid(key, format!("{v} is not positive")))
        };
        let ra_hours = finite("PLTRAH", None)?
            + finite("PLTRAM", Some(0.0))? / 60.0
            + finite("PLTRAS", Some(0.0))? / 3600.0;
        let sign = match h.get("PLTDECSN").map(str::trim) {
            Some("-") => -1.0,
            None | Some("+") | Some("") => 1.0,
            Some(other) => {
                return Err(WcsError::invalid(
                    "PLTDECSN",
                    format!("'{other}' is not + or -"),
                ))
            }
        };
        let dec = sign
            * (finite("PLTDECD", None)?
                + finite("PLTDECM", Some(0.0))? / 60.0
                + finite("PLTDECS", Some(0.0))? / 3600.0);
        if !(0.0..24.0).contains(&ra_hours) {
            return Err(WcsError::invalid(
                "PLTRAH",
                format!("{ra_hours} h is not a right ascension"),
            ));
        }
        if dec.abs() > 90.0 {
            return Err(WcsError::invalid(
                "PLTDECD",
                format!("{dec}° is not a declination"),
            ));
        }
        let scale = positive("PLTSCALE", None)? / 3600.0;
        let xsize = positive("XPIXELSZ", None)? / 1000.0;
        // Square pixels when YPIXELSZ is missing (some DSS headers give only X).
        let ysize = positive("YPIXELSZ", Some(xsize * 1000.0))? / 1000.0;
        let corner = [finite("CNPIX1", Some(0.0))?, finite("CNPIX2", Some(0.0))?];
        let ppo = [
            finite("PPO3", None)? / 1000.0,
            finite("PPO6", None)? / 1000.0,
        ];
        let coeffs = |name: &str| -> Result<[f64; N_TERMS], WcsError> {
            let mut c = [0.0; N_TERMS];
            for (i, c) in c.iter_mut().enumerate() {
                *c = finite(&format!("{name}{}", i + 1), Some(0.0))?;
            }
            Ok(c)
        };
        let plate = Plate {
            x: coeffs("AMDX")?,
            y: coeffs("AMDY")?,
            scale,
        };
        // FITS pixel p is plate pixel p + CNPIX − 0.5; x_mm = PPO3 − x·XPIXELSZ and
        // y_mm = y·YPIXELSZ − PPO6 (mm): zero at CRPIX.
        let crpix = [
            ppo[0] / xsize - corner[0] + 0.5,
            ppo[1] / ysize - corner[1] + 0.5,
        ];
        let cd = [[-xsize * scale, 0.0], [0.0, ysize * scale]];
        let linear = Linear::new(crpix, cd)
            .ok_or_else(|| WcsError::invalid("XPIXELSZ/YPIXELSZ", "singular pixel size"))?;
        Ok(Some(PlateSolution {
            plate,
            linear,
            centre: [ra_hours * 15.0, dec],
        }))
    }
}

impl Plate {
    /// Standard coordinates (ξ, η) in degrees from nominal intermediate ones (degrees).
    #[inline]
    pub fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let (xmm, ymm) = (x / self.scale, y / self.scale);
        (
            amd(&self.x, xmm, ymm) / 3600.0,
            amd(&self.y, ymm, xmm) / 3600.0,
        )
    }
}
