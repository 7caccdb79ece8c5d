//! The second stage of the command line: raw flags (`cli`) become the engine's settings
//! (`RestoreOptions`, `Commands`), with the checks of how flags go together.

use super::{GlobalArgs, RdsArgs, RestoreArgs, StepArgs, TimingArgs};
use crate::error::{Error, Result};
use crate::model::resume::Given;
use crate::model::{BackupNames, RdsOptions, RestoreOptions, Timing};
use crate::names::{ClickhouseBackupName, RdsIdentifier, S3Uri, SnapshotId, VeleroBackupName};
use crate::names::{Namespace, ObjectName};
use crate::runbook::commands::Connection;
use crate::runbook::{Commands, StepId};

/// Everything a plan or a run is asked to do, checked.
pub fn restore_options(global: &GlobalArgs, args: &RestoreArgs) -> Result<RestoreOptions> {
    let RestoreArgs {
        point,
        rds,
        steps,
        timing,
        local_port,
        skip_db_pointer_check,
        max_output,
    } = args;
    let namespace = require_namespace(global)?;
    if let Some(at) = &point.at {
        crate::units::at_time(at).map_err(Error::usage)?;
    }
    Ok(RestoreOptions {
        namespace,
        velero_namespace: global.velero_namespace.clone(),
        connection: connection(global),
        clickhouse_pod: point.clickhouse_pod.clone(),
        clickhouse_s3_uri: point.clickhouse_s3_uri.clone(),
        backups: BackupNames {
            messaging: point.messaging_backup.clone(),
            enrichments: point.enrichments_backup.clone(),
            workflows: point.workflows_backup.clone(),
            clickhouse: point.clickhouse_backup.clone(),
        },
        at: point.at.clone(),
        allow_mixed: point.allow_mixed,
        rds: rds_options(rds),
        steps: select_steps(steps)?,
        timing: timing_of(timing),
        local_port: *local_port,
        skip_db_pointer_check: *skip_db_pointer_check,
        max_output: *max_output,
        approvers: None,
    })
}

fn rds_options(args: &RdsArgs) -> RdsOptions {
    RdsOptions {
        snapshot: args.rds_snapshot.clone(),
        instance: args.rds_instance.clone(),
        like: args.rds_like.clone(),
        source: args.rds_source.clone().or_else(|| args.rds_like.clone()),
        port: args.rds_port,
        security_groups: args.rds_security_groups.clone(),
        subnet_group: args.rds_subnet_group.clone(),
        instance_class: args.rds_instance_class.clone(),
    }
}

pub fn timing_of(args: &TimingArgs) -> Timing {
    Timing {
        timeout: args.timeout,
        poll_interval: args.poll_interval,
        command_timeout: args.command_timeout,
    }
}

pub fn connection(global: &GlobalArgs) -> Connection {
    Connection {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        aws_profile: global.aws_profile.clone(),
        aws_region: global.aws_region.clone(),
        aws_endpoint_url: global.aws_endpoint_url.clone(),
    }
}

pub fn require_namespace(global: &GlobalArgs) -> Result<Namespace> {
    global.namespace.clone().ok_or_else(|| {
        Error::usage(
            "the Arthur namespace is needed: give -n/--namespace NS before the command (or set ARTHUR_NAMESPACE)",
        )
    })
}

/// The command catalogue of a command that is not a restore (`backups`, `verify`).
pub fn commands(
    global: &GlobalArgs,
    namespace: Namespace,
    velero_namespace: Namespace,
    clickhouse_pod: ObjectName,
) -> Commands {
    Commands {
        namespace,
        velero_namespace,
        clickhouse_pod,
        connection: connection(global),
    }
}

/// `--only`, `--skip` and `--from` together: the steps kept, in runbook order.
pub fn select_steps(args: &StepArgs) -> Result<Vec<StepId>> {
    let steps: Vec<StepId> = StepId::ALL
        .into_iter()
        .filter(|step| args.only.is_empty() || args.only.contains(step))
        .filter(|step| !args.skip.contains(step))
        .filter(|step| args.from.is_none_or(|from| *step >= from))
        .collect();
    if steps.is_empty() {
        return Err(Error::usage(
            "--only, --skip and --from leave no step to perform; see `arthur-restore steps`",
        ));
    }
    Ok(steps)
}

/// The options given again on `--resume`, beside what the run recorded (for
/// `model::resume::reconcile`), and the disagreements no correction can mend (the steps chosen,
/// the Velero namespace).
pub fn given_on_resume(
    global: &GlobalArgs,
    args: &super::RunArgs,
    recorded: &RestoreOptions,
) -> (Vec<Given>, Vec<String>) {
    let mut given = fixed_options(global, recorded);
    given.extend(step_options(args, recorded));
    (given, step_disagreements(global, args, recorded))
}

/// A checked value given or recorded, as text for comparing and showing.
fn text<T: std::fmt::Display>(value: &Option<T>) -> Option<String> {
    value.as_ref().map(ToString::to_string)
}

