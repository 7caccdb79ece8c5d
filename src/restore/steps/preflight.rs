//! Checks before any change (SPEC section 2): tools, identity, namespaces, every chosen backup,
//! the RDS snapshot, the ClickHouse backup on every node, the restore CronJob. Any failure here
//! refuses (exit 3) before anything is changed.

use super::{Context, parsed, required};
use crate::error::{Error, Result};
use crate::names::{RdsIdentifier, SnapshotId, VeleroBackupName};
use crate::parse::{clickhouse, kube, rds, velero};
use crate::process::{Cmd, Read, command_failed};
use crate::record::transcript::PREFLIGHT_TITLE;
use crate::runbook::{StepId, VeleroComponent, fixed};

pub fn preflight(cx: &mut Context<'_>) -> Result<()> {
    cx.exec.section(PREFLIGHT_TITLE)?;
    // The checks' first reads need no other's answer: they run side by side, and are taken
    // below in this order. Reads that depend on an answer (a snapshot not in its source's
    // listing, a Job to adopt) run when they are needed.
    let reads = preflight_reads(cx);
    cx.exec
        .read_ahead(&reads.iter().map(Read::answer).collect::<Vec<_>>())?;
    check_namespaces(cx)?;
    for component in VeleroComponent::ALL {
        if cx.options.includes(component.step()) {
            let backup = required(
                cx.options.backups.velero(component),
                component.flag(),
                component.step(),
            )?
            .clone();
            check_velero_backup(cx, &backup)?;
        }
    }
    if cx.options.includes(StepId::Rds) {
        check_rds(cx)?;
    }
    if cx.options.includes(StepId::Clickhouse) {
        let backup = required(
            cx.options.backups.clickhouse.as_deref(),
            "--clickhouse-backup",
            StepId::Clickhouse,
        )?
        .to_string();
        check_clickhouse_backup(cx, &backup)?;
        check_restore_cronjob(cx)?;
        if !cx.facts.clickhouse_job_applied {
            check_no_restore_job(cx, &backup)?;
        }
    }
    cx.note("preflight passed: nothing has been changed so far")
}

/// The reads every check below begins with, in the order the checks take them.
fn preflight_reads(cx: &Context<'_>) -> Vec<Cmd> {
    let mut reads = vec![
        cx.commands.get_namespace(&cx.options.namespace),
        cx.commands.get_namespace(&cx.options.velero_namespace),
    ];
    for component in VeleroComponent::ALL {
        if cx.options.includes(component.step())
            && let Some(backup) = cx.options.backups.velero(component)
        {
            reads.push(cx.commands.velero_backup_json(backup));
        }
    }
    if cx.options.includes(StepId::Rds) && cx.options.rds.snapshot.is_some() {
        let rds = &cx.options.rds;
        match (&rds.source, &rds.snapshot) {
            (Some(source), _) => reads.push(cx.commands.describe_db_snapshots_of(source)),
            (None, Some(snapshot)) => reads.push(cx.commands.describe_db_snapshot(snapshot)),
            (None, None) => {}
        }
        reads.extend(
            rds.instance
                .iter()
                .map(|i| cx.commands.describe_db_instance(i)),
        );
        reads.extend(rds.like.iter().map(|i| cx.commands.describe_db_instance(i)));
    }
    if cx.options.includes(StepId::Clickhouse) && cx.options.backups.clickhouse.is_some() {
        reads.push(crate::restore::inventory::clickhouse_listing(
            &cx.commands,
            cx.options.clickhouse_s3_uri.as_ref(),
        ));
        reads.push(cx.commands.get_cronjobs());
        if !cx.facts.clickhouse_job_applied {
            reads.push(cx.commands.get_restore_job());
        }
    }
    reads
}

