//! The spherical part of a WCS: celestial ↔ native rotation (`celestial`, paper II sections
//! 2.2–2.4: CRVAL, φ0/θ0, LONPOLE/LATPOLE, PV1_0..PV1_4) and native sphere ↔ plane, for every
//! projection of FITS WCS paper II.
//!
//! Sources, checked against astropy/wcslib (tests/wcs_reference.rs, all within 1 mas):
//! mapproj's canonical projections for TAN, STG, SIN, ZEA, CYP, CEA, CAR, MER, SFL, MOL,
//! COP, COE, COD, COO (behind our parameter checks); ours in `native` for ARC, AIT, ZPN, slant
//! SIN, AZP, SZP, AIR, PAR, BON, PCO (where mapproj loses digits, is wrong, panics or has none:
//! see there), in `quadcube` for TSC, CSC, QSC and in `healpix` for HPX, XPH (mapproj has no cube
//! nor XPH; its HPX is H = 4, K = 3 only, 15° off for others). Aliases: GLS is SFL with
//! θ0 = CRVAL2 and the fiducial offset, NCP is SIN with (0, cot CRVAL2), as in wcslib.

use mapproj::{
    conic::{cod::Cod, coe::Coe, coo::Coo, cop::Cop},
    cylindrical::{car::Car, cea::Cea, cyp::Cyp, mer::Mer},
    pseudocyl::{mol::Mol, sfl::Sfl},
    zenithal::{sin::Sin, stg::Stg, tan::Tan, zea::Zea},
    CanonicalProjection, ProjXY, XYZ,
};

use super::celestial::{celestial_to_native, PoleParameters};
use super::healpix::{Butterfly, Healpix};
use super::native::{
    check_conic, check_cylindrical_perspective, Airy, Aitoff, Angles, Bonne, ConicKind, Native,
    Parabolic, Perspective, Polyconic, SlantPerspective, SlantSin, ZenithalEquidistant,
    ZenithalPolynomial,
};
use super::quadcube::{Cobe, Cube, EqualAreaCube, Tangential};
use super::{number, WcsError};
use crate::fits::Header;

/// Largest slant |(PV2_1, PV2_2)| of a SIN projection: beyond it the projection plane is so
/// nearly edge-on that its arithmetic overflows.
const MAX_SLANT: f64 = 1e6;

/// Farthest plane position (radians) of a fiducial point moved to the origin (PV1_0 ≠ 0):
/// every projection puts the sphere within 2π of its origin, a point beyond sits where its
/// projection diverges and pixel coordinates there lose their digits.
const MAX_OFFSET: f64 = 10.0;

/// Sphere ↔ plane of a celestial WCS: plane coordinates in radians (paper II's intermediate
/// world coordinates with R0 = 1), x towards increasing longitude at the reference point.
pub struct SphericalProjection {
    /// Rows: celestial unit vector → native unit vector.
    rows: [[f64; 3]; 3],
    native: Box<dyn Native>,
    /// Plane position of the fiducial point, subtracted when PV1_0 asks for it (radians).
    offset: (f64, f64),
    code: String,
}

impl std::fmt::Debug for SphericalProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SphericalProjection({})", self.code)
    }
}

/// A mapproj canonical projection whose frame is the FITS native one (reference point on +x,
/// native pole on +z): the cylindrical and pseudo-cylindrical ones.
struct Mapproj<P>(P);

impl<P: CanonicalProjection + Send + Sync> Native for Mapproj<P> {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        self.0
            .proj(&XYZ::new(v[0], v[1], v[2]))
            .map(|p| (p.x(), p.y()))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        self.0
            .unproj(&ProjXY::new(x, y))
            .map(|v| [v.x(), v.y(), v.z()])
    }
}

/// A zenithal projection written with the native pole on +x (mapproj's frame): native (x, y, z)
/// is its (−z, y, x).
struct Polar<N>(N);

