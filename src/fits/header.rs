//! FITS header cards as read from a file: keyword lookup with typed accessors.

/// The cards of one HDU header, in file order.
#[derive(Debug, Clone, Default)]
pub struct Header {
    cards: Vec<(String, String)>,
}

impl Header {
    /// Parses 80-character card images (`KEY     = value / comment`).
    pub fn from_cards<'a>(cards: impl IntoIterator<Item = &'a str>) -> Self {
        let cards = cards
            .into_iter()
            .filter_map(|card| {
                let key = card.get(..8.min(card.len()))?.trim().to_string();
                if key.is_empty() || card.get(8..10) != Some("= ") {
                    return None;
                }
                Some((key, parse_value(&card[10..])))
            })
            .collect();
        Header { cards }
    }

    /// Builds a header from keyword/value pairs (values as they would be written, strings unquoted).
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Header {
            cards: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The raw value of the last card with this keyword (strings unquoted and trimmed).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.cards
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key` as a number (Fortran `D` exponents accepted).
    pub fn get_f64(&self, key: &str) -> Option<f64> {
        parse_number(self.get(key)?)
    }

    /// The value of `key` as an integer (a float value truncated).
    pub fn get_i64(&self, key: &str) -> Option<i64> {
        let v = self.get(key)?;
        v.parse()
            .ok()
            .or_else(|| self.get_f64(key).map(|f| f as i64))
    }

    /// Whether a card with this keyword exists.
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Only the cards with these keywords (to keep per-image memory small in large builds).
    pub fn subset(&self, keys: &[&str]) -> Header {
        Header {
            cards: self
                .cards
                .iter()
                .filter(|(k, _)| keys.contains(&k.as_str()))
                .cloned()
                .collect(),
        }
    }

    /// Appends `cards` (keyword, raw value).
    pub fn append(&mut self, cards: impl IntoIterator<Item = (String, String)>) {
        self.cards.extend(cards);
    }

    /// Keywords in file order (repeats included).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.cards.iter().map(|(k, _)| k.as_str())
    }
}

/// The value part of a card (after `= `): a quoted string (with `''` escapes) or a bare token
/// ended by a `/` comment.
fn parse_value(raw: &str) -> String {
    let trimmed = raw.trim_start();
    if let Some(rest) = trimmed.strip_prefix('\'') {
        let mut out = String::new();
        let mut chars = rest.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    out.push('\'');
                } else {
                    break;
                }
            } else {
                out.push(c);
            }
        }
        out.trim_end().to_string()
    } else {
        trimmed.split('/').next().unwrap_or("").trim().to_string()
    }
}

/// A card value as a number (Fortran `D` exponents accepted).
pub(crate) fn parse_number(v: &str) -> Option<f64> {
    // Fortran-style exponents (1.0D-03) still appear in old headers.
    v.replace(['D', 'd'], "E").parse().ok()
}

/// A FITS date → MJD (UTC): `YYYY-MM-DD[THH:MM:SS[.s]]`, or the old `DD/MM/YY` (19YY).
pub fn date_to_mjd(s: &str) -> Option<f64> {
    let s = s.trim();
    let epoch = chrono::NaiveDate::from_ymd_opt(1858, 11, 17)?;
    if let [d, m, y] = s.split('/').collect::<Vec<_>>()[..] {
        let (d, m, y) = (d.parse().ok()?, m.parse().ok()?, y.parse::<i32>().ok()?);
        if y > 99 {
            return None;
        }
        let date = chrono::NaiveDate::from_ymd_opt(1900 + y, m, d)?;
        return Some((date - epoch).num_days() as f64);
    }
    let date = chrono::NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    let seconds = s
        .get(11..)
        .and_then(|t| chrono::NaiveTime::parse_from_str(t, "%H:%M:%S%.f").ok())
        .map_or(0.0, |t| {
            chrono::Timelike::num_seconds_from_midnight(&t) as f64
        });
    Some((date - epoch).num_days() as f64 + seconds / 86400.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_become_mjd() {
        assert_eq!(date_to_mjd("1858-11-17"), Some(0.0));
        assert_eq!(date_to_mjd("2000-01-01T12:00:00"), Some(51544.5));
        // 100 years with 24 leap days (1900 is none).
        assert_eq!(date_to_mjd("17/11/58"), Some(36524.0));
        assert_eq!(date_to_mjd("1958-11-17"), Some(36524.0));
        assert_eq!(date_to_mjd("garbage"), None);
        assert_eq!(date_to_mjd("31/02/80"), None);
    }

    #[test]
    fn parses_numbers_strings_and_comments() {
        let h = Header::from_cards([
            "CTYPE1  = 'RA---TAN'           / projection",
            "CRVAL1  =        150.123456789 / deg",
            "CDELT2  =              1.0D-03",
            "OBJECT  = 'it''s here'",
            "NAXIS   =                    2",
            "COMMENT this is not a value card",
        ]);
        assert_eq!(h.get("CTYPE1"), Some("RA---TAN"));
        assert_eq!(h.get_f64("CRVAL1"), Some(150.123456789));
        assert_eq!(h.get_f64("CDELT2"), Some(1.0e-3));
        assert_eq!(h.get("OBJECT"), Some("it's here"));
        assert_eq!(h.get_i64("NAXIS"), Some(2));
        assert!(!h.contains("COMMENT"));
    }
}
