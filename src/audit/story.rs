//! What the chained events say of a run (SPEC section 5, rule 13): which steps it was asked to
//! perform, which it completed, how it ended, and that every byte of transcript.log is the one
//! they bound. The editable transcript is never the source of any of these.

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::report::{AuditFinding, FindingKind};
use crate::process::shell_quote;
use crate::record::transcript::{SIGNED_NOTE, comment, final_hash_line};
use crate::record::{Event, EventRecord, RunStatus, events};
use crate::runbook::StepId;

/// The run as its events tell it.
#[derive(Debug, Clone, Default)]
pub struct Story {
    /// The steps of the run (the options of its last start or resumption).
    pub steps: Option<Vec<StepId>>,
    /// The steps whose completion an event records.
    pub completed: Vec<StepId>,
    pub ending: Option<Ending>,
}

/// How the run ended, for the verdict: completed, failed at a step with its command, refused,
/// interrupted, or not ended (killed, or still running); and what it did not reach.
#[derive(Debug, Clone, Serialize)]
pub struct Ending {
    /// completed, failed, refused, interrupted, or `not ended`.
    pub status: String,
    /// The runbook step (or `identity`, `preflight`) under way when it ended.
    pub step: Option<String>,
    /// The last command started, as the transcript shows it.
    pub command: Option<String>,
    pub error: Option<String>,
    pub exit: Option<i32>,
    /// Steps of the run that it did not complete.
    pub not_reached: Vec<String>,
}

impl Ending {
    /// One line for the report.
    pub fn describe(&self) -> String {
        let mut text = match (self.status.as_str(), &self.step) {
            ("completed", _) => "completed: every step passed".to_string(),
            ("not ended", Some(step)) => {
                format!("did not end (killed, or still running) during {step}: no run-ended event")
            }
            ("not ended", None) => "did not end (killed, or still running)".to_string(),
            (status, Some(step)) => format!("{status} at {step}"),
            (status, None) => status.to_string(),
        };
        if self.status != "completed"
            && let Some(command) = &self.command
        {
            text.push_str(&format!(", its last command `{command}`"));
        }
        if let Some(error) = &self.error {
            text.push_str(&format!(": {}", error.lines().next().unwrap_or("")));
        }
        if !self.not_reached.is_empty() {
            text.push_str(&format!("; not completed: {}", self.not_reached.join(" ")));
        }
        text
    }
}

