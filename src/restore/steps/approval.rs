//! Four eyes (`run --approvers FILE`, SPEC section 8): the restore point, before the first
//! change, and the exact deletions, before the first delete, each need the signature of one of
//! the approvers. An approval that verified is a fact of the run: a resume does not ask for it
//! again.

use super::Context;
use crate::error::Result;
use crate::restore::executor::ApprovalRequest;
use crate::runbook::StepId;

/// Waits for the approval of `gate` (showing `shown`) unless there are no approvers or it was
/// given already.
pub fn require(cx: &mut Context<'_>, gate: &'static str, shown: Vec<String>) -> Result<()> {
    let Some(approvers) = cx.options.approvers.clone() else {
        return Ok(());
    };
    if cx.facts.approved.iter().any(|g| g == gate) {
        return Ok(());
    }
    cx.exec.approve(&ApprovalRequest {
        gate,
        shown,
        approvers,
    })?;
    cx.facts.approved.push(gate.to_string());
    cx.checkpoint()
}

/// What the restore point's approval shows: the backups, the RDS snapshot and its target, the
/// steps.
pub fn restore_point_lines(cx: &Context<'_>) -> Vec<String> {
    let o = &*cx.options;
    let name = |value: Option<String>| value.unwrap_or_else(|| "(not restored)".into());
    let steps: Vec<&str> = o.steps.iter().map(|s| s.id()).collect();
    let mut lines = vec![
        format!(
            "Restore in namespace {}, steps: {}",
            o.namespace,
            steps.join(" ")
        ),
        format!(
            "messaging backup:   {}",
            name(o.backups.messaging.as_ref().map(ToString::to_string))
        ),
        format!(
            "enrichments backup: {}",
            name(o.backups.enrichments.as_ref().map(ToString::to_string))
        ),
        format!(
            "workflows backup:   {}",
            name(o.backups.workflows.as_ref().map(ToString::to_string))
        ),
        format!(
            "ClickHouse backup:  {}",
            name(o.backups.clickhouse.as_ref().map(ToString::to_string))
        ),
        format!(
            "RDS snapshot:       {}",
            name(o.rds.snapshot.as_ref().map(ToString::to_string))
        ),
    ];
    if o.steps.contains(&StepId::Rds) {
        lines.push(format!(
            "RDS target:         {} (a new instance)",
            name(o.rds.instance.as_ref().map(ToString::to_string))
        ));
    }
    lines
}
