//! A HiPS directory mounted under `/<name>/`: its properties and coverage, and the rules that
//! turn a request path into a file inside it (or a fast, definite 404).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::ServeError;
use crate::hips::moc::Coverage;
use crate::hips::properties::Properties;
use crate::reader::remote::{is_url, Remote, RemoteOptions};

/// Names the server uses itself; a HiPS cannot be mounted there.
pub const RESERVED: [&str; 5] = [
    "hipslist",
    "aladin-lite",
    "hips-image-services",
    "cutouts",
    "favicon.ico",
];

/// The default mount name of a HiPS directory: its own name.
pub fn default_name(dir: &Path) -> String {
    dir.canonicalize()
        .ok()
        .and_then(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "hips".into())
}

/// A directory served under `/<name>/`.
#[derive(Debug)]
pub struct Mount {
    /// The URL path segment it is served under.
    pub name: String,
    /// Canonical root directory.
    pub root: PathBuf,
    /// Its `properties` file (empty for Aladin Lite's directory).
    pub properties: Properties,
    /// Which tiles exist, from `Moc.fits`, when the HiPS has one in the equatorial frame.
    pub coverage: Option<Coverage>,
    /// For a HiPS mirrored from a server: the server, asked for each file not yet in `root`
    /// (the mirror directory on this machine).
    pub upstream: Option<Arc<Remote>>,
}

/// Why a path is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Not a safe relative path (traversal, backslash, hidden file, ...).
    Unsafe,
    /// A tile the MOC says holds no data.
    OutsideCoverage,
}

/// `name` as a mount name: not empty, hidden, with a slash, or a route of the server.
fn check_name(name: &str) -> Result<(), ServeError> {
    if name.is_empty()
        || name.contains(['/', '\\'])
        || name.starts_with('.')
        || RESERVED.contains(&name)
    {
        return Err(ServeError::InvalidMountName {
            name: name.to_string(),
        });
    }
    Ok(())
}

/// The segments of a request path inside a mount (`""` is `index.html`), or `None` when one is
/// empty, hidden, too long or holds a separator: no such path can leave the mount's root.
pub fn safe_segments(rel: &str) -> Option<Vec<&str>> {
    let rel = if rel.is_empty() { "index.html" } else { rel };
    let segments: Vec<&str> = rel.split('/').collect();
    let safe = |s: &&str| {
        !s.is_empty() && !s.starts_with('.') && !s.contains(['\\', '\0', ':']) && s.len() < 256
    };
    segments.iter().all(safe).then_some(segments)
}

impl Mount {
    /// Opens a HiPS to serve under `name`: a directory, or (an `http://` or `https://` base
    /// URL) a HiPS on another server, mirrored on demand under `remote.cache_dir`: its
    /// `properties` and `Moc.fits` are fetched now, every other file when first asked for.
    pub fn open_location(
        name: &str,
        location: &Path,
        remote: &RemoteOptions,
    ) -> Result<Mount, ServeError> {
        let url = location.to_string_lossy();
        if !is_url(&url) {
            return Mount::open(name, location);
        }
        check_name(name)?;
        let upstream = Remote::new(&url, remote);
        let failed = |message: String| ServeError::Upstream {
            url: url.to_string(),
            message,
        };
        upstream
            .local("properties", true)
            .map_err(|e| failed(e.to_string()))?
            .ok_or_else(|| failed("no properties there (404): not a HiPS?".into()))?;
        upstream
            .local("Moc.fits", true)
            .map_err(|e| failed(e.to_string()))?;
        let mut mount = Mount::open(name, upstream.mirror())?;
        mount.upstream = Some(Arc::new(upstream));
        Ok(mount)
    }

    /// Opens `dir` as a HiPS to serve under `name`.
    pub fn open(name: &str, dir: &Path) -> Result<Mount, ServeError> {
        check_name(name)?;
        let root = dir.canonicalize().map_err(|source| ServeError::MountDir {
            path: dir.to_path_buf(),
            source,
        })?;
        let props_path = root.join("properties");
        let text =
            std::fs::read_to_string(&props_path).map_err(|source| ServeError::ReadProperties {
                path: props_path.clone(),
                source,
            })?;
        let properties = Properties::parse(&text).map_err(|e| ServeError::ParseProperties {
            path: props_path,
            message: e.to_string(),
        })?;
        // Moc.fits is ICRS: it tells which tiles exist only for an equatorial HiPS.
        let equatorial = properties
            .get("hips_frame")
            .is_none_or(|f| f == "equatorial");
        let moc_path = root.join("Moc.fits");
        let coverage = match std::fs::File::open(&moc_path) {
            Ok(f) if equatorial => Some(Coverage::from_fits(std::io::BufReader::new(f)).map_err(
                |e| ServeError::Coverage {
                    path: moc_path,
                    message: e.to_string(),
                },
            )?),
            _ => None,
        };
        Ok(Mount {
            name: name.to_string(),
            root,
            properties,
            coverage,
            upstream: None,
        })
    }

