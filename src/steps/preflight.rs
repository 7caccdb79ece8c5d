//! Checks before any change (SPEC section 2): tools, identity, namespaces, every chosen backup,
//! the RDS snapshot, the ClickHouse backup on every node, the restore CronJob. Any failure here
//! refuses (exit 3) before anything is changed.

use super::{Context, parsed, required};
use crate::error::{Error, Result};
use crate::parse::{clickhouse, kube, rds, velero};
use crate::runbook::{StepId, VeleroComponent, fixed};
use crate::tool::Tool;

/// The first section of every plan and run: which programs, which cluster (SPEC section 5,
/// rule 9). It reads only, and only records: nothing here refuses but another cluster on resume.
pub fn identify(cx: &mut Context<'_>) -> Result<()> {
    cx.exec.section(crate::transcript::IDENTITY_TITLE)?;
    record_identity(cx)
}

pub fn preflight(cx: &mut Context<'_>) -> Result<()> {
    cx.exec.section(crate::transcript::PREFLIGHT_TITLE)?;
    let commands = cx.commands.clone();
    for namespace in [&cx.options.namespace, &cx.options.velero_namespace] {
        let cmd = commands.get_namespace(namespace);
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
                first_line(&out)
            ))?;
        }
    }
    for component in VeleroComponent::ALL {
        if cx.options.includes(component.step()) {
            let backup = required(
                cx.options.backups.velero(component),
                component.flag(),
                component.step(),
            )?;
            check_velero_backup(cx, backup)?;
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
        let cronjob = commands.get_cronjobs();
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
        if !cx.facts.clickhouse_job_applied {
            let job = commands.get_restore_job();
            let out = cx.exec.probe(&job)?;
            if out
                .as_ref()
                .is_some_and(|o| !o.success() && kube::is_not_found(&o.stderr))
            {
                cx.note(format!(
                    "as required: no Job {} exists yet",
                    fixed::CLICKHOUSE_JOB
                ))?;
            }
            if let Some(out) = out
                && out.success()
            {
                return Err(Error::refused(format!(
                    "a Job `{}` already exists in namespace `{}`, from an earlier restore; look at it (`{}`), delete it (`kubectl delete job {} -n {}`) and run again",
                    fixed::CLICKHOUSE_JOB,
                    cx.options.namespace,
                    commands.job_logs(fixed::CLICKHOUSE_JOB),
                    fixed::CLICKHOUSE_JOB,
                    cx.options.namespace
                )));
            }
        }
    }
    cx.note("preflight passed: nothing has been changed so far")
}

/// The versions, the kube context and the cluster's identity (SPEC section 5, rule 9). They are
/// recorded, not required: a CLI that cannot say its version, or a context that cannot be read,
/// is noted and the preflight goes on.
fn record_identity(cx: &mut Context<'_>) -> Result<()> {
    let commands = cx.commands.clone();
    let mut versions: Vec<String> = Vec::new();
    let answer = |cx: &mut Context<'_>, cmd: crate::cmd::Cmd| -> Result<Option<String>> {
        Ok(cx.exec.probe(&cmd)?.map(|out| {
            if out.success() {
                first_line(&out)
            } else {
                format!("unknown (`{cmd}` exited {})", out.status)
            }
        }))
    };
    for tool in Tool::ALL {
        if let Some(version) = answer(cx, commands.version(tool))? {
            versions.push(format!("{tool}: {version}"));
        }
    }
    let needs_kots = [StepId::Platform, StepId::Messaging, StepId::Smoke]
        .iter()
        .any(|step| cx.options.includes(*step));
    if needs_kots && let Some(version) = answer(cx, commands.kots_version())? {
        versions.push(format!("kots: {version}"));
    }
    // `kubectl config current-context` names the kubeconfig's context; --context overrides it.
    let context = answer(cx, commands.current_context())?.map(|current| {
        match &cx.options.connection.context {
            Some(given) => {
                format!("{given} (--context; the kubeconfig's current context is {current})")
            }
            None => current,
        }
    });
    let uid_cmd = commands.cluster_identity();
    let uid = match cx.exec.probe(&uid_cmd)? {
        Some(out) if out.success() && !first_line(&out).is_empty() => Some(Some(first_line(&out))),
        Some(_) => Some(None),
        None => None,
    };
    let (Some(context), Some(uid)) = (context, uid) else {
        return Ok(());
    };
    if let Some(uid) = &uid {
        check_same_cluster(cx, uid)?;
    }
    cx.note(format!(
        "identity: kube context {context}, cluster (kube-system namespace UID) {}\nversions: {}",
        uid.as_deref().unwrap_or("unknown: it could not be read"),
        versions.join("; ")
    ))?;
    cx.facts.kube_context = Some(context);
    if uid.is_some() {
        cx.facts.cluster_uid = uid;
    }
    Ok(())
}