impl<N: Native> Native for Polar<N> {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        self.0.proj([v[2], v[1], -v[0]])
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let c = self.0.unproj(x, y)?;
        Some([-c[2], c[1], c[0]])
    }
}

fn polar_frame<P: CanonicalProjection + Send + Sync + 'static>(p: P) -> Box<dyn Native> {
    Box::new(Polar(Mapproj(p)))
}

fn fits_frame<P: CanonicalProjection + Send + Sync + 'static>(p: P) -> Box<dyn Native> {
    Box::new(Mapproj(p))
}

fn angular<A: super::native::Angular + 'static>(a: A) -> Box<dyn Native> {
    Box::new(Angles(a))
}

/// The number in `key`, if any; `Err` naming the keyword when it is not finite.
fn finite_number(h: &Header, key: &str) -> Result<Option<f64>, WcsError> {
    match number(h, key)? {
        Some(v) if !v.is_finite() => Err(WcsError::invalid(
            key,
            format!("{v} is not a finite parameter"),
        )),
        v => Ok(v),
    }
}

/// PV2_m of the latitude axis, or PROJPm (the pre-standard spelling still found in WFCAM
/// (UKIDSS) headers) when the header has no PV2_m at all: the two sets are not mixed.
/// `Err` when the value is not a finite number.
fn pv(h: &Header, m: usize) -> Result<Option<f64>, WcsError> {
    let modern = h.keys().any(|k| k.starts_with("PV2_"));
    let key = if modern {
        format!("PV2_{m}")
    } else {
        format!("PROJP{m}")
    };
    finite_number(h, &key)
}

/// The PV2_m values, m = 0..=20, trailing zeros dropped.
fn pv_coefficients(h: &Header) -> Result<Vec<f64>, WcsError> {
    let mut c = (0..=20)
        .map(|m| Ok(pv(h, m)?.unwrap_or(0.0)))
        .collect::<Result<Vec<f64>, WcsError>>()?;
    while c.len() > 1 && c.last() == Some(&0.0) {
        c.pop();
    }
    Ok(c)
}

/// A parameter the projection cannot do without.
fn required(h: &Header, m: usize, code: &str) -> Result<f64, WcsError> {
    pv(h, m)?.ok_or_else(|| WcsError::invalid(&format!("PV2_{m}"), format!("{code} needs it")))
}

/// Whether PV1_m are the celestial parameters of paper II (φ0, θ0, LONPOLE, LATPOLE) rather
/// than a distortion's coefficients (TPV writes its polynomial there).
fn celestial_pv1(h: &Header) -> bool {
    !h.get("CTYPE1")
        .is_some_and(|c| c.to_ascii_uppercase().contains("-TPV"))
}

