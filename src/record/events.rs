//! events.jsonl: one JSON object per line, hash-chained (SPEC section 5, rule 9). Every event is
//! a variant of `Event`, serialized here and nowhere else; each line carries its number, its time
//! and the SHA-256 of the line before it (`prev`), so that an edited line breaks the chain.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::redact::redact_json;
use super::state::RunStatus;
use crate::error::{Error, Result};
use crate::model::{BackupNames, MessagingDeletions, RestoreOptions};
use crate::process::Effect;

/// A time as events.jsonl writes it (RFC 3339, UTC), for a time other than the event's own.
pub fn timestamp(time: std::time::SystemTime) -> String {
    jiff::Timestamp::try_from(time)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

/// The `prev` of the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened. The field names are the file format: runs written by earlier releases are read
/// with the same types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    RunStarted(RunIdentity),
    RunResumed(RunIdentity),
    Section {
        title: String,
    },
    Note {
        text: String,
    },
    /// A command is about to run (written before it starts, so that a command killed with the
    /// tool is on record).
    CommandStarted {
        argv: Vec<String>,
        effect: Effect,
    },
    /// A command ended without an answer: killed at --command-timeout, or interrupted.
    CommandKilled {
        argv: Vec<String>,
        reason: String,
        duration_ms: u64,
    },
    Command {
        argv: Vec<String>,
        effect: Effect,
        exit: i32,
        duration_ms: u64,
        stdout_bytes: usize,
        stderr_bytes: usize,
        /// When it started, for a read run ahead side by side with others: its events are
        /// written when its answer is taken, in runbook order (absent for every other command,
        /// whose `command-started` event is written as it starts).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        started: Option<String>,
    },
    /// Four eyes: the request written to `approvals/GATE.json` (its SHA-256), awaited.
    ApprovalRequested {
        gate: String,
        request_sha256: String,
    },
    /// A signature of the request verified for an approver who is not the run's operator.
    Approved {
        gate: String,
        principal: String,
        fingerprint: String,
    },
    /// A signature that does not count (and why); the run waits on.
    ApprovalRefused {
        gate: String,
        why: String,
    },
    /// A notification (`--notify`) and how it went: `to` is the URL's scheme and host only.
    Notified {
        to: String,
        about: String,
        ok: bool,
        said: String,
    },
    /// Reads about to run side by side (written before they start); each is then on record by
    /// its own `command-started` and `command` events, in runbook order, when its answer is taken.
    ReadsAhead {
        argvs: Vec<Vec<String>>,
    },
    BackgroundStarted {
        argv: Vec<String>,
        ok: bool,
        duration_ms: u64,
    },
    WaitStarted {
        what: String,
        probe: Vec<String>,
        timeout_ms: u64,
    },
    Poll {
        what: String,
        progress: String,
        pending: Vec<String>,
    },
    WaitEnded {
        what: String,
        polls: u64,
        result: String,
    },
    WaitStopped {
        what: String,
        polls: u64,
        reason: String,
        pending: Vec<String>,
        /// The transcript's line for it (absent in runs of 0.1.0, which wrote none when the
        /// run then failed).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<String>,
    },
    WaitTimedOut {
        what: String,
        polls: u64,
        pending: Vec<String>,
        /// The transcript's line for it (absent in runs of 0.1.0).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        said: Option<String>,
    },
    WaitFailed {
        what: String,
        polls: u64,
        error: String,
    },
    Gate {
        gate: String,
        answer: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        details: Option<Vec<String>>,
    },
    Artifact {
        path: PathBuf,
        bytes: usize,
    },
    OptionsResolved {
        backups: BackupNames,
        rds_snapshot: Option<crate::names::SnapshotId>,
    },
    /// What the run knows, as state.json is about to hold it (written before each save of the
    /// state): a resume takes its facts from here, and refuses a state.json that says otherwise.
    FactsSaved {
        facts: crate::model::Facts,
    },
    /// Options given again on resume that changed the recorded ones (`--flag old -> new`).
    OptionsCorrected {
        corrections: Vec<String>,
    },
    RunEnded {
        status: RunStatus,
        error: Option<String>,
        exit: i32,
    },
    /// The line before this one was cut short (the tool was killed while writing it). It is
    /// kept as it is, named here by its number and hash, and the chain goes on from the last
    /// whole event.
    TruncatedLine {
        line: usize,
        fragment_sha256: String,
        bytes: usize,
    },
}