    /// The file for request path `rel` (already percent-decoded, relative to the mount) with its
    /// metadata, or why not. Symbolic links are followed only if they stay inside the root.
    pub fn resolve(&self, rel: &str) -> Result<(PathBuf, std::fs::Metadata), Refusal> {
        let segments = safe_segments(rel).ok_or(Refusal::Unsafe)?;
        if let Some((order, npix)) = parse_tile_path(&segments) {
            if let Some(c) = &self.coverage {
                if order <= c.depth() && !c.intersects_cell(order, npix) {
                    return Err(Refusal::OutsideCoverage);
                }
            }
        }
        // Walk the components below the (canonical) root with lstat: without symbolic links the
        // path cannot leave the root, and this costs a syscall per component. A link anywhere
        // sends the path through canonicalize and a prefix check.
        let mut path = self.root.clone();
        let mut meta = None;
        for (i, segment) in segments.iter().enumerate() {
            path.push(segment);
            let m = std::fs::symlink_metadata(&path).map_err(|_| Refusal::Unsafe)?;
            if m.file_type().is_symlink() {
                let real = path.canonicalize().map_err(|_| Refusal::Unsafe)?;
                if !real.starts_with(&self.root) {
                    return Err(Refusal::Unsafe);
                }
                let full = segments[i + 1..].iter().fold(real, |p, s| p.join(s));
                return self.resolve_real(full);
            }
            meta = Some(m);
        }
        match meta {
            Some(m) if m.is_file() => Ok((path, m)),
            _ => Err(Refusal::Unsafe),
        }
    }
}

impl Mount {
    /// The slow path for paths with symbolic links: canonical path, inside the root, a file.
    fn resolve_real(&self, path: PathBuf) -> Result<(PathBuf, std::fs::Metadata), Refusal> {
        let real = path.canonicalize().map_err(|_| Refusal::Unsafe)?;
        if !real.starts_with(&self.root) {
            return Err(Refusal::Unsafe);
        }
        match std::fs::metadata(&real) {
            Ok(meta) if meta.is_file() => Ok((real, meta)),
            _ => Err(Refusal::Unsafe),
        }
    }
}

/// `NorderK/DirD/NpixN.ext` → (K, N) when K ≤ 29, N is a cell of order K (N < 12·4^K) and D
/// is N's directory; other paths → `None`.
pub fn parse_tile_path(segments: &[&str]) -> Option<(u8, u64)> {
    let [norder, dir, file] = segments else {
        return None;
    };
    let order: u8 = norder.strip_prefix("Norder")?.parse().ok()?;
    let d: u64 = dir.strip_prefix("Dir")?.parse().ok()?;
    let npix: u64 = file.strip_prefix("Npix")?.split('.').next()?.parse().ok()?;
    let cells = (order <= 29).then(|| 12u64 << (2 * order as u32))?;
    (npix < cells && d == npix / 10_000 * 10_000).then_some((order, npix))
}

/// Content type by file name (`properties` and `hipslist` are text).
pub fn content_type(path: &Path) -> &'static str {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .as_deref()
    {
        Some("fits") | Some("fit") => "application/fits",
        Some("png") => "image/png",
        Some("jpeg") | Some("jpg") => "image/jpeg",
        Some("webp") => "image/webp",
        Some("html") => "text/html; charset=utf-8",
        Some("js") | Some("mjs") => "text/javascript",
        Some("json") => "application/json",
        Some("xml") => "application/xml",
        _ => "text/plain; charset=utf-8",
    }
}

/// Cache lifetime: tiles never change once written; metadata may be rebuilt.
pub fn cache_control(path: &Path) -> &'static str {
    let text = path.to_string_lossy();
    if text.contains("/Norder") && !text.contains("Allsky") {
        "public, max-age=604800"
    } else if text.ends_with("Moc.fits") || text.contains("Allsky") {
        "public, max-age=3600"
    } else {
        "public, max-age=60"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_paths_are_recognised_only_when_consistent() {
        assert_eq!(
            parse_tile_path(&["Norder9", "Dir1740000", "Npix1743711.png"]),
            Some((9, 1_743_711))
        );
        assert_eq!(
            parse_tile_path(&["Norder9", "Dir0", "Npix1743711.png"]),
            None
        );
        assert_eq!(parse_tile_path(&["Norder3", "Allsky.png"]), None);
        // Beyond the order's cells (the MOC lookup would overflow), or beyond HEALPix.
        assert_eq!(parse_tile_path(&["Norder0", "Dir0", "Npix12.png"]), None);
        assert_eq!(
            parse_tile_path(&[
                "Norder0",
                "Dir18446744073709550000",
                "Npix18446744073709551615.png"
            ]),
            None
        );
        assert_eq!(parse_tile_path(&["Norder30", "Dir0", "Npix0.png"]), None);
        assert_eq!(
            parse_tile_path(&["Norder29", "Dir0", "Npix0.png"]),
            Some((29, 0))
        );
        assert_eq!(
            content_type(Path::new("/a/Norder3/Dir0/Npix1.fits")),
            "application/fits"
        );
        assert_eq!(
            content_type(Path::new("/a/properties")),
            "text/plain; charset=utf-8"
        );
        assert_eq!(
            cache_control(Path::new("/a/Norder3/Dir0/Npix1.fits")),
            "public, max-age=604800"
        );
        assert_eq!(
            cache_control(Path::new("/a/properties")),
            "public, max-age=60"
        );
    }
}
