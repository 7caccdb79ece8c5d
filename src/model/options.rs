//! What a restore is asked to do, checked as a whole: which namespaces and connection, which
//! backups, which RDS settings, which steps, how long to wait. `cli::settings` builds it from the
//! raw flags; `state.json` keeps it, so that `--resume` continues with the same parameters.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::names::{
    ClickhouseBackupName, InstanceClass, Namespace, ObjectName, RdsIdentifier, S3Uri,
    SecurityGroupId, SnapshotId, SubnetGroupName, VeleroBackupName,
};
use crate::runbook::commands::Connection;
use crate::runbook::{Commands, StepId, VeleroComponent};

/// Explicit backup names; `None` where discovery is to choose (issue: restore points).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackupNames {
    pub messaging: Option<VeleroBackupName>,
    pub enrichments: Option<VeleroBackupName>,
    pub workflows: Option<VeleroBackupName>,
    pub clickhouse: Option<ClickhouseBackupName>,
}

impl BackupNames {
    pub fn velero(&self, component: VeleroComponent) -> Option<&VeleroBackupName> {
        match component {
            VeleroComponent::Messaging => self.messaging.as_ref(),
            VeleroComponent::Enrichments => self.enrichments.as_ref(),
            VeleroComponent::Workflows => self.workflows.as_ref(),
        }
    }

    pub fn set_velero(&mut self, component: VeleroComponent, name: VeleroBackupName) {
        let slot = match component {
            VeleroComponent::Messaging => &mut self.messaging,
            VeleroComponent::Enrichments => &mut self.enrichments,
            VeleroComponent::Workflows => &mut self.workflows,
        };
        *slot = Some(name);
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RdsOptions {
    pub snapshot: Option<SnapshotId>,
    pub instance: Option<RdsIdentifier>,
    pub like: Option<RdsIdentifier>,
    pub source: Option<RdsIdentifier>,
    pub port: Option<u16>,
    pub security_groups: Vec<SecurityGroupId>,
    pub subnet_group: Option<SubnetGroupName>,
    pub instance_class: Option<InstanceClass>,
}

impl RdsOptions {
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
    pub namespace: Namespace,
    pub velero_namespace: Namespace,
    pub connection: Connection,
    pub clickhouse_pod: ObjectName,
    pub clickhouse_s3_uri: Option<S3Uri>,
    pub backups: BackupNames,
    pub at: Option<String>,
    pub allow_mixed: bool,
    pub rds: RdsOptions,
    /// The steps to perform, in runbook order.
    pub steps: Vec<StepId>,
    pub timing: Timing,
    pub local_port: u16,
    pub skip_db_pointer_check: bool,
    /// `--max-output`, in bytes.
    #[serde(default = "default_max_output")]
    pub max_output: u64,
    /// `run --approvers FILE`: the allowed signers whose approval the restore point and the
    /// deletions need (four eyes); kept with the run, so that a resume cannot leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvers: Option<crate::names::CliPath>,
}

fn default_max_output() -> u64 {
    crate::process::DEFAULT_MAX_OUTPUT
}

impl RestoreOptions {
    pub fn commands(&self) -> Commands {
        Commands {
            namespace: self.namespace.clone(),
            velero_namespace: self.velero_namespace.clone(),
            clickhouse_pod: self.clickhouse_pod.clone(),
            connection: self.connection.clone(),
        }
    }

    /// `--at`, read: the newest complete restore point at or before it is chosen.
    pub fn at_time(&self) -> Result<Option<jiff::Timestamp>> {
        self.at
            .as_deref()
            .map(|at| crate::units::at_time(at).map_err(Error::usage))
            .transpose()
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
        // Every missing option at once, not one per attempt.
        let mut missing: Vec<String> = Vec::new();
        if self.includes(StepId::Rds) {
            if self.rds.instance.is_none() {
                missing.push("--rds-instance ID (the identifier of the new instance)".into());
            }
            if self.rds.like.is_none() {
                let settings = self.rds.missing_settings();
                if !settings.is_empty() {
                    missing.push(format!(
                        "--rds-like ID (copy the settings of the source instance) or every explicit setting ({})",
                        settings.join(", ")
                    ));
                }
            }
            if self.rds.snapshot.is_none() && self.rds.source.is_none() {
                missing.push(
                    "--rds-snapshot ID, or --rds-source/--rds-like ID so that the snapshot of the restore point can be found".into(),
                );
            }
            if self.rds.like.is_some() && self.rds.like == self.rds.instance {
                return Err(Error::usage(
                    "--rds-instance names the same instance as --rds-like; the restore needs a new identifier",
                ));
            }
        }
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "the `rds` step needs {}; or leave the step out with --skip rds",
                missing.join("; and ")
            )));
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