fn quoted(argv: &[String]) -> String {
    argv.iter()
        .map(|w| shell_quote(w).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The step a section title opens.
fn step_of_title(title: &str) -> String {
    StepId::ALL
        .into_iter()
        .find(|step| step.title() == title)
        .map(|step| format!("step {step}"))
        .unwrap_or_else(|| match title.split(" (").next() {
            Some(head) => head.to_lowercase(),
            None => title.to_lowercase(),
        })
}

impl Story {
    pub fn of(records: &[(usize, EventRecord)]) -> Story {
        let mut story = Story::default();
        let mut step: Option<String> = None;
        let mut command: Option<String> = None;
        let mut ended: Option<(RunStatus, Option<String>, i32)> = None;
        for (_, record) in records {
            match &record.event {
                Event::RunStarted(identity) | Event::RunResumed(identity) => {
                    story.steps = Some(identity.options.steps.clone());
                    ended = None;
                }
                Event::Section { title } => step = Some(step_of_title(title)),
                Event::CommandStarted { argv, .. } => command = Some(quoted(argv)),
                Event::Note { text } => {
                    if let Some(id) = text
                        .strip_prefix("step ")
                        .and_then(|t| t.strip_suffix(" completed"))
                        && let Some(done) = StepId::ALL.into_iter().find(|s| s.id() == id)
                        && !story.completed.contains(&done)
                    {
                        story.completed.push(done);
                    }
                }
                Event::RunEnded {
                    status,
                    error,
                    exit,
                } => ended = Some((*status, error.clone(), *exit)),
                _ => {}
            }
        }
        if story.steps.is_some() {
            let not_reached = story
                .steps
                .iter()
                .flatten()
                .filter(|s| !story.completed.contains(s))
                .map(|s| s.id().to_string())
                .collect();
            story.ending = Some(match ended {
                Some((status, error, exit)) => Ending {
                    status: status.word().to_string(),
                    step: (status != RunStatus::Completed).then_some(step).flatten(),
                    command,
                    error,
                    exit: Some(exit),
                    not_reached,
                },
                None => Ending {
                    status: "not ended".into(),
                    step,
                    command,
                    error: None,
                    exit: None,
                    not_reached,
                },
            });
        }
        story
    }

    pub fn is_done(&self, step: StepId) -> bool {
        self.completed.contains(&step)
    }

    /// A step is `done` only when an event records its completion: one whose commands the
    /// transcript holds but that never completed is partly done, or not in this run.
    pub fn correct(&self, steps: &mut [super::StepReport], selected: Option<&[StepId]>) {
        if self.steps.is_none() {
            return;
        }
        for step in steps {
            if step.status == super::StepStatus::Done && !self.is_done(step.id) {
                step.status = if selected.is_some_and(|s| s.contains(&step.id)) {
                    super::StepStatus::PartlyDone
                } else {
                    super::StepStatus::NotInThisRun
                };
            }
        }
    }
}

/// The line number (1-based) of a byte offset of the text.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Every byte of the transcript against the marks the events carry: the first stretch that
/// differs from what an event bound is a finding, and so is what follows the last mark, but for
/// the closing lines the run writes after its last event (ssh-keygen's answer, the signature
/// note and the final hash line, which must name the real final hash). What it says of the
/// binding, for the report.
pub fn check_binding(
    records: &[(usize, EventRecord)],
    log_text: &str,
    last_hash: &str,
    findings: &mut Vec<AuditFinding>,
) -> String {
    let marks: Vec<(usize, u64, &str)> = records
        .iter()
        .filter_map(|(n, r)| {
            r.transcript
                .as_ref()
                .map(|m| (*n, m.bytes, m.sha256.as_str()))
        })
        .collect();
    if marks.is_empty() {
        return "not bound: its events carry no digest of the transcript (a run of an earlier release); only its commands, gate answers and wait outcomes are held against the events".into();
    }
    let bytes = log_text.as_bytes();
    let mut hasher = Sha256::new();
    let mut at = 0usize;
    for (number, end, sha) in &marks {
        let end = usize::try_from(*end).unwrap_or(usize::MAX);
        if end < at || end > bytes.len() {
            findings.push(AuditFinding::nowhere(
                FindingKind::Tampered,
                format!(
                    "events.jsonl line {number} binds the first {end} bytes of the transcript, which holds {}: it was cut short or edited",
                    bytes.len()
                ),
            ));
            return "broken: the transcript is not the one the events bound".into();
        }
        hasher.update(&bytes[at..end]);
        if events::hex(&hasher.clone().finalize()) != *sha {
            let (first, last) = (
                line_at(log_text, at),
                line_at(log_text, end.saturating_sub(1)),
            );
            findings.push(AuditFinding::at(
                FindingKind::Tampered,
                first,
                format!(
                    "transcript lines {first} to {last} are not what events.jsonl line {number} bound (its SHA-256 of the transcript's first {end} bytes differs): the transcript was edited there"
                ),
            ));
            return format!("broken at transcript line {first}: edited after it was written");
        }
        at = end;
    }
    let Some(tail) = log_text.get(at..) else {
        return "broken: the last mark falls inside a character".into();
    };
    let ended = records
        .iter()
        .any(|(_, r)| matches!(r.event, Event::RunEnded { .. }));
    let first_line = line_at(log_text, at);
    if let Some(unbound) = check_tail(records, ended, tail, first_line, last_hash, findings) {
        return unbound;
    }
    format!(
        "every byte of the transcript is bound ({} marks{})",
        marks.len(),
        if ended {
            ", and its closing lines name the final hash"
        } else {
            ""
        }
    )
}

/// What follows the last mark (from transcript line `first_tail_line` on): only the closing
/// lines a run that ended writes after its last event. Anything else is a finding; what the
/// report says of it, if there is any.
fn check_tail(
    records: &[(usize, EventRecord)],
    ended: bool,
    tail: &str,
    first_tail_line: usize,
    last_hash: &str,
    findings: &mut Vec<AuditFinding>,
) -> Option<String> {
    let signing = matches!(
        records.last().map(|(_, r)| &r.event),
        Some(Event::CommandStarted { argv, .. }) if argv.first().is_some_and(|p| p.ends_with("ssh-keygen"))
    );
    let closing = final_hash_line(last_hash);
    let signed = comment(SIGNED_NOTE);
    let unbound: Vec<(usize, &str)> = tail
        .lines()
        .enumerate()
        .map(|(i, line)| (first_tail_line + i, line))
        .filter(|(_, line)| {
            let allowed = ended
                && (*line == closing.trim_end()
                    || *line == signed.trim_end()
                    || signing
                        && (line.starts_with("Signing file ")
                            || line.starts_with("Write signature to ")
                            || line.starts_with("# exit status ")));
            !allowed
        })
        .collect();
    if let Some((first, line)) = unbound.first() {
        let last = unbound.last().map_or(*first, |(n, _)| *n);
        findings.push(AuditFinding::at(
            FindingKind::Unbound,
            *first,
            if ended {
                format!(
                    "transcript lines {first} to {last} (`{}`) come after the run's last event and are bound to none: they were added after the run ended",
                    crate::process::escape_controls(line)
                )
            } else {
                format!(
                    "transcript lines {first} to {last} come after the last event and are bound to none: a run killed right there leaves such lines, and an edit could add them; they are no evidence until a resume binds them"
                )
            },
        ));
        return Some(format!(
            "bound up to transcript line {}, with {} line(s) after the last event bound to none",
            first - 1,
            unbound.len()
        ));
    }
    None
}
