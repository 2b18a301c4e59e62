//! The progenitor index in Hipsgen's `HpxFinder/` layout, which Aladin Desktop's
//! "progenitors" view reads: `HpxFinder/NorderK/DirD/NpixN` (no extension) for each tile, one
//! JSON line per input image whose footprint touches the tile (at coarser orders, the images
//! of its children), `Norder3/Allsky` when small, and the index's own `properties`,
//! `Moc.fits` and `metadata.xml`.
//!
//! A line holds Hipsgen's fields — `name`, `path`, `ra`, `dec` (image centre), `cellmem`
//! (bytes of the decoded image), `stc` (`POLYGON J2000 ra dec ...`, ICRS degrees) — plus our
//! `hdu`, then the `--fitskey` values under their keyword. Every value is a JSON string
//! written as `"key": "value"`, exactly Hipsgen's spacing: Aladin finds a value by searching
//! the raw line for the key and the next quote, so other spacings would be misread.

use std::path::{Path, PathBuf};

use super::FormatError;
use crate::wcs::frame::lonlat_to_xyz;

/// Name of the index directory inside a HiPS.
pub const HPXFINDER_DIR: &str = "HpxFinder";

/// The fields every line has; any other key is a `--fitskey` value.
const FIXED_FIELDS: [&str; 7] = ["name", "path", "hdu", "ra", "dec", "cellmem", "stc"];

/// `root/HpxFinder/Norder{order}/Dir{D}/Npix{npix}`, Hipsgen's path (no extension).
///
/// ```
/// use std::path::{Path, PathBuf};
/// use hipsforge::hips::hpxfinder::index_path;
///
/// assert_eq!(
///     index_path(Path::new("h"), 9, 123_456),
///     PathBuf::from("h/HpxFinder/Norder9/Dir120000/Npix123456")
/// );
/// ```
pub fn index_path(root: &Path, order: u8, npix: u64) -> PathBuf {
    root.join(HPXFINDER_DIR)
        .join(format!("Norder{order}"))
        .join(format!("Dir{}", (npix / 10_000) * 10_000))
        .join(format!("Npix{npix}"))
}

/// One input image as the index lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct Progenitor {
    /// File name without directory and last extension (Hipsgen's rule), `[hdu]` appended for
    /// an extension HDU so that the HDUs of one file keep distinct names.
    pub name: String,
    /// The file, relative to the directory that holds all inputs of the build.
    pub path: String,
    /// The HDU (0 = primary).
    pub hdu: usize,
    /// Centre of the image (ICRS degrees).
    pub center: (f64, f64),
    /// Outline of the image's valid pixels, in order around it (ICRS degrees); empty when the
    /// outline is not on the sky (all-sky projections, whose corners are off the sphere).
    pub footprint: Vec<(f64, f64)>,
    /// Bytes of the decoded image (Hipsgen's `cellmem`).
    pub cell_bytes: u64,
    /// `--fitskey` keyword → value, in the order asked; keywords the header lacks are left out.
    pub keys: Vec<(String, String)>,
}

/// Decimals of the footprint and centre coordinates: 1e-7° = 0.36 mas.
const DECIMALS: usize = 7;