/// The sphere → plane part and the projection's default native fiducial point (φ0, θ0), deg.
fn native_projection(
    code: &str,
    crval: [f64; 2],
    h: &Header,
) -> Result<(Box<dyn Native>, [f64; 2]), WcsError> {
    const POLE: [f64; 2] = [0.0, 90.0];
    const EQUATOR: [f64; 2] = [0.0, 0.0];
    let conic = |kind: ConicKind| -> Result<(Box<dyn Native>, [f64; 2]), WcsError> {
        let theta_a = required(h, 1, code)?;
        let eta = pv(h, 2)?.unwrap_or(0.0);
        check_conic(&kind, theta_a, eta)?;
        let (ta, nu) = (theta_a.to_radians(), eta.to_radians());
        let p = match kind {
            ConicKind::Perspective => fits_frame(Cop::from_params(ta, nu)),
            ConicKind::EqualArea => fits_frame(Coe::from_params(ta, nu)),
            ConicKind::Equidistant => fits_frame(Cod::from_params(ta, nu)),
            ConicKind::Orthomorphic => fits_frame(Coo::from_params(ta, nu)),
        };
        Ok((p, [0.0, theta_a]))
    };
    Ok(match code {
        "AZP" => (
            angular(Perspective::new(
                pv(h, 1)?.unwrap_or(0.0),
                pv(h, 2)?.unwrap_or(0.0),
            )?),
            POLE,
        ),
        "SZP" => (
            angular(SlantPerspective::new(
                pv(h, 1)?.unwrap_or(0.0),
                pv(h, 2)?.unwrap_or(0.0),
                pv(h, 3)?.unwrap_or(90.0),
            )?),
            POLE,
        ),
        "TAN" => (polar_frame(Tan::new()), POLE),
        "SIN" | "NCP" => {
            let (xi, eta) = if code == "NCP" {
                // wcslib: SIN seen along the celestial pole.
                let t = crval[1].to_radians().tan();
                if t == 0.0 {
                    return Err(WcsError::invalid(
                        "CRVAL2",
                        "NCP is undefined on the equator",
                    ));
                }
                (0.0, 1.0 / t)
            } else {
                (pv(h, 1)?.unwrap_or(0.0), pv(h, 2)?.unwrap_or(0.0))
            };
            let p: Box<dyn Native> = if xi == 0.0 && eta == 0.0 {
                polar_frame(Sin::new())
            } else if xi.hypot(eta) <= MAX_SLANT {
                Box::new(Polar(SlantSin::new(xi, eta)))
            } else {
                return Err(WcsError::invalid(
                    "PV2_1/PV2_2",
                    format!("slant ({xi}, {eta}) beyond {MAX_SLANT:e}: the plane is edge-on"),
                ));
            };
            (p, POLE)
        }
        "STG" => (polar_frame(Stg::new()), POLE),
        "ARC" => (Box::new(Polar(ZenithalEquidistant)), POLE),
        "ZPN" => {
            let pv = pv_coefficients(h)?;
            let zpn = ZenithalPolynomial::new(pv.clone()).ok_or_else(|| {
                WcsError::invalid(
                    "PV2_n",
                    format!("ZPN polynomial {pv:?} is nowhere positive and increasing"),
                )
            })?;
            (Box::new(Polar(zpn)), POLE)
        }
        "ZEA" => (polar_frame(Zea::new()), POLE),
        "AIR" => (angular(Airy::new(pv(h, 1)?.unwrap_or(90.0))?), POLE),
        "CYP" => {
            let (mu, lambda) = (pv(h, 1)?.unwrap_or(1.0), pv(h, 2)?.unwrap_or(1.0));
            check_cylindrical_perspective(mu, lambda)?;
            (fits_frame(Cyp::from_params(mu, lambda)), EQUATOR)
        }
        "CEA" => {
            // Paper II, section 5.2.2: 0 < λ ≤ 1, 1 when PV2_1 is absent.
            let lambda = pv(h, 1)?.unwrap_or(1.0);
            if !(lambda > 0.0 && lambda <= 1.0) {
                return Err(WcsError::invalid(
                    "PV2_1",
                    format!("CEA λ = {lambda} is not in (0, 1]"),
                ));
            }
            (fits_frame(Cea::from_param(lambda)), EQUATOR)
        }
        "CAR" => (fits_frame(Car::new()), EQUATOR),
        "MER" => (fits_frame(Mer::new()), EQUATOR),
        "SFL" | "GLS" => (fits_frame(Sfl::new()), EQUATOR),
        "PAR" => (angular(Parabolic), EQUATOR),
        "MOL" => (fits_frame(Mol::new()), EQUATOR),
        "AIT" => (Box::new(Aitoff), EQUATOR),
        "COP" => conic(ConicKind::Perspective)?,
        "COE" => conic(ConicKind::EqualArea)?,
        "COD" => conic(ConicKind::Equidistant)?,
        "COO" => conic(ConicKind::Orthomorphic)?,
        "BON" => {
            let theta1 = required(h, 1, code)?;
            let p = if theta1 == 0.0 {
                fits_frame(Sfl::new())
            } else {
                angular(Bonne::new(theta1)?)
            };
            (p, EQUATOR)
        }
        "PCO" => (angular(Polyconic), EQUATOR),
        "TSC" => (Box::new(Cube(Tangential)), EQUATOR),
        "CSC" => (Box::new(Cube(Cobe)), EQUATOR),
        "QSC" => (Box::new(Cube(EqualAreaCube)), EQUATOR),
        "HPX" => (
            angular(Healpix::new(
                pv(h, 1)?.unwrap_or(4.0),
                pv(h, 2)?.unwrap_or(3.0),
            )?),
            EQUATOR,
        ),
        "XPH" => (angular(Butterfly), POLE),
        other => return Err(WcsError::Unsupported(format!("projection {other}"))),
    })
}

