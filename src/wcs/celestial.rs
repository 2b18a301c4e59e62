//! Celestial ↔ native spherical coordinates (FITS WCS paper II, sections 2.2–2.4): where the
//! native pole sits on the sky, from the reference point (CRVAL), the projection's fiducial
//! point (φ0, θ0), LONPOLE and LATPOLE, solved as wcslib's `celset` does, and kept as one
//! rotation matrix for unit vectors.

use super::WcsError;

/// Tolerance of wcslib's `celset` on sines and latitudes (degrees).
const TOL: f64 = 1e-10;

/// The pole and fiducial-point parameters of paper II, degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct PoleParameters {
    /// CRVAL1, CRVAL2: celestial coordinates of the fiducial point.
    pub crval: [f64; 2],
    /// Native coordinates (φ0, θ0) of the fiducial point.
    pub fiducial: [f64; 2],
    /// LONPOLE (φp), when the header gives it.
    pub lonpole: Option<f64>,
    /// LATPOLE, when the header gives it (a choice between two solutions, +90 by default).
    pub latpole: Option<f64>,
}

fn wrap180(a: f64) -> f64 {
    if a > 180.0 {
        a - 360.0
    } else if a < -180.0 {
        a + 360.0
    } else {
        a
    }
}

/// The celestial coordinates (αp, δp) of the native pole and the native longitude φp of the
/// celestial pole, degrees: wcslib's `celset`, including its special cases.
pub(super) fn native_pole(p: &PoleParameters) -> Result<(f64, f64, f64), WcsError> {
    let [lng0, lat0] = p.crval;
    let [phi0, theta0] = p.fiducial;
    let phip = p
        .lonpole
        .unwrap_or_else(|| wrap180(if lat0 < theta0 { 180.0 } else { 0.0 } + phi0));
    let latpole = p.latpole.unwrap_or(90.0);
    if theta0 == 90.0 {
        // The fiducial point is the native pole.
        return Ok((lng0, lat0, phip));
    }
    let (slat0, clat0) = lat0.to_radians().sin_cos();
    let (sthe0, cthe0) = theta0.to_radians().sin_cos();
    let (sphip, cphip) = if phip == phi0 {
        (0.0, 1.0)
    } else {
        (phip - phi0).to_radians().sin_cos()
    };
    // sin δ0 = sin θ0 sin δp + cos θ0 cos δp cos(φp − φ0): δp = u ± v.
    let latp = if phip == phi0 {
        choose_latp(theta0, 90.0 - lat0, latpole)?
    } else {
        let (x, y) = (cthe0 * cphip, sthe0);
        let z = x.hypot(y);
        if z == 0.0 {
            if slat0 != 0.0 {
                return Err(WcsError::invalid(
                    "CRVAL2",
                    "must be 0 when |LONPOLE − φ0| = 90° and θ0 = 0",
                ));
            }
            // δp is free: LATPOLE decides.
            latpole.clamp(-90.0, 90.0)
        } else {
            let mut slz = slat0 / z;
            if slz.abs() > 1.0 {
                if slz.abs() - 1.0 >= TOL {
                    return Err(WcsError::invalid(
                        "CRVAL2/LONPOLE",
                        format!(
                            "|CRVAL2| ≤ {:.3}° is required for LONPOLE = {phip}, φ0 = {phi0}, \
                             θ0 = {theta0}",
                            z.asin().to_degrees()
                        ),
                    ));
                }
                slz = slz.signum();
            }
            choose_latp(y.atan2(x).to_degrees(), slz.acos().to_degrees(), latpole)?
        }
    };
    let z = latp.to_radians().cos() * clat0;
    let lngp = if z.abs() < TOL {
        if clat0.abs() < TOL {
            // The celestial pole is the fiducial point.
            lng0
        } else if latp > 0.0 {
            // The celestial north pole is the native pole.
            lng0 + phip - phi0 - 180.0
        } else {
            lng0 - phip + phi0
        }
    } else {
        let x = (sthe0 - latp.to_radians().sin() * slat0) / z;
        let y = sphip * cthe0 / clat0;
        lng0 - y.atan2(x).to_degrees()
    };
    Ok((lngp, latp, phip))
}

