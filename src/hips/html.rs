//! `index.html`: a page that opens the HiPS in Aladin Lite v3, centred on the initial view.
//! Works from any static httpd: Aladin Lite is taken from `aladin.js` beside the page if the
//! operator put one there, else from a hipsforge server's `/aladin-lite/`, else from CDS.

use super::properties::Properties;
use crate::wcs::frame::{Frame, Rotation};

const ALADIN_SOURCES: [&str; 3] = [
    "./aladin.js",
    "/aladin-lite/aladin.js",
    "https://aladin.cds.unistra.fr/AladinLite/api/v3/latest/aladin.js",
];

/// `s` with the characters that HTML text and attribute values reserve escaped.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The tile format a browser should display: 8-bit first (Aladin Lite's preference), else FITS.
pub fn display_format(p: &Properties) -> &'static str {
    let formats: Vec<&str> = p
        .get("hips_tile_format")
        .unwrap_or("fits")
        .split_whitespace()
        .collect();
    ["png", "jpeg", "webp"]
        .into_iter()
        .find(|f| formats.contains(f))
        .unwrap_or("fits")
}

/// The `index.html` page for a HiPS with these properties (title, initial view, tile format).
pub fn index_html(p: &Properties) -> String {
    let title = escape(p.get("obs_title").unwrap_or("HiPS"));
    let did = escape(p.get("creator_did").unwrap_or(""));
    let num = |k: &str, d: f64| p.get(k).and_then(|v| v.parse::<f64>().ok()).unwrap_or(d);
    let (mut ra, mut dec, fov) = (
        num("hips_initial_ra", 0.0),
        num("hips_initial_dec", 0.0),
        num("hips_initial_fov", 60.0),
    );
    let hips_frame = p.get("hips_frame").and_then(Frame::from_hips_name);
    let frame = match hips_frame {
        Some(Frame::Galactic) => "galactic",
        _ => "ICRS",
    };
    // Aladin Lite has no ecliptic view frame: the initial position (HiPS frame) goes to ICRS.
    if hips_frame == Some(Frame::Ecliptic) {
        let (lon, lat) = Rotation::between(Frame::Ecliptic, Frame::Equatorial)
            .apply_lonlat(ra.to_radians(), dec.to_radians());
        (ra, dec) = (lon.to_degrees(), lat.to_degrees());
    }
    // A survey of half the sky or more opens as a whole-sky Aitoff view.
    let view = if fov >= 180.0 {
        "fov: 360, projection: 'AIT'".to_string()
    } else {
        format!("fov: {fov}")
    };
    let sources = ALADIN_SOURCES.map(|s| format!("'{s}'")).join(", ");
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #000; color: #ddd; font-family: sans-serif; }}
  #aladin {{ position: absolute; inset: 0; }}
  #info {{ position: absolute; z-index: 20; left: 8px; bottom: 8px; padding: 4px 8px; font-size: 12px;
          background: rgba(0, 0, 0, 0.6); border-radius: 4px; }}
  #info a {{ color: #9cf; }}
</style>
</head>
<body>
<div id="aladin"></div>
<div id="info">{title} &mdash; {did} &mdash; <a href="properties">properties</a></div>
<script type="module">
  let A = null;
  for (const src of [{sources}]) {{
    try {{ A = (await import(src)).default; break; }} catch (e) {{ /* next source */ }}
  }}
  if (!A) {{
    document.getElementById('info').textContent = 'Aladin Lite could not be loaded.';
  }} else {{
    await A.init;
    const hipsUrl = new URL('.', window.location.href).href.replace(/\/$/, '');
    const aladin = A.aladin('#aladin', {{ {view}, target: '{ra} {dec}', cooFrame: '{frame}' }});
    aladin.setBaseImageLayer(A.imageHiPS(hipsUrl, {{ name: '{title}', imgFormat: '{format}' }}));
    window.aladin = aladin;
  }}
</script>
</body>
</html>
"#,
        format = display_format(p),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_centres_on_the_initial_view_with_a_displayable_format() {
        let p = Properties::parse(
            "obs_title = A <b>\nhips_initial_ra = 10.5\nhips_initial_dec = -3\nhips_initial_fov = 0.5\nhips_tile_format = fits png\nhips_frame = galactic\n",
        )
        .unwrap();
        let html = index_html(&p);
        assert!(html.contains("target: '10.5 -3'") && html.contains("fov: 0.5"));
        assert!(html.contains("imgFormat: 'png'") && html.contains("cooFrame: 'galactic'"));
        assert!(html.contains("A &lt;b&gt;"));
        assert_eq!(
            display_format(&Properties::parse("hips_tile_format = fits").unwrap()),
            "fits"
        );
    }

    #[test]
    fn ecliptic_hips_opens_on_its_initial_view_in_icrs() {
        // The north ecliptic pole is at ICRS (270°, 66.56°).
        let p = Properties::parse(
            "hips_initial_ra = 0\nhips_initial_dec = 90\nhips_frame = ecliptic\n",
        )
        .unwrap();
        let html = index_html(&p);
        let target = html.split("target: '").nth(1).unwrap();
        let numbers: Vec<f64> = target
            .split('\'')
            .next()
            .unwrap()
            .split(' ')
            .map(|v| v.parse().unwrap())
            .collect();
        assert!(
            (numbers[0] - 270.0).abs() < 1e-3 && (numbers[1] - 66.5607).abs() < 1e-3,
            "{numbers:?}"
        );
        assert!(html.contains("cooFrame: 'ICRS'"));
    }
}