fn native_unit(phi: f64, theta: f64) -> [f64; 3] {
    let (sp, cp) = phi.to_radians().sin_cos();
    let (st, ct) = theta.to_radians().sin_cos();
    [ct * cp, ct * sp, st]
}

impl SphericalProjection {
    /// `code`: the three-letter projection code; `crval` in degrees (image frame); `h` gives
    /// PV2_m (projection parameters), LONPOLE, LATPOLE and PV1_0..PV1_4 (an empty header: the
    /// defaults, the fiducial point at CRVAL).
    pub fn new(code: &str, crval: [f64; 2], h: &Header) -> Result<SphericalProjection, WcsError> {
        let (native, default_fiducial) = native_projection(code, crval, h)?;
        let pv1 = |m: usize| -> Result<Option<f64>, WcsError> {
            if celestial_pv1(h) {
                finite_number(h, &format!("PV1_{m}"))
            } else {
                Ok(None)
            }
        };
        let (phi0, theta0) = (pv1(1)?, pv1(2)?);
        let gls = code == "GLS";
        let fiducial = if gls {
            [0.0, crval[1]]
        } else {
            [
                phi0.unwrap_or(default_fiducial[0]),
                theta0.unwrap_or(default_fiducial[1]),
            ]
        };
        if fiducial[1].abs() > 90.0 {
            return Err(WcsError::invalid(
                "PV1_2",
                format!("θ0 = {} is not a latitude", fiducial[1]),
            ));
        }
        let lonpole = match pv1(3)? {
            Some(p) => Some(p),
            None => finite_number(h, "LONPOLE")?,
        };
        let latpole = match pv1(4)? {
            Some(p) => Some(p),
            None => finite_number(h, "LATPOLE")?,
        };
        let rows = celestial_to_native(&PoleParameters {
            crval,
            fiducial,
            lonpole,
            latpole,
        })?;
        // Paper II, section 2.5: PV1_0 ≠ 0 moves the fiducial point to the plane's origin.
        let offset_asked =
            gls || (pv1(0)?.is_some_and(|f| f != 0.0) && phi0.is_some() && theta0.is_some());
        let offset = if offset_asked {
            native
                .proj(native_unit(fiducial[0], fiducial[1]))
                .filter(|(x, y)| x.hypot(*y) <= MAX_OFFSET)
                .ok_or_else(|| {
                    WcsError::invalid(
                        "PV1_1/PV1_2",
                        format!(
                            "the fiducial point is not projected within {MAX_OFFSET} rad of \
                             the plane's origin"
                        ),
                    )
                })?
        } else {
            (0.0, 0.0)
        };
        Ok(SphericalProjection {
            rows,
            native,
            offset,
            code: code.to_string(),
        })
    }

    /// Unit vector (image frame) → plane (radians).
    #[inline]
    pub fn project(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let r = &self.rows;
        let dot = |row: &[f64; 3]| row[0] * v[0] + row[1] * v[1] + row[2] * v[2];
        let (x, y) = self.native.proj([dot(&r[0]), dot(&r[1]), dot(&r[2])])?;
        let (x, y) = (x - self.offset.0, y - self.offset.1);
        (x.is_finite() && y.is_finite()).then_some((x, y))
    }

