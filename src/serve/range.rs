//! The `Range` request header, for the files served from memory.

/// A single `bytes=a-b`, `bytes=a-` or `bytes=-n` range within `len`, as inclusive offsets;
/// `Err` when unsatisfiable, `None` when the whole file should be sent (no or unusable range).
pub(super) fn parse_range(value: &str, len: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None; // several ranges: answer with the whole file
    }
    let (a, b) = spec.split_once('-')?;
    let range = match (a.trim(), b.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok()?;
            (len.saturating_sub(n), len.checked_sub(1)?)
        }
        (a, "") => (a.parse().ok()?, len.checked_sub(1)?),
        (a, b) => (
            a.parse().ok()?,
            b.parse::<u64>().ok()?.min(len.saturating_sub(1)),
        ),
    };
    Some(if range.0 <= range.1 && range.1 < len {
        Ok(range)
    } else {
        Err(())
    })
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-99", 1000), Some(Ok((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Some(Ok((900, 999))));
        assert_eq!(parse_range("bytes=990-2000", 1000), Some(Ok((990, 999))));
        assert_eq!(parse_range("bytes=1000-1001", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), None);
        assert_eq!(parse_range("items=0-1", 1000), None);
    }

    #[test]
    fn edge_ranges() {
        // A suffix longer than the file is the whole file.
        assert_eq!(parse_range("bytes=-2000", 1000), Some(Ok((0, 999))));
        // An empty suffix or a reversed range selects nothing.
        assert_eq!(parse_range("bytes=-0", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=5-3", 1000), Some(Err(())));
        assert_eq!(parse_range("bytes=0-0", 1000), Some(Ok((0, 0))));
        assert_eq!(parse_range(" bytes= 10 - 19 ", 1000), Some(Ok((10, 19))));
        // An empty file has no satisfiable range.
        assert_eq!(parse_range("bytes=0-9", 0), Some(Err(())));
        assert_eq!(parse_range("bytes=0-", 0), None);
        // Malformed specs are ignored (whole file).
        assert_eq!(parse_range("bytes=a-b", 1000), None);
        assert_eq!(parse_range("bytes=10", 1000), None);
        assert_eq!(parse_range("bytes=--1", 1000), None);
    }
}
