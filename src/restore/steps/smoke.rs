//! Smoke Tests and Validation: the ClickHouse restore Job, this run's Velero restores, pods, jobs
//! and the KOTS app. The runbook leaves the checks to the operator; these are the ones the page
//! implies ("all data should be restored").

use super::{Context, waits};
use crate::error::Result;
use crate::names::{ObjectName, VeleroBackupName};
use crate::runbook::{StepId, VeleroComponent, fixed};

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    if cx.facts.clickhouse_job_applied || cx.options.includes(StepId::Clickhouse) {
        waits::clickhouse_job_complete(cx)?;
    }
    let restores: Vec<(ObjectName, Option<VeleroBackupName>)> = cx
        .facts
        .restores
        .iter()
        .map(|(component, name)| (name.clone(), cx.options.backups.velero(*component).cloned()))
        .collect();
    // In a run, the Velero steps recorded their restores; only a plan gets here without them.
    let velero_steps = VeleroComponent::ALL
        .iter()
        .any(|c| cx.options.includes(c.step()));
    if restores.is_empty() && velero_steps {
        cx.note("and every Velero restore this run created must still be Completed")?;
    }
    for (restore, backup) in &restores {
        waits::restore_finished(cx, restore, backup.as_ref())?;
    }
    waits::pods_ready(cx)?;
    waits::jobs_complete(cx)?;
    waits::app_ready(cx)?;
    let mut summary = vec!["summary:".to_string()];
    if let Some(endpoint) = &cx.facts.restored_endpoint {
        summary.push(format!("  database: restored endpoint {endpoint}"));
    }
    if cx.facts.clickhouse_job_applied {
        summary.push(format!(
            "  clickhouse: Job {} complete",
            fixed::CLICKHOUSE_JOB
        ));
    }
    for (component, restore) in &cx.facts.restores {
        summary.push(format!(
            "  {}: Velero restore {restore} Completed",
            component.word()
        ));
    }
    summary.push("  pods ready, jobs complete, KOTS app ready".into());
    summary.push("Data sent during or after the backup must be re-sent (the runbook).".into());
    cx.note(summary.join("\n"))
}
