//! What `audit` found: per step a status, a list of findings, and how the event log checked out;
//! rendered as text or serialized as JSON.

use serde::Serialize;

use crate::runbook::StepId;

/// The kinds of deviation, as the report names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    DestructiveNotInRunbook,
    Failed,
    Inconsistent,
    Missing,
    NotInRunbook,
    OutOfOrder,
    Tampered,
    /// Transcript lines no event binds (after the last event of a run that did not end).
    Unbound,
}

impl FindingKind {
    pub fn word(self) -> &'static str {
        match self {
            FindingKind::DestructiveNotInRunbook => "destructive-not-in-runbook",
            FindingKind::Failed => "failed",
            FindingKind::Inconsistent => "inconsistent",
            FindingKind::Missing => "missing",
            FindingKind::NotInRunbook => "not-in-runbook",
            FindingKind::OutOfOrder => "out-of-order",
            FindingKind::Tampered => "tampered",
            FindingKind::Unbound => "unbound",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditFinding {
    pub kind: FindingKind,
    /// The line of the log it is about; none for something missing.
    pub line: Option<usize>,
    pub message: String,
}

impl AuditFinding {
    pub fn at(kind: FindingKind, line: usize, message: impl Into<String>) -> AuditFinding {
        AuditFinding {
            kind,
            line: Some(line),
            message: message.into(),
        }
    }

    pub fn nowhere(kind: FindingKind, message: impl Into<String>) -> AuditFinding {
        AuditFinding {
            kind,
            line: None,
            message: message.into(),
        }
    }
}

/// How much of a step the log shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StepStatus {
    #[serde(rename = "done")]
    Done,
    #[serde(rename = "partly done")]
    PartlyDone,
    #[serde(rename = "not done")]
    NotDone,
    /// A step whose commands the runbook leaves to other documentation (RDS) or to the operator.
    #[serde(rename = "not evidenced")]
    NotEvidenced,
    /// A tool transcript of a run with --only/--skip/--from that left the step out.
    #[serde(rename = "not in this run")]
    NotInThisRun,
}

impl StepStatus {
    pub fn word(self) -> &'static str {
        match self {
            StepStatus::Done => "done",
            StepStatus::PartlyDone => "partly done",
            StepStatus::NotDone => "not done",
            StepStatus::NotEvidenced => "not evidenced",
            StepStatus::NotInThisRun => "not in this run",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: StepId,
    pub title: &'static str,
    pub status: StepStatus,
    pub commands_found: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub transcript: String,
    pub conforms: bool,
    pub steps: Vec<StepReport>,
    pub findings: Vec<AuditFinding>,
    pub commands: usize,
    /// What the events.jsonl beside a tool transcript says, if there is one.
    pub events: Option<String>,
    /// The same, as fields: whether the hash chain holds, how many events, where it breaks.
    pub chain: Option<Chain>,
    /// Whether the log's integrity was checked against an events.jsonl beside it.
    pub integrity_checked: bool,
    /// Who signed events.jsonl, when the signature was checked (`--allowed-signers`).
    pub signature: Option<Signature>,
    /// The approvals on record (four eyes), checked again with `--approvers`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<Approval>,
    /// Who ran it, where, with which tool: from the events beside a tool transcript.
    pub run: Option<RunSummary>,
    /// How the run ended, from its events (never from the transcript's text).
    pub ending: Option<super::story::Ending>,
    /// Whether every byte of the transcript is the one the events bound (rule 13).
    pub binding: Option<String>,
    /// The final hash of events.jsonl, the one expected (`--expect`) and whether they match.
    pub anchor: Option<Anchor>,
    /// What this audit can and cannot detect, given the anchor and the signature it had.
    pub assurance: String,
}

/// An approval on record: the gate, the approver and the key, and whether its signature was
/// checked again (`audit --approvers`) and held.
#[derive(Debug, Clone, Serialize)]
pub struct Approval {
    pub gate: String,
    pub principal: String,
    pub fingerprint: String,
    pub time: String,
    /// `None` when not checked again (no `--approvers`).
    pub verified: Option<bool>,
}

/// events.jsonl's hash chain, checked.
#[derive(Debug, Clone, Serialize)]
pub struct Chain {
    pub intact: bool,
    /// The number of events, when it holds.
    pub events: Option<usize>,
    /// The line where it breaks, when it does not.
    pub broken_at: Option<usize>,
}

/// The anchor: events.jsonl's final hash against the one from the change ticket.
#[derive(Debug, Clone, Serialize)]
pub struct Anchor {
    pub final_hash: String,
    pub expected: Option<String>,
    pub matches: Option<bool>,
}

impl Chain {
    pub fn of(events_text: &str) -> Chain {
        match crate::record::events::verify_chain(events_text) {
            Ok(count) => Chain {
                intact: true,
                events: Some(count),
                broken_at: None,
            },
            Err(line) => Chain {
                intact: false,
                events: None,
                broken_at: Some(line),
            },
        }
    }
}

impl Anchor {
    /// The hash of events.jsonl's last line, against the expected one.
    pub fn of(events_text: &str, expect: Option<&str>) -> Anchor {
        let last = events_text
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("");
        let final_hash = crate::record::events::line_hash(last);
        Anchor {
            matches: expect.map(|e| e.eq_ignore_ascii_case(&final_hash)),
            expected: expect.map(str::to_string),
            final_hash,
        }
    }
}

/// The signature of events.jsonl, as ssh-keygen checked it.
#[derive(Debug, Clone, Serialize)]
pub struct Signature {
    pub signer: String,
    pub verified: bool,
    /// What ssh-keygen said.
    pub said: String,
}

/// Who ran a run, where, with which tool and commit, against which cluster and AWS account.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunSummary {
    pub started: String,
    pub version: String,
    pub commit: Option<String>,
    pub user: String,
    pub host: String,
    /// Kube context, cluster UID, AWS account, CLI versions: from the first event, or else the
    /// identity step's note.
    pub identity: Option<String>,
    /// The same, as the first event recorded it (absent in runs of 0.1.0).
    pub reached: Option<crate::record::Reached>,
    /// The steps the run was asked to perform, from its first event.
    pub steps: Vec<String>,
}

impl RunSummary {
    /// From the events of a run: its first event, and the identity note.
    pub fn of(events_text: &str) -> Option<RunSummary> {
        use crate::record::{Event, events};
        let records: Vec<_> = events::read(events_text).into_iter().flatten().collect();
        let (time, first) = records.iter().find_map(|(_, r)| match &r.event {
            Event::RunStarted(id) | Event::RunResumed(id) => Some((r.time.clone(), id)),
            _ => None,
        })?;
        // The first event holds what the identity reads learnt; a run of 0.1.0, or one
        // interrupted among those reads, has it only in a note, if at all.
        let identity = first.reached.as_ref().map(|r| r.describe()).or_else(|| {
            records.iter().find_map(|(_, r)| match &r.event {
                Event::Note { text } if text.starts_with("identity:") => Some(text.clone()),
                _ => None,
            })
        });
        Some(RunSummary {
            started: time,
            version: first.version.clone(),
            commit: first.commit.clone(),
            user: first.user.clone(),
            host: first.host.clone(),
            identity,
            reached: first.reached.clone(),
            steps: first
                .options
                .steps
                .iter()
                .map(|s| s.id().to_string())
                .collect(),
        })
    }
}

impl Report {
    /// Adds a finding found outside the log's reading (the signature check).
    pub fn add(&mut self, finding: AuditFinding) {
        self.findings.push(finding);
        self.conforms = false;
    }
}

pub fn render(report: &Report) -> String {
    let mut text = format!(
        "audit {}: {}\n",
        report.transcript,
        if report.conforms {
            "conforms to the runbook".to_string()
        } else {
            format!(
                "{} finding{}",
                report.findings.len(),
                if report.findings.len() == 1 { "" } else { "s" }
            )
        }
    );
    match &report.events {
        Some(events) => text.push_str(&format!("events.jsonl: {events}\n")),
        None => text.push_str(
            "events.jsonl: none beside the log: integrity not checked (the log could have been edited)\n",
        ),
    }
    if let Some(ending) = &report.ending {
        text.push_str(&format!("run ended: {}\n", ending.describe()));
    }
    if let Some(binding) = &report.binding {
        text.push_str(&format!("transcript: {binding}\n"));
    }
    if let Some(anchor) = &report.anchor {
        text.push_str(&format!("final hash: {}\n", anchor.final_hash));
        if let (Some(expected), Some(matches)) = (&anchor.expected, anchor.matches) {
            text.push_str(&format!(
                "expected:   {expected}: {}\n",
                if matches { "matches" } else { "DOES NOT MATCH" }
            ));
        }
    }
    if let Some(run) = &report.run {
        text.push_str(&format!(
            "run: started {} by {} on {} with arthur-restore {} (commit {})\n",
            run.started,
            run.user,
            run.host,
            run.version,
            run.commit.as_deref().unwrap_or("not recorded")
        ));
        if let Some(identity) = &run.identity {
            for line in identity.lines() {
                text.push_str(&format!("  {line}\n"));
            }
        }
    }
    if let Some(signature) = &report.signature {
        text.push_str(&format!(
            "signature: {} by {}: {}\n",
            if signature.verified {
                "verified"
            } else {
                "NOT verified"
            },
            signature.signer,
            signature.said
        ));
    }
    for approval in &report.approvals {
        text.push_str(&format!(
            "approval: the {} gate by {} (key {}) at {}{}\n",
            approval.gate,
            approval.principal,
            approval.fingerprint,
            approval.time,
            match approval.verified {
                Some(true) => ", its signature verified again",
                Some(false) => ", its signature does NOT verify",
                None => "",
            }
        ));
    }
    text.push_str(&format!("assurance: {}\n", report.assurance));
    text.push_str("\nsteps:\n");
    for step in &report.steps {
        text.push_str(&format!(
            "  {:<12} {:<14} {}\n",
            step.id.id(),
            step.status.word(),
            step.title
        ));
    }
    if !report.findings.is_empty() {
        text.push_str("\nfindings:\n");
        for finding in &report.findings {
            let at = finding
                .line
                .map(|l| format!("line {l}"))
                .unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "  {at:<9} {:<27} {}\n",
                finding.kind.word(),
                finding.message
            ));
        }
    }
    text
}