impl Progenitor {
    /// The index line (no newline).
    pub fn to_json_line(&self) -> String {
        let mut stc = String::from("POLYGON J2000");
        for (ra, dec) in &self.footprint {
            stc.push_str(&format!(" {ra:.DECIMALS$} {dec:.DECIMALS$}"));
        }
        let mut fields: Vec<(&str, String)> = vec![
            ("name", self.name.clone()),
            ("path", self.path.clone()),
            ("hdu", self.hdu.to_string()),
            ("ra", format!("{:.DECIMALS$}", self.center.0)),
            ("dec", format!("{:.DECIMALS$}", self.center.1)),
            ("cellmem", self.cell_bytes.to_string()),
            ("stc", stc),
        ];
        fields.extend(self.keys.iter().map(|(k, v)| (k.as_str(), v.clone())));
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}: {}", json_string(k), json_string(v)))
            .collect();
        format!("{{ {} }}", body.join(", "))
    }

    /// Reads an index line back (ours or Hipsgen's: values may be strings or numbers).
    pub fn parse(line: &str) -> Result<Progenitor, FormatError> {
        let bad = |problem: String| FormatError::ProgenitorLine(problem);
        let object: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(line).map_err(|e| bad(format!("not a JSON object: {e}")))?;
        let text = |key: &str| -> Option<String> {
            match object.get(key)? {
                serde_json::Value::String(s) => Some(s.clone()),
                other => Some(other.to_string()),
            }
        };
        let number = |key: &str| -> Result<f64, FormatError> {
            let t = text(key).ok_or_else(|| bad(format!("no {key:?}")))?;
            t.trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| bad(format!("{key} = {t:?} is not a finite number")))
        };
        let path = text("path").ok_or_else(|| bad("no \"path\"".into()))?;
        let footprint = match text("stc") {
            Some(stc) => parse_stc_polygon(&stc).map_err(bad)?,
            None => Vec::new(),
        };
        Ok(Progenitor {
            name: text("name").unwrap_or_else(|| path.clone()),
            path,
            hdu: text("hdu").and_then(|h| h.parse().ok()).unwrap_or(0),
            center: (number("ra")?, number("dec")?),
            footprint,
            cell_bytes: text("cellmem").and_then(|c| c.parse().ok()).unwrap_or(0),
            keys: object
                .keys()
                .filter(|k| !FIXED_FIELDS.contains(&k.as_str()))
                .filter_map(|k| Some((k.clone(), text(k)?)))
                .collect(),
        })
    }

    /// Whether the footprint contains the ICRS unit vector `v`. An image without an outline
    /// on the sky counts as covering every position of the tiles it is listed in.
    pub fn covers(&self, v: [f64; 3]) -> bool {
        if self.footprint.len() < 3 {
            return true;
        }
        let vertices: Vec<[f64; 3]> = self
            .footprint
            .iter()
            .map(|(ra, dec)| lonlat_to_xyz(ra.to_radians(), dec.to_radians()))
            .collect();
        polygon_contains(&vertices, v)
    }
}

/// `POLYGON [frame] ra dec ra dec ...` → vertices (degrees).
fn parse_stc_polygon(stc: &str) -> Result<Vec<(f64, f64)>, String> {
    let mut words = stc.split_whitespace();
    if words.next() != Some("POLYGON") {
        return Err(format!("stc {stc:?} is not a POLYGON"));
    }
    // A frame word (J2000, ICRS) may follow POLYGON.
    let numbers: Vec<f64> = words
        .skip_while(|w| w.parse::<f64>().is_err())
        .map(|w| {
            w.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| format!("stc value {w:?} is not a finite number"))
        })
        .collect::<Result<_, _>>()?;
    if !numbers.len().is_multiple_of(2) {
        return Err(format!("stc {stc:?}: odd count of coordinates"));
    }
    Ok(numbers.chunks(2).map(|c| (c[0], c[1])).collect())
}

/// Whether the spherical polygon `vertices` (great-circle edges, smaller than a hemisphere)
/// contains `p`: the edges seen from `p` wind once around it (±2π) when inside, 0 outside.
/// They also wind once around the polygon's antipode, which the hemisphere test leaves out.
pub fn polygon_contains(vertices: &[[f64; 3]], p: [f64; 3]) -> bool {
    let dot = |a: [f64; 3], b: [f64; 3]| a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    let centroid = vertices
        .iter()
        .fold([0.0; 3], |s, v| [s[0] + v[0], s[1] + v[1], s[2] + v[2]]);
    if dot(centroid, p) <= 0.0 {
        return false;
    }
    let cross = |a: [f64; 3], b: [f64; 3]| {
        [
            a[1] * b[2] - a[2] * b[1],
            a[2] * b[0] - a[0] * b[2],
            a[0] * b[1] - a[1] * b[0],
        ]
    };
    let winding: f64 = (0..vertices.len())
        .map(|i| {
            let (a, b) = (vertices[i], vertices[(i + 1) % vertices.len()]);
            // Signed angle at p from the arc p→a to the arc p→b.
            dot(p, cross(a, b)).atan2(dot(a, b) - dot(p, a) * dot(p, b))
        })
        .sum();
    winding.abs() > std::f64::consts::PI
}