fn first_line(out: &crate::executor::Output) -> String {
    let text = if out.stdout.trim().is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    // `velero version` starts with a `Client:` heading; the version is on the next line.
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.ends_with(':'))
        .unwrap_or("")
        .to_string()
}

/// A resumed run must touch the cluster the run began on.
fn check_same_cluster(cx: &mut Context<'_>, uid: &str) -> Result<()> {
    match &cx.facts.cluster_uid {
        Some(recorded) if recorded != uid => Err(Error::refused(format!(
            "this run began on the cluster whose kube-system namespace UID is {recorded}, but the current kube context reaches {uid}; select the run's cluster (--kubeconfig/--context) and resume again"
        ))),
        _ => Ok(()),
    }
}

fn check_velero_backup(cx: &mut Context<'_>, backup: &str) -> Result<()> {
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
            Error::command_failed(&cmd, &out)
        });
    }
    let backups = parsed(&cmd, velero::backups(&out.stdout))?;
    let found = backups.iter().find(|b| b.name == backup);
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
        cx.options.rds.snapshot.as_deref(),
        "--rds-snapshot",
        StepId::Rds,
    )?
    .to_string();
    // The source's snapshots are listed (the form discovery uses); a snapshot of another
    // instance is asked for by its own identifier.
    let mut found: Option<rds::DbSnapshot> = None;
    let mut asked = false;
    let mut offline = false;
    if let Some(source) = cx.options.rds.source.clone() {
        let cmd = cx.commands.describe_db_snapshots_of(&source);
        match cx.exec.probe(&cmd)? {
            None => offline = true,
            Some(out) if out.success() => {
                asked = true;
                found = parsed(&cmd, rds::snapshots(&out.stdout))?
                    .into_iter()
                    .find(|s| s.id == snapshot);
            }
            Some(out) if !rds::is_not_found(&out.stderr) => {
                return Err(Error::command_failed(&cmd, &out));
            }
            _ => {}
        }
    }
    if found.is_none() && !offline {
        let cmd = cx.commands.describe_db_snapshot(&snapshot);
        match cx.exec.probe(&cmd)? {
            Some(out) if out.success() => {
                asked = true;
                found = parsed(&cmd, rds::snapshots(&out.stdout))?
                    .into_iter()
                    .next();
            }
            Some(out) if rds::is_not_found(&out.stderr) => asked = true,
            Some(out) => return Err(Error::command_failed(&cmd, &out)),
            None => {}
        }
    }
    match (found, asked) {
        (Some(s), _) if s.status == "available" => {}
        (Some(s), _) => {
            return Err(Error::refused(format!(
                "the RDS snapshot `{snapshot}` is {}, not available",
                s.status
            )));
        }
        (None, true) => {
            return Err(Error::refused(format!(
                "the RDS snapshot `{snapshot}` does not exist; list the snapshots with `aws rds describe-db-snapshots --db-instance-identifier SOURCE`, or see `arthur-restore backups --rds-source SOURCE`"
            )));
        }
        (None, false) => cx.note(format!("requires: snapshot {snapshot} is available"))?,
    }
    let instance = cx.options.rds.instance.clone().unwrap_or_default();
    let cmd = cx.commands.describe_db_instance(&instance);
    if let Some(out) = cx.exec.probe(&cmd)? {
        if out.success() && !cx.facts.rds_restore_requested {
            return Err(Error::refused(format!(
                "the RDS instance `{instance}` already exists; choose a new --rds-instance, or continue an earlier run with `run --resume DIR`"
            )));
        }
        if !out.success() && !rds::is_not_found(&out.stderr) {
            return Err(Error::command_failed(&cmd, &out));
        }
        if !out.success() {
            cx.note(format!("as required: no instance {instance} exists yet"))?;
        }
    } else {
        cx.note(format!(
            "requires: no instance {instance} exists yet (DBInstanceNotFound)"
        ))?;
    }
    if let Some(like) = cx.options.rds.like.clone() {
        let cmd = cx.commands.describe_db_instance(&like);
        if let Some(out) = cx.exec.probe(&cmd)?
            && !out.success()
        {
            return Err(if rds::is_not_found(&out.stderr) {
                Error::refused(format!(
                    "the --rds-like instance `{like}` does not exist; give the settings with --rds-port, --rds-security-group, --rds-subnet-group and --rds-instance-class instead"
                ))
            } else {
                Error::command_failed(&cmd, &out)
            });
        }
    }
    Ok(())
}

/// Lists the ClickHouse backups (exec or S3) and checks the chosen one is on every node.
pub(super) fn check_clickhouse_backup(cx: &mut Context<'_>, backup: &str) -> Result<()> {
    let s3_uri = cx.options.clickhouse_s3_uri.clone();
    let listed = crate::discovery::clickhouse_backups(cx.exec, &cx.commands, s3_uri.as_deref())?;
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
