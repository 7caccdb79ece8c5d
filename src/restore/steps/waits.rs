//! The waits steps share: every pod ready, every job complete, the KOTS app ready, a Velero
//! restore finished, the ClickHouse restore Job complete. Each is one read-only probe and a check
//! of its answer; the executor polls it (`--poll-interval`, `--timeout`).

use super::{Context, parsed};
use crate::error::{Error, Result};
use crate::names::{ObjectName, VeleroBackupName};
use crate::parse::kube::{self, JobOutcome};
use crate::parse::velero::{self, RestoreOutcome};
use crate::parse::{ParseError, kots};
use crate::process::command_failed;
use crate::restore::executor::{Poll, Wait};
use crate::runbook::fixed;

pub(super) fn pods_ready(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_pods();
    let for_errors = probe.clone();
    cx.exec.wait(Wait {
        what: "every pod Running and ready, or Completed".into(),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                return Err(command_failed(&for_errors, out));
            }
            let pods = parsed(&for_errors, kube::pods(&out.stdout))?;
            let pending: Vec<String> = pods
                .iter()
                .filter(|p| !p.is_healthy())
                .map(|p| format!("pod {} {} {}", p.name, p.ready, p.status))
                .collect();
            let healthy = pods.len() - pending.len();
            Ok(if pods.is_empty() {
                Poll::NotYet {
                    progress: "no pods yet".into(),
                    pending: vec!["no pods listed yet".into()],
                }
            } else if pending.is_empty() {
                Poll::Ready(format!("{healthy}/{} pods ready", pods.len()))
            } else {
                Poll::NotYet {
                    progress: format!("{healthy}/{} pods ready", pods.len()),
                    pending,
                }
            })
        }),
    })?;
    Ok(())
}

pub(super) fn jobs_complete(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_jobs();
    let for_errors = probe.clone();
    let commands = cx.commands.clone();
    cx.exec.wait(Wait {
        what: "every job Complete".into(),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                return Err(command_failed(&for_errors, out));
            }
            let jobs = parsed(&for_errors, kube::jobs(&out.stdout))?;
            if let Some(failed) = jobs.iter().find(|j| j.is_failed()) {
                return Err(Error::CommandFailed {
                    command: for_errors.to_string(),
                    reason: format!(
                        "job {} failed; look at `{}` and `{}`",
                        failed.name,
                        commands.job_logs(&ObjectName::or_placeholder(&failed.name)),
                        commands.describe_job(&ObjectName::or_placeholder(&failed.name))
                    ),
                });
            }
            let pending: Vec<String> = jobs
                .iter()
                .filter(|j| !j.is_complete())
                .map(|j| format!("job {} {}", j.name, j.completions))
                .collect();
            let done = jobs.len() - pending.len();
            Ok(if pending.is_empty() {
                Poll::Ready(format!("{done}/{} jobs complete", jobs.len()))
            } else {
                Poll::NotYet {
                    progress: format!("{done}/{} jobs complete", jobs.len()),
                    pending,
                }
            })
        }),
    })?;
    Ok(())
}
/// `kubectl kots get apps` until the app's STATUS is `ready`.
pub(super) fn app_ready(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.kots_get_apps();
    let for_errors = probe.clone();
    cx.exec.wait(Wait {
        what: format!("the KOTS app {} to be ready", fixed::KOTS_APP_SLUG),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                return Err(command_failed(&for_errors, out));
            }
            let apps = parsed(&for_errors, kots::apps(&out.stdout))?;
            // Arthur's slug, or the only app installed (a renamed install).
            let app = apps
                .iter()
                .find(|a| a.slug == fixed::KOTS_APP_SLUG)
                .or(if apps.len() == 1 { apps.first() } else { None });
            Ok(match app {
                Some(app) if app.status == "ready" => {
                    Poll::Ready(format!("{} is ready ({})", app.slug, app.version))
                }
                Some(app) => {
                    let status = if app.status.is_empty() {
                        "no status reported"
                    } else {
                        app.status.as_str()
                    };
                    Poll::NotYet {
                        progress: format!("{} is {status}", app.slug),
                        pending: vec![format!("app {}: {status}", app.slug)],
                    }
                }
                None => Poll::NotYet {
                    progress: "app not listed".into(),
                    pending: vec![format!("app {} not listed", fixed::KOTS_APP_SLUG)],
                },
            })
        }),
    })?;
    Ok(())
}
/// A Velero restore reaches its end; it must be a restore of `backup` (a restore named in the
/// record is held to the backup the run chose, whatever the record says: SPEC section 5, rule 14).
pub(super) fn restore_finished(
    cx: &mut Context<'_>,
    restore: &ObjectName,
    backup: Option<&VeleroBackupName>,
) -> Result<()> {
    let expected_backup = backup.map(ToString::to_string);
    let probe = cx.commands.velero_restore_json(restore);
    let for_errors = probe.clone();
    let describe = cx.commands.velero_restore_describe(restore);
    let logs = cx.commands.velero_restore_logs(restore);
    let name = restore.to_string();
    cx.exec.wait(Wait {
        what: format!("the Velero restore {restore} to finish"),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                // Right after `restore create` the object may not be listed yet.
                if velero::is_not_found(&out.stderr) {
                    return Ok(Poll::NotYet {
                        progress: format!("{name} not listed yet"),
                        pending: vec![format!("restore {name}: not listed yet")],
                    });
                }
                return Err(command_failed(&for_errors, out));
            }
            let restores = parsed(&for_errors, velero::restores(&out.stdout))?;
            let restore = restores.iter().find(|r| r.name == name).ok_or_else(|| {
                ParseError::new(format!("the answer does not hold the restore {name}")).for_command(&for_errors)
            })?;
            if let Some(expected) = &expected_backup
                && restore.backup != *expected
            {
                return Err(Error::refused(format!(
                    "the Velero restore {name} restores the backup `{}`, not `{expected}`, the one this run chose (`{for_errors}`): it is not the restore this run made from that backup, and the run goes no further",
                    restore.backup
                )));
            }
            match velero::restore_outcome(&restore.phase) {
                RestoreOutcome::Completed => Ok(Poll::Ready(format!(
                    "{name} Completed ({} warnings)",
                    restore.warnings
                ))),
                RestoreOutcome::Running => Ok(Poll::NotYet {
                    progress: format!("{name} {}", restore.phase),
                    pending: vec![format!("restore {name}: {}", restore.phase)],
                }),
                RestoreOutcome::Failed => Err(Error::StepFailed(format!(
                    "the Velero restore {name} ended {} ({} errors, {} warnings); `velero restore create` exits 0 even then. Look closer with `{describe}` and `{logs}`",
                    restore.phase, restore.errors, restore.warnings
                ))),
            }
        }),
    })?;
    Ok(())
}
pub(super) fn clickhouse_job_complete(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_restore_job_json();
    let for_errors = probe.clone();
    let logs = cx.commands.job_logs(&fixed::object(fixed::CLICKHOUSE_JOB));
    cx.exec.wait(Wait {
        what: format!("the Job {} to complete", fixed::CLICKHOUSE_JOB),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            if !out.success() {
                return Err(command_failed(&for_errors, out));
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
