//! `audit TRANSCRIPT`: holds a log against the runbook. The log is a transcript of this tool or a
//! terminal log kept by hand in the same `$ command` style. The runbook's commands come from the
//! same model `plan` uses (`runbook::documented`), and the tool's own reads from
//! `runbook::additions`: there is no second copy of any command here.
//!
//! `log` reads the log, `matching` holds a command against the runbook, `rules` walks the log
//! and applies the rules, `integrity` checks the event log beside a tool transcript, `report`
//! says what was found.

mod html;
mod integrity;
mod log;
mod matching;
#[cfg(test)]
mod properties;
mod report;
mod rules;
mod story;

use std::path::Path;

use crate::error::Result;
pub use html::{Evidence, page};
pub use report::{
    Anchor, AuditFinding, Chain, FindingKind, Report, RunSummary, Signature, StepReport,
    StepStatus, render,
};
pub use story::Ending;

/// What an audit can detect when it holds the events to an anchor from outside: everything.
pub const ANCHORED: &str = "anchored from outside the run directory: any edit of transcript.log or events.jsonl is a finding";

/// What it can detect without: edits of one file against the other, not both rebuilt together.
const UNANCHORED: &str = "not anchored (no --expect HASH from the change ticket, no verified signature): an edit of either file alone is a finding, but both edited together with the hash chain rebuilt cannot be detected; the anchor must come from outside the run directory, never from the audited files";

/// Reads and walks a log's text without a file (the parsers' property test).
#[cfg(test)]
pub(crate) fn read_for_test(text: &str) {
    let log = log::read_log(text);
    let catalogue = matching::Catalogue::new();
    let mut walk = rules::Walk::new(&catalogue, &log);
    for command in &log.commands {
        walk.command(command);
    }
    let _ = walk.finish(log.selected.as_deref());
}

/// A log audited, with the texts it was read from (for the HTML page).
pub struct Audited {
    pub report: Report,
    pub log_text: String,
    /// The events.jsonl beside a tool transcript, if there is one.
    pub events_text: Option<String>,
}

