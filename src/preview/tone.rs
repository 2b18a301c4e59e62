//! From science values to 8-bit grey levels: a pixel cut (two values, or two percentiles of
//! values sampled over the whole survey) and a transfer function.

use std::str::FromStr;

/// Transfer function applied to the value scaled to [0, 1] between the cuts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stretch {
    /// t unchanged.
    #[default]
    Linear,
    /// √t.
    Sqrt,
    /// log(1 + 1000 t) / log(1001), as ds9 and Aladin do.
    Log,
    /// asinh(10 t) / asinh(10).
    Asinh,
    /// t².
    Pow2,
}

impl Stretch {
    /// The stretched value of `t` in [0, 1].
    #[inline]
    pub fn apply(self, t: f64) -> f64 {
        match self {
            Stretch::Linear => t,
            Stretch::Sqrt => t.sqrt(),
            Stretch::Log => (1.0 + 1000.0 * t).ln() / 1001f64.ln(),
            Stretch::Asinh => (10.0 * t).asinh() / 10f64.asinh(),
            Stretch::Pow2 => t * t,
        }
    }

    /// The name used by `--stretch` and `hips_pixel_func`.
    pub fn name(self) -> &'static str {
        match self {
            Stretch::Linear => "linear",
            Stretch::Sqrt => "sqrt",
            Stretch::Log => "log",
            Stretch::Asinh => "asinh",
            Stretch::Pow2 => "pow2",
        }
    }
}

impl FromStr for Stretch {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "linear" => Stretch::Linear,
            "sqrt" => Stretch::Sqrt,
            "log" => Stretch::Log,
            "asinh" => Stretch::Asinh,
            "pow2" | "power" => Stretch::Pow2,
            other => {
                return Err(format!(
                    "unknown stretch {other:?} (linear, sqrt, log, asinh, pow2)"
                ))
            }
        })
    }
}

/// One end of a pixel cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CutValue {
    /// A value in data units.
    Value(f64),
    /// A percentile (0 to 100) of the values sampled over the survey.
    Percentile(f64),
}

/// `"0.5% 99.5%"`, `"-1 250"` or a mix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CutSpec {
    /// Value mapped to black.
    pub low: CutValue,
    /// Value mapped to white.
    pub high: CutValue,
}

impl Default for CutSpec {
    fn default() -> Self {
        CutSpec {
            low: CutValue::Percentile(0.5),
            high: CutValue::Percentile(99.5),
        }
    }
}

impl FromStr for CutSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let parse = |t: &str| -> Result<CutValue, String> {
            if let Some(p) = t.strip_suffix('%') {
                let p: f64 = p.parse().map_err(|_| format!("bad percentile {t:?}"))?;
                if !(0.0..=100.0).contains(&p) {
                    return Err(format!("percentile {t:?} outside 0..100%"));
                }
                Ok(CutValue::Percentile(p))
            } else {
                t.parse()
                    .map(CutValue::Value)
                    .map_err(|_| format!("bad cut value {t:?}"))
            }
        };
        let parts: Vec<&str> = s.split_whitespace().collect();
        let [low, high] = parts[..] else {
            return Err(format!(
                "pixel cut {s:?}: expected two values like \"0.5% 99.5%\" or \"-1 250\""
            ));
        };
        Ok(CutSpec {
            low: parse(low)?,
            high: parse(high)?,
        })
    }
}

impl CutSpec {
    /// Resolves the cut against a sample of finite values (sorted in place).
    pub fn resolve(&self, sample: &mut [f32]) -> Result<(f64, f64), String> {
        sample.sort_unstable_by(f32::total_cmp);
        let at = |c: CutValue| -> Result<f64, String> {
            match c {
                CutValue::Value(v) => Ok(v),
                CutValue::Percentile(p) => {
                    if sample.is_empty() {
                        return Err("no finite pixel to compute a percentile cut from".into());
                    }
                    let i = ((p / 100.0) * (sample.len() - 1) as f64).round() as usize;
                    Ok(sample[i] as f64)
                }
            }
        };
        let (lo, hi) = (at(self.low)?, at(self.high)?);
        if hi <= lo {
            // A flat survey: widen so that it maps to mid-grey instead of dividing by zero.
            return Ok((lo - 0.5, lo + 0.5));
        }
        Ok((lo, hi))
    }
}

/// A resolved mapping value → grey level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneMap {
    /// Value mapped to grey 0.
    pub low: f64,
    /// Value mapped to grey 255.
    pub high: f64,
    /// Transfer function between `low` and `high`.
    pub stretch: Stretch,
}

impl ToneMap {
    /// Grey level of `v`, `None` for blank.
    #[inline]
    pub fn grey(&self, v: f32) -> Option<u8> {
        if v.is_nan() {
            return None;
        }
        let t = ((v as f64 - self.low) / (self.high - self.low)).clamp(0.0, 1.0);
        Some((self.stretch.apply(t) * 255.0).round() as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_parse_and_resolve() {
        let spec: CutSpec = "1% 99%".parse().unwrap();
        let mut sample: Vec<f32> = (0..=100).rev().map(|i| i as f32).collect();
        assert_eq!(spec.resolve(&mut sample).unwrap(), (1.0, 99.0));
        let spec: CutSpec = "-1 250".parse().unwrap();
        assert_eq!(spec.resolve(&mut []).unwrap(), (-1.0, 250.0));
        assert!("5%".parse::<CutSpec>().is_err());
        assert!("1% 200%".parse::<CutSpec>().is_err());
    }

    #[test]
    fn tone_map_ends_and_stretches() {
        let t = ToneMap {
            low: 0.0,
            high: 100.0,
            stretch: Stretch::Linear,
        };
        assert_eq!(t.grey(-5.0), Some(0));
        assert_eq!(t.grey(100.0), Some(255));
        assert_eq!(t.grey(50.0), Some(128));
        assert_eq!(t.grey(f32::NAN), None);
        let s = ToneMap {
            stretch: Stretch::Sqrt,
            ..t
        };
        assert_eq!(s.grey(25.0), Some(128));
        for st in [Stretch::Log, Stretch::Asinh, Stretch::Pow2, Stretch::Sqrt] {
            assert!(
                st.apply(0.0).abs() < 1e-12 && (st.apply(1.0) - 1.0).abs() < 1e-12,
                "{st:?}"
            );
        }
    }
}