/// Who ran the tool, where, with which programs and parameters, against which cluster and AWS
/// account: the first event of a run and of each resumption.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunIdentity {
    pub version: String,
    /// The commit the tool was built from (absent in runs of 0.1.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub user: String,
    pub host: String,
    pub run_dir: PathBuf,
    pub options: RestoreOptions,
    pub programs: Vec<String>,
    /// What the identity reads learnt (absent when they did not end: interrupted, or a run of
    /// 0.1.0, whose identity is only in a note).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reached: Option<Reached>,
}

/// The cluster, AWS account and CLIs a run reached, as the identity reads (all read-only) found
/// them before the run's first event was written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reached {
    pub kube_context: String,
    /// The `kube-system` namespace UID; `None` when it could not be read.
    pub cluster_uid: Option<String>,
    pub aws_account: String,
    /// `tool: version` for each CLI (and the kots plugin when a step uses it).
    pub cli_versions: Vec<String>,
}

impl Reached {
    /// The transcript's identity note, and the report's identity lines.
    pub fn describe(&self) -> String {
        format!(
            "identity: kube context {}, cluster (kube-system namespace UID) {}, AWS account {}\nversions: {}",
            self.kube_context,
            self.cluster_uid
                .as_deref()
                .unwrap_or("unknown: it could not be read"),
            self.aws_account,
            self.cli_versions.join("; ")
        )
    }
}

/// One line of events.jsonl: the event and its place in the chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRecord {
    pub seq: u64,
    pub time: String,
    pub prev: String,
    #[serde(flatten)]
    pub event: Event,
    /// What transcript.log held when the event was written (SPEC section 5, rule 13): absent in
    /// runs of earlier releases, and in the `truncated-line` event written as the log is opened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transcript: Option<TranscriptMark>,
}

/// transcript.log as it stood: its length and the SHA-256 of those bytes. Every byte of the
/// transcript before `bytes` is bound to the event that carries the mark, and so to the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptMark {
    pub bytes: u64,
    pub sha256: String,
}

/// A running SHA-256 of what a file holds, for the marks.
#[derive(Clone, Default)]
pub struct Digesting {
    bytes: u64,
    hasher: Sha256,
}

impl Digesting {
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
        self.bytes += bytes.len() as u64;
    }

    pub fn mark(&self) -> TranscriptMark {
        TranscriptMark {
            bytes: self.bytes,
            sha256: hex(&self.hasher.clone().finalize()),
        }
    }
}

/// Bytes in lower-case hexadecimal (how every SHA-256 of the record is written).
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of some bytes, in hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The SHA-256 of a line, as the next line's `prev` holds it.
pub fn line_hash(line: &str) -> String {
    sha256_hex(line.as_bytes())
}

/// The open events.jsonl of a run: appends, continuing the chain of what is already there.
pub struct EventLog {
    path: PathBuf,
    file: File,
    last_hash: String,
    sequence: u64,
    truncated: Option<usize>,
}

impl EventLog {
    /// Opens the log for appending. A last line cut short is closed with a newline and noted by
    /// a `truncated-line` event before anything else is appended.
    pub fn open(file: File, path: &Path) -> Result<EventLog> {
        let tail = read_tail(&file, path)?;
        let mut log = EventLog {
            path: path.to_path_buf(),
            file,
            last_hash: tail.last_hash,
            sequence: tail.sequence,
            truncated: None,
        };
        if tail.unterminated {
            writeln!(log.file).map_err(|e| Error::io("cannot write", path, e))?;
        }
        if let Some((line, fragment)) = tail.fragment {
            log.truncated = Some(line);
            log.append(Event::TruncatedLine {
                line,
                fragment_sha256: line_hash(&fragment),
                bytes: fragment.len(),
            })?;
        }
        Ok(log)
    }

    /// The number of the line found cut short when the log was opened.
    pub fn truncated(&self) -> Option<usize> {
        self.truncated
    }

    /// Appends one event, chained to the one before by its SHA-256.
    pub fn append(&mut self, event: Event) -> Result<()> {
        self.append_at(event, jiff::Timestamp::now(), None)
    }