/// Audits the log at `path`; with `expect`, events.jsonl must end with the line it anchors.
pub fn audit(path: &Path, expect: Option<&str>) -> Result<Audited> {
    let text = crate::record::read_log_text(
        path,
        crate::record::MAX_LOG_LINE,
        crate::record::MAX_LOG_SIZE,
    )?;
    let log = log::read_log(&text);
    let catalogue = matching::Catalogue::new();
    let mut walk = rules::Walk::new(&catalogue, &log);
    for command in &log.commands {
        walk.command(command);
    }
    if walk.recognised == 0 {
        return Err(crate::error::Error::StepFailed(format!(
            "{} is not a log of a restore: none of its {} lines is a command of the runbook or of this tool (audit takes a transcript of `arthur-restore run`, or a terminal log in the same `$ command` style)",
            path.display(),
            text.lines().count()
        )));
    }
    let events_text = match crate::record::RunDir::of_transcript(path) {
        Some(dir) => dir.read_events()?,
        None => None,
    };
    let records: Vec<_> = events_text
        .as_deref()
        .map(|text| {
            crate::record::events::read(text)
                .into_iter()
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    let story = story::Story::of(&records);
    // The steps of a tool transcript come from the chained events, never from its `# steps:`
    // line, which is text anyone can edit.
    let selected = story.steps.clone().or(log.selected.clone());
    let (mut findings, mut steps) = walk.finish(selected.as_deref());
    story.correct(&mut steps, selected.as_deref());
    let chain = events_text.as_deref().map(Chain::of);
    let events = integrity::check_events(
        path,
        events_text.as_deref().zip(chain.as_ref()),
        &text,
        &log.commands,
        expect,
        &mut findings,
    );
    let anchor = events_text
        .as_deref()
        .map(|events| Anchor::of(events, expect));
    let binding = anchor
        .as_ref()
        .map(|anchor| story::check_binding(&records, &text, &anchor.final_hash, &mut findings));
    findings.sort_by_key(|f| (f.line.unwrap_or(usize::MAX), f.kind));
    let run = events_text.as_deref().and_then(RunSummary::of);
    let anchored = anchor.as_ref().and_then(|a| a.matches) == Some(true);
    let report = Report {
        transcript: path.display().to_string(),
        conforms: findings.is_empty(),
        steps,
        findings,
        commands: log.commands.len(),
        integrity_checked: events.is_some(),
        events,
        chain,
        signature: None,
        approvals: records
            .iter()
            .filter_map(|(_, record)| match &record.event {
                crate::record::Event::Approved {
                    gate,
                    principal,
                    fingerprint,
                } => Some(report::Approval {
                    gate: gate.clone(),
                    principal: principal.clone(),
                    fingerprint: fingerprint.clone(),
                    time: record.time.clone(),
                    verified: None,
                }),
                _ => None,
            })
            .collect(),
        run,
        ending: story.ending,
        binding,
        anchor,
        assurance: match (&events_text, anchored) {
            (None, _) => "no events.jsonl beside the log: nothing binds it, and any line of it could have been edited".into(),
            (Some(_), true) => ANCHORED.into(),
            (Some(_), false) => UNANCHORED.into(),
        },
    };
    Ok(Audited {
        report,
        log_text: text,
        events_text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kinds of finding a log gives, ignoring the steps it leaves out entirely.
    fn kinds(text: &str) -> Vec<FindingKind> {
        let log = log::read_log(text);
        let catalogue = matching::Catalogue::new();
        let mut walk = rules::Walk::new(&catalogue, &log);
        for command in &log.commands {
            walk.command(command);
        }
        let (findings, _) = walk.finish(log.selected.as_deref());
        findings
            .into_iter()
            .filter(|f| !(f.kind == FindingKind::Missing && f.line.is_none()))
            .map(|f| f.kind)
            .collect()
    }

    /// Each row: a short log, and the findings each rule gives on it.
    #[test]
    fn each_rule_on_a_short_log() {
        use FindingKind::*;
        let rows: &[(&str, &str, &[FindingKind])] = &[
            ("a documented read", "$ kubectl get sts -n arthur\n", &[]),
            (
                "a command the runbook does not have",
                "$ kubectl top pods -n arthur\n",
                &[NotInRunbook],
            ),
            (
                "a destructive command the runbook does not have",
                "$ kubectl delete namespace arthur\n",
                &[DestructiveNotInRunbook],
            ),
            (
                "a failure not run again",
                "$ kubectl delete sts messaging -n arthur\n# exit status 1\n",
                &[Failed],
            ),
            (
                "a failure run again successfully",
                "$ kubectl delete sts messaging -n arthur\n# exit status 1\n$ kubectl delete sts messaging -n arthur\n",
                &[],
            ),
            (
                "the namespace changes",
                "$ kubectl get sts -n arthur\n$ kubectl get pvc -n arthur-prod\n",
                &[Inconsistent],
            ),
            (
                "a restore before the deletions are confirmed gone",
                "$ kubectl delete sts messaging -n arthur\n$ velero restore create --from-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging --namespace velero\n",
                &[OutOfOrder],
            ),
            (
                "a restore after the deletions are confirmed gone",
                "$ kubectl delete sts messaging -n arthur\n$ kubectl get pv\n$ velero restore create --from-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging --namespace velero\n",
                &[],
            ),
            (
                "a change the runbook puts earlier",
                "$ velero restore create --from-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments --namespace velero\n$ kubectl delete sts messaging -n arthur\n",
                &[OutOfOrder],
            ),
            (
                "a restore from a backup the listing did not show",
                "$ velero backup get -n velero | grep enrichments\narthur-backup-2023-05-11t15.25.24-04.00-enrichments Completed\n$ velero restore create --from-backup arthur-backup-2023-05-04t15.25.24-04.00-enrichments --namespace velero\n",
                &[Inconsistent],
            ),
            (
                "the Job applied without its backup name",
                "$ kubectl apply -f clickhouse-restore.yaml -n arthur\n",
                &[Missing],
            ),
            (
                "the Job applied after sed",
                "$ sed -i 's/insert-backup-name-here/arthur-clickhouse-backup-2023-05-11-00-00-07/g' clickhouse-restore.yaml\n$ kubectl apply -f clickhouse-restore.yaml -n arthur\n",
                &[],
            ),
            (
                "backups of two operations",
                "$ kubectl get pv\n$ velero restore create --from-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging --namespace velero\n$ velero restore create --from-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments --namespace velero\n$ velero restore create --from-backup arthur-backup-2023-05-04t15.23.25-04.00-workflows --namespace velero\n",
                &[Inconsistent],
            ),
        ];
        for (what, text, expected) in rows {
            assert_eq!(kinds(text), *expected, "{what}");
        }
    }

    #[test]
    fn steps_are_done_partly_done_or_not_done() {
        let log = log::read_log(
            "$ kubectl get sts -n arthur\n$ kubectl delete sts messaging -n arthur\n",
        );
        let catalogue = matching::Catalogue::new();
        let mut walk = rules::Walk::new(&catalogue, &log);
        for command in &log.commands {
            walk.command(command);
        }
        let (_, steps) = walk.finish(None);
        let status = |id| steps.iter().find(|s| s.id == id).unwrap().status;
        use crate::runbook::StepId;
        assert_eq!(status(StepId::Messaging), StepStatus::PartlyDone);
        assert_eq!(status(StepId::Enrichments), StepStatus::NotDone);
        assert_eq!(status(StepId::Rds), StepStatus::NotEvidenced);
    }
}