/// The options of the command line that a run records, beside the recorded values.
fn fixed_options(global: &GlobalArgs, recorded: &RestoreOptions) -> Vec<Given> {
    let connection = &recorded.connection;
    let fixed = |flag, given: Option<String>, recorded: Option<String>| Given {
        flag,
        given,
        recorded,
        step: None,
        apply: |_, _| {},
    };
    vec![
        fixed(
            "--namespace",
            text(&global.namespace),
            Some(recorded.namespace.to_string()),
        ),
        fixed(
            "--context",
            text(&global.context),
            text(&connection.context),
        ),
        fixed(
            "--kubeconfig",
            text(&global.kubeconfig),
            text(&connection.kubeconfig),
        ),
        fixed(
            "--aws-endpoint-url",
            text(&global.aws_endpoint_url),
            text(&connection.aws_endpoint_url),
        ),
        fixed(
            "--aws-profile",
            text(&global.aws_profile),
            text(&connection.aws_profile),
        ),
        fixed(
            "--aws-region",
            text(&global.aws_region),
            text(&connection.aws_region),
        ),
    ]
}

/// The options of steps: corrected on resume while their step has not begun.
fn step_options(args: &super::RunArgs, recorded: &RestoreOptions) -> Vec<Given> {
    let (point, rds) = (&args.restore.point, &args.restore.rds);
    vec![
        Given {
            flag: "--messaging-backup",
            given: text(&point.messaging_backup),
            recorded: text(&recorded.backups.messaging),
            step: Some(StepId::Messaging),
            apply: |o, v| o.backups.messaging = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--enrichments-backup",
            given: text(&point.enrichments_backup),
            recorded: text(&recorded.backups.enrichments),
            step: Some(StepId::Enrichments),
            apply: |o, v| o.backups.enrichments = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--workflows-backup",
            given: text(&point.workflows_backup),
            recorded: text(&recorded.backups.workflows),
            step: Some(StepId::Workflows),
            apply: |o, v| o.backups.workflows = VeleroBackupName::new(&v).ok(),
        },
        Given {
            flag: "--clickhouse-backup",
            given: text(&point.clickhouse_backup),
            recorded: text(&recorded.backups.clickhouse),
            step: Some(StepId::Clickhouse),
            apply: |o, v| o.backups.clickhouse = ClickhouseBackupName::new(&v).ok(),
        },
        Given {
            flag: "--clickhouse-s3-uri",
            given: text(&point.clickhouse_s3_uri),
            recorded: text(&recorded.clickhouse_s3_uri),
            step: Some(StepId::Clickhouse),
            apply: |o, v| o.clickhouse_s3_uri = S3Uri::new(&v).ok(),
        },
        Given {
            flag: "--rds-snapshot",
            given: text(&rds.rds_snapshot),
            recorded: text(&recorded.rds.snapshot),
            step: Some(StepId::Rds),
            apply: |o, v| o.rds.snapshot = SnapshotId::new(&v).ok(),
        },
        Given {
            flag: "--rds-instance",
            given: text(&rds.rds_instance),
            recorded: text(&recorded.rds.instance),
            step: Some(StepId::Rds),
            apply: |o, v| o.rds.instance = RdsIdentifier::new(&v).ok(),
        },
        Given {
            flag: "--rds-like",
            given: text(&rds.rds_like),
            recorded: text(&recorded.rds.like),
            step: Some(StepId::Rds),
            apply: |o, v| {
                let like = RdsIdentifier::new(&v).ok();
                if o.rds.source == o.rds.like {
                    o.rds.source = like.clone();
                }
                o.rds.like = like;
            },
        },
    ]
}

/// The step selection and the Velero namespace, which a resume never changes.
fn step_disagreements(
    global: &GlobalArgs,
    args: &super::RunArgs,
    recorded: &RestoreOptions,
) -> Vec<String> {
    let mut disagreements = Vec::new();
    let steps = &args.restore.steps;
    if (!steps.only.is_empty() || !steps.skip.is_empty() || steps.from.is_some())
        && select_steps(steps).ok().as_ref() != Some(&recorded.steps)
    {
        disagreements.push("--only/--skip/--from select other steps than the run's".into());
    }
    if global.velero_namespace != recorded.velero_namespace
        && global.velero_namespace.as_str() != "velero"
    {
        disagreements.push(format!(
            "--velero-namespace {} (the run has {})",
            global.velero_namespace, recorded.velero_namespace
        ));
    }
    disagreements
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(only: &[StepId], skip: &[StepId], from: Option<StepId>) -> Result<Vec<StepId>> {
        select_steps(&StepArgs {
            only: only.to_vec(),
            skip: skip.to_vec(),
            from,
        })
    }

    #[test]
    fn step_selection() {
        assert_eq!(steps(&[], &[], None).unwrap(), StepId::ALL.to_vec());
        assert_eq!(
            steps(&[StepId::Smoke, StepId::Messaging], &[], None).unwrap(),
            vec![StepId::Messaging, StepId::Smoke]
        );
        assert_eq!(
            steps(
                &[],
                &[StepId::Rds, StepId::Platform],
                Some(StepId::Platform)
            )
            .unwrap(),
            vec![
                StepId::Clickhouse,
                StepId::Messaging,
                StepId::Enrichments,
                StepId::Workflows,
                StepId::Smoke
            ]
        );
        assert!(steps(&[StepId::Rds], &[StepId::Rds], None).is_err());
    }
}