    /// Appends one event that happened at `time` (one held until the run's first event), with
    /// what the transcript held when it was written.
    pub fn append_at(
        &mut self,
        event: Event,
        time: jiff::Timestamp,
        transcript: Option<TranscriptMark>,
    ) -> Result<()> {
        let record = EventRecord {
            seq: self.sequence + 1,
            time: time.to_string(),
            prev: self.last_hash.clone(),
            event,
            transcript,
        };
        let serialize = |e: serde_json::Error| {
            Error::io(
                "cannot serialize an event for",
                &self.path,
                std::io::Error::other(e),
            )
        };
        // Secrets out of every string, before JSON escapes them.
        let mut value = serde_json::to_value(&record).map_err(serialize)?;
        redact_json(&mut value);
        // No event line may outgrow what `audit` reads (an error quoting a 2 MiB output line).
        cut_long_strings(&mut value);
        let line = serde_json::to_string(&value).map_err(serialize)?;
        writeln!(self.file, "{line}").map_err(|e| Error::io("cannot write", &self.path, e))?;
        self.sequence += 1;
        self.last_hash = line_hash(&line);
        Ok(())
    }

    /// The hash of the last line written: the anchor of the chain so far.
    pub fn last_hash(&self) -> &str {
        &self.last_hash
    }
}

/// The longest string an event holds; a longer one (what a command printed, quoted in an error)
/// is cut there, with its size and SHA-256 (the transcript holds its start too).
pub const LONG_STRING: usize = 16 << 10;

fn cut_long_strings(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.len() > LONG_STRING => {
            let end = super::transcript::cut_point(text, LONG_STRING);
            let whole = text.len();
            let digest = sha256_hex(text.as_bytes());
            text.truncate(end);
            text.push_str(&format!(
                " … (cut at {end} of {whole} bytes; SHA-256 {digest})"
            ));
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(cut_long_strings),
        serde_json::Value::Object(map) => map.values_mut().for_each(cut_long_strings),
        _ => {}
    }
}

/// The end of an existing log: the hash and number of its last whole event, and a last line
/// cut short (its number and text), if any.
struct Tail {
    last_hash: String,
    sequence: u64,
    fragment: Option<(usize, String)>,
    unterminated: bool,
}

fn read_tail(file: &File, path: &Path) -> Result<Tail> {
    use std::io::{Read, Seek};
    let mut text = String::new();
    let mut reader = file
        .try_clone()
        .map_err(|e| Error::io("cannot read", path, e))?;
    reader
        .rewind()
        .and_then(|()| reader.read_to_string(&mut text))
        .map_err(|e| Error::io("cannot read", path, e))?;
    let mut tail = Tail {
        last_hash: GENESIS.into(),
        sequence: 0,
        fragment: None,
        unterminated: !text.is_empty() && !text.ends_with('\n'),
    };
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    for (position, (index, line)) in lines.iter().enumerate() {
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(value) => {
                tail.last_hash = line_hash(line);
                tail.sequence = value
                    .get("seq")
                    .and_then(serde_json::Value::as_u64)
                    .unwrap_or(tail.sequence);
            }
            // Only the last line can be cut short by a kill; an unreadable line before it is
            // an edit, which the chain check reports.
            Err(_) if position + 1 == lines.len() => {
                tail.fragment = Some((index + 1, line.to_string()));
            }
            Err(_) => {}
        }
    }
    Ok(tail)
}

/// Checks the hash chain of an events.jsonl: the number of events, or the number of the first
/// line that breaks it. A line cut short is accepted only when the next event names it (by its
/// number and hash) and continues the chain from the event before it.
pub fn verify_chain(text: &str) -> std::result::Result<usize, usize> {
    let mut previous = GENESIS.to_string();
    let mut count = 0;
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .collect();
    let mut fragment: Option<(usize, String)> = None;
    for (index, line) in lines {
        let number = index + 1;
        let Ok(value) = serde_json::from_str::<serde_json::Value>(line) else {
            if fragment.is_some() {
                return Err(number);
            }
            fragment = Some((number, line_hash(line)));
            continue;
        };
        if value.get("prev").and_then(|p| p.as_str()) != Some(previous.as_str()) {
            return Err(number);
        }
        if let Some((cut, hash)) = fragment.take() {
            let names_it = value.get("event").and_then(|e| e.as_str()) == Some("truncated-line")
                && value.get("line").and_then(serde_json::Value::as_u64) == Some(cut as u64)
                && value.get("fragment_sha256").and_then(|h| h.as_str()) == Some(hash.as_str());
            if !names_it {
                return Err(cut);
            }
        }
        previous = line_hash(line);
        count += 1;
    }
    match fragment {
        Some((cut, _)) => Err(cut),
        None => Ok(count),
    }
}

