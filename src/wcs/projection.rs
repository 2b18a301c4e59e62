//! The spherical part of a WCS: native-plane ↔ sphere, from mapproj's canonical projections
//! (which matched astropy to < 0.005″), centred on CRVAL.

use mapproj::{
    cylindrical::{car::Car, cea::Cea, mer::Mer},
    pseudocyl::{ait::Ait, mol::Mol, sfl::Sfl},
    zenithal::{
        arc::Arc,
        sin::{Sin, SinSlant},
        stg::Stg,
        tan::Tan,
        zea::Zea,
        zpn::Zpn,
    },
    CanonicalProjection, CenteredProjection, LonLat, ProjXY, Projection, XYZ,
};

use crate::fits::Header;

/// A projection centred on the reference point; plane coordinates in radians, x towards
/// increasing longitude, y towards the north.
pub struct SphericalProjection {
    inner: Box<dyn Projection + Send + Sync>,
    code: String,
}

impl std::fmt::Debug for SphericalProjection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SphericalProjection({})", self.code)
    }
}

fn centred<P: CanonicalProjection + Send + Sync + 'static>(
    p: P,
    crval: &LonLat,
) -> Box<dyn Projection + Send + Sync> {
    let mut c = CenteredProjection::new(p);
    c.set_proj_center_from_lonlat(crval);
    Box::new(c)
}

/// The PVi_m values of the latitude axis (`axis` = 2), m = 0..=20.
fn pv_coefficients(h: &Header, axis: usize) -> Vec<f64> {
    // PROJPm is the pre-standard spelling of PV2_m, still found in WFCAM (UKIDSS) headers.
    let mut c: Vec<f64> = (0..=20)
        .map(|m| {
            h.get_f64(&format!("PV{axis}_{m}"))
                .or_else(|| h.get_f64(&format!("PROJP{m}")))
                .unwrap_or(0.0)
        })
        .collect();
    while c.len() > 1 && c.last() == Some(&0.0) {
        c.pop();
    }
    c
}

impl SphericalProjection {
    /// `code`: the three-letter projection code; `crval` in degrees (image frame).
    pub fn new(
        code: &str,
        crval: [f64; 2],
        h: &Header,
    ) -> Result<SphericalProjection, super::WcsError> {
        let c = LonLat::new(crval[0].to_radians(), crval[1].to_radians());
        let pv = pv_coefficients(h, 2);
        let pv_at = |m: usize| pv.get(m).copied().unwrap_or(0.0);
        let inner = match code {
            "TAN" => centred(Tan::new(), &c),
            "SIN" if pv_at(1) != 0.0 || pv_at(2) != 0.0 => {
                centred(SinSlant::new(pv_at(1), pv_at(2)), &c)
            }
            "SIN" => centred(Sin::new(), &c),
            "ZEA" => centred(Zea::new(), &c),
            "ARC" => centred(Arc::new(), &c),
            "STG" => centred(Stg::new(), &c),
            "ZPN" => {
                let zpn = Zpn::from_params(pv.clone()).ok_or_else(|| {
                    super::WcsError::invalid(
                        "PV2_n",
                        format!("ZPN polynomial {pv:?} is not usable"),
                    )
                })?;
                centred(zpn, &c)
            }
            "CAR" => centred(Car::new(), &c),
            "MER" => centred(Mer::new(), &c),
            "CEA" => centred(
                Cea::from_param(if pv_at(1) == 0.0 { 1.0 } else { pv_at(1) }),
                &c,
            ),
            "AIT" => centred(Ait::new(), &c),
            "MOL" => centred(Mol::new(), &c),
            "SFL" | "GLS" => centred(Sfl::new(), &c),
            other => return Err(super::WcsError::Unsupported(format!("projection {other}"))),
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
        self.inner
            .proj_xyz(&XYZ::new(v[0], v[1], v[2]))
            .map(|p| (p.x(), p.y()))
            .filter(|(x, y)| x.is_finite() && y.is_finite())
    }

    /// Plane (radians) → unit vector (image frame).
    #[inline]
    pub fn deproject(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        self.inner
            .unproj_xyz(&ProjXY::new(x, y))
            .map(|v| [v.x(), v.y(), v.z()])
    }
}
