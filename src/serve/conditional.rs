//! Validators and conditional requests (RFC 9110 §8.8, §13.1): pure functions of the request
//! headers and the file's size and time, so the rules are tested without a server.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::http::{header, HeaderMap};

/// A weak validator from size and modification time: a rewritten file gets a new one, and it
/// costs no read of the contents.
pub(super) fn etag(len: u64, modified: Option<SystemTime>) -> String {
    let nanos = modified
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("W/\"{len:x}-{nanos:x}\"")
}

/// Whether `If-None-Match` names `etag` (weak comparison, so `W/` is ignored on both sides) or
/// is `*`; any of several headers or comma-separated tags may match.
pub(super) fn matches_if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    let opaque = |t: &str| t.trim().trim_start_matches("W/").to_string();
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim() == "*" || opaque(t) == opaque(etag))
}

/// Whether `If-Modified-Since` says the client's copy is current: the file is not newer than
/// that date, to the second (HTTP dates have no fractions). Ignored when `If-None-Match` is
/// present, which then decides alone.
pub(super) fn matches_if_modified_since(headers: &HeaderMap, modified: SystemTime) -> bool {
    if headers.contains_key(header::IF_NONE_MATCH) {
        return false;
    }
    headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| httpdate::parse_http_date(v.to_str().ok()?).ok())
        .is_some_and(|since| {
            modified
                .duration_since(since)
                .map_or(true, |d| d.as_secs() == 0)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use std::time::Duration;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (name, value) in pairs {
            h.append(name, HeaderValue::from_str(value).unwrap());
        }
        h
    }

    #[test]
    fn etag_changes_with_size_and_time() {
        let t = UNIX_EPOCH + Duration::from_nanos(0x1234);
        assert_eq!(etag(255, Some(t)), "W/\"ff-1234\"");
        assert_eq!(etag(255, None), "W/\"ff-0\"");
        assert_ne!(etag(255, Some(t)), etag(256, Some(t)));
    }

    #[test]
    fn if_none_match_compares_weakly() {
        let tag = "W/\"ff-1234\"";
        let inm = |v: &str| headers(&[(header::IF_NONE_MATCH, v)]);
        assert!(matches_if_none_match(&inm("W/\"ff-1234\""), tag));
        assert!(matches_if_none_match(&inm("\"ff-1234\""), tag));
        assert!(matches_if_none_match(&inm("\"ff-1234\""), "\"ff-1234\""));
        assert!(!matches_if_none_match(&inm("\"ff-1235\""), tag));
        assert!(!matches_if_none_match(&HeaderMap::new(), tag));
    }

    #[test]
    fn if_none_match_star_and_lists() {
        let tag = "W/\"ff-1234\"";
        assert!(matches_if_none_match(
            &headers(&[(header::IF_NONE_MATCH, "*")]),
            tag
        ));
        assert!(matches_if_none_match(
            &headers(&[(header::IF_NONE_MATCH, "\"a\", W/\"ff-1234\" ,\"b\"")]),
            tag
        ));
        assert!(matches_if_none_match(
            &headers(&[
                (header::IF_NONE_MATCH, "\"a\""),
                (header::IF_NONE_MATCH, "W/\"ff-1234\""),
            ]),
            tag
        ));
        assert!(!matches_if_none_match(
            &headers(&[(header::IF_NONE_MATCH, "\"a\", \"b\"")]),
            tag
        ));
    }

    #[test]
    fn if_modified_since_to_the_second() {
        let since = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(since);
        let ims = headers(&[(header::IF_MODIFIED_SINCE, &date)]);
        // Same second, fractions included: unchanged.
        assert!(matches_if_modified_since(&ims, since));
        assert!(matches_if_modified_since(
            &ims,
            since + Duration::from_millis(999)
        ));
        // Older: unchanged; a second later: changed.
        assert!(matches_if_modified_since(
            &ims,
            since - Duration::from_secs(60)
        ));
        assert!(!matches_if_modified_since(
            &ims,
            since + Duration::from_secs(1)
        ));
        // No header or an unparsable date: no 304.
        assert!(!matches_if_modified_since(&HeaderMap::new(), since));
        let bad = headers(&[(header::IF_MODIFIED_SINCE, "yesterday")]);
        assert!(!matches_if_modified_since(&bad, since));
    }

    #[test]
    fn if_none_match_overrides_if_modified_since() {
        let since = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let date = httpdate::fmt_http_date(since);
        let both = headers(&[
            (header::IF_MODIFIED_SINCE, &date),
            (header::IF_NONE_MATCH, "\"other\""),
        ]);
        assert!(!matches_if_modified_since(&both, since));
    }
}
