//! TPV distortion (the SCAMP/NOAO convention, as wcslib defines it): a polynomial of degree 7
//! in the intermediate world coordinates (x, y) in degrees, after the CD matrix and before the
//! TAN projection. ξ = Σ PV1_k T_k(x, y), η = Σ PV2_k T_k(y, x) (axis 2 swaps x and y), with
//! the terms T_k of [`TERMS`]; k = 3, 11, 23, 39 are the odd powers of r = √(x² + y²).
//! Missing coefficients are zero, as in wcslib (so PV1_1 = PV2_1 = 1 must be written).

use super::{number, WcsError};
use crate::fits::Header;

/// Coefficients per axis: PVi_0 … PVi_39.
pub const N_TERMS: usize = 40;

/// One term of the TPV polynomial.
#[derive(Debug, Clone, Copy)]
enum Term {
    /// `x^i y^j`
    Monomial(u8, u8),
    /// `r^n` (n odd)
    Radial(u8),
}

use Term::{Monomial as M, Radial as R};

/// The terms in PV index order: by degree, within a degree from `x^d` to `y^d`, the odd
/// degrees ending with `r^d`.
const TERMS: [Term; N_TERMS] = [
    M(0, 0),
    M(1, 0),
    M(0, 1),
    R(1),
    M(2, 0),
    M(1, 1),
    M(0, 2),
    M(3, 0),
    M(2, 1),
    M(1, 2),
    M(0, 3),
    R(3),
    M(4, 0),
    M(3, 1),
    M(2, 2),
    M(1, 3),
    M(0, 4),
    M(5, 0),
    M(4, 1),
    M(3, 2),
    M(2, 3),
    M(1, 4),
    M(0, 5),
    R(5),
    M(6, 0),
    M(5, 1),
    M(4, 2),
    M(3, 3),
    M(2, 4),
    M(1, 5),
    M(0, 6),
    M(7, 0),
    M(6, 1),
    M(5, 2),
    M(4, 3),
    M(3, 4),
    M(2, 5),
    M(1, 6),
    M(0, 7),
    R(7),
];

/// The PV1 (ξ) and PV2 (η) coefficients.
#[derive(Debug, Clone, PartialEq)]
pub struct Tpv {
    xi: [f64; N_TERMS],
    eta: [f64; N_TERMS],
}

/// `[1, t, t², …, t⁷]`
fn powers(t: f64) -> [f64; 8] {
    let mut p = [1.0; 8];
    for i in 1..8 {
        p[i] = p[i - 1] * t;
    }
    p
}

/// `Σ c_k T_k(a, b)` from the powers of a, b and r.
fn sum(c: &[f64; N_TERMS], a: &[f64; 8], b: &[f64; 8], r: &[f64; 8]) -> f64 {
    c.iter()
        .zip(TERMS)
        .filter(|(c, _)| **c != 0.0)
        .map(|(c, t)| match t {
            M(i, j) => c * a[i as usize] * b[j as usize],
            R(n) => c * r[n as usize],
        })
        .sum()
}

impl Tpv {
    /// PV1_0..39 and PV2_0..39; `Err` for a coefficient that is no finite number, or an axis
    /// without any coefficient (wcslib would put every pixel at CRVAL).
    pub fn from_header(h: &Header) -> Result<Tpv, WcsError> {
        let axis = |i: usize| -> Result<[f64; N_TERMS], WcsError> {
            let mut c = [0.0; N_TERMS];
            let mut any = false;
            for (k, c) in c.iter_mut().enumerate() {
                let key = format!("PV{i}_{k}");
                if let Some(v) = number(h, &key)? {
                    if !v.is_finite() {
                        return Err(WcsError::invalid(
                            &key,
                            format!("{v} is not a finite coefficient"),
                        ));
                    }
                    *c = v;
                    any = true;
                }
            }
            if !any {
                return Err(WcsError::invalid(
                    &format!("PV{i}_n"),
                    "TPV without any coefficient on this axis",
                ));
            }
            Ok(c)
        };
        Ok(Tpv {
            xi: axis(1)?,
            eta: axis(2)?,
        })
    }

    /// (ξ, η) in degrees from intermediate (x, y) in degrees.
    #[inline]
    pub fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let (px, py, pr) = (powers(x), powers(y), powers(x.hypot(y)));
        (sum(&self.xi, &px, &py, &pr), sum(&self.eta, &py, &px, &pr))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_follow_the_pv_numbering() {
        // Each degree d holds d + 1 monomials (and r^d when d is odd), x^d first.
        let mut k = 0;
        for d in 0..=7u8 {
            for j in 0..=d {
                assert!(matches!(TERMS[k], M(i, jj) if i == d - j && jj == j), "{k}");
                k += 1;
            }
            if d % 2 == 1 {
                assert!(matches!(TERMS[k], R(n) if n == d), "{k}");
                k += 1;
            }
        }
        assert_eq!(k, N_TERMS);
    }

    #[test]
    fn axis_two_swaps_x_and_y() {
        let h = Header::from_pairs([
            ("PV1_1", "1"),
            ("PV1_5", "2"),
            ("PV1_8", "3"),
            ("PV1_11", "0.5"),
            ("PV2_1", "1"),
            ("PV2_5", "2"),
            ("PV2_8", "3"),
            ("PV2_11", "0.5"),
        ]);
        let t = Tpv::from_header(&h).unwrap();
        let (x, y): (f64, f64) = (0.3, -0.2);
        let r3 = x.hypot(y).powi(3);
        let (xi, eta) = t.forward(x, y);
        assert!((xi - (x + 2.0 * x * y + 3.0 * x * x * y + 0.5 * r3)).abs() < 1e-15);
        assert!((eta - (y + 2.0 * x * y + 3.0 * y * y * x + 0.5 * r3)).abs() < 1e-15);
    }

    #[test]
    fn bad_coefficients_name_their_keyword() {
        let err = Tpv::from_header(&Header::from_pairs([("PV1_1", "1"), ("PV2_7", "x")]));
        assert!(matches!(err, Err(WcsError::Invalid { keyword, .. }) if keyword == "PV2_7"));
        let err = Tpv::from_header(&Header::from_pairs([("PV1_1", "1")]));
        assert!(matches!(err, Err(WcsError::Invalid { keyword, .. }) if keyword == "PV2_n"));
    }
}
