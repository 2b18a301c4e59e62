//! Projections of our own, where mapproj 0.4 loses digits, is wrong, panics on header values
//! or lacks the projection (measured against wcslib, tests/wcs_reference.rs):
//! - AIT: mapproj's projection takes `cos b − cos b cos l`, which cancels near the reference
//!   point (1e-4 px at 0.5 px from CRPIX);
//! - ZPN: its deprojection goes through `sqrt(1 − cos²θ)` (1e-4 px near CRPIX), stops at 1 mas
//!   and takes a polynomial that never increases;
//! - ARC: its round trip loses 1e-11 rad 90° from the pole (4e-10 rad found by the fuzzer,
//!   1e-4 px at fine pixel scales);
//! - slant SIN: a typo in its domain test drops sky;
//! - AZP: within 1 mas, but panics on |γ| > 90° (which wcslib takes);
//! - SZP: 10° to 46° off when φc ≠ 0 or θc ≠ 90°;
//! - AIR: within 1 mas, but panics on the default θb = 90°;
//! - PAR: 26° to 62° off;
//! - BON, PCO: missing.
//!
//! Written from paper II with wcslib's parameter defaults, validity checks and bounds
//! (`quadcube` and `healpix` hold the rest); the parameter checks of CYP and the conics, whose
//! mapproj projections we keep, are here too. Plane coordinates in radians (R0 = 1).
//!
//! Frames: [`Native`] projections take unit vectors of the FITS native frame (z: the native
//! pole, x: (φ, θ) = (0, 0), y: φ = 90°), except the zenithal ones marked *polar frame*, which
//! take mapproj's (x: the native pole, y: φ = 90°, z: φ = 180°) and are used through
//! `projection::Polar`. [`Angular`] projections are written in (φ, θ) and used through
//! [`Angles`].

use std::f64::consts::{FRAC_PI_2, PI};

use super::WcsError;

/// A projection: native unit vector ↔ plane.
pub(super) trait Native: Send + Sync {
    /// Native unit vector → plane.
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)>;
    /// Plane → native unit vector.
    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]>;
}

/// A projection written in native longitude and latitude φ, θ (radians, φ in [−π, π]).
pub(super) trait Angular: Send + Sync {
    /// (φ, θ) → plane, `None` where wcslib's bounds say the point is not projected.
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)>;
    /// Plane → (φ, θ); the caller refuses φ beyond ±π and θ beyond ±π/2 (wcslib's `prjbchk`).
    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)>;
}

/// An [`Angular`] projection as a [`Native`] one.
pub(super) struct Angles<A>(pub A);

/// Slack of the native-range check, radians (wcslib's `prjbchk`: 1e-13° to 1e-11°).
const RANGE_SLACK: f64 = 1e-12;

impl<A: Angular> Native for Angles<A> {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let phi = v[1].atan2(v[0]);
        let theta = v[2].atan2(v[0].hypot(v[1]));
        self.0.s2x(phi, theta)
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let (phi, theta) = self.0.x2s(x, y)?;
        if !(phi.abs() <= PI + RANGE_SLACK && theta.abs() <= FRAC_PI_2 + RANGE_SLACK) {
            return None;
        }
        let (sp, cp) = phi.sin_cos();
        let (st, ct) = theta.clamp(-FRAC_PI_2, FRAC_PI_2).sin_cos();
        Some([ct * cp, ct * sp, st])
    }
}

/// The larger of the perspective projections' two θ solutions, ψ − ω and ψ + ω + 180°, each
/// brought to ≤ 90° (wcslib: the point on the planewards side).
fn nearer_solution(psi: f64, omega: f64) -> f64 {
    let wrap = |t: f64| if t > FRAC_PI_2 { t - 2.0 * PI } else { t };
    wrap(psi - omega).max(wrap(psi + omega + PI))
}

