//! This machine's wall clock, as Cairn reads it. Nothing orders by wall-clock time (offline sites
//! drift for months); it only stamps records for people to read.

/// Milliseconds since the Unix epoch by this machine's clock.
///
/// `CAIRN_CLOCK_OFFSET_MS` (signed) shifts the clock, to reproduce a site whose clock is months
/// off; nothing in Cairn orders by wall-clock time, and the tests show it.
pub fn now_ms() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let offset: i64 = std::env::var("CAIRN_CLOCK_OFFSET_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    now.saturating_add(offset).max(0) as u64
}

/// RFC 3339 (UTC, whole seconds) of a time in ms since the Unix epoch.
pub fn rfc3339(ms: u64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.replace_nanosecond(0)
        .unwrap_or(t)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// RFC 3339 timestamp of this machine's clock.
pub fn now_rfc3339() -> String {
    rfc3339(now_ms())
}
