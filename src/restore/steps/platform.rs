//! Install the Arthur Platform: a manual gate. The operator changes two Admin Console settings;
//! the tool then checks the database pointer (SPEC section 5, rule 3) and waits for every pod and
//! job.

use super::{Context, parsed};
use crate::error::{Error, Result};
use crate::parse::{kots, rds};
use crate::restore::executor::{Confirmation, GateOutcome};
use crate::runbook::StepId;

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    let endpoint = restored_endpoint(cx)?;
    if !cx.facts.admin_console_confirmed {
        ask_for_the_admin_console(cx, endpoint.as_deref())?;
    }
    check_db_pointer(cx, endpoint.as_deref())?;
    super::waits::pods_ready(cx)?;
    super::waits::jobs_complete(cx)
}

/// The gate: the operator changes two Admin Console settings and deploys.
fn ask_for_the_admin_console(cx: &mut Context<'_>, endpoint: Option<&str>) -> Result<()> {
    let shown = endpoint.unwrap_or("<the restored endpoint>");
    let host = shown.rsplit_once(':').map_or(shown, |(h, _)| h);
    let outcome = cx.exec.confirm(&Confirmation {
        gate: "admin-console",
        details: vec![
            "Install the Arthur platform (KOTS Admin Console), changing two settings:".into(),
            "  1. Config > Meta Database: point it at the restored instance; paste this host:"
                .into(),
            format!("         {host}"),
            format!("     (the endpoint is {shown})."),
            "     Failure to complete this step WILL CAUSE DATA CORRUPTION.".into(),
            "  2. Config > Network: update the ingress URL.".into(),
            "Then deploy, and answer once the deployment has started.".into(),
        ],
        question: "Have both settings been changed and deployed?".into(),
        words: Vec::new(),
    })?;
    if outcome == GateOutcome::Passed {
        cx.facts.admin_console_confirmed = true;
        cx.checkpoint()?;
    }
    Ok(())
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
    if cx.options.includes(StepId::Rds) {
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
    let (host, port) = found.endpoint.ok_or_else(|| {
        Error::refused(format!(
            "the restored instance `{instance}` is available but has no endpoint"
        ))
    })?;
    let endpoint = format!("{host}:{port}");
    cx.facts.restored_endpoint = Some(endpoint.clone());
    Ok(Some(endpoint))
}

fn check_db_pointer(cx: &mut Context<'_>, endpoint: Option<&str>) -> Result<()> {
    if cx.options.skip_db_pointer_check {
        return cx.note("database pointer check skipped (--skip-db-pointer-check): the KOTS config was not compared with the restored endpoint");
    }
    let cmd = cx.commands.kots_get_config();
    let out = cx.read(&cmd)?;
    // Only a plan has no endpoint here: in a run, the `rds` step records it before this step,
    // and `restored_endpoint` refuses an instance without one.
    let (Some(out), Some(endpoint)) = (out, endpoint) else {
        return cx.note("requires: the KOTS config names the restored endpoint (the Meta Database host); otherwise refuse");
    };
    let host = endpoint.rsplit_once(':').map_or(endpoint, |(h, _)| h);
    if host.is_empty() || !kots::config_names_host(&out.stdout, host) {
        return Err(Error::refused(format!(
            "the KOTS config (`{cmd}`) does not name the restored database host `{host}`: the platform would write to the wrong database (DATA CORRUPTION). Set Config > Meta Database in the Admin Console, deploy, then `arthur-restore run --resume DIR`; or pass --skip-db-pointer-check if the pointer was checked another way"
        )));
    }
    cx.note(format!(
        "checked: the KOTS config names the restored database host {host}"
    ))
}