/// The Job exists and this run sent `kubectl apply` without seeing the answer: it is this
/// run's when its BACKUP_NAME is this run's backup and it was made after the run began. Then it
/// is adopted (true); else it is someone else's (false).
fn adopt_restore_job(cx: &mut Context<'_>, backup: &str) -> Result<bool> {
    let cmd = cx.commands.get_restore_job_json();
    let Some(out) = cx.read(&cmd)? else {
        return Ok(false);
    };
    let origin = parsed(&cmd, kube::job_origin(&out.stdout))?;
    let ours = origin.backup_name.as_deref() == Some(backup)
        && cx.facts.made_by_this_run(origin.created.as_deref());
    if !ours {
        return Ok(false);
    }
    cx.facts.clickhouse_job_applied = true;
    cx.checkpoint()?;
    cx.note(format!(
        "the Job {} exists with BACKUP_NAME {backup}, created {} after this run began: it is the one this run applied before the interruption, whose answer was not seen; adopted, not applied again",
        fixed::CLICKHOUSE_JOB,
        origin.created.as_deref().unwrap_or("?")
    ))?;
    Ok(true)
}

fn check_namespaces(cx: &mut Context<'_>) -> Result<()> {
    let namespaces = [
        cx.options.namespace.clone(),
        cx.options.velero_namespace.clone(),
    ];
    for namespace in &namespaces {
        let cmd = cx.commands.get_namespace(namespace);
        if let Some(out) = cx.exec.probe(&cmd)?
            && !out.success()
        {
            if kube::is_not_found(&out.stderr) {
                return Err(Error::refused(format!(
                    "namespace `{namespace}` does not exist (`{cmd}`); check -n/--velero-namespace and the kube context"
                )));
            }
            // Reading namespaces may be forbidden to the operator; kubectl itself never checks
            // them, so the later listings would only look empty. Say so and go on.
            cx.note(format!(
                "could not confirm that namespace {namespace} exists ({}); going on",
                out.stderr
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("no error text")
            ))?;
        }
    }
    Ok(())
}

fn check_restore_cronjob(cx: &mut Context<'_>) -> Result<()> {
    let cronjob = cx.commands.get_cronjobs();
    if let Some(out) = cx.exec.probe(&cronjob)?
        && !parsed(&cronjob, kube::names(&out.stdout))?
            .iter()
            .any(|name| name == fixed::CLICKHOUSE_CRONJOB)
    {
        return Err(Error::refused(format!(
            "the CronJob `{}` is missing in namespace `{}` (`{cronjob}`); the platform installs it: finish the `platform` step first",
            fixed::CLICKHOUSE_CRONJOB,
            cx.options.namespace
        )));
    }
    Ok(())
}

/// A Job `clickhouse-restore` left by an earlier restore would make `kubectl apply` change it
/// instead of creating this run's.
fn check_no_restore_job(cx: &mut Context<'_>, backup: &str) -> Result<()> {
    let job = cx.commands.get_restore_job();
    let Some(out) = cx.exec.probe(&job)? else {
        return Ok(());
    };
    if out.success() {
        if cx.facts.clickhouse_apply_sent && adopt_restore_job(cx, backup)? {
            return Ok(());
        }
        return Err(Error::refused(format!(
            "a Job `{}` already exists in namespace `{}`, from an earlier restore; look at it (`{}`), delete it (`{}`) and run again (nothing was changed)",
            fixed::CLICKHOUSE_JOB,
            cx.options.namespace,
            cx.commands.job_logs(&fixed::object(fixed::CLICKHOUSE_JOB)),
            cx.commands.delete_restore_job(),
        )));
    }
    if kube::is_not_found(&out.stderr) {
        cx.note(format!(
            "as required: no Job {} exists yet",
            fixed::CLICKHOUSE_JOB
        ))?;
    }
    Ok(())
}

