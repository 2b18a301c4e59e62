//! Survey presets: descriptive properties keywords (title, regime, wavelengths, references,
//! suggested cut and stretch) for common surveys, from `properties/*.properties`.

use super::properties::Properties;
use super::FormatError;

/// The preset files of `properties/`, built into the binary.
const PRESETS: [(&str, &str); 10] = [
    ("first", include_str!("../../properties/first.properties")),
    ("nvss", include_str!("../../properties/nvss.properties")),
    ("vlass", include_str!("../../properties/vlass.properties")),
    ("sdss-u", include_str!("../../properties/sdss-u.properties")),
    ("sdss-g", include_str!("../../properties/sdss-g.properties")),
    ("sdss-r", include_str!("../../properties/sdss-r.properties")),
    ("sdss-i", include_str!("../../properties/sdss-i.properties")),
    ("sdss-z", include_str!("../../properties/sdss-z.properties")),
    (
        "ukidss-las-k",
        include_str!("../../properties/ukidss-las-k.properties"),
    ),
    (
        "ukidss-las-h",
        include_str!("../../properties/ukidss-las-h.properties"),
    ),
];

/// The preset called `name`, parsed.
pub fn preset(name: &str) -> Option<Properties> {
    let (_, text) = PRESETS.iter().find(|(n, _)| *n == name)?;
    Some(Properties::parse(text).expect("presets are checked by tests"))
}

/// The names of all presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// The descriptive keywords a user gives a survey, later ones winning: a preset by name, then
/// properties files, then `KEY=VALUE` pairs. `Err` names the preset, file or pair at fault.
pub fn survey_properties(
    preset_name: Option<&str>,
    files: &[std::path::PathBuf],
    pairs: &[String],
) -> Result<Properties, FormatError> {
    let mut p = Properties::default();
    if let Some(name) = preset_name {
        let found = preset(name).ok_or_else(|| FormatError::UnknownPreset {
            name: name.to_string(),
            known: names().join(", "),
        })?;
        p.merge(&found);
    }
    for file in files {
        let in_file = |problem: String| FormatError::PropertiesFile {
            path: file.clone(),
            problem,
        };
        let text = std::fs::read_to_string(file).map_err(|e| in_file(e.to_string()))?;
        p.merge(&Properties::parse(&text).map_err(|e| in_file(e.to_string()))?);
    }
    for kv in pairs {
        let (k, v) = kv
            .split_once('=')
            .ok_or_else(|| FormatError::PropertyPair(kv.clone()))?;
        p.set(k.trim(), v.trim());
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_and_describes_its_survey() {
        for name in names() {
            let p = Properties::parse(PRESETS.iter().find(|(n, _)| *n == name).unwrap().1).unwrap();
            for key in [
                "obs_title",
                "obs_description",
                "obs_regime",
                "prov_progenitor",
                "bib_reference",
            ] {
                assert!(p.get(key).is_some(), "{name}: {key}");
            }
            let em = |k: &str| p.get(k).unwrap().parse::<f64>().unwrap();
            assert!(em("em_min") < em("em_max"), "{name}");
            if let Some(cut) = p.get("hips_pixel_cut") {
                assert!(
                    cut.parse::<crate::preview::CutSpec>().is_ok(),
                    "{name}: {cut}"
                );
            }
            if let Some(f) = p.get("hips_pixel_func") {
                assert!(f.parse::<crate::preview::Stretch>().is_ok(), "{name}: {f}");
            }
        }
        assert!(preset("first").is_some() && preset("nonesuch").is_none());
    }
}
