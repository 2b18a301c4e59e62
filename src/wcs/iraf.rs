//! IRAF's TNX and ZPX (mwcs `wftnx`/`wfzpx`, as wcstools' tnxpos.c/zpxpos.c read them): a TAN
//! (TNX) or ZPN (ZPX) projection whose intermediate coordinates (x, y), in degrees after the
//! CD matrix, are first corrected by the surfaces in the WAT1_/WAT2_ attribute strings:
//! x' = x + lngcor(x, y), y' = y + latcor(x, y). A surface is a Chebyshev, Legendre or plain
//! polynomial series with none, half or full cross terms. For ZPX the ZPN coefficients are
//! the `projpN` attributes; as in IRAF (and wcstools), the RA axis's (WAT1) value of an
//! attribute wins over the Dec axis's.

use super::WcsError;
use crate::fits::Header;

/// Highest number of terms of a surface along one axis (real surfaces stop near 5): keeps the
/// basis on the stack.
pub const MAX_TERMS: usize = 20;

/// Characters of attribute string per WATn_nnn card, as IRAF writes them: a shorter value
/// lost its trailing blanks to the header reader.
const WAT_CARD_WIDTH: usize = 68;

/// The attribute string of axis `axis` (1 or 2): WATn_001, WATn_002, … (or `_1`, `_01`) joined,
/// or `None` when the header has none.
fn wat_string(h: &Header, axis: usize) -> Option<String> {
    let width = [3, 2, 1]
        .into_iter()
        .find(|w| h.contains(&format!("WAT{axis}_{:0w$}", 1, w = *w)))?;
    let parts: Vec<&str> = (1..)
        .map_while(|i| h.get(&format!("WAT{axis}_{i:0width$}")))
        .collect();
    let mut s = String::new();
    for (i, part) in parts.iter().enumerate() {
        s.push_str(part);
        if i + 1 < parts.len() {
            // Restore the blanks trimmed at the end of a full-width card.
            let pad = WAT_CARD_WIDTH.saturating_sub(part.chars().count());
            s.extend(std::iter::repeat_n(' ', pad));
        }
    }
    Some(s)
}

/// `key = value` pairs of an attribute string (`value` bare or in double quotes).
fn attributes(s: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        let key_end = rest.find(|c: char| c == '=' || c.is_whitespace());
        let (key, after) = rest.split_at(key_end.unwrap_or(rest.len()));
        let after = after.trim_start();
        let Some(value) = after.strip_prefix('=') else {
            return Err(format!("'{key}' has no '= value'"));
        };
        let value = value.trim_start();
        let (value, tail) = if let Some(quoted) = value.strip_prefix('"') {
            let end = quoted
                .find('"')
                .ok_or_else(|| format!("the value of '{key}' has no closing quote"))?;
            (&quoted[..end], &quoted[end + 1..])
        } else {
            let end = value.find(char::is_whitespace).unwrap_or(value.len());
            value.split_at(end)
        };
        out.push((key.to_string(), value.to_string()));
        rest = tail.trim_start();
    }
    Ok(out)
}

/// Series of a surface along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Basis {
    Chebyshev,
    Legendre,
    Polynomial,
}

/// Which products of x and y terms a surface has.
#[derive(Debug, Clone, Copy, PartialEq)]
enum CrossTerms {
    /// Only pure x and pure y terms.
    None,
    /// Terms of total order below the larger of the two orders.
    Half,
    /// Every product.
    Full,
}

/// The first `n` basis values at `t` (already normalised to [-1, 1] for Chebyshev and
/// Legendre); `n ≤ MAX_TERMS`.
fn basis_values(basis: Basis, t: f64, n: usize) -> [f64; MAX_TERMS] {
    let mut b = [0.0; MAX_TERMS];
    b[0] = 1.0;
    if n > 1 {
        b[1] = t;
    }
    for i in 2..n {
        let k = i as f64;
        b[i] = match basis {
            Basis::Chebyshev => 2.0 * t * b[i - 1] - b[i - 2],
            Basis::Legendre => ((2.0 * k - 1.0) * t * b[i - 1] - (k - 1.0) * b[i - 2]) / k,
            Basis::Polynomial => t * b[i - 1],
        };
    }
    b
}

/// An IRAF `gsurfit` surface as stored in a WAT attribute: type, x order, y order, cross
/// terms, x min, x max, y min, y max, then the coefficients (x fastest).
#[derive(Debug, Clone, PartialEq)]
pub struct Surface {
    basis: Basis,
    xorder: usize,
    yorder: usize,
    cross: CrossTerms,
    /// Centre and half-width of the x and y ranges (normalisation for Chebyshev/Legendre).
    x_range: (f64, f64),
    y_range: (f64, f64),
    coeffs: Vec<f64>,
}