/// Zenithal plane point of radius `r` at native longitude `phi`.
fn zenithal_xy(r: f64, phi: f64) -> (f64, f64) {
    let (s, c) = phi.sin_cos();
    (r * s, -r * c)
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

/// Slant orthographic (paper II, section 5.1.5: SIN with PV2_1 = ξ, PV2_2 = η), polar frame.
/// mapproj's
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

/// Zenithal equidistant (paper II, section 5.1.6): plane radius = angular distance from the
/// native pole. Polar frame. mapproj's loses digits far from the pole (1e-11 rad round trip
/// at 90°, 4e-10 seen by the fuzzer), ours keeps them: both ways through atan2 and sin/cos.
pub(super) struct ZenithalEquidistant;

impl Native for ZenithalEquidistant {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let s = v[1].hypot(v[2]);
        if s == 0.0 {
            // The pole, or its antipode (a circle: not one plane point).
            return (v[0] > 0.0).then_some((0.0, 0.0));
        }
        let r = s.atan2(v[0]);
        Some((r * (v[1] / s), r * (v[2] / s)))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let r = x.hypot(y);
        if r > PI {
            return None;
        }
        if r == 0.0 {
            return Some([1.0, 0.0, 0.0]);
        }
        let (sr, cr) = r.sin_cos();
        Some([cr, sr * (x / r), sr * (y / r)])
    }
}

/// Zenithal polynomial (paper II, section 5.1.7): plane radius `R(θ) = Σ p_m θ^m` at angular
/// distance θ from the reference point, on the range of θ where R is non-negative and
/// increasing. Polar frame.
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

/// Zenithal perspective (paper II, section 5.1.1): point of projection μ sphere radii from
/// the centre (PV2_1), plane tilted by γ (PV2_2).
pub(super) struct Perspective {
    mu: f64,
    cos_g: f64,
    sin_g: f64,
    tan_g: f64,
    /// θ below which the far side overlaps the near one.
    overlap: f64,
}

impl Perspective {
    /// `mu`, `gamma_deg`: PV2_1, PV2_2.
    pub(super) fn new(mu: f64, gamma_deg: f64) -> Result<Perspective, WcsError> {
        if mu + 1.0 == 0.0 {
            return Err(WcsError::invalid(
                "PV2_1",
                "AZP μ = −1 projects from the plane",
            ));
        }
        let (sin_g, cos_g) = gamma_deg.to_radians().sin_cos();
        if cos_g.abs() < 1e-15 {
            return Err(WcsError::invalid(
                "PV2_2",
                "AZP γ = ±90° puts the plane edge-on",
            ));
        }
        let overlap = if mu.abs() > 1.0 {
            (-1.0 / mu).asin()
        } else {
            -FRAC_PI_2
        };
        Ok(Perspective {
            mu,
            cos_g,
            sin_g,
            tan_g: sin_g / cos_g,
            overlap,
        })
    }
}

impl Angular for Perspective {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let (sp, cp) = phi.sin_cos();
        let (st, ct) = theta.sin_cos();
        let s = self.tan_g * cp;
        let t = self.mu + st + ct * s;
        if t == 0.0 || theta < self.overlap {
            return None;
        }
        if (self.mu * self.cos_g).abs() < 1.0 {
            // Divergence: beyond the horizon seen from the point of projection.
            let u = self.mu / (1.0 + s * s).sqrt();
            if u.abs() <= 1.0 && theta < nearer_solution((-s).atan(), u.asin()) {
                return None;
            }
        }
        let r = (self.mu + 1.0) * ct / t;
        Some((r * sp, -r * cp / self.cos_g))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let yc = y * self.cos_g;
        let r = x.hypot(yc);
        if r == 0.0 {
            return Some((0.0, FRAC_PI_2));
        }
        let rho = r / (self.mu + 1.0 + y * self.sin_g);
        let mut t = rho * self.mu / (rho * rho + 1.0).sqrt();
        if t.abs() > 1.0 {
            if t.abs() > 1.0 + 1e-13 {
                return None;
            }
            t = t.signum();
        }
        Some((x.atan2(-yc), nearer_solution(1.0f64.atan2(rho), t.asin())))
    }
}

/// Slant zenithal perspective (paper II, section 5.1.2): point of projection μ radii from the
/// centre (PV2_1) towards native (φc, θc) (PV2_2, PV2_3).
pub(super) struct SlantPerspective {
    mu: f64,
    /// The point of projection, sphere radii: (xp, yp, zp).
    p: [f64; 3],
    /// wcslib's divergence constant, zp² − zp − 1.
    w7: f64,
    overlap: f64,
}

