//! The distortion stage of a WCS, between the pixel and the projection plane: SIP on pixel
//! offsets before the CD matrix, or a correction of the intermediate world coordinates after
//! it (TPV, IRAF TNX/ZPX surfaces, DSS plate polynomials). The inverse of a plane correction
//! is Newton's iteration on a central-difference Jacobian, seeded by the inverse of the
//! correction's affine part at the origin (then at the uncorrected point), with steps
//! shortened until the residual falls; it stops when the residual is below
//! [`PLANE_TOLERANCE_DEG`] and gives `None` when it stalls or does not get there.

use super::iraf::Iraf;
use super::linear::Linear;
use super::plate::Plate;
use super::sip::Sip;
use super::tpv::Tpv;
use super::WcsError;
use crate::fits::Header;

/// Residual (degrees) at which the inverse of a plane correction stops: 3.6e-9″, 1e-7 of
/// the smallest pixel seen (0.03″); f64 still resolves it on a 90° plane.
pub const PLANE_TOLERANCE_DEG: f64 = 1e-12;

/// Newton steps before the inverse gives up (real corrections close in 2 to 4).
const MAX_ITERATIONS: usize = 20;

/// Step of the numerical Jacobian (degrees): 0.4 mas, small against the curvature of any
/// real correction, large against rounding (its error is ~1e-9 relative).
const JACOBIAN_STEP_DEG: f64 = 1e-7;

/// How pixels are distorted before they reach the projection plane.
#[derive(Debug)]
pub enum Distortion {
    /// The plain CRPIX/CD mapping.
    None,
    /// SIP polynomials on pixel offsets, before the CD matrix.
    Sip(Sip),
    /// A correction of the intermediate world coordinates, after the CD matrix.
    Plane(Plane),
}

/// The corrections of intermediate world coordinates (degrees in, degrees out).
#[derive(Debug)]
pub enum PlaneCorrection {
    /// PV1_n/PV2_n polynomials (640 bytes: boxed).
    Tpv(Box<Tpv>),
    /// IRAF lngcor/latcor surfaces (TNX, ZPX).
    Iraf(Iraf),
    /// DSS plate solution (from the nominal CD matrix to ξ, η).
    Plate(Plate),
}

impl PlaneCorrection {
    #[inline]
    fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        match self {
            PlaneCorrection::Tpv(t) => t.forward(x, y),
            PlaneCorrection::Iraf(i) => i.forward(x, y),
            PlaneCorrection::Plate(p) => p.forward(x, y),
        }
    }

    /// ∂(F_x, F_y)/∂(x, y) by central differences: `[[∂x Fx, ∂y Fx], [∂x Fy, ∂y Fy]]`.
    fn jacobian(&self, x: f64, y: f64) -> [[f64; 2]; 2] {
        let h = JACOBIAN_STEP_DEG;
        let (ax, ay) = self.forward(x + h, y);
        let (bx, by) = self.forward(x - h, y);
        let (cx, cy) = self.forward(x, y + h);
        let (dx, dy) = self.forward(x, y - h);
        [
            [(ax - bx) / (2.0 * h), (cx - dx) / (2.0 * h)],
            [(ay - by) / (2.0 * h), (cy - dy) / (2.0 * h)],
        ]
    }
}

/// `m⁻¹ · (x, y)`, or `None` for a singular or non-finite matrix.
fn solve(m: [[f64; 2]; 2], x: f64, y: f64) -> Option<(f64, f64)> {
    let det = m[0][0] * m[1][1] - m[0][1] * m[1][0];
    let s = (
        (m[1][1] * x - m[0][1] * y) / det,
        (-m[1][0] * x + m[0][0] * y) / det,
    );
    (det != 0.0 && s.0.is_finite() && s.1.is_finite()).then_some(s)
}

/// A plane correction with its affine part at the origin (CRPIX, or the plate centre), which
/// seeds the inverse: a correction that is mostly an offset or a shear is undone there.
#[derive(Debug)]
pub struct Plane {
    correction: PlaneCorrection,
    origin: (f64, f64),
    jacobian: [[f64; 2]; 2],
}

impl Plane {
    /// Wraps `correction` with its affine part at (0, 0).
    pub fn new(correction: PlaneCorrection) -> Plane {
        let origin = correction.forward(0.0, 0.0);
        let jacobian = correction.jacobian(0.0, 0.0);
        Plane {
            correction,
            origin,
            jacobian,
        }
    }

    #[inline]
    fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        self.correction.forward(x, y)
    }

    /// The (x, y) whose correction is (xc, yc), or `None` where Newton does not close.
    /// Seeded by the affine part's inverse, then, when that does not close, at (xc, yc).
    fn inverse(&self, xc: f64, yc: f64) -> Option<(f64, f64)> {
        solve(self.jacobian, xc - self.origin.0, yc - self.origin.1)
            .and_then(|seed| self.newton(xc, yc, seed))
            .or_else(|| self.newton(xc, yc, (xc, yc)))
    }

    /// Newton's iteration for `F(x, y) = (xc, yc)` from `seed`, each step shortened until the
    /// residual shrinks (so the search stays by the root nearest the seed); `None` when it
    /// stalls or does not close within [`MAX_ITERATIONS`].
    fn newton(&self, xc: f64, yc: f64, seed: (f64, f64)) -> Option<(f64, f64)> {
        let residual = |x: f64, y: f64| {
            let (fx, fy) = self.forward(x, y);
            (fx - xc, fy - yc)
        };
        let (mut x, mut y) = seed;
        for _ in 0..MAX_ITERATIONS {
            let (rx, ry) = residual(x, y);
            if !(rx.is_finite() && ry.is_finite()) {
                return None;
            }
            if rx.abs().max(ry.abs()) < PLANE_TOLERANCE_DEG {
                return Some((x, y));
            }
            let (sx, sy) = solve(self.correction.jacobian(x, y), rx, ry)?;
            let norm = rx.hypot(ry);
            let mut lambda = 1.0;
            loop {
                let (tx, ty) = residual(x - lambda * sx, y - lambda * sy);
                if tx.hypot(ty) < norm {
                    break;
                }
                lambda /= 4.0;
                if lambda < 1e-3 {
                    // A local minimum of the residual, no root: give up at once (a header
                    // whose correction folds would otherwise cost every output pixel).
                    return None;
                }
            }
            x -= lambda * sx;
            y -= lambda * sy;
        }
        None
    }
}

