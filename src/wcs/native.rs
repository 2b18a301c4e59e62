//! Projections of our own where mapproj 0.4 loses digits or accepts what it cannot invert:
//! AIT (its projection takes `cos b − cos b cos l`, which cancels near the reference point:
//! 1e-4 px at 0.5 px from CRPIX) and ZPN (its deprojection goes through `sqrt(1 − cos²θ)`, 1e-4
//! px near CRPIX; it stops at 1 mas; it takes a polynomial that never increases). Same
//! conventions as mapproj's centred projections: native frame x towards the reference point,
//! y east, z north; plane coordinates in radians.

use std::f64::consts::PI;

/// A projection in its native frame (reference point on +x).
pub(super) trait Native: Send + Sync {
    /// Native unit vector → plane.
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)>;
    /// Plane → native unit vector.
    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]>;
}

/// A native projection turned to its reference point (mapproj's rotation, so that results
/// match its centred projections).
pub(super) struct Centred<N> {
    rows: [[f64; 3]; 3],
    native: N,
}

impl<N: Native> Centred<N> {
    /// `lon`, `lat` of the reference point in radians.
    pub(super) fn new(native: N, lon: f64, lat: f64) -> Centred<N> {
        let (sl, cl) = lon.sin_cos();
        let (sb, cb) = lat.sin_cos();
        Centred {
            rows: [
                [cl * cb, sl * cb, sb],
                [-sl, cl, 0.0],
                [-cl * sb, -sl * sb, cb],
            ],
            native,
        }
    }

    pub(super) fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let r = &self.rows;
        let dot = |row: &[f64; 3]| row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
        self.native.proj([dot(&r[0]), dot(&r[1]), dot(&r[2])])
    }

    pub(super) fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let n = self.native.unproj(x, y)?;
        let r = &self.rows;
        Some(std::array::from_fn(|j| {
            r[0][j] * n[0] + r[1][j] * n[1] + r[2][j] * n[2]
        }))
    }
}

/// Hammer-Aitoff (paper II, section 5.3.4).
pub(super) struct Aitoff;

impl Native for Aitoff {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let phi = v[1].atan2(v[0]);
        let theta = v[2].atan2(v[0].hypot(v[1]));
        let (sh, ch) = (phi / 2.0).sin_cos();
        let (st, ct) = theta.sin_cos();
        let gamma = (2.0 / (1.0 + ct * ch)).sqrt();
        Some((2.0 * gamma * ct * sh, gamma * st))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        // Inside the ellipse x²/8 + y²/2 ≤ 1.
        let s = x * x / 16.0 + y * y / 4.0;
        if !(0.0..=0.5).contains(&s) {
            return None;
        }
        let z = (1.0 - s).sqrt();
        let phi = 2.0 * (z * x / 2.0).atan2(2.0 * z * z - 1.0);
        let theta = (y * z).clamp(-1.0, 1.0).asin();
        let (sp, cp) = phi.sin_cos();
        let (st, ct) = theta.sin_cos();
        Some([ct * cp, ct * sp, st])
    }
}

/// Slant orthographic (paper II, section 5.1.5: SIN with PV2_1 = ξ, PV2_2 = η). mapproj's
/// deprojection tests its domain with a typo (`y·yp` for `y·zp`) and drops sky it projects.
pub(super) struct SlantSin {
    xi: f64,
    eta: f64,
}

impl SlantSin {
    pub(super) fn new(xi: f64, eta: f64) -> SlantSin {
        SlantSin { xi, eta }
    }
}

impl Native for SlantSin {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        // Seen along (1, ξ, η): the front hemisphere of that direction.
        if v[0] + self.xi * v[1] + self.eta * v[2] < 0.0 {
            return None;
        }
        let s = 1.0 - v[0];
        Some((v[1] + self.xi * s, v[2] + self.eta * s))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        // X² + (x − ξ(1 − X))² + (y − η(1 − X))² = 1: the larger root is the front point.
        let (xi, eta) = (self.xi, self.eta);
        let tg2 = xi * xi + eta * eta;
        let rp = xi * x + eta * y;
        let a = 1.0 + tg2;
        let b = 2.0 * (rp - tg2);
        let c = x * x + y * y - 2.0 * rp + tg2 - 1.0;
        let disc = b * b - 4.0 * a * c;
        // At the limb the discriminant is 0 up to the rounding of its terms (large for a steep
        // slant): a projected limb point must come back.
        let noise = 1e-10 * (b * b + (4.0 * a * c).abs());
        let disc = if disc < 0.0 && disc >= -noise {
            0.0
        } else {
            disc
        };
        if disc.is_nan() || disc < 0.0 {
            return None;
        }
        // Roots without cancellation: q/a and c/q.
        let q = -0.5 * (b + disc.sqrt().copysign(b));
        let big = if q == 0.0 { 0.0 } else { (q / a).max(c / q) };
        let s = 1.0 - big;
        Some([big, x - xi * s, y - eta * s])
    }
}

