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

/// A name the approval shows, or that it is not restored.
fn shown(value: Option<&impl std::fmt::Display>) -> String {
    value.map_or_else(|| "(not restored)".to_string(), ToString::to_string)
}

/// What the restore point's approval shows: the backups, the RDS snapshot and its target, the
/// steps.
pub fn restore_point_lines(cx: &Context<'_>) -> Vec<String> {
    let o = &*cx.options;
    let steps: Vec<&str> = o.steps.iter().map(|s| s.id()).collect();
    let mut rows: Vec<(&str, String)> = vec![
        ("messaging backup:", shown(o.backups.messaging.as_ref())),
        ("enrichments backup:", shown(o.backups.enrichments.as_ref())),
        ("workflows backup:", shown(o.backups.workflows.as_ref())),
        ("ClickHouse backup:", shown(o.backups.clickhouse.as_ref())),
        ("RDS snapshot:", shown(o.rds.snapshot.as_ref())),
    ];
    if o.steps.contains(&StepId::Rds) {
        let target = shown(o.rds.instance.as_ref());
        rows.push(("RDS target:", format!("{target} (a new instance)")));
    }
    let mut lines = vec![format!(
        "Restore in namespace {}, steps: {}",
        o.namespace,
        steps.join(" ")
    )];
    lines.extend(
        rows.into_iter()
            .map(|(label, value)| format!("{label:<20}{value}")),
    );
    lines
}