impl SlantPerspective {
    /// `mu`, `phi_c`, `theta_c`: PV2_1 and PV2_2, PV2_3 in degrees.
    pub(super) fn new(mu: f64, phi_c: f64, theta_c: f64) -> Result<SlantPerspective, WcsError> {
        let (sp, cp) = phi_c.to_radians().sin_cos();
        let (st, ct) = theta_c.to_radians().sin_cos();
        let zp = mu * st + 1.0;
        if zp == 0.0 {
            return Err(WcsError::invalid(
                "PV2_1/PV2_3",
                "SZP: the point of projection lies in the plane",
            ));
        }
        let overlap = if (zp - 1.0).abs() < 1.0 {
            (1.0 - zp).asin()
        } else {
            -FRAC_PI_2
        };
        Ok(SlantPerspective {
            mu,
            p: [-mu * ct * sp, mu * ct * cp, zp],
            w7: (zp - 1.0) * zp - 1.0,
            overlap,
        })
    }
}

impl SlantPerspective {
    /// Whether native (φ, θ) is the sphere point of its line through the point of projection
    /// P (plane z = 1, P = (xp, yp, 1 − zp)) that the deprojection returns: the one with the
    /// larger sin θ. wcslib's bounds miss some of the others when P is outside the sphere, and
    /// their plane points belong to another sky point.
    fn is_returned(&self, sp: f64, cp: f64, st: f64, ct: f64) -> bool {
        let [xp, yp, zp] = self.p;
        let p = [xp, yp, 1.0 - zp];
        let v = [ct * sp, -ct * cp, st];
        let d: [f64; 3] = std::array::from_fn(|i| v[i] - p[i]);
        let dd = d[0] * d[0] + d[1] * d[1] + d[2] * d[2];
        if dd == 0.0 {
            return true;
        }
        // The line meets the sphere at v (λ = 1) and at λ' = (|P|² − 1)/|d|².
        let other = (p[0] * p[0] + p[1] * p[1] + p[2] * p[2] - 1.0) / dd;
        st >= p[2] + other * d[2] - 1e-12
    }
}

impl Angular for SlantPerspective {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let [xp, yp, zp] = self.p;
        let (sp, cp) = phi.sin_cos();
        let (st, ct) = theta.sin_cos();
        let s = 1.0 - st;
        let t = zp - s;
        if t == 0.0 || theta < self.overlap || !self.is_returned(sp, cp, st, ct) {
            return None;
        }
        if self.mu.abs() > 1.0 {
            let a = xp * sp - yp * cp;
            let u = 1.0 / (self.w7 + a * a).sqrt();
            if u.abs() <= 1.0 && theta < nearer_solution(a.atan2(zp - 1.0), u.asin()) {
                return None;
            }
        }
        let r = zp * ct / t;
        Some((r * sp - xp * s / t, -r * cp - yp * s / t))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let [xp, yp, zp] = self.p;
        let r2 = x * x + y * y;
        let x1 = (x - xp) / zp;
        let y1 = (y - yp) / zp;
        let xy = x * x1 + y * y1;
        // With z = 1 − sin θ the sphere/line intersection is a z² − 2(1 + xy) z + r² = 0,
        // a = 1 + x1² + y1²: solved for z, its root nearest the pole, without cancellation
        // (wcslib solves for sin θ and loses digits near the pole, 1e-10 rad at 1e-5 rad).
        let a = 1.0 + x1 * x1 + y1 * y1;
        let b = 1.0 + xy;
        let disc = b * b - a * r2;
        if disc.is_nan() || disc < 0.0 {
            return None;
        }
        let mut z = if b > 0.0 {
            r2 / (b + disc.sqrt())
        } else {
            (b + disc.sqrt()) / a
        };
        const TOL: f64 = 1e-13;
        if z < 0.0 {
            if z < -TOL {
                return None;
            }
            z = 0.0;
        }
        if z > 2.0 {
            if z > 2.0 + TOL {
                return None;
            }
            z = 2.0;
        }
        // 1 − sin θ = 2 sin²((90° − θ)/2).
        let theta = FRAC_PI_2 - 2.0 * (z / 2.0).sqrt().asin();
        Some(((x - x1 * z).atan2(-(y - y1 * z)), theta))
    }
}

/// Airy's minimum-error zenithal (paper II, section 5.1.9), θb = PV2_1.
pub(super) struct Airy {
    /// ln(cos ξb) / tan²ξb (−1/2 for θb = 90°).
    a: f64,
}

/// Below this ξ (radians) Airy's R is taken as its first-order term.
const AIRY_SMALL: f64 = 1e-4;