/// Zenithal polynomial (paper II, section 5.1.7): plane radius `R(θ) = Σ p_m θ^m` at angular
/// distance θ from the reference point, on the range of θ where R is non-negative and
/// increasing.
pub(super) struct ZenithalPolynomial {
    p: Vec<f64>,
    theta: (f64, f64),
    radius: (f64, f64),
}

fn poly(p: &[f64], x: f64) -> f64 {
    p.iter().rev().fold(0.0, |acc, c| acc * x + c)
}

fn dpoly(p: &[f64], x: f64) -> f64 {
    p.iter()
        .enumerate()
        .skip(1)
        .rev()
        .fold(0.0, |acc, (m, c)| acc * x + m as f64 * c)
}

/// The boundary between `yes` (where `f` holds) and `no` (where it does not), on its `yes`
/// side, to the last bit.
fn bisect(mut yes: f64, mut no: f64, f: impl Fn(f64) -> bool) -> f64 {
    for _ in 0..200 {
        let mid = 0.5 * (yes + no);
        if mid == yes || mid == no {
            break;
        }
        if f(mid) {
            yes = mid;
        } else {
            no = mid;
        }
    }
    yes
}

impl ZenithalPolynomial {
    /// `p`: PV2_0, PV2_1, … (finite). `None` when R is nowhere non-negative and increasing.
    pub(super) fn new(p: Vec<f64>) -> Option<ZenithalPolynomial> {
        // 1 arcmin: the finest wiggle of a real distortion polynomial is far wider.
        let step = (1.0f64 / 60.0).to_radians();
        let n = (PI / step).ceil() as usize;
        let at = |i: usize| (i as f64 * step).min(PI);
        // θmin: R ≥ 0 from there on.
        let first = (0..=n).find(|&i| poly(&p, at(i)) >= 0.0)?;
        let theta_min = if first == 0 {
            0.0
        } else {
            // R < 0 at at(first - 1), R ≥ 0 at at(first): the root, on its non-negative side.
            bisect(at(first), at(first - 1), |t| poly(&p, t) >= 0.0)
        };
        // θmax: where R stops increasing.
        let increasing = |t: f64| dpoly(&p, t) > 0.0;
        let probe = theta_min + step / 2.0;
        if !increasing(probe) {
            return None;
        }
        let mut last = probe;
        let mut theta_max = PI;
        let mut t = probe;
        while t < PI {
            t = (t + step).min(PI);
            if !increasing(t) {
                theta_max = bisect(last, t, increasing);
                break;
            }
            last = t;
        }
        let radius = (poly(&p, theta_min), poly(&p, theta_max));
        (radius.0.is_finite() && radius.1.is_finite() && radius.1 > radius.0).then_some(
            ZenithalPolynomial {
                p,
                theta: (theta_min, theta_max),
                radius,
            },
        )
    }

    /// θ with R(θ) = r, for r in the radius range: Newton kept inside a shrinking bracket.
    fn solve(&self, r: f64) -> f64 {
        let (mut lo, mut hi) = self.theta;
        let p = &self.p;
        let mut t = if p.len() > 1 && p[1] > 0.0 {
            ((r - p[0]) / p[1]).clamp(lo, hi)
        } else {
            0.5 * (lo + hi)
        };
        for _ in 0..100 {
            let f = poly(p, t) - r;
            if f == 0.0 {
                return t;
            }
            if f < 0.0 {
                lo = t;
            } else {
                hi = t;
            }
            let d = dpoly(p, t);
            let mut next = t - f / d;
            if !(next > lo && next < hi) {
                next = 0.5 * (lo + hi);
            }
            if (next - t).abs() <= 1e-16 * t.abs() || hi - lo <= 4.0 * f64::EPSILON * hi {
                return next;
            }
            t = next;
        }
        t
    }
}

