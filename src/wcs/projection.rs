//! The spherical part of a WCS: native-plane ↔ sphere, from mapproj's canonical projections
//! (which matched astropy to < 0.005″), or ours (`native`: AIT, ZPN, slant SIN) where mapproj
//! loses digits or sky, centred on CRVAL.

use mapproj::{
    cylindrical::{car::Car, cea::Cea, mer::Mer},
    pseudocyl::{mol::Mol, sfl::Sfl},
    zenithal::{arc::Arc, sin::Sin, stg::Stg, tan::Tan, zea::Zea},
    CanonicalProjection, CenteredProjection, LonLat, ProjXY, Projection, XYZ,
};

use super::native::{Aitoff, Centred, Native, SlantSin, ZenithalPolynomial};
use super::{number, WcsError};
use crate::fits::Header;

/// Largest slant |(PV2_1, PV2_2)| of a SIN projection: beyond it the projection plane is so
/// nearly edge-on that its arithmetic overflows.
const MAX_SLANT: f64 = 1e6;

/// A projection centred on the reference point; plane coordinates in radians, x towards
/// increasing longitude, y towards the north.
pub struct SphericalProjection {
    inner: Inner,
    code: String,
}

/// mapproj's projections, or ours (`native`) where mapproj loses digits.
enum Inner {
    Mapproj(Box<dyn Projection + Send + Sync>),
    Own(Box<dyn OwnProjection>),
}

trait OwnProjection: Send + Sync {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)>;
    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]>;
}

impl<N: Native> OwnProjection for Centred<N> {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        Centred::proj(self, v)
    }
    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        Centred::unproj(self, x, y)
    }
}

fn own<N: Native + 'static>(n: N, crval: &LonLat) -> Inner {
    Inner::Own(Box::new(Centred::new(n, crval.lon(), crval.lat())))
}

impl std::fmt::Debug for SphericalProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SphericalProjection({})", self.code)
    }
}

fn centred<P: CanonicalProjection + Send + Sync + 'static>(p: P, crval: &LonLat) -> Inner {
    let mut c = CenteredProjection::new(p);
    c.set_proj_center_from_lonlat(crval);
    Inner::Mapproj(Box::new(c))
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
    match number(h, &key)? {
        Some(v) if !v.is_finite() => Err(WcsError::invalid(
            &key,
            format!("{v} is not a finite parameter"),
        )),
        v => Ok(v),
    }
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

impl SphericalProjection {
    /// `code`: the three-letter projection code; `crval` in degrees (image frame).
    pub fn new(code: &str, crval: [f64; 2], h: &Header) -> Result<SphericalProjection, WcsError> {
        let c = LonLat::new(crval[0].to_radians(), crval[1].to_radians());
        let inner = match code {
            "TAN" => centred(Tan::new(), &c),
            "SIN" => {
                let (xi, eta) = (pv(h, 1)?.unwrap_or(0.0), pv(h, 2)?.unwrap_or(0.0));
                if xi == 0.0 && eta == 0.0 {
                    centred(Sin::new(), &c)
                } else if xi.hypot(eta) <= MAX_SLANT {
                    own(SlantSin::new(xi, eta), &c)
                } else {
                    return Err(WcsError::invalid(
                        "PV2_1/PV2_2",
                        format!("slant ({xi}, {eta}) beyond {MAX_SLANT:e}: the plane is edge-on"),
                    ));
                }
            }
            "ZEA" => centred(Zea::new(), &c),
            "ARC" => centred(Arc::new(), &c),
            "STG" => centred(Stg::new(), &c),
            "ZPN" => {
                let pv = pv_coefficients(h)?;
                let zpn = ZenithalPolynomial::new(pv.clone()).ok_or_else(|| {
                    WcsError::invalid(
                        "PV2_n",
                        format!("ZPN polynomial {pv:?} is nowhere positive and increasing"),
                    )
                })?;
                own(zpn, &c)
            }
            "CAR" => centred(Car::new(), &c),
            "MER" => centred(Mer::new(), &c),
            "CEA" => {
                // Paper II, section 5.2.2: 0 < λ ≤ 1, 1 when PV2_1 is absent.
                let lambda = pv(h, 1)?.unwrap_or(1.0);
                if !(lambda > 0.0 && lambda <= 1.0) {
                    return Err(WcsError::invalid(
                        "PV2_1",
                        format!("CEA λ = {lambda} is not in (0, 1]"),
                    ));
                }
                centred(Cea::from_param(lambda), &c)
            }
            "AIT" => own(Aitoff, &c),
            "MOL" => centred(Mol::new(), &c),
            "SFL" | "GLS" => centred(Sfl::new(), &c),
            other => return Err(WcsError::Unsupported(format!("projection {other}"))),
        };
        Ok(SphericalProjection {
            inner,
            code: code.to_string(),
        })
    }

    /// Whether the native pole sits at the reference point (zenithal family).
    pub fn is_zenithal(&self) -> bool {
        matches!(
            self.code.as_str(),
            "TAN" | "SIN" | "ZEA" | "ARC" | "STG" | "ZPN"
        )
    }

    /// Unit vector (image frame) → plane (radians).
    #[inline]
    pub fn project(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        match &self.inner {
            Inner::Mapproj(p) => p
                .proj_xyz(&XYZ::new(v[0], v[1], v[2]))
                .map(|p| (p.x(), p.y())),
            Inner::Own(p) => p.proj(v),
        }
        .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    /// Plane (radians) → unit vector (image frame); `None` off the projection, and where
    /// the arithmetic breaks down (a plane point at 1e300 rad gives no unit vector).
    #[inline]
    pub fn deproject(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        match &self.inner {
            Inner::Mapproj(p) => p
                .unproj_xyz(&ProjXY::new(x, y))
                .map(|v| [v.x(), v.y(), v.z()]),
            Inner::Own(p) => p.unproj(x, y),
        }
        .filter(|v| {
            let norm2 = v[0] * v[0] + v[1] * v[1] + v[2] * v[2];
            (norm2 - 1.0).abs() < 1e-12
        })
    }
}
