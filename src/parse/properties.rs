//! Property tests of every parser: each sample of `fixtures/` is damaged in the ways real output
//! is (cut short, CRLF, columns in another order, binary bytes, a huge line, lines lost or
//! doubled, noise), and every parser is fed every damaged input. None may panic; a failure, once
//! the command is attached, names the command and quotes the line. The count of cases goes to
//! target/test-summaries/parsers.txt (scripts/test prints it). The readers of the tool's own
//! files get the same inputs in `audit/properties.rs`.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use super::{ParseResult, clickhouse, kots, kube, rds, table, velero};
use crate::process::{Cmd, Tool};

/// xorshift64*: small, seeded, repeatable.
pub(crate) struct Random(pub(crate) u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// The ways an output is damaged, each a function of the sample and the random source.
pub(crate) fn mutations(text: &str, random: &mut Random) -> Vec<(&'static str, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let boundary = |at: usize| {
        let mut at = at.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        at
    };
    let cut = boundary(random.below(text.len() + 1));
    let swapped: String = lines
        .iter()
        .map(|line| {
            let mut words: Vec<&str> = line.split_whitespace().collect();
            if words.len() > 2 {
                words.swap(1, 2);
            }
            format!("{}\n", words.join("   "))
        })
        .collect();
    let mut binary = text.to_string();
    for _ in 0..8 {
        let at = boundary(random.below(binary.len() + 1));
        let at = {
            let mut at = at.min(binary.len());
            while !binary.is_char_boundary(at) {
                at -= 1;
            }
            at
        };
        let byte = ["\0", "\u{1b}[2J", "\u{7f}", "\u{fffd}", "\r", "\u{85}"][random.below(6)];
        binary.insert_str(at, byte);
    }
    let mut huge = lines.clone();
    let long = "x".repeat(200_000);
    huge.insert(random.below(huge.len() + 1), &long);
    let mut dropped = lines.clone();
    if !dropped.is_empty() {
        dropped.remove(random.below(dropped.len()));
    }
    let mut doubled = lines.clone();
    if !doubled.is_empty() {
        let at = random.below(doubled.len());
        doubled.insert(at, doubled[at]);
    }
    let noise: String = (0..random.below(400))
        .map(|_| (b' ' + random.below(95) as u8) as char)
        .collect();
    vec![
        ("as recorded", text.to_string()),
        ("cut short", text[..cut].to_string()),
        ("CRLF", text.replace('\n', "\r\n")),
        ("columns swapped", swapped),
        ("binary bytes", binary),
        ("a huge line", huge.join("\n")),
        ("a line lost", dropped.join("\n")),
        ("a line doubled", doubled.join("\n")),
        ("empty", String::new()),
        ("noise", noise),
    ]
}

type Parser = fn(&str) -> Option<super::ParseError>;

fn error<T>(result: ParseResult<T>) -> Option<super::ParseError> {
    result.err()
}

/// Every parser of the crate, by name.
fn parsers() -> Vec<(&'static str, Parser)> {
    vec![
        ("table", |t| error(table::Table::parse(t))),
        ("kube::names", |t| error(kube::names(t))),
        ("kube::pods", |t| error(kube::pods(t))),
        ("kube::jobs", |t| error(kube::jobs(t))),
        ("kube::pvcs", |t| error(kube::pvcs(t))),
        ("kube::pvs", |t| error(kube::pvs(t))),
        ("kube::pods_json", |t| error(kube::pods_json(t))),
        ("kube::jobs_json", |t| error(kube::jobs_json(t))),
        ("kube::job_outcome", |t| error(kube::job_outcome(t))),
        ("kube::job_origin", |t| error(kube::job_origin(t))),
        ("kots::apps", |t| error(kots::apps(t))),
        ("kots::config_names_host", |t| {
            kots::config_names_host(t, "arthur-restored-db.example.com");
            None
        }),
        ("velero::backups", |t| error(velero::backups(t))),
        ("velero::restores", |t| error(velero::restores(t))),
        ("velero::created_restore_name", |t| {
            error(velero::created_restore_name(t))
        }),
        ("rds::instances", |t| error(rds::instances(t))),
        ("rds::instance", |t| {
            rds::instance(t).err().or_else(|| {
                rds::instance(t)
                    .ok()
                    .and_then(|i| i.settings.checked().err())
            })
        }),
        ("rds::snapshots", |t| error(rds::snapshots(t))),
        ("rds::other_settings", |t| error(rds::other_settings(t))),
        ("rds::restored_identifier", |t| {
            error(rds::restored_identifier(t))
        }),
        ("clickhouse::parse_list", |t| {
            error(clickhouse::parse_list(t))
        }),
        ("clickhouse::parse_s3_listing", |t| {
            error(clickhouse::parse_s3_listing(t))
        }),
    ]
}

/// Every text sample of fixtures/: tool outputs, recorded data, a run directory, hand logs.
pub(crate) fn samples() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut files = Vec::new();
    for dir in [
        "reference",
        "sessions/data",
        "runs/v0.1.0-complete",
        "audit",
    ] {
        if let Ok(entries) = std::fs::read_dir(root.join(dir)) {
            for entry in entries.flatten() {
                if let Ok(text) = std::fs::read_to_string(entry.path()) {
                    files.push(text);
                }
            }
        }
    }
    files
}

#[test]
fn damaged_output_never_panics_a_parser() {
    let cmd = Cmd::reads(Tool::Kubectl).args(["get", "pv"]);
    let parsers = parsers();
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    let mut cases = 0usize;
    let mut failures: Vec<String> = Vec::new();
    for sample in samples() {
        for (damage, text) in mutations(&sample, &mut random) {
            for (name, parse) in &parsers {
                cases += 1;
                match catch_unwind(AssertUnwindSafe(|| parse(&text))) {
                    Err(_) => failures.push(format!("{name} panicked on a sample {damage}")),
                    Ok(Some(error)) => {
                        let line = error.line.clone();
                        let message = error.for_command(&cmd).to_string();
                        if !message.contains("kubectl get pv") {
                            failures.push(format!(
                                "{name}: the error does not name the command: {message}"
                            ));
                        }
                        if let Some(line) = line
                            && !message.contains(crate::process::escape_controls(&line).as_ref())
                        {
                            failures.push(format!(
                                "{name}: the error does not quote the line: {message}"
                            ));
                        }
                    }
                    Ok(None) => {}
                }
            }
        }
    }
    let summary = format!(
        "parser property test: {cases} cases ({} parsers on damaged samples), {} failed",
        parsers.len(),
        failures.len()
    );
    write_summary("parsers.txt", &summary);
    assert!(failures.is_empty(), "{summary}\n{}", failures.join("\n"));
}

/// Writes a property test's summary line where scripts/test prints it from
/// (target/test-summaries/NAME).
pub(crate) fn write_summary(name: &str, summary: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-summaries");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(name), format!("{summary}\n"));
}
