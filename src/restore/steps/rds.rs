//! Restore RDS Postgres: the runbook names no command ("use the AWS RDS documentation"); these
//! are the AWS documentation's, with the source's settings passed explicitly (left out, they
//! take defaults: the engine's port, the default security group).

use super::{Context, parsed};
use crate::error::{Error, Result};
use crate::names::{InstanceClass, PortNumber, RdsIdentifier, SecurityGroupId, SubnetGroupName};
use crate::parse::rds;
use crate::process::command_failed;
use crate::restore::executor::{Poll, Wait};
use crate::runbook::StepId;
use crate::runbook::commands::RdsSettings;

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    let instance = super::required(
        cx.options.rds.instance.as_ref(),
        "--rds-instance",
        StepId::Rds,
    )?
    .clone();
    let snapshot = super::required(
        cx.options.rds.snapshot.as_ref(),
        "--rds-snapshot",
        StepId::Rds,
    )?
    .clone();
    let wanted = match cx.facts.rds_settings.clone() {
        Some(settings) => settings,
        None => source_settings(cx)?,
    };
    if cx.facts.rds_restore_requested {
        cx.note(format!(
            "the restore of {instance} was requested by this run before the interruption; not sent again"
        ))?;
    } else {
        let restore = cx
            .commands
            .restore_db_instance(&instance, &snapshot, &wanted);
        // Saved before it is sent: if the answer is never seen, a resume looks for the instance.
        cx.facts.rds_restore_sent = true;
        cx.facts.rds_settings = Some(wanted.clone());
        cx.checkpoint()?;
        if let Some(out) = cx.exec.change(&restore)? {
            super::expect_success(&restore, &out)?;
            // Success is decided by the tool: the answer names the new instance.
            let answered = parsed(&restore, rds::restored_identifier(&out.stdout))?;
            if answered != instance.as_str() {
                return Err(Error::StepFailed(format!(
                    "`{restore}` answered for the instance {answered}, not {instance}"
                )));
            }
            cx.facts.rds_settings = Some(wanted.clone());
            cx.facts.rds_restore_requested = true;
            cx.checkpoint()?;
        }
    }
    let available = wait_available(cx, &instance)?;
    let Some(available) = available else {
        return cx.note(format!(
            "then: compare the port, security groups, subnet group and class of {instance} with the source, and record its endpoint"
        ));
    };
    let differences = rds::differences(&available.settings, &wanted);
    if !differences.is_empty() {
        return Err(Error::refused(format!(
            "the restored instance `{instance}` does not match its source: {}. Fix it with `aws rds modify-db-instance` before installing the platform",
            differences.join("; ")
        )));
    }
    let (address, port) = available.endpoint.clone().ok_or_else(|| {
        Error::refused(format!(
            "the restored instance `{instance}` is available but has no endpoint"
        ))
    })?;
    cx.facts.restored_endpoint = Some(format!("{address}:{port}"));
    cx.checkpoint()?;
    cx.note(format!(
        "checked: {instance} has the source's port, security groups, subnet group and class\nrestored endpoint: {address}:{port}"
    ))
}

/// The settings the new instance must have: explicit flags win over the --rds-like instance.
fn source_settings(cx: &mut Context<'_>) -> Result<RdsSettings> {
    let rds_options = cx.options.rds.clone();
    let copied = match &rds_options.like {
        Some(like) => Some(copy_settings(cx, like)?),
        None => None,
    };
    let missing = || {
        Error::usage(
            "the `rds` step needs --rds-like ID or every explicit setting (--rds-port, --rds-security-group, --rds-subnet-group, --rds-instance-class)",
        )
    };
    let port = match rds_options.port {
        Some(port) => PortNumber::new(&port.to_string()).map_err(Error::usage)?,
        None => copied
            .as_ref()
            .map(|c| c.port.clone())
            .ok_or_else(missing)?,
    };
    let security_groups = if rds_options.security_groups.is_empty() {
        copied
            .as_ref()
            .map(|c| c.security_groups.clone())
            .ok_or_else(missing)?
    } else {
        rds_options.security_groups.clone()
    };
    Ok(RdsSettings {
        port,
        security_groups,
        subnet_group: rds_options
            .subnet_group
            .clone()
            .or_else(|| copied.as_ref().map(|c| c.subnet_group.clone()))
            .ok_or_else(missing)?,
        instance_class: rds_options
            .instance_class
            .clone()
            .or_else(|| copied.as_ref().map(|c| c.instance_class.clone()))
            .ok_or_else(missing)?,
    })
}

