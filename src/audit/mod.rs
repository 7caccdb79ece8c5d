//! `audit TRANSCRIPT`: holds a log against the runbook. The log is a transcript of this tool or a
//! terminal log kept by hand in the same `$ command` style. The runbook's commands come from the
//! same model `plan` uses (`runbook::documented`), and the tool's own reads from
//! `runbook::additions`: there is no second copy of any command here.
//!
//! `log` reads the log, `matching` holds a command against the runbook, `rules` walks the log
//! and applies the rules, `integrity` checks the event log beside a tool transcript, `report`
//! says what was found.

mod integrity;
mod log;
mod matching;
mod report;
mod rules;

use std::path::Path;

use crate::error::{Error, Result};
pub use report::{AuditFinding, FindingKind, Report, StepReport, StepStatus, render};

/// Audits the log at `path`.
pub fn audit(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let log = log::read_log(&text);
    let catalogue = matching::Catalogue::new();
    let mut walk = rules::Walk::new(&catalogue, &log);
    for command in &log.commands {
        walk.command(command);
    }
    let (mut findings, steps) = walk.finish(log.selected.as_deref());
    let events = integrity::check_events(path, &log.commands, &mut findings)?;
    findings.sort_by_key(|f| (f.line.unwrap_or(usize::MAX), f.kind));
    Ok(Report {
        transcript: path.display().to_string(),
        conforms: findings.is_empty(),
        steps,
        findings,
        commands: log.commands.len(),
        events,
    })
}