/// The run's parameters as the events recorded them since the last start or resumption: its
/// options then, and after each choice of backups by discovery. state.json is saved after the
/// event, so a run killed in between left the one before: each of them is a recorded value.
pub fn recorded_options(records: &[EventRecord]) -> Vec<RestoreOptions> {
    let mut values: Vec<RestoreOptions> = Vec::new();
    for record in records {
        match &record.event {
            Event::RunStarted(identity) | Event::RunResumed(identity) => {
                values = vec![identity.options.clone()];
            }
            Event::OptionsResolved {
                backups,
                rds_snapshot,
            } => {
                if let Some(mut options) = values.last().cloned() {
                    options.backups = backups.clone();
                    options.rds.snapshot = rds_snapshot.clone();
                    values.push(options);
                }
            }
            _ => {}
        }
    }
    values
}

/// The facts of the last two `facts-saved` events (the newest last): state.json is saved right
/// after each, so a run killed in between left the one before. `None` for a run whose events
/// record no facts (release 0.1.0).
pub fn recorded_facts(
    records: &[EventRecord],
) -> Option<(Option<&crate::model::Facts>, &crate::model::Facts)> {
    let mut saved = records.iter().filter_map(|r| match &r.event {
        Event::FactsSaved { facts } => Some(facts),
        _ => None,
    });
    let mut last = saved.next()?;
    let mut before = None;
    for facts in saved {
        before = Some(last);
        last = facts;
    }
    Some((before, last))
}

