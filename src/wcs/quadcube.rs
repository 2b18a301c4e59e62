//! The quadrilateralised spherical cubes of paper II (section 5.6): TSC, CSC (COBE's
//! polynomial, in single precision as wcslib and the COBE software evaluate it) and QSC, ours
//! (mapproj has none). Six faces laid out in the plane as a cross: face 0 (top) above face 1,
//! faces 1–4 along the equator, face 5 below; each face spans π/2 × π/2 radians.

use std::f64::consts::FRAC_PI_4;

use super::native::Native;

/// One face: its centre and plane axes as native unit vectors (wcslib's ξ, η of the face),
/// and where its centre sits in the plane, in units of π/4.
struct Face {
    centre: [f64; 3],
    x_axis: [f64; 3],
    y_axis: [f64; 3],
    plane: (f64, f64),
}

const fn face(centre: [f64; 3], x_axis: [f64; 3], y_axis: [f64; 3], plane: (f64, f64)) -> Face {
    Face {
        centre,
        x_axis,
        y_axis,
        plane,
    }
}

const FACES: [Face; 6] = [
    face(
        [0.0, 0.0, 1.0],
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
        (0.0, 2.0),
    ),
    face(
        [1.0, 0.0, 0.0],
        [0.0, 1.0, 0.0],
        [0.0, 0.0, 1.0],
        (0.0, 0.0),
    ),
    face(
        [0.0, 1.0, 0.0],
        [-1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        (2.0, 0.0),
    ),
    face(
        [-1.0, 0.0, 0.0],
        [0.0, -1.0, 0.0],
        [0.0, 0.0, 1.0],
        (4.0, 0.0),
    ),
    face(
        [0.0, -1.0, 0.0],
        [1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0],
        (6.0, 0.0),
    ),
    face(
        [0.0, 0.0, -1.0],
        [0.0, 1.0, 0.0],
        [1.0, 0.0, 0.0],
        (0.0, -2.0),
    ),
];

/// How one cube projection maps a face: direction in face coordinates (ζ along the centre,
/// ξ, η across) ↔ face plane (xf, yf) in [−1, 1]².
pub(super) trait FaceMap: Send + Sync {
    /// How far beyond ±1 a projected face coordinate may stray before the point is refused.
    const TOL: f64;
    /// Direction (ζ, ξ, η), ζ ≥ |ξ|, |η| → face plane.
    fn direction_to_face(&self, zeta: f64, xi: f64, eta: f64) -> (f64, f64);
    /// Face plane → direction (ζ, ξ, η) (unit), `None` where it has none.
    fn face_to_direction(&self, xf: f64, yf: f64) -> Option<[f64; 3]>;
    /// A plane coordinate (units of π/4) as the projection holds it.
    fn round(a: f64) -> f64 {
        a
    }
    /// The sum of two plane coordinates (units of π/4), in the projection's arithmetic.
    fn add(a: f64, b: f64) -> f64 {
        a + b
    }
}

/// A cube projection.
pub(super) struct Cube<F>(pub F);

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

/// wcslib's face choice: the largest direction cosine, ties to the lower face number.
fn face_of(v: [f64; 3]) -> usize {
    let cosines = [v[2], v[0], v[1], -v[0], -v[1], -v[2]];
    let mut face = 0;
    for (i, &c) in cosines.iter().enumerate().skip(1) {
        if c > cosines[face] {
            face = i;
        }
    }
    face
}

impl<F: FaceMap> Native for Cube<F> {
    fn proj(&self, v: [f64; 3]) -> Option<(f64, f64)> {
        let f = &FACES[face_of(v)];
        let (mut xf, mut yf) =
            self.0
                .direction_to_face(dot(&f.centre, &v), dot(&f.x_axis, &v), dot(&f.y_axis, &v));
        let (x0, y0) = f.plane;
        for f in [&mut xf, &mut yf] {
            if f.abs() > 1.0 {
                if f.abs() > 1.0 + F::TOL {
                    return None;
                }
                *f = f.signum();
            }
        }
        Some((FRAC_PI_4 * F::add(xf, x0), FRAC_PI_4 * F::add(yf, y0)))
    }

    fn unproj(&self, x: f64, y: f64) -> Option<[f64; 3]> {
        let (mut xf, mut yf) = (F::round(x / FRAC_PI_4), F::round(y / FRAC_PI_4));
        let inside = if xf.abs() <= 1.0 {
            yf.abs() <= 3.0
        } else {
            xf.abs() <= 7.0 && yf.abs() <= 1.0
        };
        if !inside {
            return None;
        }
        if xf < -1.0 {
            xf = F::add(xf, 8.0);
        }
        let face = if xf > 5.0 {
            xf = F::add(xf, -6.0);
            4
        } else if xf > 3.0 {
            xf = F::add(xf, -4.0);
            3
        } else if xf > 1.0 {
            xf = F::add(xf, -2.0);
            2
        } else if yf > 1.0 {
            yf = F::add(yf, -2.0);
            0
        } else if yf < -1.0 {
            yf = F::add(yf, 2.0);
            5
        } else {
            1
        };
        let [zeta, xi, eta] = self.0.face_to_direction(xf, yf)?;
        let f = &FACES[face];
        let v: [f64; 3] =
            std::array::from_fn(|i| zeta * f.centre[i] + xi * f.x_axis[i] + eta * f.y_axis[i]);
        // wcslib takes θ = asin(n), φ = atan2(m, l) of a direction that CSC's single-precision
        // arithmetic leaves slightly off unit length: keep n, scale (l, m) to fit.
        let n = v[2].clamp(-1.0, 1.0);
        let lm = v[0].hypot(v[1]);
        let s = if lm == 0.0 {
            0.0
        } else {
            (1.0 - n * n).sqrt() / lm
        };
        Some([v[0] * s, v[1] * s, n])
    }
}

/// Tangential spherical cube: gnomonic faces.
pub(super) struct Tangential;

impl FaceMap for Tangential {
    const TOL: f64 = 1e-12;

    fn direction_to_face(&self, zeta: f64, xi: f64, eta: f64) -> (f64, f64) {
        (xi / zeta, eta / zeta)
    }

    fn face_to_direction(&self, xf: f64, yf: f64) -> Option<[f64; 3]> {
        let zeta = 1.0 / (1.0 + xf * xf + yf * yf).sqrt();
        Some([zeta, zeta * xf, zeta * yf])
    }
}

/// COBE quadrilateralised spherical cube: polynomial fits (Chan & O'Neill 1975) whose forward
/// and inverse are not exact inverses of each other; evaluated in `f32`, as defined.
pub(super) struct Cobe;

/// Forward coefficients (Γ*, M, Γ, Ω1, D0, D1, C00, C10, C01, C11, C20, C02), as published.
#[allow(clippy::excessive_precision)]
const CSC_FORWARD: [f32; 12] = [
    1.37484847732,
    0.004869491981,
    -0.13161671474,
    -0.159596235474,
    0.0759196200467,
    -0.0217762490699,
    0.141189631152,
    0.0809701286525,
    -0.281528535557,
    0.15384112876,
    -0.178251207466,
    0.106959469314,
];

/// Inverse coefficients P_ij, row i (power of x²) by column j (power of y²), i + j ≤ 6, as
/// published.
#[allow(clippy::excessive_precision)]
const CSC_INVERSE: [[f32; 7]; 7] = [
    [
        -0.27292696,
        -0.02819452,
        0.27058160,
        -0.60441560,
        0.93412077,
        -0.63915306,
        0.14381585,
    ],
    [
        -0.07629969,
        -0.01471565,
        -0.56800938,
        1.50880086,
        -1.41601920,
        0.52032238,
        0.0,
    ],
    [
        -0.22797056,
        0.48051509,
        0.30803317,
        -0.93678576,
        0.33887446,
        0.0,
        0.0,
    ],
    [
        0.54852384,
        -1.74114454,
        0.98938102,
        0.08693841,
        0.0,
        0.0,
        0.0,
    ],
    [-0.62930065, 1.71547508, -0.83180469, 0.0, 0.0, 0.0, 0.0],
    [0.25795794, -0.53022337, 0.0, 0.0, 0.0, 0.0, 0.0],
    [0.02584375, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
];

/// One COBE forward coordinate: `a` across, `b` along the other axis (f32, wcslib's order of
/// operations).
fn cobe_forward(a: f32, b: f32) -> f32 {
    let [gstar, mm, gamma, omega1, d0, d1, c00, c10, c01, c11, c20, c02] = CSC_FORWARD;
    let (a2, b2) = (a * a, b * b);
    let (a2co, b2co) = (1.0 - a2, 1.0 - b2);
    let ab = (a * b).abs();
    let a4 = if a2 > 1.0e-16 { a2 * a2 } else { 0.0 };
    let b4 = if b2 > 1.0e-16 { b2 * b2 } else { 0.0 };
    let a2b2 = if ab > 1.0e-16 { a2 * b2 } else { 0.0 };
    a * (a2
        + a2co
            * (gstar
                + b2 * (gamma * a2co
                    + mm * a2
                    + b2co * (c00 + c10 * a2 + c01 * b2 + c11 * a2b2 + c20 * a4 + c02 * b4))
                + a2 * (omega1 - a2co * (d0 + d1 * a2))))
}

/// One COBE inverse coordinate: `a` across, `b` the other (f32, wcslib's Horner order).
fn cobe_inverse(a: f32, b: f32) -> f32 {
    let p = &CSC_INVERSE;
    let (aa, bb) = (a * a, b * b);
    // z_j = Σ_i P_ij aa^i, then Σ_j z_j bb^j.
    let z: [f32; 7] = std::array::from_fn(|j| {
        (0..7 - j).rev().fold(0.0f32, |acc, i| {
            if i == 6 - j {
                p[i][j]
            } else {
                p[i][j] + aa * acc
            }
        })
    });
    let chi = (0..7)
        .rev()
        .fold(0.0f32, |acc, j| if j == 6 { z[6] } else { z[j] + bb * acc });
    a + a * (1.0 - aa) * chi
}

impl FaceMap for Cobe {
    const TOL: f64 = 1e-7;

    fn round(a: f64) -> f64 {
        f64::from(a as f32)
    }

    fn add(a: f64, b: f64) -> f64 {
        f64::from(a as f32 + b as f32)
    }

    fn direction_to_face(&self, zeta: f64, xi: f64, eta: f64) -> (f64, f64) {
        let (chi, psi) = ((xi / zeta) as f32, (eta / zeta) as f32);
        (
            f64::from(cobe_forward(chi, psi)),
            f64::from(cobe_forward(psi, chi)),
        )
    }

    fn face_to_direction(&self, xf: f64, yf: f64) -> Option<[f64; 3]> {
        let (xf, yf) = (xf as f32, yf as f32);
        let chi = cobe_inverse(xf, yf);
        let psi = cobe_inverse(yf, xf);
        let t = 1.0 / (f64::from(chi * chi + psi * psi) + 1.0).sqrt();
        Some([t, f64::from(chi) * t, f64::from(psi) * t])
    }
}

/// Quadrilateralised spherical cube: equal area faces (O'Neill & Laubscher 1976).
pub(super) struct EqualAreaCube;

const FIFTEEN_DEG: f64 = std::f64::consts::PI / 12.0;

impl FaceMap for EqualAreaCube {
    const TOL: f64 = 1e-12;

    fn direction_to_face(&self, zeta: f64, xi: f64, eta: f64) -> (f64, f64) {
        if xi == 0.0 && eta == 0.0 {
            return (0.0, 0.0);
        }
        // 1 − ζ without cancellation near the face centre.
        let zeco = (xi * xi + eta * eta) / (1.0 + zeta);
        // The larger of |ξ|, |η| sets the radial coordinate; their ratio the other.
        let (big, small, swap) = if xi.abs() > eta.abs() {
            (xi, eta, false)
        } else {
            (eta, xi, true)
        };
        let omega = small / big;
        let tau = 1.0 + omega * omega;
        let r = (zeco / (1.0 - 1.0 / (1.0 + tau).sqrt()))
            .sqrt()
            .copysign(big);
        let s = r / FIFTEEN_DEG * (omega.atan() - (omega / (tau + tau).sqrt()).asin());
        if swap {
            (s, r)
        } else {
            (r, s)
        }
    }

    fn face_to_direction(&self, xf: f64, yf: f64) -> Option<[f64; 3]> {
        let direct = xf.abs() > yf.abs();
        let (big, small) = if direct { (xf, yf) } else { (yf, xf) };
        let (omega, tau, zeco) = if big == 0.0 {
            (0.0, 1.0, 0.0)
        } else {
            let (sw, cw) = (FIFTEEN_DEG * small / big).sin_cos();
            let omega = sw / (cw - std::f64::consts::FRAC_1_SQRT_2);
            let tau = 1.0 + omega * omega;
            (omega, tau, big * big * (1.0 - 1.0 / (1.0 + tau).sqrt()))
        };
        let mut zeta = 1.0 - zeco;
        let w = if zeta < -1.0 {
            if zeta < -1.0 - Self::TOL {
                return None;
            }
            zeta = -1.0;
            0.0
        } else {
            (zeco * (2.0 - zeco) / tau).sqrt()
        };
        let across = w.copysign(big);
        Some(if direct {
            [zeta, across, across * omega]
        } else {
            [zeta, across * omega, across]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<F: FaceMap>(cube: &Cube<F>, tol: f64) -> f64 {
        let mut worst = 0.0f64;
        for i in 0..60 {
            for j in 0..30 {
                let lon = (i as f64 * 6.0 + 0.3).to_radians();
                let lat = (j as f64 * 6.0 - 87.1).to_radians();
                let v = [lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin()];
                let (x, y) = cube.proj(v).unwrap();
                let w = cube.unproj(x, y).unwrap();
                let d = (0..3).map(|k| (v[k] - w[k]).powi(2)).sum::<f64>().sqrt();
                assert!(d < tol, "{lon} {lat}: {d}");
                worst = worst.max(d);
            }
        }
        worst
    }

    #[test]
    fn cubes_invert_themselves() {
        round_trip(&Cube(Tangential), 1e-14);
        round_trip(&Cube(EqualAreaCube), 1e-13);
        // COBE: the two polynomials are inverses to tens of arcseconds only (wcslib's own
        // CSC round trip reaches 45″).
        let worst = round_trip(&Cube(Cobe), 3e-4);
        eprintln!("CSC round trip: {:.2}″", worst.to_degrees() * 3600.0);
        assert!(worst > 1e-8, "{worst}");
    }

    #[test]
    fn faces_tile_the_plane_as_a_cross() {
        let cube = Cube(Tangential);
        // Face centres land on their plane centres.
        for Face {
            centre,
            plane: (x0, y0),
            ..
        } in FACES
        {
            let (x, y) = cube.proj(centre).unwrap();
            assert!((x - FRAC_PI_4 * x0).abs() < 1e-15 && (y - FRAC_PI_4 * y0).abs() < 1e-15);
        }
        // Outside the cross: nothing.
        assert!(cube
            .unproj(2.0 * FRAC_PI_4 * 1.5, 2.0 * FRAC_PI_4)
            .is_none());
    }
}
