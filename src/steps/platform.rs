//! Install the Arthur Platform: a manual gate. The operator changes two Admin Console settings;
//! the tool then checks the database pointer (SPEC section 5, rule 3) and waits for every pod and
//! job.

use super::{Context, parsed};
use crate::error::{Error, Result};
use crate::executor::{Confirmation, Poll, Wait};
use crate::parse::{kots, kube, rds};

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    let endpoint = restored_endpoint(cx)?;
    if !cx.facts.admin_console_confirmed {
        let shown = endpoint
            .clone()
            .unwrap_or_else(|| "<the restored endpoint>".into());
        let host = shown
            .rsplit_once(':')
            .map(|(h, _)| h.to_string())
            .unwrap_or(shown.clone());
        cx.exec.confirm(&Confirmation {
            gate: "admin-console",
            details: vec![
                "Install the Arthur platform (KOTS Admin Console), changing two settings:".into(),
                format!("  1. Config > Meta Database: point it at the restored instance, host {host} ({shown})."),
                "     Failure to complete this step WILL CAUSE DATA CORRUPTION.".into(),
                "  2. Config > Network: update the ingress URL.".into(),
                "Then deploy, and answer once the deployment has started.".into(),
            ],
            question: "Have both settings been changed and deployed?".into(),
        })?;
        if cx.exec.is_live() {
            cx.facts.admin_console_confirmed = true;
            cx.checkpoint()?;
        }
    }
    check_db_pointer(cx, endpoint.as_deref())?;
    wait_for_pods(cx)?;
    wait_for_jobs(cx)
}

/// The endpoint recorded by the `rds` step, or read from the --rds-instance when the step was
/// done earlier or by hand.
fn restored_endpoint(cx: &mut Context<'_>) -> Result<Option<String>> {
    if let Some(endpoint) = &cx.facts.restored_endpoint {
        return Ok(Some(endpoint.clone()));
    }
    // When the `rds` step is part of this run it records the endpoint; without it (a plan)
    // there is nothing to read yet.
    let Some(instance) = cx.options.rds.instance.clone() else {
        return Ok(None);
    };
    if cx.options.includes(crate::runbook::StepId::Rds) {
        return Ok(None);
    }
    let cmd = cx.commands.describe_db_instance(&instance);
    let Some(out) = cx.read(&cmd)? else {
        return Ok(None);
    };
    let found = parsed(&cmd, rds::instance(&out.stdout))?;
    if found.status != "available" {
        return Err(Error::refused(format!(
            "the restored instance `{instance}` is {}, not available: the runbook installs the platform only after the database is Available",
            found.status
        )));
    }
    let endpoint = found.endpoint.map(|(host, port)| format!("{host}:{port}"));
    cx.facts.restored_endpoint = endpoint.clone();
    Ok(endpoint)
}

fn check_db_pointer(cx: &mut Context<'_>, endpoint: Option<&str>) -> Result<()> {
    if cx.options.skip_db_pointer_check {
        return cx.note("database pointer check skipped (--skip-db-pointer-check): the KOTS config was not compared with the restored endpoint");
    }
    let cmd = cx.commands.kots_get_config();
    let out = cx.read(&cmd)?;
    // A plan before the rds step has no endpoint to compare with yet.
    let (Some(out), false) = (out, endpoint.is_none() && !cx.exec.is_live()) else {
        return cx.note("requires: the KOTS config names the restored endpoint (the Meta Database host); otherwise refuse");
    };
    let endpoint = endpoint.unwrap_or_default();
    let host = endpoint
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(endpoint);
    if host.is_empty() || !kots::config_names_host(&out.stdout, host) {
        return Err(Error::refused(format!(
            "the KOTS config does not name the restored database host `{host}`: the platform would write to the wrong database (DATA CORRUPTION). Set Config > Meta Database in the Admin Console, deploy, then `arthur-restore run --resume DIR`; or pass --skip-db-pointer-check if the pointer was checked another way"
        )));
    }
    cx.note(format!(
        "checked: the KOTS config names the restored database host {host}"
    ))
}

pub(super) fn wait_for_pods(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_pods();
    let for_errors = probe.clone();
    cx.exec.wait(Wait {
        what: "every pod Running and ready, or Completed".into(),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
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

pub(super) fn wait_for_jobs(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.get_jobs();
    let for_errors = probe.clone();
    let namespace = cx.options.namespace.clone();
    cx.exec.wait(Wait {
        what: "every job Complete".into(),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            let jobs = parsed(&for_errors, kube::jobs(&out.stdout))?;
            if let Some(failed) = jobs.iter().find(|j| j.is_failed()) {
                return Err(Error::CommandFailed {
                    cmd: Box::new(for_errors.clone()),
                    reason: format!(
                        "job {} failed; look at `kubectl logs job/{} -n {namespace}` and `kubectl describe job {} -n {namespace}`",
                        failed.name, failed.name, failed.name
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
                Poll::NotYet { progress: format!("{done}/{} jobs complete", jobs.len()), pending }
            })
        }),
    })?;
    Ok(())
}
