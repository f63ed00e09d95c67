//! What a certificate's QR code carries: the signed credential itself, small enough for one
//! printed code, inside a link to the offline verifier page.
//!
//! ```text
//! <verifier page URL> # <version digit> <digits>
//! digits = decimal(raw DEFLATE, level 9, preset dictionary v1 (JCS(credential with its eddsa-jcs-2022 proofs only)))
//! ```
//!
//! - Only the `eddsa-jcs-2022` proofs travel: each proof of a proof set stands alone, and the
//!   JCS one is checked without JSON-LD, on a phone.
//! - The preset dictionary ([`DICTIONARY_V1`], `credentials/qr/dictionary-v1.txt`) holds the
//!   text every Cairn credential repeats; it is frozen forever, and a new one gets a new version
//!   digit. It makes the DEFLATE stream about a third smaller.
//! - Decimal digits, 7 bytes to 17 digits (a shorter last group takes the fewest digits that
//!   hold it), put the payload in the QR code's numeric mode (3.3 bits a digit) and are safe in a
//!   URL fragment, which browsers never send to a server.
//!
//! The same decoder serves `cairn credential verify` (a URL or its digits); the verifier page
//! implements it again in JavaScript (`credentials/verifier-page/src/verify.js`).

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use serde_json::Value;

/// The preset DEFLATE dictionary of payload version 1.
pub const DICTIONARY_V1: &[u8] = include_bytes!("../qr/dictionary-v1.txt");
/// The version digit of payloads this crate writes.
pub const VERSION: char = '1';
/// Most digits a QR code holds (version 40, error correction L).
pub const MAX_DIGITS: usize = 7089;
/// Largest credential a payload may inflate to (a payload's bytes expand at most about 1000×;
/// this bounds the memory a hostile code can make a verifier use).
pub const MAX_JSON: usize = 64 * 1024;

/// Digits needed for a group of 1..=7 bytes.
const WIDTH: [usize; 8] = [0, 3, 5, 8, 10, 13, 15, 17];

/// Why a QR payload cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    /// Empty, or not digits after the link.
    #[error("it holds no Cairn credential (expected a link ending in # and digits, or the digits)")]
    NotAPayload,
    /// A version this decoder does not know.
    #[error("it was written in payload version {0}, which this verifier does not know")]
    UnknownVersion(char),
    /// More digits than any QR code holds.
    #[error("it has more digits than a QR code can hold")]
    TooLong,
    /// The digits do not form whole byte groups.
    #[error("its digits are damaged (they do not decode to bytes)")]
    BadDigits,
    /// The compressed data is damaged.
    #[error("its compressed data is damaged: {0}")]
    Inflate(String),
    /// The credential inside is too large.
    #[error("the credential inside is larger than {MAX_JSON} bytes")]
    TooLarge,
    /// Not JSON inside.
    #[error("the data inside is not a JSON credential: {0}")]
    NotJson(String),
    /// The credential cannot be put in canonical form or compressed.
    #[error("the credential cannot be encoded: {0}")]
    Encode(String),
}

/// Bytes as decimal digits: each 7-byte group as 17 digits, a shorter last group in the fewest
/// digits that hold it.
pub fn bytes_to_digits(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 17 / 7 + 17);
    for group in bytes.chunks(7) {
        let n = group.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b));
        out.push_str(&format!("{n:0width$}", width = WIDTH[group.len()]));
    }
    out
}

/// The inverse of [`bytes_to_digits`].
pub fn digits_to_bytes(digits: &str) -> Result<Vec<u8>, QrError> {
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(QrError::BadDigits);
    }
    let mut out = Vec::with_capacity(digits.len() * 7 / 17 + 7);
    let mut rest = digits;
    while !rest.is_empty() {
        let n = if rest.len() >= 17 {
            7
        } else {
            WIDTH
                .iter()
                .position(|w| *w == rest.len())
                .filter(|n| *n > 0)
                .ok_or(QrError::BadDigits)?
        };
        let (group, tail) = rest.split_at(WIDTH[n]);
        let value: u64 = group.parse().map_err(|_| QrError::BadDigits)?;
        if value >> (8 * n) != 0 {
            return Err(QrError::BadDigits);
        }
        out.extend_from_slice(&value.to_be_bytes()[8 - n..]);
        rest = tail;
    }
    Ok(out)
}

