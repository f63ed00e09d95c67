//! A roster: many learners registered at once from a CSV file (`cairn learner import`, the
//! web app's "Import a roster"). One row per learner, one column per codebook field, named as
//! the `cairn learner add` options are (`number`, `given_name` or `given-name`, ...). Every row
//! is checked before anything is written; one bad row refuses the whole file, naming the line,
//! so a half-imported roster never has to be untangled.

use crate::error::{Error, Result};
use crate::records::learner::{EnrollmentStatus, Gender, Profile, RaceEthnicity};
use clap::ValueEnum;

/// Largest roster file read.
pub const MAX_BYTES: u64 = 16 * 1024 * 1024;
/// Most learners in one roster.
pub const MAX_ROWS: usize = 50_000;
/// Problems listed before the rest are only counted.
const PROBLEMS_SHOWN: usize = 20;

/// The refusal of a whole roster for `problems` (line, column if known, why; in the file's
/// order, at least one): the first twenty (`PROBLEMS_SHOWN`) named by their line, the rest counted.
/// Its code carries the first line for the localized message.
pub fn refused(problems: &[(usize, String, String)]) -> Error {
    let (line, column) = problems
        .first()
        .map(|(l, c, _)| (*l, c.clone()))
        .unwrap_or_default();
    let mut text: Vec<String> = problems
        .iter()
        .take(PROBLEMS_SHOWN)
        .map(|(l, _, why)| format!("line {l}: {why}"))
        .collect();
    if problems.len() > PROBLEMS_SHOWN {
        text.push(format!("and {} more", problems.len() - PROBLEMS_SHOWN));
    }
    let lines = match problems.len() {
        1 => format!("line {line} needs fixing"),
        n => format!("{n} lines need fixing"),
    };
    Error::invalid(format!(
        "nothing was imported; {lines}:\n{}",
        text.join("\n")
    ))
    .coded(
        "roster-line",
        &[
            ("line", line.to_string()),
            ("column", column),
            ("count", problems.len().to_string()),
        ],
    )
}

/// One learner of a roster: the profile and, if given, the kiosk PIN.
#[derive(Debug, Clone, PartialEq)]
pub struct RosterRow {
    /// The line of the file it came from (the header is line 1).
    pub line: usize,
    /// The codebook fields.
    pub profile: Profile,
    /// The kiosk PIN, if the roster gives one.
    pub pin: Option<String>,
}

/// The columns a roster may have.
pub const COLUMNS: &[&str] = &[
    "number",
    "given_name",
    "family_name",
    "pin",
    "institution",
    "institution_id",
    "year_of_birth",
    "gender",
    "race_ethnicity",
    "primary_language",
    "pell_eligible",
    "ses_determination",
    "enrollment_status",
    "first_generation",
    "first_enrollment",
    "interface_language",
];

/// A header name as people write it (`Given name`, `given-name`) to the column's name.
fn column_name(header: &str) -> String {
    header
        .trim()
        .trim_start_matches('\u{feff}')
        .to_lowercase()
        .replace(['-', ' '], "_")
}

fn yes_no(v: &str) -> Option<bool> {
    match v.to_lowercase().as_str() {
        "yes" | "y" | "true" | "1" | "sí" | "si" => Some(true),
        "no" | "n" | "false" | "0" => Some(false),
        _ => None,
    }
}

/// Read a roster. Refuses (naming the lines) a file over the limits, without the required
/// columns, with an unknown column, or with any row whose value does not parse; the profiles'
/// own rules (lengths, number format, PIN digits) are checked by the registration.
pub fn parse(bytes: &[u8]) -> Result<Vec<RosterRow>> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(too_large());
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| roster_problem(1, "", &format!("the header row cannot be read: {e}")))?
        .iter()
        .map(column_name)
        .collect();
    for h in &headers {
        if !COLUMNS.contains(&h.as_str()) {
            return Err(roster_problem(
                1,
                h,
                &format!(
                    "unknown column {h:?}; the columns are: {}",
                    COLUMNS.join(", ")
                ),
            ));
        }
    }
    for required in ["number", "given_name", "family_name"] {
        if !headers.iter().any(|h| h == required) {
            return Err(roster_problem(
                1,
                required,
                &format!("the roster needs a {required:?} column"),
            ));
        }
    }
    let mut rows = Vec::new();
    let mut problems: Vec<(usize, String, String)> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let line = i + 2;
        if rows.len() + problems.len() >= MAX_ROWS {
            return Err(too_large());
        }
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                problems.push((line, String::new(), format!("cannot be read: {e}")));
                continue;
            }
        };
        match row(&headers, &record, line) {
            Ok(r) => rows.push(r),
            Err((column, why)) => problems.push((line, column, why)),
        }
    }
    if !problems.is_empty() {
        return Err(refused(&problems));
    }
    if rows.is_empty() {
        return Err(Error::invalid("the roster has no learners").coded("roster-empty", &[]));
    }
    Ok(rows)
}

