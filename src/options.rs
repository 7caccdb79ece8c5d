//! What a restore is asked to do, validated as a whole: the raw flags of `cli.rs` become a
//! `RestoreOptions`, where the combinations are checked (which flags each step needs, how
//! --only/--skip/--from select steps).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::cli::{GlobalArgs, RdsArgs, RestoreArgs, StepArgs, TimingArgs};
use crate::error::{Error, Result};
use crate::runbook::commands::Connection;
use crate::runbook::{Commands, StepId, VeleroComponent};

/// Explicit backup names; `None` where discovery is to choose (issue: restore points).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupNames {
    pub messaging: Option<String>,
    pub enrichments: Option<String>,
    pub workflows: Option<String>,
    pub clickhouse: Option<String>,
}

impl BackupNames {
    pub fn velero(&self, component: VeleroComponent) -> Option<&str> {
        match component {
            VeleroComponent::Messaging => self.messaging.as_deref(),
            VeleroComponent::Enrichments => self.enrichments.as_deref(),
            VeleroComponent::Workflows => self.workflows.as_deref(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsOptions {
    pub snapshot: Option<String>,
    pub instance: Option<String>,
    pub like: Option<String>,
    pub source: Option<String>,
    pub port: Option<u16>,
    pub security_groups: Vec<String>,
    pub subnet_group: Option<String>,
    pub instance_class: Option<String>,
}

impl RdsOptions {
    fn from_args(args: &RdsArgs) -> RdsOptions {
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

    /// The explicit settings that are missing when no --rds-like instance supplies them.
    fn missing_settings(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        if self.port.is_none() {
            missing.push("--rds-port");
        }
        if self.security_groups.is_empty() {
            missing.push("--rds-security-group");
        }
        if self.subnet_group.is_none() {
            missing.push("--rds-subnet-group");
        }
        if self.instance_class.is_none() {
            missing.push("--rds-instance-class");
        }
        missing
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timing {
    #[serde(with = "millis")]
    pub timeout: Duration,
    #[serde(with = "millis")]
    pub poll_interval: Duration,
    #[serde(with = "millis")]
    pub command_timeout: Duration,
}

impl Timing {
    pub fn from_args(args: &TimingArgs) -> Timing {
        Timing {
            timeout: args.timeout,
            poll_interval: args.poll_interval,
            command_timeout: args.command_timeout,
        }
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(value.as_millis() as u64)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// Everything a plan or a run needs, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RestoreOptions {
    pub namespace: String,
    pub velero_namespace: String,
    pub connection: Connection,
    pub clickhouse_pod: String,
    pub clickhouse_s3_uri: Option<String>,
    pub backups: BackupNames,
    pub at: Option<String>,
    pub allow_mixed: bool,
    pub rds: RdsOptions,
    /// The steps to perform, in runbook order.
    pub steps: Vec<StepId>,
    pub timing: Timing,
    pub local_port: u16,
    pub skip_db_pointer_check: bool,
}

impl RestoreOptions {
    pub fn new(global: &GlobalArgs, args: &RestoreArgs) -> Result<RestoreOptions> {
        let RestoreArgs {
            point,
            rds,
            steps,
            timing,
            local_port,
            skip_db_pointer_check,
        } = args;
        let namespace = require_namespace(global)?;
        if let Some(at) = &point.at {
            parse_at(at)?;
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
            rds: RdsOptions::from_args(rds),
            steps: select_steps(steps)?,
            timing: Timing::from_args(timing),
            local_port: *local_port,
            skip_db_pointer_check: *skip_db_pointer_check,
        })
    }

    pub fn commands(&self) -> Commands {
        Commands {
            namespace: self.namespace.clone(),
            velero_namespace: self.velero_namespace.clone(),
            clickhouse_pod: self.clickhouse_pod.clone(),
            connection: self.connection.clone(),
        }
    }

    pub fn includes(&self, step: StepId) -> bool {
        self.steps.contains(&step)
    }

    /// Checks that every selected step has the names it needs without discovery (the offline
    /// plan runs nothing, so nothing can be discovered). The error names the missing flag and
    /// the way out.
    pub fn require_explicit(&self) -> Result<()> {
        let mut missing: Vec<String> = Vec::new();
        let mut need = |step: StepId, flag: &str, present: bool| {
            if self.includes(step) && !present {
                missing.push(format!("{flag} (needed by the `{step}` step)"));
            }
        };
        need(
            StepId::Clickhouse,
            "--clickhouse-backup",
            self.backups.clickhouse.is_some(),
        );
        for component in VeleroComponent::ALL {
            need(
                component.step(),
                component.flag(),
                self.backups.velero(component).is_some(),
            );
        }
        need(StepId::Rds, "--rds-snapshot", self.rds.snapshot.is_some());
        if missing.is_empty() {
            Ok(())
        } else {
            Err(Error::usage(format!(
                "--offline runs nothing, so it cannot discover backups; missing: {}. Give the names, or leave the steps out with --skip",
                missing.join(", ")
            )))
        }
    }

    /// Checks the RDS flags and the database-pointer flags that every plan and run needs.
    pub fn check_rds(&self) -> Result<()> {
        if self.includes(StepId::Rds) {
            if self.rds.instance.is_none() {
                return Err(Error::usage(
                    "the `rds` step needs --rds-instance ID (the identifier of the new instance); or leave the step out with --skip rds",
                ));
            }
            if self.rds.like.is_none() {
                let missing = self.rds.missing_settings();
                if !missing.is_empty() {
                    return Err(Error::usage(format!(
                        "the `rds` step needs --rds-like ID (copy the settings of the source instance) or every explicit setting; missing: {}",
                        missing.join(", ")
                    )));
                }
            }
            if self.rds.snapshot.is_none() && self.rds.source.is_none() {
                return Err(Error::usage(
                    "the `rds` step needs --rds-snapshot ID, or --rds-source/--rds-like ID so that the snapshot of the restore point can be found",
                ));
            }
            if self.rds.like.is_some() && self.rds.like == self.rds.instance {
                return Err(Error::usage(
                    "--rds-instance names the same instance as --rds-like; the restore needs a new identifier",
                ));
            }
        }
        if self.includes(StepId::Platform)
            && !self.skip_db_pointer_check
            && self.rds.instance.is_none()
        {
            return Err(Error::usage(
                "the `platform` step checks that the KOTS config names the restored database: give --rds-instance ID (the restored instance), or --skip-db-pointer-check",
            ));
        }
        Ok(())
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

pub fn require_namespace(global: &GlobalArgs) -> Result<String> {
    global.namespace.clone().ok_or_else(|| {
        Error::usage(
            "the Arthur namespace is needed: give -n/--namespace NS before the command (or set ARTHUR_NAMESPACE)",
        )
    })
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

/// `--at`: RFC 3339, or a date (the end of that day, UTC).
pub fn parse_at(text: &str) -> Result<jiff::Timestamp> {
    if let Ok(timestamp) = text.parse::<jiff::Timestamp>() {
        return Ok(timestamp);
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>()
        && text.len() == 10
    {
        let end_of_day = date.at(23, 59, 59, 999_999_999);
        if let Ok(timestamp) = jiff::tz::TimeZone::UTC.to_timestamp(end_of_day) {
            return Ok(timestamp);
        }
    }
    Err(Error::usage(format!(
        "--at `{text}` is not a time: give RFC 3339 (2023-05-11T15:30:00-04:00) or a date (2023-05-11)"
    )))
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

    #[test]
    fn at_accepts_rfc3339_and_dates() {
        assert_eq!(
            parse_at("2023-05-11T15:30:00-04:00").unwrap().to_string(),
            "2023-05-11T19:30:00Z"
        );
        assert_eq!(
            parse_at("2023-05-11").unwrap().to_string(),
            "2023-05-11T23:59:59.999999999Z"
        );
        assert!(parse_at("yesterday").is_err());
        assert!(parse_at("2023-5-1").is_err());
    }
}