impl Native for ZenithalPolynomial {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let s = v[1].hypot(v[2]);
        let theta = s.atan2(v[0]);
        if !(self.theta.0..=self.theta.1).contains(&theta) {
            return None;
        }
        let r = poly(&self.p, theta);
        if s == 0.0 {
            // The reference point: a point only if R(0) = 0.
            return (r == 0.0).then_some((0.0, 0.0));
        }
        Some((r * (v[1] / s), r * (v[2] / s)))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let r = x.hypot(y);
        if !(self.radius.0..=self.radius.1).contains(&r) {
            return None;
        }
        if r == 0.0 {
            return (self.theta.0 == 0.0).then_some([1.0, 0.0, 0.0]);
        }
        let theta = self.solve(r);
        // The bracket closes on the root; a polynomial too steep to meet r is no root.
        let residual = poly(&self.p, theta) - r;
        if residual.is_nan() || residual.abs() > 1e-12 * (1.0 + r) {
            return None;
        }
        let (st, ct) = theta.sin_cos();
        Some([ct, st * (x / r), st * (y / r)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(lon: f64, lat: f64) -> [f64; 3] {
        let (sl, cl) = lon.sin_cos();
        let (sb, cb) = lat.sin_cos();
        [cb * cl, cb * sl, sb]
    }

    #[test]
    fn aitoff_round_trips_near_and_far_from_the_centre() {
        for (lon, lat) in [
            (1e-7, 0.0),
            (0.0, -3e-8),
            (2.5, 1.2),
            (-3.1, -0.3),
            (0.3, 1.5),
        ] {
            let v = unit(lon, lat);
            let (x, y) = Aitoff.proj(v).unwrap();
            let w = Aitoff.unproj(x, y).unwrap();
            for i in 0..3 {
                assert!((v[i] - w[i]).abs() < 1e-14, "{lon} {lat}: {v:?} {w:?}");
            }
        }
    }

    #[test]
    fn slant_sin_keeps_what_it_projects_up_to_the_limb() {
        let (xi, eta) = (-58.0f64, 25.0f64);
        let p = SlantSin::new(xi, eta);
        let n = (1.0 + xi * xi + eta * eta).sqrt();
        let d = [1.0 / n, xi / n, eta / n];
        // Two unit vectors across d.
        let e1 = {
            let v = [-d[1], d[0], 0.0];
            let l = v[0].hypot(v[1]);
            [v[0] / l, v[1] / l, 0.0]
        };
        let e2 = [
            d[1] * e1[2] - d[2] * e1[1],
            d[2] * e1[0] - d[0] * e1[2],
            d[0] * e1[1] - d[1] * e1[0],
        ];
        let mut lost = 0;
        for eps in [0.0f64, 1e-12, 1e-9, 1e-6, 1e-3] {
            for k in 0..720 {
                let (s, c) = (k as f64 / 2.0).to_radians().sin_cos();
                let r = (1.0 - eps * eps).sqrt();
                let v: [f64; 3] = std::array::from_fn(|i| eps * d[i] + r * (c * e1[i] + s * e2[i]));
                if let Some((x, y)) = p.proj(v) {
                    lost += usize::from(p.unproj(x, y).is_none());
                }
            }
        }
        assert_eq!(lost, 0);
    }

    #[test]
    fn zpn_domain_and_precision() {
        // UKIDSS: R = θ − 60 θ³ increases up to θ = 1/√180.
        let z = ZenithalPolynomial::new(vec![0.0, 1.0, 0.0, -60.0]).unwrap();
        assert!((z.theta.1 - (1.0f64 / 180.0).sqrt()).abs() < 1e-12);
        for theta in [1e-9f64, 1e-6, 0.01, 0.07] {
            let v = [theta.cos(), theta.sin() * 0.6, theta.sin() * 0.8];
            let (x, y) = z.proj(v).unwrap();
            let w = z.unproj(x, y).unwrap();
            for i in 0..3 {
                assert!(
                    (v[i] - w[i]).abs() < 1e-16 + 1e-12 * theta,
                    "{theta}: {v:?} {w:?}"
                );
            }
        }
        // Beyond the turning point there is no sky.
        assert!(z.proj([0.1f64.cos(), 0.1f64.sin(), 0.0]).is_none());
        // Nowhere increasing, or all zero: refused.
        assert!(ZenithalPolynomial::new(vec![0.0]).is_none());
        assert!(ZenithalPolynomial::new(vec![0.0, -1.0]).is_none());
    }
}