fn check_velero_backup(cx: &mut Context<'_>, backup: &VeleroBackupName) -> Result<()> {
    let cmd = cx.commands.velero_backup_json(backup);
    let Some(out) = cx.exec.probe(&cmd)? else {
        return cx.note(format!("requires: backup {backup} exists and is Completed"));
    };
    if !out.success() {
        return Err(if velero::is_not_found(&out.stderr) {
            Error::refused(format!(
                "the Velero backup `{backup}` does not exist in namespace `{}`; list them with `{}`",
                cx.options.velero_namespace,
                cx.commands.velero_backup_list()
            ))
        } else {
            command_failed(&cmd, &out)
        });
    }
    let backups = parsed(&cmd, velero::backups(&out.stdout))?;
    let found = backups.iter().find(|b| backup == b.name.as_str());
    match found {
        Some(b) if b.phase == "Completed" => Ok(()),
        Some(b) => Err(Error::refused(format!(
            "the Velero backup `{backup}` is {}, not Completed; restoring it would restore partial data",
            b.phase
        ))),
        None => Err(Error::refused(format!(
            "`{cmd}` did not return the backup `{backup}`"
        ))),
    }
}

fn check_rds(cx: &mut Context<'_>) -> Result<()> {
    let snapshot = required(
        cx.options.rds.snapshot.as_ref(),
        "--rds-snapshot",
        StepId::Rds,
    )?
    .clone();
    check_snapshot(cx, &snapshot)?;
    check_target_absent(cx)?;
    check_like_exists(cx)
}

/// What AWS says of a snapshot: found (with its status), known not to exist, or not asked (a
/// plan that runs nothing).
enum SnapshotLookup {
    Found(rds::DbSnapshot),
    Missing,
    NotAsked,
}

/// The source's snapshots are listed (the form discovery uses); a snapshot of another instance
/// is asked for by its own identifier.
fn look_up_snapshot(cx: &mut Context<'_>, snapshot: &SnapshotId) -> Result<SnapshotLookup> {
    let mut asked = false;
    if let Some(source) = cx.options.rds.source.as_ref() {
        let cmd = cx.commands.describe_db_snapshots_of(source);
        match cx.exec.probe(&cmd)? {
            None => return Ok(SnapshotLookup::NotAsked),
            Some(out) if out.success() => {
                asked = true;
                let found = parsed(&cmd, rds::snapshots(&out.stdout))?
                    .into_iter()
                    .find(|s| snapshot == s.id.as_str());
                if let Some(found) = found {
                    return Ok(SnapshotLookup::Found(found));
                }
            }
            Some(out) if !rds::is_not_found(&out.stderr) => {
                return Err(command_failed(&cmd, &out));
            }
            Some(_) => {}
        }
    }
    let cmd = cx.commands.describe_db_snapshot(snapshot);
    match cx.exec.probe(&cmd)? {
        Some(out) if out.success() => {
            let found = parsed(&cmd, rds::snapshots(&out.stdout))?
                .into_iter()
                .next();
            Ok(found.map_or(SnapshotLookup::Missing, SnapshotLookup::Found))
        }
        Some(out) if rds::is_not_found(&out.stderr) => Ok(SnapshotLookup::Missing),
        Some(out) => Err(command_failed(&cmd, &out)),
        None if asked => Ok(SnapshotLookup::Missing),
        None => Ok(SnapshotLookup::NotAsked),
    }
}

fn check_snapshot(cx: &mut Context<'_>, snapshot: &SnapshotId) -> Result<()> {
    match look_up_snapshot(cx, snapshot)? {
        SnapshotLookup::Found(s) if s.status == "available" => Ok(()),
        SnapshotLookup::Found(s) => Err(Error::refused(format!(
            "the RDS snapshot `{snapshot}` is {}, not available",
            s.status
        ))),
        SnapshotLookup::Missing => {
            let source = cx
                .options
                .rds
                .source
                .clone()
                .unwrap_or_else(|| RdsIdentifier::placeholder("SOURCE"));
            Err(Error::refused(format!(
                "the RDS snapshot `{snapshot}` does not exist; list the snapshots with `{}`, or see `arthur-restore backups --rds-source {source}`",
                cx.commands.describe_db_snapshots_of(&source)
            )))
        }
        SnapshotLookup::NotAsked => cx.note(format!("requires: snapshot {snapshot} is available")),
    }
}