/// The refusal of a roster over the limits.
pub fn too_large() -> Error {
    Error::invalid(format!(
        "a roster may be at most {} MiB and {MAX_ROWS} learners: split it",
        MAX_BYTES / (1024 * 1024)
    ))
    .coded("roster-too-large", &[])
}

fn roster_problem(line: usize, column: &str, why: &str) -> Error {
    Error::invalid(format!("nothing was imported; line {line}: {why}")).coded(
        "roster-line",
        &[
            ("line", line.to_string()),
            ("column", column.to_string()),
            ("count", "1".into()),
        ],
    )
}

/// One row, or the column that is wrong and why.
fn row(
    headers: &[String],
    record: &csv::StringRecord,
    line: usize,
) -> std::result::Result<RosterRow, (String, String)> {
    let mut profile = Profile::default();
    let mut pin = None;
    for (h, v) in headers.iter().zip(record.iter()) {
        if v.is_empty() {
            continue;
        }
        let bad = |what: &str| (h.clone(), format!("{h} {v:?} is not {what}"));
        let text = Some(v.to_string());
        match h.as_str() {
            "number" => profile.number = v.to_string(),
            "given_name" => profile.given_name = v.to_string(),
            "family_name" => profile.family_name = v.to_string(),
            "pin" => pin = text,
            "institution" => profile.institution = text,
            "institution_id" => profile.institution_id = text,
            "year_of_birth" => {
                profile.year_of_birth = Some(v.parse().map_err(|_| bad("a year"))?);
            }
            "gender" => {
                profile.gender =
                    Some(Gender::from_str(v, true).map_err(|_| bad("female, male or other"))?);
            }
            "race_ethnicity" => {
                for part in v
                    .split([';', ',', '|'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                {
                    let r = RaceEthnicity::from_str(part, true)
                        .map_err(|_| bad("a list of the codebook's race/ethnicity categories"))?;
                    if !profile.race_ethnicity.contains(&r) {
                        profile.race_ethnicity.push(r);
                    }
                }
            }
            "primary_language" => profile.primary_language = text,
            "pell_eligible" => {
                profile.pell_eligible = Some(yes_no(v).ok_or_else(|| bad("yes or no"))?)
            }
            "ses_determination" => profile.ses_determination = text,
            "enrollment_status" => {
                profile.enrollment_status = Some(
                    EnrollmentStatus::from_str(v, true)
                        .map_err(|_| bad("an enrollment status of the codebook"))?,
                );
            }
            "first_generation" => {
                profile.first_generation = Some(yes_no(v).ok_or_else(|| bad("yes or no"))?)
            }
            "first_enrollment" => profile.first_enrollment = text,
            "interface_language" => profile.interface_language = text,
            _ => {}
        }
    }
    for (column, value) in [
        ("number", &profile.number),
        ("given_name", &profile.given_name),
        ("family_name", &profile.family_name),
    ] {
        if value.is_empty() {
            return Err((column.into(), format!("{column} is empty")));
        }
    }
    Ok(RosterRow { line, profile, pin })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_roster_reads_every_codebook_column_however_its_headers_are_written() {
        let csv = "\u{feff}Number,Given name,family-name,PIN,Year of birth,gender,race_ethnicity,pell_eligible,enrollment_status,first_generation\n\
                   A-1,Ana,Ríos,1234,1990,female,hispanic-latino;white,yes,,no\n\
                   A-2,Bo,\"Lee, Jr\",,,,,,,\n";
        let rows = parse(csv.as_bytes()).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].profile.family_name, "Ríos");
        assert_eq!(rows[0].pin.as_deref(), Some("1234"));
        assert_eq!(rows[0].profile.year_of_birth, Some(1990));
        assert_eq!(rows[0].profile.gender, Some(Gender::Female));
        assert_eq!(rows[0].profile.race_ethnicity.len(), 2);
        assert_eq!(rows[0].profile.pell_eligible, Some(true));
        assert_eq!(rows[0].profile.first_generation, Some(false));
        assert_eq!(rows[1].profile.family_name, "Lee, Jr");
        assert_eq!(rows[1].line, 3);
        assert_eq!(rows[1].pin, None);
    }

    #[test]
    fn one_bad_row_refuses_the_roster_and_names_every_bad_line() {
        let csv = "number,given_name,family_name,year_of_birth\nA-1,Ana,Ríos,1990\nA-2,Bo,Lee,19x0\nA-3,,Kim,\n";
        let e = parse(csv.as_bytes()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("line 3") && text.contains("line 4"), "{text}");
        assert_eq!(e.code().unwrap().key, "roster-line");
        let unknown = parse(b"number,given_name,family_name,shoe_size\n").unwrap_err();
        assert!(unknown.to_string().contains("shoe_size"));
        let missing = parse(b"number,given_name\nA-1,Ana\n").unwrap_err();
        assert!(missing.to_string().contains("family_name"));
        assert!(
            parse(b"number,given_name,family_name\n").is_err(),
            "no learners"
        );
        assert!(
            parse(b"number,given_name,family_name\nA-1,Ana\n").is_err(),
            "a short row"
        );
    }

    /// The command line's refusal counts in plain words, one line or several, and names the
    /// lines it lists; past the first twenty it counts the rest.
    #[test]
    fn a_refused_roster_says_how_many_lines_need_fixing() {
        let one = parse(b"number,given_name,family_name\nA-1,Ana,R\xc3\xados\nA-2,,Lee\n")
            .unwrap_err()
            .to_string();
        assert!(
            one.starts_with("nothing was imported; line 3 needs fixing:\nline 3: "),
            "{one}"
        );
        let mut csv = String::from("number,given_name,family_name\n");
        for i in 0..23 {
            csv.push_str(&format!("A-{i},,Lee\n"));
        }
        let many = parse(csv.as_bytes()).unwrap_err().to_string();
        assert!(
            many.starts_with("nothing was imported; 23 lines need fixing:\nline 2: "),
            "{many}"
        );
        assert!(
            many.contains("line 21: ") && !many.contains("line 22: "),
            "{many}"
        );
        assert!(many.ends_with("\nand 3 more"), "{many}");
        assert!(!one.contains("(s)") && !many.contains("(s)"));
    }

    proptest! {
        /// Whatever the bytes, reading a roster answers (rows or a refusal), never panics, and
        /// never returns more rows than the file has lines.
        #[test]
        fn any_bytes_are_read_or_refused(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            if let Ok(rows) = parse(&bytes) {
                prop_assert!(rows.len() <= bytes.iter().filter(|b| **b == b'\n').count() + 1);
            }
        }

        /// A roster written by a CSV writer reads back as the same learners, whatever their names.
        #[test]
        fn names_round_trip(names in proptest::collection::vec(("[A-Za-zÀ-ÿ ,\"'-]{1,20}", "[A-Za-zÀ-ÿ ,\"'-]{1,20}"), 1..20)) {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(["number", "given_name", "family_name"]).unwrap();
            for (i, (g, f)) in names.iter().enumerate() {
                w.write_record([format!("N-{i}").as_str(), g, f]).unwrap();
            }
            let bytes = w.into_inner().unwrap();
            let expected: Vec<(String, String)> = names.iter().map(|(g, f)| (g.trim().to_string(), f.trim().to_string())).collect();
            match parse(&bytes) {
                Ok(rows) => {
                    let got: Vec<(String, String)> = rows.iter().map(|r| (r.profile.given_name.clone(), r.profile.family_name.clone())).collect();
                    prop_assert_eq!(got, expected);
                }
                // Only a name that is blank once trimmed is refused.
                Err(_) => prop_assert!(expected.iter().any(|(g, f)| g.is_empty() || f.is_empty())),
            }
        }
    }
}