/// `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// The index's `properties` (Hipsgen's keywords for an HpxFinder): `dataproduct_type = meta`,
/// `creator_did` of the HiPS plus `/meta`, its frame and the (coarsest, deepest) orders written.
pub fn index_properties(
    hips_did: &str,
    title: &str,
    frame: &str,
    (min_order, order): (u8, u8),
    tile_width: usize,
    release: &str,
) -> super::properties::Properties {
    let mut p = super::properties::Properties::default();
    p.set("creator_did", format!("{hips_did}/meta"));
    p.set("obs_title", format!("{title}-meta"));
    p.set("dataproduct_type", "meta");
    p.set("hips_frame", frame);
    p.set("hips_order", order);
    p.set("hips_order_min", min_order);
    p.set("hips_tile_width", tile_width);
    p.set("hips_release_date", release);
    p.set("hips_version", "1.4");
    p.set("hips_builder", crate::PRODUCER);
    p
}

/// `HpxFinder/metadata.xml`: the VOTable template with which Aladin turns index lines into
/// table rows (`$[field]` is replaced by the line's value), one FIELD per `--fitskey`.
pub fn metadata_xml(title: &str, fitskeys: &[String]) -> String {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut fields = String::new();
    let mut cells = String::new();
    for k in fitskeys {
        let k = escape(k);
        fields.push_str(&format!(
            "    <FIELD name=\"{k}\" datatype=\"char\" arraysize=\"*\"/>\n"
        ));
        cells.push_str(&format!("      <TD>$[{k}]</TD>\n"));
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- HpxFinder mapping: how each JSON line of HpxFinder/NorderK/DirD/NpixN becomes a table row. -->
<VOTABLE version="1.2" xmlns="http://www.ivoa.net/xml/VOTable/v1.2">
<RESOURCE>
  <COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/>
  <TABLE name="{title} details">
    <FIELD name="RAJ2000" ucd="pos.eq.ra" ref="J2000" datatype="double" precision="5" unit="deg">
      <DESCRIPTION>Right ascension of the image centre</DESCRIPTION>
    </FIELD>
    <FIELD name="DEJ2000" ucd="pos.eq.dec" ref="J2000" datatype="double" precision="5" unit="deg">
      <DESCRIPTION>Declination of the image centre</DESCRIPTION>
    </FIELD>
    <FIELD name="id" ucd="meta.id;meta.dataset" datatype="char" arraysize="*">
      <DESCRIPTION>Input image name</DESCRIPTION>
    </FIELD>
    <FIELD name="access" datatype="char" arraysize="*">
      <DESCRIPTION>Input file, relative to the build's input directory</DESCRIPTION>
      <LINK content-type="image/fits" href="${{access}}"/>
    </FIELD>
    <FIELD name="hdu" datatype="char" arraysize="*">
      <DESCRIPTION>HDU of the image in its file (0 = primary)</DESCRIPTION>
    </FIELD>
    <FIELD name="FoV" datatype="char" utype="stc:ObservationLocation.AstroCoordArea.Region" arraysize="*">
      <DESCRIPTION>Field of view (STC)</DESCRIPTION>
    </FIELD>
{fields}<DATA>
  <TABLEDATA>
    <TR>
      <TD>$[ra]</TD>
      <TD>$[dec]</TD>
      <TD>$[name]</TD>
      <TD>$[path]</TD>
      <TD>$[hdu]</TD>
      <TD>$[stc]</TD>
{cells}    </TR>
  </TABLEDATA>
</DATA>
</TABLE>
</RESOURCE>
</VOTABLE>
"#,
        title = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Progenitor {
        Progenitor {
            name: "frame-r-002583-2-0136.fits".into(),
            path: "sdss/frame-r-002583-2-0136.fits.bz2".into(),
            hdu: 0,
            center: (323.3427946, -0.7340269),
            footprint: vec![(1.0, 1.0), (1.2, 1.0), (1.2, 1.1), (1.0, 1.1)],
            cell_bytes: 2048 * 1489 * 4,
            keys: vec![
                ("DATE-OBS".into(), "2001-09-19".into()),
                ("FILTER".into(), "say \"r\"".into()),
            ],
        }
    }

    #[test]
    fn lines_use_hipsgen_spacing_and_read_back() {
        let line = sample().to_json_line();
        assert!(line.starts_with(
            "{ \"name\": \"frame-r-002583-2-0136.fits\", \"path\": \"sdss/frame-r-002583-2-0136.fits.bz2\", \"hdu\": \"0\", \"ra\": \"323.3427946\""
        ), "{line}");
        assert!(
            line.contains("\"stc\": \"POLYGON J2000 1.0000000 1.0000000 1.2000000 1.0000000 "),
            "{line}"
        );
        assert!(line.ends_with("\"FILTER\": \"say \\\"r\\\"\" }"), "{line}");
        assert_eq!(Progenitor::parse(&line).unwrap(), sample());
    }

    #[test]
    fn hipsgen_lines_are_read() {
        // A line as Hipsgen 12 writes it (no hdu; full-precision doubles; a MEF suffix).
        let line = r#"{ "name": "img", "path": "/data/img.fits[1]", "ra": "10.5", "dec": "-3.25", "cellmem": "4000", "stc": "POLYGON J2000 10.4 -3.3 10.6 -3.3 10.6 -3.2 10.4 -3.2", "EXPTIME": "30.0" }"#;
        let p = Progenitor::parse(line).unwrap();
        assert_eq!(p.center, (10.5, -3.25));
        assert_eq!(p.footprint.len(), 4);
        assert_eq!(p.keys, vec![("EXPTIME".to_string(), "30.0".to_string())]);
        assert!(Progenitor::parse("{ \"path\": \"x\", \"ra\": \"nan\", \"dec\": \"0\" }").is_err());
        assert!(Progenitor::parse("not json").is_err());
    }

    #[test]
    fn footprints_contain_inner_points_only() {
        let p = sample();
        let at = |ra: f64, dec: f64| lonlat_to_xyz(ra.to_radians(), dec.to_radians());
        assert!(p.covers(at(1.1, 1.05)));
        assert!(p.covers(at(1.199, 1.099)));
        assert!(!p.covers(at(1.201, 1.05)));
        assert!(!p.covers(at(1.1, 1.1001)));
        assert!(!p.covers(at(181.1, -1.05)), "the antipode is outside");
        // Vertex order does not matter (clockwise or not).
        let mut reversed = p.clone();
        reversed.footprint.reverse();
        assert!(reversed.covers(at(1.1, 1.05)));
        // Across RA 0.
        let wrap = Progenitor {
            footprint: vec![(359.9, -0.1), (0.1, -0.1), (0.1, 0.1), (359.9, 0.1)],
            ..p
        };
        assert!(wrap.covers(at(0.0, 0.0)) && wrap.covers(at(359.95, 0.05)));
        assert!(!wrap.covers(at(0.2, 0.0)) && !wrap.covers(at(180.0, 0.0)));
    }

    #[test]
    fn metadata_lists_each_fitskey() {
        let xml = metadata_xml("sdss-r", &["DATE-OBS".into(), "FILTER".into()]);
        assert!(xml.contains("<FIELD name=\"DATE-OBS\""));
        assert!(xml.contains("<TD>$[FILTER]</TD>"));
        assert!(xml.contains("href=\"${access}\""));
    }
}
