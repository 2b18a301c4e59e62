//! Object lists for bulk cutouts: any delimited text (comma, tab, semicolon, pipe or
//! whitespace, sniffed from the header line) with named columns.

use std::path::Path;

use super::CutoutError;

/// One object.
#[derive(Debug, Clone, PartialEq)]
pub struct Position {
    /// The id column's value, else the row number among the objects (from 0).
    pub id: String,
    /// Longitude (degrees, in 0..360), in the frame the run is told.
    pub ra: f64,
    /// Latitude (degrees, −90..90).
    pub dec: f64,
}

/// Column names to use (case-insensitive); `None` picks the usual names.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    /// Longitude column; `None` tries ra, ra_deg, raj2000, ra_icrs, glon, lon.
    pub ra: Option<String>,
    /// Latitude column; `None` tries dec, dec_deg, dej2000, decj2000, de_icrs, glat, lat.
    pub dec: Option<String>,
    /// Id column; `None` tries id, objid, name, source_id, specobjid, else the row number.
    pub id: Option<String>,
}

const RA_NAMES: [&str; 6] = ["ra", "ra_deg", "raj2000", "ra_icrs", "glon", "lon"];
const DEC_NAMES: [&str; 7] = [
    "dec", "dec_deg", "dej2000", "decj2000", "de_icrs", "glat", "lat",
];
const ID_NAMES: [&str; 5] = ["id", "objid", "name", "source_id", "specobjid"];

fn split(line: &str, delimiter: Option<char>) -> Vec<&str> {
    match delimiter {
        Some(d) => line.split(d).map(|f| f.trim().trim_matches('"')).collect(),
        None => line.split_whitespace().collect(),
    }
}

/// Reads every object of `path`; errors name the file, line and problem.
pub fn read_positions(path: &Path, columns: &Columns) -> Result<Vec<Position>, CutoutError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CutoutError::Positions(format!("{}: {e}", path.display())))?;
    parse_positions(&text, columns)
        .map_err(|e| CutoutError::Positions(format!("{}: {e}", path.display())))
}

/// Parses the text of an object list (see [`read_positions`]).
pub fn parse_positions(text: &str, columns: &Columns) -> Result<Vec<Position>, CutoutError> {
    parse_lines(text, columns).map_err(CutoutError::Positions)
}

fn parse_lines(text: &str, columns: &Columns) -> Result<Vec<Position>, String> {
    let mut lines = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let (_, header) = lines.next().ok_or("no header line")?;
    let delimiter = [',', '\t', ';', '|']
        .into_iter()
        .find(|d| header.contains(*d));
    let names: Vec<String> = split(header, delimiter)
        .iter()
        .map(|n| n.to_ascii_lowercase())
        .collect();
    let find =
        |wanted: &Option<String>, defaults: &[&str], what: &str| -> Result<Option<usize>, String> {
            match wanted {
                Some(w) => names
                    .iter()
                    .position(|n| n.eq_ignore_ascii_case(w))
                    .map(Some)
                    .ok_or_else(|| {
                        format!("no column {w:?} for {what} (columns: {})", names.join(", "))
                    }),
                None => Ok(defaults
                    .iter()
                    .find_map(|d| names.iter().position(|n| n == d))),
            }
        };
    let ra = find(&columns.ra, &RA_NAMES, "ra")?.ok_or_else(|| {
        format!(
            "no ra column (columns: {}); name it with --ra-col",
            names.join(", ")
        )
    })?;
    let dec = find(&columns.dec, &DEC_NAMES, "dec")?.ok_or_else(|| {
        format!(
            "no dec column (columns: {}); name it with --dec-col",
            names.join(", ")
        )
    })?;
    let id = find(&columns.id, &ID_NAMES, "id")?;
    let mut out = Vec::new();
    for (i, line) in lines {
        let fields = split(line, delimiter);
        let number = |k: usize, what: &str| -> Result<f64, String> {
            let f = fields
                .get(k)
                .ok_or_else(|| format!("line {}: missing {what}", i + 1))?;
            f.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("line {}: {what} {f:?} is not a number", i + 1))
        };
        let (r, d) = (number(ra, "ra")?, number(dec, "dec")?);
        if !(-90.0..=90.0).contains(&d) {
            return Err(format!("line {}: dec {d} is outside -90..90", i + 1));
        }
        let id = id
            .and_then(|k| fields.get(k))
            .map_or_else(|| out.len().to_string(), |s| s.to_string());
        out.push(Position {
            id,
            ra: r.rem_euclid(360.0),
            dec: d,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters_and_columns_are_found() {
        let c = Columns::default();
        let p = parse_positions("objid,RA,Dec\nq1,150.5,2.25\n# comment\nq2,-10,-3\n", &c).unwrap();
        assert_eq!(
            p,
            vec![
                Position {
                    id: "q1".into(),
                    ra: 150.5,
                    dec: 2.25
                },
                Position {
                    id: "q2".into(),
                    ra: 350.0,
                    dec: -3.0
                }
            ]
        );
        let p = parse_positions("ra dec\n1 2\n3 4\n", &c).unwrap();
        assert_eq!(
            p[1],
            Position {
                id: "1".into(),
                ra: 3.0,
                dec: 4.0
            }
        );
        let p = parse_positions(
            "name\talpha\tdelta\nx\t5\t6\n",
            &Columns {
                ra: Some("alpha".into()),
                dec: Some("DELTA".into()),
                id: None,
            },
        )
        .unwrap();
        assert_eq!(
            p[0],
            Position {
                id: "x".into(),
                ra: 5.0,
                dec: 6.0
            }
        );
        assert!(parse_positions("ra,dec\n1,x\n", &c)
            .unwrap_err()
            .to_string()
            .contains("line 2: dec \"x\""));
        assert!(parse_positions("a,b\n1,2\n", &c)
            .unwrap_err()
            .to_string()
            .contains("no ra column"));
        assert!(parse_positions("ra,dec\n1,95\n", &c)
            .unwrap_err()
            .to_string()
            .contains("outside"));
    }
}
