//! A tool transcript has events.jsonl beside it: its hash chain must hold, and every command of
//! the transcript must be among its events, in order.

use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use super::log::Logged;
use super::report::{AuditFinding, FindingKind};
use crate::error::Result;
use crate::process::shell_quote;
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

/// What the events.jsonl beside the transcript says (`None` when there is none), with the
/// findings it gives.
pub fn check_events(
    transcript: &Path,
    logged: &[Logged],
    findings: &mut Vec<AuditFinding>,
) -> Result<Option<String>> {
    let Some(dir) = RunDir::of_transcript(transcript) else {
        return Ok(None);
    };
    let Some(text) = dir.read_events()? else {
        return Ok(None);
    };
    let events_path = dir.events_path();
    let count = match events::verify_chain(&text) {
        Ok(count) => count,
        Err(line) => {
            findings.push(AuditFinding::nowhere(
                FindingKind::Tampered,
                format!(
                    "{} was edited: its hash chain breaks at line {line}",
                    events_path.display()
                ),
            ));
            return Ok(Some(format!("hash chain broken at line {line}")));
        }
    };
    let commands = logged_commands(&text);
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
    Ok(Some(format!("hash chain intact ({count} events)")))
}