/// The settings of the --rds-like instance, read from its description and checked before they
/// can go into the restore's argv; placeholders when nothing is read (a plan offline).
fn copy_settings(cx: &mut Context<'_>, like: &RdsIdentifier) -> Result<RdsSettings> {
    let cmd = cx.commands.describe_db_instance(like);
    let Some(out) = cx.read(&cmd)? else {
        cx.note(format!(
            "the port, VPC security groups, DB subnet group and class are copied from {like}'s answer"
        ))?;
        return Ok(RdsSettings {
            port: PortNumber::placeholder(format!("<port of {like}>")),
            security_groups: vec![SecurityGroupId::placeholder(format!(
                "<security groups of {like}>"
            ))],
            subnet_group: SubnetGroupName::placeholder(format!("<subnet group of {like}>")),
            instance_class: InstanceClass::placeholder(format!("<class of {like}>")),
        });
    };
    let described = parsed(&cmd, rds::instance(&out.stdout))?.settings;
    let settings = parsed(&cmd, described.checked())?;
    let others = parsed(&cmd, rds::other_settings(&out.stdout))?;
    let groups: Vec<&str> = settings
        .security_groups
        .iter()
        .map(|g| g.as_str())
        .collect();
    cx.note(format!(
        "copied from {like}: port {}, security groups {}, subnet group {}, class {}\nnot copied, check them on the restored instance (the runbook: \"any other configuration which might be overridden\"): {}",
        settings.port,
        groups.join(" "),
        settings.subnet_group,
        settings.instance_class,
        if others.is_empty() { "none".to_string() } else { others.join(", ") }
    ))?;
    Ok(settings)
}

/// Polls `describe-db-instances` (not `aws rds wait`, whose fixed 30-minute limit a large
/// restore can outlast) until the instance is available.
fn wait_available(
    cx: &mut Context<'_>,
    instance: &RdsIdentifier,
) -> Result<Option<rds::DbInstance>> {
    let probe = cx.commands.describe_db_instance(instance);
    let mut last: Option<rds::DbInstance> = None;
    let what = format!("RDS instance {instance} to be available");
    let probe_for_errors = probe.clone();
    let events = cx.commands.describe_rds_events(instance);
    cx.exec.wait(Wait {
        what: what.clone(),
        probe: probe.clone(),
        timeout: cx.options.timing.timeout,
        check: Box::new(|out| {
            if !out.success() {
                if rds::is_not_found(&out.stderr) {
                    return Ok(Poll::NotYet {
                        progress: "not listed yet".into(),
                        pending: vec![format!("{instance}: not found yet")],
                    });
                }
                return Err(command_failed(&probe_for_errors, out));
            }
            let found = parsed(&probe_for_errors, rds::instance(&out.stdout))?;
            let status = found.status.clone();
            if rds::is_failed_status(&status) {
                return Err(Error::CommandFailed {
                    command: probe_for_errors.to_string(),
                    reason: format!(
                        "the restored instance {instance} is `{status}`; look at its events with `{events}`"
                    ),
                });
            }
            last = Some(found);
            Ok(if status == "available" {
                Poll::Ready(format!("{instance} is available"))
            } else {
                Poll::NotYet {
                    progress: format!("{instance} is {status}"),
                    pending: vec![format!("{instance}: {status}")],
                }
            })
        }),
    })?;
    Ok(last)
}