impl Airy {
    /// `theta_b`: PV2_1 in degrees.
    pub(super) fn new(theta_b: f64) -> Result<Airy, WcsError> {
        let a = if theta_b == 90.0 {
            -0.5
        } else if theta_b > -90.0 && theta_b < 90.0 {
            let c = ((90.0 - theta_b) / 2.0).to_radians().cos();
            c.ln() * c * c / (1.0 - c * c)
        } else {
            return Err(WcsError::invalid(
                "PV2_1",
                format!("AIR θb = {theta_b} is not in (−90°, 90°]"),
            ));
        };
        Ok(Airy { a })
    }

    /// R/2 at ξ = (90° − θ)/2.
    fn half_radius(&self, xi: f64) -> f64 {
        if xi < AIRY_SMALL {
            xi * (0.5 - self.a)
        } else {
            let (s, c) = xi.sin_cos();
            let tan = s / c;
            -(c.ln() / tan + self.a * tan)
        }
    }
}

impl Angular for Airy {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        if theta <= -FRAC_PI_2 {
            return None;
        }
        let r = 2.0 * self.half_radius((FRAC_PI_2 - theta) / 2.0);
        Some(zenithal_xy(r, phi))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let r = x.hypot(y) / 2.0;
        if r == 0.0 {
            return Some((0.0, FRAC_PI_2));
        }
        // R grows with ξ from 0 to ∞ over [0, 90°): bisect on ξ to the last bit.
        let (mut lo, mut hi) = (0.0f64, FRAC_PI_2);
        if self.half_radius(hi * (1.0 - 1e-15)) < r {
            return None;
        }
        while hi - lo > 1e-16 {
            let mid = 0.5 * (lo + hi);
            if mid == lo || mid == hi {
                break;
            }
            if self.half_radius(mid) < r {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some((x.atan2(-y), FRAC_PI_2 - (lo + hi)))
    }
}

/// wcslib's checks of the cylindrical perspective's μ = PV2_1, λ = PV2_2.
pub(super) fn check_cylindrical_perspective(mu: f64, lambda: f64) -> Result<(), WcsError> {
    if lambda == 0.0 {
        return Err(WcsError::invalid("PV2_2", "CYP λ = 0 is no cylinder"));
    }
    if mu + lambda == 0.0 {
        return Err(WcsError::invalid("PV2_1/PV2_2", "CYP μ + λ = 0"));
    }
    Ok(())
}

/// Parabolic (paper II, section 5.3.2).
pub(super) struct Parabolic;

impl Angular for Parabolic {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let s = (theta / 3.0).sin();
        Some((phi * (1.0 - 4.0 * s * s), PI * s))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let r = y / PI;
        if r.abs() > 1.0 {
            return None;
        }
        let s = 1.0 - 4.0 * r * r;
        let theta = 3.0 * r.asin();
        if s == 0.0 {
            // A pole: only its one point.
            return (x.abs() <= 1e-13).then_some((0.0, theta));
        }
        Some((x / s, theta))
    }
}

/// Polyconic (paper II, section 5.5.2).
pub(super) struct Polyconic;

impl Angular for Polyconic {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        if theta == 0.0 {
            return Some((phi, 0.0));
        }
        let e = phi * theta.sin();
        let cot = 1.0 / theta.tan();
        let h = (e / 2.0).sin();
        Some((cot * e.sin(), theta + cot * 2.0 * h * h))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        const TOL: f64 = 1e-12;
        let w = y.abs();
        if w < TOL {
            return Some((x, 0.0));
        }
        if (w - FRAC_PI_2).abs() < TOL {
            return Some((0.0, FRAC_PI_2.copysign(y)));
        }
        // θ between 0 and y where x² + (y − θ)(y − θ − 2 cot θ) changes sign.
        let f = |t: f64| x * x + (y - t) * (y - t - 2.0 / t.tan());
        let theta = if w < 1e-4 {
            y / (1.0 + x * x / 2.0)
        } else {
            let (mut pos, mut neg) = (y, 0.0);
            for _ in 0..200 {
                let mid = 0.5 * (pos + neg);
                if mid == pos || mid == neg {
                    break;
                }
                if f(mid) > 0.0 {
                    pos = mid;
                } else {
                    neg = mid;
                }
            }
            0.5 * (pos + neg)
        };
        let tan = theta.tan();
        let (x1, y1) = (1.0 - (y - theta) * tan, x * tan);
        let phi = if x1 == 0.0 && y1 == 0.0 {
            0.0
        } else {
            y1.atan2(x1) / theta.sin()
        };
        Some((phi, theta))
    }
}

