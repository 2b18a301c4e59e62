//! The HEALPix projections, ours (mapproj's HPX knows only H = 4, K = 3): HPX with H facets in
//! longitude and K in latitude (PV2_1, PV2_2; Calabretta & Roukema 2007) and XPH, its polar
//! "butterfly" form, with wcslib's bounds. Written in degrees, as the paper defines them,
//! behind the radian interface of [`Angular`].

use super::native::Angular;
use super::WcsError;

/// HEALPix projection with H = PV2_1, K = PV2_2 (4 and 3 by default).
pub(super) struct Healpix {
    k: f64,
    h_odd: bool,
    k_odd: bool,
    /// Facet width in longitude, 360°/H, halved: 180°/H.
    half_facet: f64,
    /// 90° K/H: y of the equatorial zone's edge scaled by sin θ.
    y_scale: f64,
    /// (K + 1)/2.
    k_half: f64,
}

impl Healpix {
    /// `h`, `k`: PV2_1, PV2_2.
    pub(super) fn new(h: f64, k: f64) -> Result<Healpix, WcsError> {
        // wcslib takes any positive value; only whole facet counts make a HEALPix layout (a
        // fractional K folds the polar caps onto each other).
        for (key, v) in [("PV2_1", h), ("PV2_2", k)] {
            if !((1.0..=1e6).contains(&v) && v.fract() == 0.0) {
                return Err(WcsError::invalid(
                    key,
                    format!("HPX facet count {v} is not a whole number ≥ 1"),
                ));
            }
        }
        Ok(Healpix {
            k,
            h_odd: h % 2.0 == 1.0,
            k_odd: k % 2.0 == 1.0,
            half_facet: 180.0 / h,
            y_scale: 90.0 * k / h,
            k_half: (k + 1.0) / 2.0,
        })
    }

    /// Offset of longitude `a` from the centre of its facet (degrees).
    fn facet_offset(&self, a: f64) -> f64 {
        let centre = -180.0
            + (2.0 * ((a + 180.0) / (2.0 * self.half_facet)).floor() + 1.0) * self.half_facet;
        a - centre
    }

    /// For even K in the south: polar facets are shifted by half a facet, alternately.
    fn shifted(&self, offset: f64, a: f64) -> f64 {
        let h = (a / self.half_facet).floor() as i64 + i64::from(self.h_odd);
        if h % 2 != 0 {
            offset - self.half_facet
        } else {
            offset + self.half_facet
        }
    }
}

/// Longitude `a` (degrees) rounded as `a + 180°` rounds, so that its facet (from `a + 180°`)
/// and the parity of its polar shift (from `a`) agree for `a` a hair off a facet edge.
fn snap(a: f64) -> f64 {
    (a + 180.0) - 180.0
}

impl Angular for Healpix {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (phi, theta) = (snap(phi.to_degrees()), theta.to_degrees());
        let sin_t = theta.to_radians().sin();
        let (x, y) = if sin_t.abs() <= (self.k - 1.0) / self.k {
            (phi, self.y_scale * sin_t)
        } else {
            let sigma = (self.k * (1.0 - sin_t.abs())).sqrt();
            let mut offset = self.facet_offset(phi);
            if !(self.k_odd || theta > 0.0) {
                offset = self.shifted(offset, phi);
            }
            let eta = (self.half_facet * (self.k_half - sigma)).copysign(theta);
            let mut x = phi + offset * (sigma - 1.0);
            if x > 180.0 {
                x = 360.0 - x;
            }
            (x, eta)
        };
        Some((x.to_radians(), y.to_radians()))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x, y) = (snap(x.to_degrees()), y.to_degrees());
        let absy = y.abs();
        // The equatorial zone reaches 90° (K − 1)/H.
        let (phi, theta) = if absy <= self.half_facet * (self.k - 1.0) / 2.0 {
            (x, (y / self.y_scale).asin().to_degrees())
        } else if absy <= self.half_facet * self.k_half {
            let sigma = self.k_half - absy / self.half_facet;
            let (scale, theta) = if sigma == 0.0 {
                (1e9, 90.0)
            } else {
                let t = 1.0 - sigma * sigma / self.k;
                if t < -1.0 {
                    return None;
                }
                (1.0 / sigma, t.asin().to_degrees())
            };
            let mut offset = self.facet_offset(x);
            if !(self.k_odd || y > 0.0) {
                offset = self.shifted(offset, x);
            }
            let r = scale * offset;
            if self.half_facet + 1e-12 <= r.abs() {
                return None;
            }
            let r = if r != 0.0 { r - offset } else { r };
            (x + r, theta.copysign(y))
        } else {
            return None;
        };
        Some((phi.to_radians(), theta.to_radians()))
    }
}

