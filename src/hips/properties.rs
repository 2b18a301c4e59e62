//! The `properties` file: `key = value` lines, `#` comments, keys case-sensitive.

use std::fmt::Write;

use super::FormatError;

/// Ordered keyword/value pairs; setting a key again replaces its value in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Properties {
    entries: Vec<(String, String)>,
}

impl Properties {
    /// Sets `key` to `value`, in place if it is already there, else at the end.
    pub fn set(&mut self, key: &str, value: impl ToString) {
        let value = value.to_string();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key.to_string(), value)),
        }
    }

    /// The value of `key`, if set.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` only where it has no value yet.
    pub fn set_default(&mut self, key: &str, value: impl ToString) {
        if self.get(key).is_none() {
            self.set(key, value);
        }
    }

    /// Sets every key of `other`, in `other`'s order.
    pub fn merge(&mut self, other: &Properties) {
        for (k, v) in &other.entries {
            self.set(k, v);
        }
    }

    /// The pairs in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Parses properties text; `Err` names the first line that is neither a comment, blank,
    /// nor `key = value`.
    pub fn parse(text: &str) -> Result<Properties, FormatError> {
        let mut p = Properties::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| FormatError::PropertiesLine {
                    line: i + 1,
                    problem: format!("no '=' in {line:?}"),
                })?;
            let k = k.trim();
            if k.is_empty() || k.contains(char::is_whitespace) {
                return Err(FormatError::PropertiesLine {
                    line: i + 1,
                    problem: format!("bad keyword {k:?}"),
                });
            }
            p.set(k, v.trim());
        }
        Ok(p)
    }

    /// The file text: one `key = value` line each, keys padded to 22 columns.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.entries {
            let _ = writeln!(out, "{k:<22}= {v}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_write_round_trip() {
        let p = Properties::parse("# c\ncreator_did = ivo://x/P/y\n\nobs_title=A b = c\n").unwrap();
        assert_eq!(p.get("obs_title"), Some("A b = c"));
        let q = Properties::parse(&p.to_text()).unwrap();
        assert_eq!(p, q);
        assert_eq!(
            Properties::parse("nonsense line").unwrap_err(),
            FormatError::PropertiesLine {
                line: 1,
                problem: "no '=' in \"nonsense line\"".into()
            }
        );
    }
}
