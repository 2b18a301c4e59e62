//! The linear part of a FITS WCS: pixel offsets from CRPIX to intermediate world coordinates
//! (degrees) through the CD matrix, built from CDi_j, PCi_j + CDELTi, or CDELTi + CROTA2
//! (WCS paper I, section 2.1 and the CROTA2 convention of paper II, section 6.1).

use super::{number, WcsError};
use crate::fits::Header;

/// Largest |CRPIX| read: beyond it f64 pixel offsets lose their fractional part (at 1e9 a
/// step is 1.2e-7 px); real reference pixels stay within 1e5 of their image.
pub const MAX_CRPIX: f64 = 1e9;

/// `[x, y] = cd · [u, v]` with `u = p1 − CRPIX1`, `v = p2 − CRPIX2` (FITS 1-based pixels).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Linear {
    /// Reference pixel (FITS 1-based).
    pub crpix: [f64; 2],
    /// Degrees per pixel offset: `cd[i][j]` is CD(i+1)_(j+1).
    pub cd: [[f64; 2]; 2],
    inverse: [[f64; 2]; 2],
}

impl Linear {
    /// Fails when the matrix is singular (or so nearly that its inverse overflows).
    pub fn new(crpix: [f64; 2], cd: [[f64; 2]; 2]) -> Option<Linear> {
        let det = cd[0][0] * cd[1][1] - cd[0][1] * cd[1][0];
        if det == 0.0 || !det.is_finite() {
            return None;
        }
        // True inverse of a 2x2 matrix: both off-diagonal terms change sign (mapproj 0.4 swaps them).
        let inverse = [
            [cd[1][1] / det, -cd[0][1] / det],
            [-cd[1][0] / det, cd[0][0] / det],
        ];
        // A determinant near the smallest f64 leaves an infinite inverse: singular too.
        inverse
            .iter()
            .flatten()
            .all(|v| v.is_finite())
            .then_some(Linear { crpix, cd, inverse })
    }

    /// Reads CRPIX and the matrix; `Err` names the keyword at fault.
    pub fn from_header(h: &Header) -> Result<Linear, WcsError> {
        let g = |k: &str, default: f64| Ok::<f64, WcsError>(number(h, k)?.unwrap_or(default));
        let crpix = [g("CRPIX1", 0.0)?, g("CRPIX2", 0.0)?];
        for (i, c) in crpix.iter().enumerate() {
            if !(-MAX_CRPIX..=MAX_CRPIX).contains(c) {
                return Err(WcsError::invalid(
                    &format!("CRPIX{}", i + 1),
                    format!("{c} is not a usable reference pixel (|CRPIX| ≤ {MAX_CRPIX:e})"),
                ));
            }
        }
        let has_cd = ["CD1_1", "CD1_2", "CD2_1", "CD2_2"]
            .iter()
            .any(|k| h.contains(k));
        let (cd, keys) = if has_cd {
            (
                [
                    [g("CD1_1", 0.0)?, g("CD1_2", 0.0)?],
                    [g("CD2_1", 0.0)?, g("CD2_2", 0.0)?],
                ],
                "CDi_j",
            )
        } else {
            let cdelt = [g("CDELT1", 1.0)?, g("CDELT2", 1.0)?];
            for (i, d) in cdelt.iter().enumerate() {
                if *d == 0.0 {
                    return Err(WcsError::invalid(
                        &format!("CDELT{}", i + 1),
                        "0: a pixel has no size",
                    ));
                }
            }
            let has_pc = ["PC1_1", "PC1_2", "PC2_1", "PC2_2"]
                .iter()
                .any(|k| h.contains(k));
            let pc = if has_pc {
                [
                    [g("PC1_1", 1.0)?, g("PC1_2", 0.0)?],
                    [g("PC2_1", 0.0)?, g("PC2_2", 1.0)?],
                ]
            } else {
                let rho = g("CROTA2", 0.0)?.to_radians();
                let (s, c) = rho.sin_cos();
                [[c, -s * cdelt[1] / cdelt[0]], [s * cdelt[0] / cdelt[1], c]]
            };
            (
                [
                    [cdelt[0] * pc[0][0], cdelt[0] * pc[0][1]],
                    [cdelt[1] * pc[1][0], cdelt[1] * pc[1][1]],
                ],
                if has_pc {
                    "CDELTi/PCi_j"
                } else {
                    "CDELTi/CROTA2"
                },
            )
        };
        if cd.iter().flatten().any(|v| !v.is_finite()) {
            return Err(WcsError::invalid(
                keys,
                format!("the matrix {cd:?} is not finite"),
            ));
        }
        Linear::new(crpix, cd)
            .ok_or_else(|| WcsError::invalid(keys, format!("singular matrix {cd:?}")))
    }

    /// Offsets `(u, v)` from CRPIX → intermediate coordinates (degrees).
    #[inline]
    pub fn forward(&self, u: f64, v: f64) -> (f64, f64) {
        let m = &self.cd;
        (m[0][0] * u + m[0][1] * v, m[1][0] * u + m[1][1] * v)
    }

    /// Intermediate coordinates (degrees) → offsets `(u, v)` from CRPIX.
    #[inline]
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let m = &self.inverse;
        (m[0][0] * x + m[0][1] * y, m[1][0] * x + m[1][1] * y)
    }

    /// Pixel scale in degrees: the square root of the pixel area.
    pub fn pixel_scale_deg(&self) -> f64 {
        (self.cd[0][0] * self.cd[1][1] - self.cd[0][1] * self.cd[1][0])
            .abs()
            .sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_is_exact_for_asymmetric_matrices() {
        // SDSS-like CD matrix with CD1_2 != CD2_1: the case mapproj gets wrong.
        let l = Linear::new([1025.0, 745.0], [[1.5e-6, -1.1e-4], [-1.1e-4, -1.3e-6]]).unwrap();
        let (x, y) = l.forward(123.4, -56.7);
        let (u, v) = l.inverse(x, y);
        assert!(
            (u - 123.4).abs() < 1e-9 && (v + 56.7).abs() < 1e-9,
            "{u} {v}"
        );
    }

    #[test]
    fn crota2_matches_the_pc_form() {
        let h = Header::from_pairs([("CDELT1", "-0.001"), ("CDELT2", "0.002"), ("CROTA2", "30")]);
        let l = Linear::from_header(&h).unwrap();
        let (s, c) = 30f64.to_radians().sin_cos();
        // CD = [[cdelt1 cos, -cdelt2 sin], [cdelt1 sin, cdelt2 cos]]
        let expect = [[-0.001 * c, -0.002 * s], [-0.001 * s, 0.002 * c]];
        for (row, expected_row) in l.cd.iter().zip(&expect) {
            for (v, e) in row.iter().zip(expected_row) {
                assert!((v - e).abs() < 1e-15);
            }
        }
    }
}