fn deflate(data: &[u8]) -> Result<Vec<u8>, QrError> {
    let mut c = Compress::new(Compression::best(), false);
    c.set_dictionary(DICTIONARY_V1)
        .map_err(|e| QrError::Encode(e.to_string()))?;
    let mut out = Vec::with_capacity(data.len() + 64);
    loop {
        let before = c.total_in() as usize;
        let status = c
            .compress_vec(&data[before..], &mut out, FlushCompress::Finish)
            .map_err(|e| QrError::Encode(e.to_string()))?;
        if status == Status::StreamEnd {
            return Ok(out);
        }
        out.reserve(out.capacity().max(1024));
    }
}

fn inflate(data: &[u8]) -> Result<Vec<u8>, QrError> {
    let mut d = Decompress::new(false);
    d.set_dictionary(DICTIONARY_V1)
        .map_err(|e| QrError::Inflate(e.to_string()))?;
    let mut out: Vec<u8> = Vec::with_capacity(8 * 1024);
    loop {
        if out.len() == out.capacity() {
            if out.len() > MAX_JSON {
                return Err(QrError::TooLarge);
            }
            // Grow to at most one byte past the limit: enough to know it was passed.
            out.reserve((MAX_JSON + 1 - out.len()).min(out.capacity()).max(1));
        }
        let consumed = d.total_in() as usize;
        let produced = out.len();
        let status = d
            .decompress_vec(&data[consumed..], &mut out, FlushDecompress::Finish)
            .map_err(|e| QrError::Inflate(e.to_string()))?;
        if out.len() > MAX_JSON {
            return Err(QrError::TooLarge);
        }
        match status {
            Status::StreamEnd => return Ok(out),
            _ if d.total_in() as usize == consumed
                && out.len() == produced
                && out.len() < out.capacity() =>
            {
                return Err(QrError::Inflate("the data ends too soon".into()));
            }
            _ => {}
        }
    }
}

/// The payload digits (version digit first) for a signed credential.
pub fn encode(credential: &Value) -> Result<String, QrError> {
    let carried = crate::data_integrity::jcs_only(credential);
    let canonical =
        serde_json_canonicalizer::to_vec(&carried).map_err(|e| QrError::Encode(e.to_string()))?;
    Ok(format!(
        "{VERSION}{}",
        bytes_to_digits(&deflate(&canonical)?)
    ))
}

/// The link a QR code holds: the verifier page's address, `#`, the payload.
pub fn link(verifier_url: &str, credential: &Value) -> Result<String, QrError> {
    let base = verifier_url.split('#').next().unwrap_or("");
    Ok(format!("{}#{}", capitals(base), encode(credential)?))
}

/// A web address with its scheme and host in capitals (both are case-insensitive), so a QR
/// encoder can write them in alphanumeric mode; the path keeps its case (it is not).
fn capitals(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    if authority.contains('@') {
        // A user name is case-sensitive: leave such an address as it is.
        return url.to_string();
    }
    format!(
        "{}://{}{path}",
        scheme.to_ascii_uppercase(),
        authority.to_ascii_uppercase()
    )
}

