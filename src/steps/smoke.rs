//! Smoke Tests and Validation: the ClickHouse restore Job, this run's Velero restores, pods, jobs
//! and the KOTS app. The runbook leaves the checks to the operator; these are the ones the page
//! implies ("all data should be restored").

use super::{Context, parsed};
use crate::error::{Error, Result};
use crate::executor::{Poll, Wait};
use crate::parse::kube::{self, JobOutcome};
use crate::runbook::{StepId, fixed};

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    if cx.facts.clickhouse_job_applied || cx.options.includes(StepId::Clickhouse) {
        wait_for_clickhouse_job(cx)?;
    }
    let restores: Vec<String> = cx.facts.restores.values().cloned().collect();
    if !cx.exec.is_live() {
        cx.note("and every Velero restore this run created must still be Completed")?;
    }
    for restore in &restores {
        super::velero_restore::wait_for_restore(cx, restore)?;
    }
    super::platform::wait_for_pods(cx)?;
    super::platform::wait_for_jobs(cx)?;
    super::messaging::wait_for_app_ready(cx)?;
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

fn wait_for_clickhouse_job(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_restore_job_json();
    let for_errors = probe.clone();
    let logs = cx.commands.job_logs(fixed::CLICKHOUSE_JOB);
    cx.exec.wait(Wait {
        what: format!("the Job {} to complete", fixed::CLICKHOUSE_JOB),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                return Err(Error::command_failed(&for_errors, out));
            }
            match parsed(&for_errors, kube::job_outcome(&out.stdout))? {
                JobOutcome::Complete => {
                    Ok(Poll::Ready(format!("{} complete", fixed::CLICKHOUSE_JOB)))
                }
                JobOutcome::Running { active } => Ok(Poll::NotYet {
                    progress: format!("{} running ({active} active)", fixed::CLICKHOUSE_JOB),
                    pending: vec![format!("job {} not complete", fixed::CLICKHOUSE_JOB)],
                }),
                JobOutcome::Failed { reason } => Err(Error::StepFailed(format!(
                    "the ClickHouse restore Job {} failed ({reason}); look at `{logs}`",
                    fixed::CLICKHOUSE_JOB
                ))),
            }
        }),
    })?;
    Ok(())
}