    /// Plane (radians) → unit vector (image frame); `None` off the projection, and where
    /// the arithmetic breaks down (a plane point at 1e300 rad gives no unit vector).
    #[inline]
    pub fn deproject(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let n = self.native.unproj(x + self.offset.0, y + self.offset.1)?;
        let r = &self.rows;
        let v: [f64; 3] = std::array::from_fn(|j| r[0][j] * n[0] + r[1][j] * n[1] + r[2][j] * n[2]);
        let norm2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
        ((norm2 - 1.0).abs() < 1e-12).then_some(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(code: &str, extra: &[(&str, &str)]) -> Header {
        let c1 = format!("RA---{code}");
        let c2 = format!("DEC--{code}");
        let mut pairs = vec![("CTYPE1", c1.as_str()), ("CTYPE2", c2.as_str())];
        pairs.extend_from_slice(extra);
        Header::from_pairs(pairs)
    }

    #[test]
    fn bad_parameters_name_their_keyword() {
        // (code, extra cards, keyword of the error)
        type Case = (
            &'static str,
            &'static [(&'static str, &'static str)],
            &'static str,
        );
        let cases: [Case; 12] = [
            ("AZP", &[("PV2_1", "-1")], "PV2_1"),
            ("AZP", &[("PV2_2", "90")], "PV2_2"),
            ("SZP", &[("PV2_1", "-1"), ("PV2_3", "90")], "PV2_1/PV2_3"),
            ("AIR", &[("PV2_1", "-90")], "PV2_1"),
            ("CYP", &[("PV2_2", "0")], "PV2_2"),
            ("COP", &[], "PV2_1"),
            ("COE", &[("PV2_1", "20"), ("PV2_2", "inf")], "PV2_2"),
            ("COO", &[("PV2_1", "0")], "PV2_1/PV2_2"),
            ("BON", &[("PV2_1", "nan")], "PV2_1"),
            ("HPX", &[("PV2_1", "0")], "PV2_1"),
            ("CAR", &[("PV1_2", "100")], "PV1_2"),
            ("TAN", &[("LATPOLE", "north")], "LATPOLE"),
        ];
        for (code, extra, keyword) in cases {
            match SphericalProjection::new(code, [10.0, 20.0], &header(code, extra)) {
                Err(WcsError::Invalid { keyword: k, .. }) => {
                    assert_eq!(k, keyword, "{code} {extra:?}")
                }
                other => panic!("{code} {extra:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn tpv_coefficients_are_not_pole_parameters() {
        // TPV's PV1_1 = 1 is a polynomial coefficient, not φ0.
        let h = Header::from_pairs([
            ("CTYPE1", "RA---TPV"),
            ("CTYPE2", "DEC--TPV"),
            ("PV1_1", "1"),
            ("PV1_2", "0.5"),
        ]);
        let p = SphericalProjection::new("TAN", [10.0, 20.0], &h).unwrap();
        let (x, y) = p.project(native_unit(10.0, 20.0)).unwrap();
        assert!(x.abs() < 1e-15 && y.abs() < 1e-15, "{x} {y}");
    }

    #[test]
    fn off_projection_points_are_none_not_nan() {
        for code in [
            "AZP", "SZP", "AIR", "CYP", "PAR", "PCO", "BON", "TSC", "CSC", "QSC", "HPX", "XPH",
        ] {
            let extra: &[(&str, &str)] = match code {
                "BON" => &[("PV2_1", "45")],
                "AZP" | "SZP" => &[("PV2_1", "2")],
                _ => &[],
            };
            let p = SphericalProjection::new(code, [10.0, 20.0], &header(code, extra)).unwrap();
            for (x, y) in [(10.0, 0.0), (0.0, -7.0), (1e6, 1e6), (f64::MAX, 0.0)] {
                if let Some(v) = p.deproject(x, y) {
                    assert!(v.iter().all(|c| c.is_finite()), "{code} ({x}, {y}): {v:?}");
                }
            }
        }
    }
}