impl Surface {
    /// Parses the numbers of a surface attribute; `Err` says what is wrong.
    fn parse(text: &str) -> Result<Surface, String> {
        let numbers = text
            .split_whitespace()
            .map(|t| {
                t.replace(['D', 'd'], "E")
                    .parse::<f64>()
                    .ok()
                    .filter(|v| v.is_finite())
                    .ok_or_else(|| format!("'{t}' is not a finite number"))
            })
            .collect::<Result<Vec<f64>, String>>()?;
        if numbers.len() < 8 {
            return Err(format!(
                "{} numbers, a surface needs 8 + its coefficients",
                numbers.len()
            ));
        }
        let int = |v: f64, what: &str, range: std::ops::RangeInclusive<usize>| {
            let i = v as usize;
            (v.fract() == 0.0 && v >= 0.0 && range.contains(&i))
                .then_some(i)
                .ok_or_else(|| format!("{what} {v} is not an integer in {range:?}"))
        };
        let basis = match int(numbers[0], "surface type", 1..=3)? {
            1 => Basis::Chebyshev,
            2 => Basis::Legendre,
            _ => Basis::Polynomial,
        };
        let xorder = int(numbers[1], "x order", 1..=MAX_TERMS)?;
        let yorder = int(numbers[2], "y order", 1..=MAX_TERMS)?;
        let cross = match int(numbers[3], "cross-term flag", 0..=2)? {
            0 => CrossTerms::None,
            1 => CrossTerms::Full,
            _ => CrossTerms::Half,
        };
        let range = |lo: f64, hi: f64, axis: &str| {
            (hi > lo)
                .then_some(((hi + lo) / 2.0, (hi - lo) / 2.0))
                .ok_or_else(|| format!("{axis} range [{lo}, {hi}] is empty"))
        };
        let x_range = range(numbers[4], numbers[5], "x")?;
        let y_range = range(numbers[6], numbers[7], "y")?;
        let mut s = Surface {
            basis,
            xorder,
            yorder,
            cross,
            x_range,
            y_range,
            coeffs: Vec::new(),
        };
        let expected: usize = (0..yorder).map(|i| s.row_len(i)).sum();
        let coeffs = &numbers[8..];
        if coeffs.len() != expected {
            return Err(format!(
                "{} coefficients, orders {xorder}×{yorder} with {cross:?} cross terms need {expected}",
                coeffs.len()
            ));
        }
        s.coeffs = coeffs.to_vec();
        Ok(s)
    }

    /// Number of x terms multiplying the y term `i`.
    fn row_len(&self, i: usize) -> usize {
        match self.cross {
            CrossTerms::Full => self.xorder,
            CrossTerms::None if i == 0 => self.xorder,
            CrossTerms::None => 1,
            CrossTerms::Half => self.xorder.min(self.xorder.max(self.yorder) - i),
        }
    }

    /// The surface at (x, y) (degrees).
    #[inline]
    pub fn eval(&self, x: f64, y: f64) -> f64 {
        let norm = |t: f64, (centre, half): (f64, f64)| match self.basis {
            Basis::Polynomial => t,
            _ => (t - centre) / half,
        };
        let bx = basis_values(self.basis, norm(x, self.x_range), self.xorder);
        let by = basis_values(self.basis, norm(y, self.y_range), self.yorder);
        let mut coeffs = self.coeffs.iter();
        let mut sum = 0.0;
        for (i, byi) in by.iter().enumerate().take(self.yorder) {
            let row: f64 = coeffs
                .by_ref()
                .take(self.row_len(i))
                .zip(&bx)
                .map(|(c, b)| c * b)
                .sum();
            sum += row * byi;
        }
        sum
    }
}

/// The IRAF correction surfaces of the intermediate coordinates (x by lngcor, y by latcor).
#[derive(Debug, Clone, PartialEq)]
pub struct Iraf {
    lngcor: Option<Surface>,
    latcor: Option<Surface>,
}

/// What a TNX/ZPX header holds beyond the standard cards.
pub struct IrafWcs {
    /// The correction surfaces (`None` when there are none: the plain projection).
    pub correction: Option<Iraf>,
    /// ZPX: PV2_m-equivalent `projpM` coefficients (m, value), RA axis first.
    pub projp: Vec<(usize, f64)>,
}

/// Highest `projpM` read (IRAF's ZPX stops at 9).
const MAX_PROJP: usize = 9;