impl Distortion {
    /// FITS pixel → intermediate world coordinates (degrees) on the projection plane.
    #[inline]
    pub fn pixel_to_plane(&self, linear: &Linear, px: f64, py: f64) -> (f64, f64) {
        let (mut u, mut v) = (px - linear.crpix[0], py - linear.crpix[1]);
        if let Distortion::Sip(sip) = self {
            (u, v) = sip.forward(u, v);
        }
        let (x, y) = linear.forward(u, v);
        match self {
            Distortion::Plane(c) => c.forward(x, y),
            _ => (x, y),
        }
    }

    /// Intermediate world coordinates (degrees) → FITS pixel, or `None` where the
    /// distortion cannot be inverted.
    #[inline]
    pub fn plane_to_pixel(&self, linear: &Linear, x: f64, y: f64) -> Option<(f64, f64)> {
        let (x, y) = match self {
            Distortion::Plane(c) => c.inverse(x, y)?,
            _ => (x, y),
        };
        let (mut u, mut v) = linear.inverse(x, y);
        if let Distortion::Sip(sip) = self {
            (u, v) = sip.inverse(u, v)?;
        }
        Some((u + linear.crpix[0], v + linear.crpix[1]))
    }
}

/// The sphere projection under a distortion, and the header it reads its PV parameters from.
pub struct Base {
    /// Projection code: the CTYPE's, or TAN for TPV/TNX, ZPN for ZPX.
    pub code: String,
    /// The header without the cards the distortion owns (TPV's PVi_m are no projection
    /// parameters; ZPX's come from the WAT projpN).
    pub header: Header,
    /// Whether the CD matrix misstates the pixel scale (it is then measured).
    pub scale_differs_from_cd: bool,
    /// The cards the PV2_m of `header` come from, when not PV2_m cards (ZPX).
    parameter_cards: Option<&'static str>,
}

impl Base {
    /// `e` from the base projection, naming the header's cards rather than the PV2_m made of
    /// them.
    pub fn projection_error(&self, e: WcsError) -> WcsError {
        match (e, self.parameter_cards) {
            (WcsError::Invalid { keyword, problem }, Some(cards)) if keyword.starts_with("PV2") => {
                WcsError::invalid(cards, problem)
            }
            (e, _) => e,
        }
    }
}

/// The header with its PVi_m and PROJPm cards replaced by `PV2_m = pv2[m]` (the parameters
/// of the base projection).
fn with_projection_parameters(h: &Header, pv2: &[(usize, f64)]) -> Header {
    let projection_parameter =
        |k: &str| k.strip_prefix("PV").is_some_and(|r| r.contains('_')) || k.starts_with("PROJP");
    Header::from_pairs(
        h.keys()
            .filter(|k| !projection_parameter(k))
            .filter_map(|k| Some((k.to_string(), h.get(k)?.to_string())))
            .chain(pv2.iter().map(|(m, v)| (format!("PV2_{m}"), v.to_string()))),
    )
}

/// The distortion a CTYPE names (`code`: its projection code, `suffix`: what follows it, as
/// in `RA---TAN-SIP`), with the base projection it sits on.
pub fn from_header(h: &Header, code: &str, suffix: &str) -> Result<(Distortion, Base), WcsError> {
    let base = |code: &str, header: Header, scale_differs_from_cd: bool| Base {
        code: code.to_string(),
        header,
        scale_differs_from_cd,
        parameter_cards: None,
    };
    Ok(match (code, suffix) {
        (_, "SIP") => (
            Distortion::Sip(Sip::from_header(h)?),
            base(code, h.clone(), false),
        ),
        ("TPV", "") => (
            Distortion::Plane(Plane::new(PlaneCorrection::Tpv(Box::new(
                Tpv::from_header(h)?,
            )))),
            base("TAN", with_projection_parameters(h, &[]), true),
        ),
        ("TNX" | "ZPX", "") => {
            let iraf = Iraf::from_header(h)?;
            let distortion = iraf.correction.map_or(Distortion::None, |c| {
                Distortion::Plane(Plane::new(PlaneCorrection::Iraf(c)))
            });
            if code == "TNX" {
                (distortion, base("TAN", h.clone(), true))
            } else {
                let header = with_projection_parameters(h, &iraf.projp);
                let zpn = Base {
                    parameter_cards: Some("WAT1_nnn/WAT2_nnn projpN"),
                    ..base("ZPN", header, true)
                };
                (distortion, zpn)
            }
        }
        (_, "") => (Distortion::None, base(code, h.clone(), false)),
        (_, other) => return Err(WcsError::Unsupported(format!("distortion {other}"))),
    })
}
