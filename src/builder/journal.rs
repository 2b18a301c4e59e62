//! The build journal: a hidden file in the output directory that records what a build is —
//! the hipsforge version, every option that changes the tiles, and each input file (path,
//! size, modification time, HDUs used) — so that `--resume` continues only the very same build
//! (never mixing two surveys in one directory), and the creation date survives a crash.
//! The server never serves it (hidden files answer 404).

use std::path::{Path, PathBuf};

use super::inputs::SourceImage;
use super::{BuildError, BuildOptions};
use crate::hips::properties::Properties;

/// File name of the journal inside the output directory.
pub const JOURNAL_FILE: &str = ".hipsforge-build";

/// The key that is not compared between builds: when the first of them started.
const CREATED: &str = "created";

/// What a build is, as `key = value` lines (the `properties` syntax).
#[derive(Debug, Clone, PartialEq)]
pub struct Journal {
    entries: Properties,
}

impl Journal {
    /// The journal of a build of `o` over `files` (all candidate inputs, in order), of which
    /// `images` were usable, at tile order `order`, started at `created`.
    pub fn describe(
        o: &BuildOptions,
        files: &[PathBuf],
        images: &[SourceImage],
        order: u8,
        created: &str,
    ) -> Result<Journal, BuildError> {
        let mut p = Properties::default();
        p.set("hipsforge", env!("CARGO_PKG_VERSION"));
        p.set(CREATED, created);
        p.set("creator_did", &o.creator_did);
        p.set("order", order);
        p.set("min_order", o.min_order);
        p.set("tile_width", o.tile_width);
        p.set("frame", o.frame.hips_name());
        p.set("interpolation", format!("{:?}", o.sampling.interpolation));
        p.set("coadd", format!("{:?}", o.sampling.coadd));
        p.set("border", o.sampling.border);
        p.set("blank", format!("{:?}", o.blank));
        p.set("tree", format!("{:?}", o.tree));
        p.set("bitpix", o.bitpix);
        p.set("hdus", format!("{:?}", o.hdus));
        // Only controls in force are written, so a journal of a build without them is unchanged.
        for (key, value) in o.controls.describe() {
            p.set(&format!("controls.{key}"), value);
        }
        for (i, im) in images.iter().enumerate() {
            if let Some(fov) = &im.fov {
                p.set(&format!("fov.{i}"), format!("{} {fov}", im.label()));
            }
        }
        // Only when given, so that journals written before --fitskey existed still match.
        if !o.fitskeys.is_empty() {
            p.set("fitskeys", o.fitskeys.join(" "));
        }
        p.set("inputs", files.len());
        for (i, file) in files.iter().enumerate() {
            let meta = std::fs::metadata(file)
                .map_err(|e| BuildError::Input(format!("{}: {e}", file.display())))?;
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            let hdus: Vec<usize> = images
                .iter()
                .filter(|im| &im.hdu.path == file)
                .map(|im| im.hdu.hdu)
                .collect();
            p.set(
                &format!("input.{i}"),
                format!("{:?} size {} mtime {mtime} hdus {hdus:?}", file, meta.len()),
            );
        }
        Ok(Journal { entries: p })
    }

    /// When the build this journal describes first started.
    pub fn created(&self) -> &str {
        self.entries.get(CREATED).unwrap_or("")
    }

    /// Reads the journal of the HiPS being built in `out`, if there is one.
    pub fn read(out: &Path) -> Result<Option<Journal>, BuildError> {
        let path = out.join(JOURNAL_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(BuildError::Write { path, source }),
        };
        let entries = Properties::parse(&text)
            .map_err(|e| BuildError::Invalid(format!("{}: {e}", path.display())))?;
        Ok(Some(Journal { entries }))
    }

    /// Writes the journal into `out` (atomically).
    pub fn write(&self, out: &Path) -> Result<(), BuildError> {
        super::write_atomic(&out.join(JOURNAL_FILE), self.entries.to_text().as_bytes())
    }

    /// What differs between the build `self` describes and `other`, one phrase per key
    /// (the creation date aside); empty when they are the same build.
    pub fn differences(&self, other: &Journal) -> Vec<String> {
        let keys = |j: &Journal| -> Vec<String> {
            j.entries
                .iter()
                .map(|(k, _)| k.to_string())
                .filter(|k| k != CREATED)
                .collect()
        };
        let mut all = keys(self);
        all.extend(
            keys(other)
                .into_iter()
                .filter(|k| self.entries.get(k).is_none()),
        );
        all.into_iter()
            .filter_map(|k| {
                let (was, now) = (self.entries.get(&k), other.entries.get(&k));
                (was != now).then(|| {
                    format!(
                        "{k}: {} then, {} now",
                        was.unwrap_or("(none)"),
                        now.unwrap_or("(none)")
                    )
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(pairs: &[(&str, &str)]) -> Journal {
        let mut entries = Properties::default();
        for (k, v) in pairs {
            entries.set(k, v);
        }
        Journal { entries }
    }

    #[test]
    fn differences_name_each_key_but_not_the_creation_date() {
        let a = journal(&[
            ("created", "2026-01-01T00:00Z"),
            ("order", "9"),
            ("inputs", "2"),
        ]);
        let same = journal(&[
            ("created", "2026-12-01T10:00Z"),
            ("order", "9"),
            ("inputs", "2"),
        ]);
        assert!(a.differences(&same).is_empty());
        let other = journal(&[("order", "10"), ("inputs", "2"), ("input.2", "x")]);
        assert_eq!(
            a.differences(&other),
            vec![
                "order: 9 then, 10 now".to_string(),
                "input.2: (none) then, x now".to_string()
            ]
        );
    }
}