/// Whether text looks like a QR payload (a link with a `#` and digits, or digits alone) rather
/// than a credential file.
pub fn looks_like_payload(text: &str) -> bool {
    let digits = text.rsplit_once('#').map_or(text, |(_, d)| d).trim();
    !text.starts_with('{') && !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The credential a QR payload carries (a link or the digits after its `#`). Checks nothing
/// about it: that is `verify`'s job.
pub fn decode(text: &str) -> Result<Value, QrError> {
    let digits = text.trim().rsplit_once('#').map_or(text, |(_, d)| d).trim();
    let mut chars = digits.chars();
    let version = chars.next().ok_or(QrError::NotAPayload)?;
    if !version.is_ascii_digit() {
        return Err(QrError::NotAPayload);
    }
    if version != VERSION {
        return Err(QrError::UnknownVersion(version));
    }
    let body = chars.as_str();
    if body.len() > MAX_DIGITS {
        return Err(QrError::TooLong);
    }
    let json = inflate(&digits_to_bytes(body)?)?;
    if json.len() > MAX_JSON {
        return Err(QrError::TooLarge);
    }
    serde_json::from_slice(&json).map_err(|e| QrError::NotJson(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    #[test]
    fn digit_groups_have_the_documented_widths() {
        assert_eq!(bytes_to_digits(&[0xff; 7]), "72057594037927935");
        assert_eq!(bytes_to_digits(&[1]), "001");
        assert_eq!(bytes_to_digits(&[0xff, 0xff]), "65535");
        assert_eq!(digits_to_bytes("256"), Err(QrError::BadDigits));
        assert_eq!(
            digits_to_bytes("99999999999999999"),
            Err(QrError::BadDigits)
        );
        assert_eq!(digits_to_bytes("1234"), Err(QrError::BadDigits));
    }

    #[test]
    fn a_credential_round_trips_without_its_rdfc_proof() {
        let c = json!({"@context": ["https://www.w3.org/ns/credentials/v2"], "name": "Level 1",
            "proof": [{"cryptosuite": "eddsa-rdfc-2022"}, {"cryptosuite": "eddsa-jcs-2022"}]});
        let digits = encode(&c).unwrap();
        assert!(digits.starts_with('1'));
        let back = decode(&format!("HTTPS://EXAMPLE.ORG/V#{digits}")).unwrap();
        assert_eq!(back["proof"], json!([{"cryptosuite": "eddsa-jcs-2022"}]));
        assert_eq!(back["name"], "Level 1");
        assert_eq!(decode(&digits).unwrap(), back);
        assert_eq!(
            decode(&format!("2{}", &digits[1..])),
            Err(QrError::UnknownVersion('2'))
        );
    }

    #[test]
    fn links_write_scheme_and_host_in_capitals_and_keep_the_path() {
        let c = json!({"name": "x"});
        let digits = encode(&c).unwrap();
        assert_eq!(
            link("https://verify.example.org/Cairn/v1", &c).unwrap(),
            format!("HTTPS://VERIFY.EXAMPLE.ORG/Cairn/v1#{digits}")
        );
        assert_eq!(
            link("http://Example.org:8080", &c).unwrap(),
            format!("HTTP://EXAMPLE.ORG:8080#{digits}")
        );
        assert_eq!(
            link("https://me@example.org/v#old", &c).unwrap(),
            format!("https://me@example.org/v#{digits}")
        );
    }

    #[test]
    fn a_bomb_is_refused_without_inflating_it_all() {
        let big = vec![b' '; 10 * MAX_JSON];
        let digits = format!("1{}", bytes_to_digits(&deflate(&big).unwrap()));
        assert_eq!(decode(&digits), Err(QrError::TooLarge));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn digits_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(digits_to_bytes(&bytes_to_digits(&bytes)).unwrap(), bytes);
        }

        /// Whatever a camera reads, the decoder answers with a value or an error, never a panic.
        #[test]
        fn any_text_gives_a_verdict(text in ".{0,300}", digits in "[0-9]{0,400}") {
            let _ = decode(&text);
            let _ = decode(&digits);
            let _ = decode(&format!("1{digits}"));
            let _ = looks_like_payload(&text);
        }

        /// Damaged payloads: change a digit anywhere, never a panic.
        #[test]
        fn damaged_payloads_give_a_verdict(pos in any::<prop::sample::Index>(), d in 0u8..10, name in "[ -~]{0,40}") {
            let mut digits = encode(&json!({"name": name})).unwrap().into_bytes();
            let i = pos.index(digits.len());
            digits[i] = b'0' + d;
            let _ = decode(&String::from_utf8(digits).unwrap());
        }
    }
}