/// Whether the deletion gate showed exactly these objects, and the operator said yes to them.
pub fn gate_showed(records: &[EventRecord], deletions: &MessagingDeletions) -> bool {
    let shown = records.iter().rev().find_map(|record| match &record.event {
        Event::Gate {
            gate,
            answer,
            details: Some(details),
        } if gate == "delete-messaging" && answer.starts_with("yes") => Some(details.clone()),
        _ => None,
    });
    let Some(details) = shown else {
        return false;
    };
    // The gate's lines, one per object: `  sts  NAME  ...` (`statefulset` before), `  pvc  NAME ...`,
    // `  pv  NAME ...`; or, in runs of 0.1.0, one per kind: `  StatefulSets: a b`,
    // `  PVCs (n): c d`, `  PVs bound … (n): e f`.
    let of_kind = |kind: &str| -> Vec<String> {
        details
            .iter()
            .filter_map(|line| {
                let mut words = line.split_whitespace();
                (words.next() == Some(kind)).then(|| words.next().map(String::from))?
            })
            .collect()
    };
    let names_after = |prefix: &str| -> Vec<String> {
        details
            .iter()
            .find(|line| line.trim_start().starts_with(prefix))
            .and_then(|line| line.split_once(": "))
            .map(|(_, names)| {
                names
                    .split_whitespace()
                    .filter(|n| *n != "none")
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    let same = |shown: Vec<String>, recorded: &[crate::names::ObjectName]| {
        let mut shown = shown;
        shown.sort();
        let mut recorded: Vec<String> = recorded.iter().map(|n| n.to_string()).collect();
        recorded.sort();
        shown == recorded
    };
    let per_object = details.iter().any(|line| {
        matches!(
            line.split_whitespace().next(),
            Some("sts" | "statefulset" | "pvc" | "pv")
        )
    });
    if per_object {
        // `sts` since the gate's rows fit 120 columns; `statefulset` before.
        let mut statefulsets = of_kind("sts");
        statefulsets.extend(of_kind("statefulset"));
        return same(statefulsets, &deletions.statefulsets)
            && same(of_kind("pvc"), &deletions.pvcs)
            && same(of_kind("pv"), &deletions.pvs);
    }
    same(names_after("StatefulSets"), &deletions.statefulsets)
        && same(names_after("PVCs"), &deletions.pvcs)
        && same(names_after("PVs"), &deletions.pvs)
}

/// The events of a file, each with its line number; a line that is not an event of this tool is
/// returned as its line number.
pub fn read(text: &str) -> Vec<std::result::Result<(usize, EventRecord), usize>> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(index, line)| {
            serde_json::from_str(line)
                .map(|r| (index + 1, r))
                .map_err(|_| index + 1)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Event> {
        vec![
            Event::Section {
                title: "Restore RDS Postgres".into(),
            },
            Event::Command {
                argv: vec!["kubectl".into(), "get".into(), "pv".into()],
                effect: Effect::Reads,
                exit: 0,
                duration_ms: 12,
                stdout_bytes: 100,
                stderr_bytes: 0,
                started: None,
            },
            Event::Gate {
                gate: "delete-messaging".into(),
                answer: "yes (--yes)".into(),
                details: Some(vec!["StatefulSets: messaging".into()]),
            },
            Event::RunEnded {
                status: RunStatus::Completed,
                error: None,
                exit: 0,
            },
        ]
    }

    fn open(path: &Path) -> File {
        std::fs::OpenOptions::new()
            .create(true)
            .read(true)
            .append(true)
            .open(path)
            .unwrap()
    }

    /// The sample written to a new events.jsonl: its folder (kept alive), its path, the open
    /// log and the text written.
    fn written_sample() -> (tempfile::TempDir, std::path::PathBuf, EventLog, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let mut log = EventLog::open(open(&path), &path).unwrap();
        for event in sample() {
            log.append(event).unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        (dir, path, log, text)
    }

    #[test]
    fn events_round_trip_and_chain() {
        let (_dir, path, log, text) = written_sample();
        assert_eq!(verify_chain(&text), Ok(4));
        assert_eq!(log.last_hash(), line_hash(text.lines().last().unwrap()));
        let read: Vec<Event> = read(&text)
            .into_iter()
            .map(|r| r.unwrap().1.event)
            .collect();
        assert_eq!(read, sample());
        // A second log continues the chain.
        let mut again = EventLog::open(open(&path), &path).unwrap();
        again
            .append(Event::Note {
                text: "resumed".into(),
            })
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify_chain(&text), Ok(5));
        assert!(text.lines().last().unwrap().contains("\"seq\":5"));
    }

    /// The tool killed while writing an event: the next run finds the line cut short, keeps it,
    /// names it in a `truncated-line` event, and the chain holds.
    #[test]
    fn a_last_line_cut_short_is_noted_and_the_chain_goes_on() {
        let (_dir, path, _log, text) = written_sample();
        let cut = &text[..text.len() - 20];
        std::fs::write(&path, cut).unwrap();
        assert_eq!(
            verify_chain(cut),
            Err(4),
            "a cut line alone breaks the chain"
        );
        let mut again = EventLog::open(open(&path), &path).unwrap();
        assert_eq!(again.truncated(), Some(4));
        again
            .append(Event::Note {
                text: "resumed".into(),
            })
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(verify_chain(&text), Ok(5), "{text}");
        assert!(text.contains("\"event\":\"truncated-line\""));
        // Editing the fragment afterwards is seen.
        let edited = text.replacen("\"gate\":\"delete-messaging\"", "\"gate\":\"other\"", 1);
        assert!(verify_chain(&edited).is_err());
    }

    #[test]
    fn an_edited_line_breaks_the_chain() {
        let (_dir, _path, _log, text) = written_sample();
        let edited = text.replacen("yes (--yes)", "no", 1);
        assert_eq!(verify_chain(&edited), Err(4));
    }

    /// The events of a run directory written by release 0.1.0 are read by today's types.
    #[test]
    fn events_of_release_0_1_0_are_read() {
        for run in ["v0.1.0-complete", "v0.1.0-interrupted-messaging"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fixtures/runs")
                .join(run)
                .join("events.jsonl");
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(verify_chain(&text).is_ok(), "{run}");
            for record in read(&text) {
                assert!(record.is_ok(), "{run}: line {:?} is not read", record.err());
            }
        }
    }
}