/// δp = u + v or u − v, the one nearer LATPOLE among those that are latitudes.
fn choose_latp(u: f64, v: f64, latpole: f64) -> Result<f64, WcsError> {
    let (latp1, latp2) = (wrap180(u + v), wrap180(u - v));
    let valid = |l: f64| l.abs() < 90.0 + TOL;
    let latp = if (latpole - latp1).abs() < (latpole - latp2).abs() {
        if valid(latp1) {
            latp1
        } else {
            latp2
        }
    } else if valid(latp2) {
        latp2
    } else {
        latp1
    };
    if !valid(latp) {
        return Err(WcsError::invalid(
            "LONPOLE/LATPOLE",
            "no native pole latitude solves these values",
        ));
    }
    Ok(latp.clamp(-90.0, 90.0))
}

/// Rows of the rotation taking celestial unit vectors to native ones (native z: the native
/// pole, x: φ = 0 on the native equator, y: φ = 90°).
pub(super) fn celestial_to_native(p: &PoleParameters) -> Result<[[f64; 3]; 3], WcsError> {
    let (lngp, latp, phip) = native_pole(p)?;
    let (sa, ca) = lngp.to_radians().sin_cos();
    let (sd, cd) = latp.to_radians().sin_cos();
    let (sp, cp) = phip.to_radians().sin_cos();
    // Rz(φp) · [[−sin δp, 0, cos δp], [0, −1, 0], [cos δp, 0, sin δp]] · Rz(−αp).
    let turn_sky = [[ca, sa, 0.0], [-sa, ca, 0.0], [0.0, 0.0, 1.0]];
    let tilt = [[-sd, 0.0, cd], [0.0, -1.0, 0.0], [cd, 0.0, sd]];
    let turn_native = [[cp, -sp, 0.0], [sp, cp, 0.0], [0.0, 0.0, 1.0]];
    Ok(multiply(&turn_native, &multiply(&tilt, &turn_sky)))
}

/// Matrix product `a · b`.
pub(super) fn multiply(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(lon: f64, lat: f64) -> [f64; 3] {
        let (sl, cl) = lon.to_radians().sin_cos();
        let (sb, cb) = lat.to_radians().sin_cos();
        [cb * cl, cb * sl, sb]
    }

    fn apply(m: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
        std::array::from_fn(|i| m[i][0] * v[0] + m[i][1] * v[1] + m[i][2] * v[2])
    }

    fn close(a: [f64; 3], b: [f64; 3]) -> bool {
        (0..3).all(|i| (a[i] - b[i]).abs() < 1e-13)
    }

    #[test]
    fn the_fiducial_point_lands_on_its_native_coordinates() {
        for (crval, fiducial, lonpole, latpole) in [
            ([30.0, 40.0], [0.0, 90.0], None, None),
            ([30.0, 40.0], [0.0, 0.0], None, None),
            ([300.0, -65.0], [0.0, 45.0], Some(170.0), Some(-20.0)),
            ([0.0, -90.0], [0.0, 0.0], Some(180.0), Some(0.0)),
            ([-10.0, 12.0], [20.0, 30.0], None, Some(-90.0)),
        ] {
            let p = PoleParameters {
                crval,
                fiducial,
                lonpole,
                latpole,
            };
            let m = celestial_to_native(&p).unwrap();
            let n = apply(&m, unit(crval[0], crval[1]));
            assert!(close(n, unit(fiducial[0], fiducial[1])), "{p:?}: {n:?}");
            // The celestial north pole sits at native longitude φp.
            let (_, latp, phip) = native_pole(&p).unwrap();
            let pole = apply(&m, [0.0, 0.0, 1.0]);
            assert!(close(pole, unit(phip, latp)), "{p:?}: {pole:?}");
        }
    }

    #[test]
    fn defaults_follow_paper_ii() {
        // Zenithal: φp = 180°, δp = δ0.
        let p = PoleParameters {
            crval: [10.0, 20.0],
            fiducial: [0.0, 90.0],
            lonpole: None,
            latpole: None,
        };
        assert_eq!(native_pole(&p).unwrap(), (10.0, 20.0, 180.0));
        // Cylindrical on the equator: δp = 90° (LATPOLE), φp = 0.
        let p = PoleParameters {
            crval: [10.0, 0.0],
            fiducial: [0.0, 0.0],
            ..p
        };
        let (a, d, ph) = native_pole(&p).unwrap();
        assert!((d - 90.0).abs() < 1e-12 && ph == 0.0, "{a} {d} {ph}");
        // Unreachable CRVAL2 for this LONPOLE: an error naming the keywords.
        let p = PoleParameters {
            crval: [0.0, 60.0],
            fiducial: [0.0, 0.0],
            lonpole: Some(60.0),
            latpole: None,
        };
        assert!(matches!(
            native_pole(&p),
            Err(WcsError::Invalid { keyword, .. }) if keyword == "CRVAL2/LONPOLE"
        ));
    }
}