impl Iraf {
    /// Reads WAT1_/WAT2_; `Err` names the card set and the attribute at fault.
    pub fn from_header(h: &Header) -> Result<IrafWcs, WcsError> {
        let mut axes = Vec::new();
        for axis in 1..=2 {
            let key = format!("WAT{axis}_nnn");
            let attrs = match wat_string(h, axis) {
                Some(s) => attributes(&s).map_err(|p| WcsError::invalid(&key, p))?,
                None => Vec::new(),
            };
            axes.push((key, attrs));
        }
        // The first axis (in `order`) that has the attribute.
        let find = |name: &str, order: [usize; 2]| {
            order.into_iter().find_map(|a| {
                let (key, attrs) = &axes[a];
                attrs
                    .iter()
                    .find(|(k, _)| k == name)
                    .map(|(_, v)| (key.as_str(), v.as_str()))
            })
        };
        let number = |name: &str| -> Result<Option<f64>, WcsError> {
            find(name, [0, 1])
                .map(|(key, v)| {
                    v.parse::<f64>()
                        .ok()
                        .filter(|v| v.is_finite())
                        .ok_or_else(|| {
                            WcsError::invalid(key, format!("{name} = '{v}' is not a finite number"))
                        })
                })
                .transpose()
        };
        // Attributes that would change the projection itself: read only at their defaults.
        let ro = 180.0 / std::f64::consts::PI;
        if let Some(v) = number("ro")?.filter(|v| (v - ro).abs() > 1e-12 * ro) {
            return Err(WcsError::Unsupported(format!(
                "IRAF projection radius ro = {v}"
            )));
        }
        if let Some(v) = number("longpole")?.filter(|v| *v != 180.0) {
            return Err(WcsError::Unsupported(format!("IRAF WAT longpole = {v}")));
        }
        let surface = |name: &str, order: [usize; 2]| {
            find(name, order)
                .map(|(key, v)| {
                    Surface::parse(v).map_err(|p| WcsError::invalid(key, format!("{name}: {p}")))
                })
                .transpose()
        };
        let lngcor = surface("lngcor", [0, 1])?;
        let latcor = surface("latcor", [1, 0])?;
        let projp = (0..=MAX_PROJP)
            .filter_map(|m| {
                number(&format!("projp{m}"))
                    .map(|v| v.map(|v| (m, v)))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let correction = (lngcor.is_some() || latcor.is_some()).then_some(Iraf { lngcor, latcor });
        Ok(IrafWcs { correction, projp })
    }

    /// Corrected intermediate coordinates (degrees).
    #[inline]
    pub fn forward(&self, x: f64, y: f64) -> (f64, f64) {
        let cor = |s: &Option<Surface>| s.as_ref().map_or(0.0, |s| s.eval(x, y));
        (x + cor(&self.lngcor), y + cor(&self.latcor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chebyshev_and_legendre_values() {
        // T_n(cos θ) = cos nθ; P_2..P_4 from their closed forms.
        let t: f64 = 0.37;
        let c = basis_values(Basis::Chebyshev, t, 6);
        for (n, v) in c.iter().enumerate().take(6) {
            assert!((v - (n as f64 * t.acos()).cos()).abs() < 1e-14, "T_{n}");
        }
        let p = basis_values(Basis::Legendre, t, 5);
        assert!((p[2] - (3.0 * t * t - 1.0) / 2.0).abs() < 1e-15);
        assert!((p[3] - (5.0 * t.powi(3) - 3.0 * t) / 2.0).abs() < 1e-15);
        assert!((p[4] - (35.0 * t.powi(4) - 30.0 * t * t + 3.0) / 8.0).abs() < 1e-15);
        let q = basis_values(Basis::Polynomial, t, 4);
        assert_eq!(q[..4], [1.0, t, t * t, t * t * t]);
    }

    #[test]
    fn half_cross_terms_drop_the_high_products() {
        // 3×3 half: 1, x, x², y, xy, y² (x fastest).
        let s = Surface::parse("3 3 3 2 -1 1 -1 1  1 2 3 4 5 6").unwrap();
        let (x, y) = (0.5f64, -0.25f64);
        let want = 1.0 + 2.0 * x + 3.0 * x * x + 4.0 * y + 5.0 * x * y + 6.0 * y * y;
        assert!((s.eval(x, y) - want).abs() < 1e-15);
        // Legendre on [0, 4]: normalised t = (x − 2) / 2.
        let s = Surface::parse("2 2 1 0 0 4 0 1  0.5 3").unwrap();
        assert!((s.eval(3.0, 0.3) - (0.5 + 3.0 * 0.5)).abs() < 1e-15);
        for bad in [
            "3 3 3 2 -1 1 -1 1 1 2 3",
            "4 2 2 0 0 1 0 1 1 2 3",
            "3 2 2 0 1 0 0 1 1 2 3",
        ] {
            assert!(Surface::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn wat_cards_join_at_68_characters() {
        let h = Header::from_pairs([
            (
                "WAT1_001",
                format!(
                    "wtype=tnx lngcor = \"3. 2. 2. 0. 0. 1. 0. 1. 1.{}",
                    " ".repeat(21)
                )
                .trim_end()
                .to_string(),
            ),
            ("WAT1_002", "5 2. 3. \"".to_string()),
        ]);
        let s = wat_string(&h, 1).unwrap();
        let attrs = attributes(&s).unwrap();
        // Without the restored blanks the last number of card 1 and the first of card 2
        // would run together ("1.5").
        let tokens: Vec<&str> = attrs[1].1.split_whitespace().collect();
        assert_eq!(
            tokens,
            ["3.", "2.", "2.", "0.", "0.", "1.", "0.", "1.", "1.", "5", "2.", "3."]
        );
        assert!(attributes("lngcor = \"1 2").is_err());
        assert!(attributes("wtype").is_err());
    }
}