/// HEALPix polar ("butterfly") projection.
pub(super) struct Butterfly;

/// Within this σ of the pole, θ is taken to first order.
const XPH_SMALL: f64 = 1e-4;
/// Slack of XPH's facet edges, degrees.
const XPH_TOL: f64 = 1e-12;

impl Angular for Butterfly {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (phi, theta) = (phi.to_degrees(), theta.to_degrees());
        let mut chi = phi;
        if chi.abs() >= 180.0 {
            chi %= 360.0;
            if chi < -180.0 {
                chi += 360.0;
            } else if chi >= 180.0 {
                chi -= 360.0;
            }
        }
        // `psi`: the offset of φ within its 90° quadrant; the quadrant from the same rounded
        // sum, so that both agree for φ a hair below a quadrant's edge.
        let mut shifted = chi + 180.0;
        if shifted >= 360.0 {
            // φ a hair below 180° rounds up: it is the quadrant of −180°.
            shifted -= 360.0;
        }
        let psi = shifted % 90.0;
        let quadrant = shifted - 180.0;
        let sin_t = theta.to_radians().sin();
        let (mut xi, mut eta) = if sin_t.abs() <= 2.0 / 3.0 {
            (psi, 67.5 * sin_t)
        } else {
            let sigma = if theta < 90.0 - XPH_SMALL * (2.0f64 / 3.0).sqrt().to_degrees() {
                (3.0 * (1.0 - sin_t.abs())).sqrt()
            } else {
                (90.0 - theta) * 1.5f64.sqrt().to_radians()
            };
            (
                45.0 + (psi - 45.0) * sigma,
                (45.0 * (2.0 - sigma)).copysign(theta),
            )
        };
        xi -= 45.0;
        eta -= 90.0;
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let (x, y) = if quadrant < -90.0 {
            (-xi + eta, -xi - eta)
        } else if quadrant < 0.0 {
            (xi + eta, -xi + eta)
        } else if quadrant < 90.0 {
            (xi - eta, xi + eta)
        } else {
            (-xi - eta, xi - eta)
        };
        Some(((s * x).to_radians(), (s * y).to_radians()))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let s = std::f64::consts::FRAC_1_SQRT_2;
        let (xr, yr) = (s * x.to_degrees(), s * y.to_degrees());
        let (xi1, eta1, mut phi) = if xr <= 0.0 && 0.0 < yr {
            (-xr - yr, xr - yr, -180.0)
        } else if xr < 0.0 && yr <= 0.0 {
            (xr - yr, xr + yr, -90.0)
        } else if 0.0 <= xr && yr < 0.0 {
            (xr + yr, -xr + yr, 0.0)
        } else {
            (-xr + yr, -xr - yr, 90.0)
        };
        let xi = xi1 + 45.0;
        let eta = eta1 + 90.0;
        let abseta = eta.abs();
        if abseta > 90.0 {
            return None;
        }
        let theta = if abseta <= 45.0 {
            if 45.0 + XPH_TOL < xi1.abs() {
                return None;
            }
            phi += xi;
            (eta / 67.5).asin().to_degrees()
        } else {
            let sigma = (90.0 - abseta) / 45.0;
            phi = if xr == 0.0 {
                if yr <= 0.0 {
                    0.0
                } else {
                    180.0
                }
            } else if yr == 0.0 {
                if xr < 0.0 {
                    -90.0
                } else {
                    90.0
                }
            } else {
                phi + 45.0 + xi1 / sigma
            };
            if eta < -45.0 && eta + 90.0 + XPH_TOL < xi1.abs() {
                return None;
            }
            let t = if sigma < XPH_SMALL {
                90.0 - sigma * (2.0f64 / 3.0).sqrt().to_degrees()
            } else {
                (1.0 - sigma * sigma / 3.0).asin().to_degrees()
            };
            t.copysign(eta)
        };
        Some((phi.to_radians(), theta.to_radians()))
    }
}