/// The new instance must not exist yet, unless this run asked for it before an interruption.
fn check_target_absent(cx: &mut Context<'_>) -> Result<()> {
    let Some(instance) = cx.options.rds.instance.clone() else {
        return Ok(());
    };
    let instance = &instance;
    let cmd = cx.commands.describe_db_instance(instance);
    let Some(out) = cx.exec.probe(&cmd)? else {
        return cx.note(format!(
            "requires: no instance {instance} exists yet (DBInstanceNotFound)"
        ));
    };
    if out.success() && !cx.facts.rds_restore_requested {
        return adopt_instance(cx, instance, &cmd, &out);
    }
    if !out.success() && !rds::is_not_found(&out.stderr) {
        return Err(command_failed(&cmd, &out));
    }
    if !out.success() {
        cx.note(format!("as required: no instance {instance} exists yet"))?;
    }
    Ok(())
}

/// An instance with the new identifier exists, and this run has no answer to its restore
/// request. It is this run's when the run sent the request (saved before sending) and the
/// instance was made after the run began (or is still being made: RDS gives no create time
/// then); it is adopted and the request is not sent again. Anything else is someone else's.
fn adopt_instance(
    cx: &mut Context<'_>,
    instance: &RdsIdentifier,
    cmd: &crate::process::Cmd,
    out: &crate::process::Output,
) -> Result<()> {
    let found = parsed(cmd, rds::instance(&out.stdout))?;
    let ours = cx.facts.rds_restore_sent
        && (found.created.is_none() || cx.facts.made_by_this_run(found.created.as_deref()));
    if !ours {
        return Err(Error::refused(format!(
            "the RDS instance `{instance}` already exists and was not made by this run; choose a new --rds-instance (nothing was changed)"
        )));
    }
    cx.facts.rds_restore_requested = true;
    cx.checkpoint()?;
    cx.note(format!(
        "the RDS instance {instance} exists ({}, created {}): it is the one this run asked for before the interruption, whose answer was not seen; adopted, the restore is not sent again",
        found.status,
        found.created.as_deref().unwrap_or("just now: still being created"),
    ))
}

fn check_like_exists(cx: &mut Context<'_>) -> Result<()> {
    let Some(like) = cx.options.rds.like.as_ref() else {
        return Ok(());
    };
    let cmd = cx.commands.describe_db_instance(like);
    if let Some(out) = cx.exec.probe(&cmd)?
        && !out.success()
    {
        return Err(if rds::is_not_found(&out.stderr) {
            Error::refused(format!(
                "the --rds-like instance `{like}` does not exist (`{cmd}`); give the settings with --rds-port, --rds-security-group, --rds-subnet-group and --rds-instance-class instead"
            ))
        } else {
            command_failed(&cmd, &out)
        });
    }
    Ok(())
}

/// Lists the ClickHouse backups (exec or S3) and checks the chosen one is on every node.
pub(super) fn check_clickhouse_backup(cx: &mut Context<'_>, backup: &str) -> Result<()> {
    let s3_uri = cx.options.clickhouse_s3_uri.clone();
    let listed =
        crate::restore::inventory::clickhouse_backups(cx.exec, &cx.commands, s3_uri.as_ref())?;
    let Some((cmd, backups)) = listed else {
        return cx.note(format!(
            "requires: every ClickHouse node listed has a backup named <node>-{backup}"
        ));
    };
    let nodes = clickhouse::all_nodes(&backups);
    if nodes.is_empty() {
        return Err(Error::refused(format!(
            "`{cmd}` lists no ClickHouse backups (a connection error also gives an empty list); check the backup container's logs"
        )));
    }
    let holding = clickhouse::nodes_holding(&backups, backup);
    let missing: Vec<&String> = nodes.difference(&holding).collect();
    if !missing.is_empty() {
        return Err(Error::refused(format!(
            "the ClickHouse backup `{backup}` is missing on node(s) {}; a partial ClickHouse restore corrupts data. Choose a backup every node has (`arthur-restore backups`)",
            missing
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    cx.note(format!(
        "selected (grep {backup}): {}",
        holding
            .iter()
            .map(|node| format!("{node}-{backup}"))
            .collect::<Vec<_>>()
            .join(" ")
    ))
}
