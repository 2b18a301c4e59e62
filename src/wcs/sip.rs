//! SIP distortion (Shupe et al. 2005): polynomial corrections applied to pixel offsets from
//! CRPIX before the CD matrix. Forward with A/B; inverse by Newton iteration on the forward
//! polynomials (seeded with AP/BP when present), so pixel → sky → pixel closes to ~1e-10 px
//! like astropy's `all_world2pix`.

use super::{number, WcsError};
use crate::fits::Header;

/// Highest SIP order read: 20 covers every header seen (real ones stop near 9) and keeps
/// `u^p v^q` finite over any image a build can hold.
pub const MAX_ORDER: i64 = 20;

/// Polynomial coefficients `c[p][q]` of `u^p v^q`.
#[derive(Debug, Clone, PartialEq)]
struct Poly {
    coeffs: Vec<Vec<f64>>,
}

impl Poly {
    /// `Ok(None)` when the header has no `{name}_ORDER`; `Err` for an order or a coefficient
    /// no polynomial can have.
    fn from_header(h: &Header, name: &str) -> Result<Option<Poly>, WcsError> {
        let key = format!("{name}_ORDER");
        let Some(raw) = h.get(&key) else {
            return Ok(None);
        };
        let order = match h.get_i64(&key) {
            Some(o) if (0..=MAX_ORDER).contains(&o) && h.get_f64(&key) == Some(o as f64) => {
                o as usize
            }
            _ => {
                return Err(WcsError::invalid(
                    &key,
                    format!("'{raw}' is not an order from 0 to {MAX_ORDER}"),
                ))
            }
        };
        let mut coeffs = vec![vec![0.0; order + 1]; order + 1];
        for (p, row) in coeffs.iter_mut().enumerate() {
            for (q, c) in row.iter_mut().enumerate().take(order + 1 - p) {
                let key = format!("{name}_{p}_{q}");
                *c = number(h, &key)?.unwrap_or(0.0);
                if !c.is_finite() {
                    return Err(WcsError::invalid(
                        &key,
                        format!("{c} is not a finite coefficient"),
                    ));
                }
            }
        }
        Ok(Some(Poly { coeffs }))
    }

    fn eval(&self, u: f64, v: f64) -> f64 {
        let mut sum = 0.0;
        let mut up = 1.0;
        for row in &self.coeffs {
            let mut vq = 1.0;
            for c in row {
                sum += c * up * vq;
                vq *= v;
            }
            up *= u;
        }
        sum
    }

    /// (∂/∂u, ∂/∂v)
    fn gradient(&self, u: f64, v: f64) -> (f64, f64) {
        let (mut du, mut dv) = (0.0, 0.0);
        for (p, row) in self.coeffs.iter().enumerate() {
            for (q, c) in row.iter().enumerate() {
                if *c == 0.0 {
                    continue;
                }
                if p > 0 {
                    du += c * p as f64 * u.powi(p as i32 - 1) * v.powi(q as i32);
                }
                if q > 0 {
                    dv += c * q as f64 * u.powi(p as i32) * v.powi(q as i32 - 1);
                }
            }
        }
        (du, dv)
    }
}

/// SIP distortion polynomials A, B (and the inverse AP, BP when the header has them).
#[derive(Debug, Clone, PartialEq)]
pub struct Sip {
    a: Poly,
    b: Poly,
    inverse: Option<(Poly, Poly)>,
}

impl Sip {
    /// The A/B polynomials (and AP/BP when both are there); `Err` when A or B is missing or an
    /// order or coefficient is unusable.
    pub fn from_header(h: &Header) -> Result<Sip, WcsError> {
        let (Some(a), Some(b)) = (Poly::from_header(h, "A")?, Poly::from_header(h, "B")?) else {
            return Err(WcsError::invalid(
                "A_ORDER/B_ORDER",
                "missing although CTYPE says SIP",
            ));
        };
        let inverse = Poly::from_header(h, "AP")?.zip(Poly::from_header(h, "BP")?);
        Ok(Sip { a, b, inverse })
    }

    /// Undistorted offsets from distorted pixel offsets `(u, v)`.
    #[inline]
    pub fn forward(&self, u: f64, v: f64) -> (f64, f64) {
        (u + self.a.eval(u, v), v + self.b.eval(u, v))
    }

    /// Pixel offsets `(u, v)` whose forward image is `(x, y)`; `None` where the iteration
    /// does not close (beyond where the polynomials can be inverted).
    pub fn inverse(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        // The root we want is the one about one distortion away from (x, y); polynomials have
        // others far out, where an AP/BP that does not match A/B can lead Newton.
        let (fx, fy) = self.forward(x, y);
        let reach = 2.0 * (fx - x).hypot(fy - y) + 1e-9 * (1.0 + x.abs() + y.abs());
        if let Some((ap, bp)) = &self.inverse {
            let seed = (x + ap.eval(x, y), y + bp.eval(x, y));
            if let Some((u, v)) = self.newton(x, y, seed) {
                if (u - x).hypot(v - y) <= reach {
                    return Some((u, v));
                }
            }
        }
        self.newton(x, y, (x, y))
    }

    /// Newton's iteration for `forward(u, v) = (x, y)` from `seed`; `None` when it does not
    /// close.
    fn newton(&self, x: f64, y: f64, seed: (f64, f64)) -> Option<(f64, f64)> {
        let (mut u, mut v) = seed;
        for _ in 0..20 {
            let (fu, fv) = self.forward(u, v);
            let (ru, rv) = (fu - x, fv - y);
            if ru.abs() < 1e-11 && rv.abs() < 1e-11 {
                return Some((u, v));
            }
            let (au, av) = self.a.gradient(u, v);
            let (bu, bv) = self.b.gradient(u, v);
            let (j11, j12, j21, j22) = (1.0 + au, av, bu, 1.0 + bv);
            let det = j11 * j22 - j12 * j21;
            if det == 0.0 || !det.is_finite() {
                break;
            }
            u -= (j22 * ru - j12 * rv) / det;
            v -= (-j21 * ru + j11 * rv) / det;
        }
        let (fu, fv) = self.forward(u, v);
        // Far offsets cannot close to 1e-11 px in f64; 1e-9 of the offset is still exact.
        let tolerance = 1e-9 * (1.0 + x.abs() + y.abs());
        ((fu - x).abs() < tolerance && (fv - y).abs() < tolerance).then_some((u, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_undoes_forward() {
        let h = Header::from_pairs([
            ("A_ORDER", "2"),
            ("A_2_0", "1e-5"),
            ("A_1_1", "-2e-5"),
            ("A_0_2", "3e-6"),
            ("B_ORDER", "2"),
            ("B_2_0", "-4e-6"),
            ("B_0_2", "2e-5"),
        ]);
        let sip = Sip::from_header(&h).unwrap();
        let (x, y) = sip.forward(120.0, -80.0);
        assert!((x - (120.0 + 1e-5 * 14400.0 + 2e-5 * 9600.0 + 3e-6 * 6400.0)).abs() < 1e-12);
        let (u, v) = sip.inverse(x, y).unwrap();
        assert!((u - 120.0).abs() < 1e-9 && (v + 80.0).abs() < 1e-9);
    }
}