/// Bonne's equal area (paper II, section 5.5.1), θ1 = PV2_1 ≠ 0 (0 is SFL).
pub(super) struct Bonne {
    theta1: f64,
    y0: f64,
}

impl Bonne {
    /// `theta1`: PV2_1 in degrees, not 0.
    pub(super) fn new(theta1: f64) -> Result<Bonne, WcsError> {
        let t = theta1.to_radians();
        if !(t.sin().abs() >= MIN_CONE && theta1.abs() <= 90.0) {
            return Err(WcsError::invalid(
                "PV2_1",
                format!(
                    "BON θ1 = {theta1} is not in [−90°, 90°], or so near 0 (but not 0: SFL) \
                     that its cone is too flat"
                ),
            ));
        }
        Ok(Bonne {
            theta1: t,
            y0: 1.0 / t.tan() + t,
        })
    }
}

impl Angular for Bonne {
    fn s2x(&self, phi: f64, theta: f64) -> Option<(f64, f64)> {
        let r = self.y0 - theta;
        let a = if r == 0.0 { 0.0 } else { phi * theta.cos() / r };
        let (sa, ca) = a.sin_cos();
        Some((r * sa, -r * ca + self.y0))
    }

    fn x2s(&self, x: f64, y: f64) -> Option<(f64, f64)> {
        let dy = self.y0 - y;
        let r = x.hypot(dy).copysign(self.theta1);
        let alpha = if r == 0.0 { 0.0 } else { (x / r).atan2(dy / r) };
        let theta = self.y0 - r;
        let ct = theta.cos();
        Some((if ct == 0.0 { 0.0 } else { alpha * r / ct }, theta))
    }
}

/// The four conics of paper II (section 5.4).
pub(super) enum ConicKind {
    /// COP: perspective.
    Perspective,
    /// COE: equal area.
    EqualArea,
    /// COD: equidistant.
    Equidistant,
    /// COO: conformal (Lambert).
    Orthomorphic,
}

/// Smallest |C| of a conic and |sin θ1| of BON we take (wcslib: any non-zero value): their
/// apex lies ~1/C radii away, and at 1/C = 100 rad the plane coordinates already spend two of
/// their sixteen digits on it.
const MIN_CONE: f64 = 1e-2;

/// wcslib's checks of a conic's θa = PV2_1 and η = PV2_2 (degrees): a finite cone constant C ≠ 0
/// (and for COP cos η ≠ 0, for COO a standard parallel off the poles).
pub(super) fn check_conic(kind: &ConicKind, theta_a: f64, eta: f64) -> Result<(), WcsError> {
    let (t1, t2) = ((theta_a - eta).to_radians(), (theta_a + eta).to_radians());
    let ta = theta_a.to_radians();
    let half_tan = |t: f64| ((FRAC_PI_2 - t) / 2.0).tan();
    let (c, other) = match kind {
        ConicKind::Perspective => (ta.sin(), eta.to_radians().cos()),
        ConicKind::EqualArea => ((t1.sin() + t2.sin()) / 2.0, 1.0),
        ConicKind::Equidistant => {
            let e = eta.to_radians();
            (
                if eta == 0.0 {
                    ta.sin()
                } else {
                    ta.sin() * e.sin() / e
                },
                1.0,
            )
        }
        ConicKind::Orthomorphic => {
            let c = if t1 == t2 {
                t1.sin()
            } else {
                (t2.cos() / t1.cos()).ln() / (half_tan(t2) / half_tan(t1)).ln()
            };
            // ψ = cos θ1 / (C tan^C((90° − θ1)/2)): zero or infinite at a pole.
            (c, t1.cos() / c / half_tan(t1).powf(c))
        }
    };
    if c == 0.0 || !c.is_finite() || other == 0.0 || !other.is_finite() {
        return Err(WcsError::invalid(
            "PV2_1/PV2_2",
            format!("no cone for θa = {theta_a}, η = {eta}"),
        ));
    }
    if c.abs() < MIN_CONE {
        return Err(WcsError::invalid(
            "PV2_1/PV2_2",
            format!(
                "cone constant {c:e} (θa = {theta_a}, η = {eta}): a cone this flat has its apex \
                 ~1/C radii away, beyond double precision at the pixel level"
            ),
        ));
    }
    Ok(())
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
