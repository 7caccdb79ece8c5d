//! A tool transcript has events.jsonl beside it: its hash chain must hold, and every command of
//! the transcript must be among its events, in order.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::log::Logged;
use super::report::{AuditFinding, Chain, FindingKind};
use crate::process::{escape_controls, shell_quote};
use crate::record::{Event, RunDir, events};

/// The commands of an event log, as the transcript shows them, in order. A command is on
/// record from its `command-started` event (release 0.1.0 wrote only its end); its end event
/// then adds nothing. Polls have only an end event.
fn logged_commands(text: &str) -> Vec<String> {
    let mut argvs: Vec<Vec<String>> = Vec::new();
    let mut open: Option<Vec<String>> = None;
    for record in events::read(text) {
        let event = match record {
            Ok((_, record)) => record.event,
            // A line cut short (the chain check vouches for it through the `truncated-line`
            // event after it): a command it started is on record if its argv is whole.
            Err(number) => match started_argv(text.lines().nth(number - 1).unwrap_or("")) {
                Some(argv) => Event::CommandStarted {
                    argv,
                    effect: crate::process::Effect::Reads,
                },
                None => continue,
            },
        };
        match event {
            Event::CommandStarted { argv, .. } => {
                argvs.push(argv.clone());
                open = Some(argv);
            }
            Event::Command { argv, .. } | Event::CommandKilled { argv, .. } => {
                let started = open.take();
                if started.as_ref() != Some(&argv) {
                    argvs.push(argv);
                }
            }
            Event::BackgroundStarted { argv, .. } => argvs.push(argv),
            _ => {}
        }
    }
    argvs
        .iter()
        .map(|argv| {
            argv.iter()
                .map(|w| shell_quote(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

static ARGV: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#""argv":(\[(?:"(?:[^"\\]|\\.)*",?)*\])"#).expect("valid"));

/// The argv of a `command-started` event cut short after its argv.
fn started_argv(fragment: &str) -> Option<Vec<String>> {
    if !fragment.contains("\"event\":\"command-started\"") {
        return None;
    }
    let caps = ARGV.captures(fragment)?;
    serde_json::from_str(&caps[1]).ok()
}

/// The other way: every command the event log says was started (`command-started`, written
/// before each command since release 0.2) must be in the transcript, in order. A `$ ` line removed
/// from the transcript (a deletion hidden) is caught here.
fn started_but_not_shown(text: &str, logged: &[Logged], path: &Path) -> Option<AuditFinding> {
    let shown: Vec<&str> = logged.iter().map(|c| c.text.as_str()).collect();
    let mut at = 0;
    for record in events::read(text).into_iter().flatten() {
        let Event::CommandStarted { argv, .. } = &record.1.event else {
            continue;
        };
        let line = argv
            .iter()
            .map(|w| shell_quote(w).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        match shown[at..].iter().position(|c| *c == line) {
            Some(offset) => at += offset + 1,
            None => {
                return Some(AuditFinding::nowhere(
                    FindingKind::Tampered,
                    format!(
                        "`{line}` was run ({} line {}) but is not, in this order, in the transcript: the transcript was edited",
                        path.display(),
                        record.0
                    ),
                ));
            }
        }
    }
    None
}

/// How the transcript shows a gate's answer or a wait's outcome that events.jsonl records.
enum ExpectedLine {
    Line(String),
    /// `# waited 2s (3 polls): RESULT`: the time is the transcript's own.
    Waited(String),
}

fn first_line(text: &str) -> String {
    escape_controls(text.lines().next().unwrap_or("")).into_owned()
}

impl ExpectedLine {
    fn of(event: &Event) -> Option<ExpectedLine> {
        match event {
            Event::Gate { gate, answer, .. } => Some(ExpectedLine::Line(format!(
                "# {}",
                crate::record::transcript::gate_line(gate, answer)
            ))),
            Event::WaitEnded { polls, result, .. } => {
                let first = first_line(result);
                Some(if *polls > 1 {
                    ExpectedLine::Waited(format!("): {first}"))
                } else {
                    ExpectedLine::Line(format!("# {first}"))
                })
            }
            // A wait that stopped or ran out: its line, as the event recorded it (0.1.0 wrote
            // none when the run then failed, and recorded none).
            Event::WaitStopped { said, .. } | Event::WaitTimedOut { said, .. } => said
                .as_deref()
                .map(|said| ExpectedLine::Line(format!("# {}", first_line(said)))),
            _ => None,
        }
    }

    fn is(&self, line: &str) -> bool {
        match self {
            ExpectedLine::Line(expected) => line == expected,
            ExpectedLine::Waited(end) => {
                line.starts_with("# waited ") && line.ends_with(end.as_str())
            }
        }
    }
}

/// Gate answers and wait outcomes agree both ways: each one events.jsonl records is shown by
/// the transcript, in order, and each `# gate ...:`, `# waited ...`, `# stopped waiting: ...` or
/// `# still not done after ...` line of the transcript is one of them. An answer edited on either side is caught even when the chain was rebuilt.
fn outcomes_both_ways(events_text: &str, log_text: &str, path: &Path) -> Option<AuditFinding> {
    let lines: Vec<&str> = log_text.lines().collect();
    let mut shown = vec![false; lines.len()];
    let mut at = 0;
    for (number, record) in events::read(events_text).into_iter().flatten() {
        let Some(expected) = ExpectedLine::of(&record.event) else {
            continue;
        };
        match lines[at..].iter().position(|line| expected.is(line)) {
            Some(offset) => {
                shown[at + offset] = true;
                at += offset + 1;
            }
            None => {
                let what = match &record.event {
                    Event::Gate { gate, answer, .. } => format!("gate {gate} answered `{answer}`"),
                    Event::WaitEnded { what, result, .. } => {
                        format!("the wait for {what} ended `{result}`")
                    }
                    Event::WaitStopped { what, reason, .. } => {
                        format!("the wait for {what} stopped: `{reason}`")
                    }
                    Event::WaitTimedOut { what, .. } => format!("the wait for {what} ran out"),
                    _ => String::new(),
                };
                return Some(AuditFinding::nowhere(
                    FindingKind::Tampered,
                    format!(
                        "{} line {number} records that {what}, which the transcript does not show in this order: one of the two was edited",
                        path.display()
                    ),
                ));
            }
        }
    }
    // A run of 0.1.0 recorded no line for a wait that stopped or ran out: its lines are not
    // held against the events.
    let legacy_waits = events::read(events_text)
        .into_iter()
        .flatten()
        .any(|(_, r)| {
            matches!(
                r.event,
                Event::WaitStopped { said: None, .. } | Event::WaitTimedOut { said: None, .. }
            )
        });
    let unrecorded = lines.iter().enumerate().find(|(index, line)| {
        let gave_up =
            line.starts_with("# stopped waiting: ") || line.starts_with("# still not done after ");
        !shown[*index]
            && (line.starts_with("# gate ") && line.contains(": ")
                || line.starts_with("# waited ")
                || gave_up && !legacy_waits)
    })?;
    Some(AuditFinding::at(
        FindingKind::Tampered,
        unrecorded.0 + 1,
        format!(
            "`{}` is in the transcript, but {} records no such answer or outcome: one of the two was edited",
            unrecorded.1,
            path.display()
        ),
    ))
}

/// The anchor (SPEC section 3): the SHA-256 of events.jsonl's last line, as the run printed it.
/// A file that goes on after the anchored line, or that has no line with the expected hash (cut
/// short, or edited and chained again), does not conform; the finding names the first line that
/// differs from what was expected.
fn check_anchor(text: &str, expected: &str, path: &Path) -> Option<AuditFinding> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| (i + 1, l))
        .collect();
    let anchored = lines
        .iter()
        .find(|(_, line)| crate::record::events::line_hash(line) == expected)
        .map(|(number, _)| *number);
    let last = lines.last().map_or(0, |(number, _)| *number);
    match anchored {
        Some(number) if number == last => None,
        Some(number) => Some(AuditFinding::nowhere(
            FindingKind::Tampered,
            format!(
                "{} goes on after line {number}, the one the expected final hash anchors: lines {} to {last} were added after the run ended",
                path.display(),
                number + 1
            ),
        )),
        None => Some(AuditFinding::nowhere(
            FindingKind::Tampered,
            format!(
                "no line of {} has the expected final hash {expected}: it was cut short or edited (its last line, {last}, has the hash {}); the lines cannot be trusted from the first one that differs from the record the run anchored",
                path.display(),
                lines
                    .last()
                    .map(|(_, l)| crate::record::events::line_hash(l))
                    .unwrap_or_default()
            ),
        )),
    }
}

/// What the events.jsonl beside the transcript says (`None` when there is none), with the
/// findings it gives.
pub fn check_events(
    transcript: &Path,
    events: Option<(&str, &Chain)>,
    log_text: &str,
    logged: &[Logged],
    expect: Option<&str>,
    findings: &mut Vec<AuditFinding>,
) -> Option<String> {
    let Some((text, chain)) = events else {
        if expect.is_some() {
            findings.push(AuditFinding::nowhere(
                FindingKind::Tampered,
                "--expect names a final hash, but there is no events.jsonl beside the transcript to hold it to",
            ));
        }
        return None;
    };
    let dir = RunDir::of_transcript(transcript).expect("the transcript has a folder");
    let events_path = dir.events_path();
    if let Some(expected) = expect {
        findings.extend(check_anchor(text, expected, &events_path));
    }
    if let Some(line) = chain.broken_at {
        findings.push(AuditFinding::nowhere(
            FindingKind::Tampered,
            format!(
                "{} was edited: its hash chain breaks at line {line}",
                events_path.display()
            ),
        ));
        return Some(format!("hash chain broken at line {line}"));
    }
    let count = chain.events.unwrap_or(0);
    let commands = logged_commands(text);
    if let Some(finding) = started_but_not_shown(text, logged, &events_path) {
        findings.push(finding);
    }
    findings.extend(outcomes_both_ways(text, log_text, &events_path));
    let mut at = 0;
    for command in logged {
        match commands[at..].iter().position(|c| *c == command.text) {
            Some(offset) => at += offset + 1,
            None => {
                findings.push(AuditFinding::at(
                    FindingKind::Tampered,
                    command.line,
                    format!(
                        "`{}` is in the transcript but not, in this order, in {}",
                        command.text,
                        events_path.display()
                    ),
                ));
                break;
            }
        }
    }
    Some(format!("hash chain intact ({count} events)"))
}
