//! The runbook as data: its steps, in order, with their section titles and documented commands.
//!
//! `plan`, `run`, `steps` and `audit` all read this module; nothing else spells a command (the
//! catalogue in `commands.rs` builds every argv).

pub mod commands;

use serde::{Deserialize, Serialize};

pub use commands::Commands;

/// A step of the runbook (SPEC section 2), in runbook order.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum StepId {
    Rds,
    Platform,
    Clickhouse,
    Messaging,
    Enrichments,
    Workflows,
    Smoke,
}

impl StepId {
    pub const ALL: [StepId; 7] = [
        StepId::Rds,
        StepId::Platform,
        StepId::Clickhouse,
        StepId::Messaging,
        StepId::Enrichments,
        StepId::Workflows,
        StepId::Smoke,
    ];

    pub fn id(self) -> &'static str {
        match self {
            StepId::Rds => "rds",
            StepId::Platform => "platform",
            StepId::Clickhouse => "clickhouse",
            StepId::Messaging => "messaging",
            StepId::Enrichments => "enrichments",
            StepId::Workflows => "workflows",
            StepId::Smoke => "smoke",
        }
    }

    /// The runbook's section title, printed as the `## ` line of the transcript.
    pub fn title(self) -> &'static str {
        match self {
            StepId::Rds => "Restore RDS Postgres",
            StepId::Platform => "Install the Arthur Platform",
            StepId::Clickhouse => "Restore ClickHouse Data",
            StepId::Messaging => "Restore Messaging Infrastructure",
            StepId::Enrichments => "Restore Enrichments Infrastructure",
            StepId::Workflows => "Restore Enrichments Workflows",
            StepId::Smoke => "Smoke Tests and Validation",
        }
    }

    /// What the tool does in this step, in one sentence (for `steps` and `--help`).
    pub fn summary(self) -> &'static str {
        match self {
            StepId::Rds => {
                "restore the RDS snapshot into a new instance with the source's port, security groups, subnet group and class; wait until it is available"
            }
            StepId::Platform => {
                "gate: the operator points the Admin Console's Meta Database at the restored endpoint and updates the ingress URL; then check the KOTS config and wait for every pod and job"
            }
            StepId::Clickhouse => {
                "check the ClickHouse backup exists on every node, create the restore Job from the CronJob with the backup name filled in, apply it"
            }
            StepId::Messaging => {
                "delete the two messaging StatefulSets and their PVCs (and PVs left behind), confirm they are gone, restore Kafka and ZooKeeper with Velero, wait for the app to be ready"
            }
            StepId::Enrichments => "restore the enrichments infrastructure with Velero",
            StepId::Workflows => {
                "restore the enrichments workflows with Velero, then call the batch-recover endpoint of the dataset service through a port-forward"
            }
            StepId::Smoke => {
                "check pods, jobs, the KOTS app, the ClickHouse restore job and this run's Velero restores"
            }
        }
    }

    pub fn from_id(id: &str) -> Option<StepId> {
        StepId::ALL.into_iter().find(|step| step.id() == id)
    }

    /// The Velero backup component a step restores, if it is a Velero step.
    pub fn velero_component(self) -> Option<VeleroComponent> {
        match self {
            StepId::Messaging => Some(VeleroComponent::Messaging),
            StepId::Enrichments => Some(VeleroComponent::Enrichments),
            StepId::Workflows => Some(VeleroComponent::Workflows),
            _ => None,
        }
    }
}

impl std::fmt::Display for StepId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// The three Velero backups of a restore point, named by their suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VeleroComponent {
    Messaging,
    Enrichments,
    Workflows,
}

impl VeleroComponent {
    pub const ALL: [VeleroComponent; 3] = [
        VeleroComponent::Messaging,
        VeleroComponent::Enrichments,
        VeleroComponent::Workflows,
    ];

    /// The word the runbook greps the backup listing for, and the backup name's suffix.
    pub fn word(self) -> &'static str {
        match self {
            VeleroComponent::Messaging => "messaging",
            VeleroComponent::Enrichments => "enrichments",
            VeleroComponent::Workflows => "workflows",
        }
    }

    /// The command-line flag that names this backup explicitly.
    pub fn flag(self) -> &'static str {
        match self {
            VeleroComponent::Messaging => "--messaging-backup",
            VeleroComponent::Enrichments => "--enrichments-backup",
            VeleroComponent::Workflows => "--workflows-backup",
        }
    }

    pub fn step(self) -> StepId {
        match self {
            VeleroComponent::Messaging => StepId::Messaging,
            VeleroComponent::Enrichments => StepId::Enrichments,
            VeleroComponent::Workflows => StepId::Workflows,
        }
    }
}

/// Names fixed by the Arthur platform and the runbook.
pub mod fixed {
    pub const MESSAGING_STATEFULSETS: [&str; 2] = ["messaging", "messaging-cp-zookeeper"];
    pub const CLICKHOUSE_CRONJOB: &str = "clickhouse-restore-cronjob";
    pub const CLICKHOUSE_JOB: &str = "clickhouse-restore";
    pub const CLICKHOUSE_YAML: &str = "clickhouse-restore.yaml";
    pub const BACKUP_NAME_PLACEHOLDER: &str = "insert-backup-name-here";
    pub const DATASET_SERVICE: &str = "svc/arthurai-dataset-service";
    pub const RECOVER_PATH: &str = "/api/v1/workflows/batch/recover";
    pub const KOTS_APP_SLUG: &str = "arthur";
    pub const DEFAULT_CLICKHOUSE_POD: &str = "chi-olap-installation-arthur-0-0-0";
}

/// A catalogue with the runbook's own placeholders (`$arthur_namespace`), for `steps` and for
/// matching hand-typed logs.
pub fn template_commands() -> Commands {
    Commands {
        namespace: "$arthur_namespace".into(),
        velero_namespace: "$velero_namespace".into(),
        clickhouse_pod: fixed::DEFAULT_CLICKHOUSE_POD.into(),
        connection: commands::Connection::default(),
    }
}

/// The commands a step is documented to run (the runbook's, and for `rds` the AWS
/// documentation's), in order, as built by the catalogue.
pub fn documented(step: StepId, commands: &Commands) -> Vec<crate::cmd::Cmd> {
    let settings = commands::RdsSettings {
        port: "PORT".into(),
        security_groups: vec!["SG1".into(), "SG2".into()],
        subnet_group: "GROUP".into(),
        instance_class: "CLASS".into(),
    };
    match step {
        StepId::Rds => vec![
            commands.describe_db_instance("SOURCE"),
            commands.restore_db_instance("NEW", "SNAPSHOT", &settings),
            commands.describe_db_instance("NEW"),
        ],
        StepId::Platform => vec![
            commands.kots_get_config(),
            commands.get_pods(),
            commands.get_jobs(),
        ],
        StepId::Clickhouse => vec![
            commands.clickhouse_backup_list(),
            commands.s3_list("s3://<s3-bucket-name>/<backup-path>/"),
            commands.create_restore_job_yaml(),
            commands.apply(std::path::Path::new(fixed::CLICKHOUSE_YAML)),
        ],
        StepId::Messaging => vec![
            commands.get_statefulsets(),
            commands.delete_statefulset("messaging"),
            commands.delete_statefulset("messaging-cp-zookeeper"),
            commands.get_pvcs(),
            commands.delete_pvcs(&["PVC...".into()]),
            commands.get_pvs(),
            commands.delete_pvs(&["PV...".into()]),
            commands.velero_backup_list(),
            commands.velero_restore_create("$messaging_backup"),
            commands.kots_get_apps(),
        ],
        StepId::Enrichments => vec![
            commands.velero_backup_list(),
            commands.velero_restore_create("$enrichments_backup"),
        ],
        StepId::Workflows => vec![
            commands.velero_backup_list(),
            commands.velero_restore_create("$workflows_backup"),
            commands.port_forward(7899),
            commands.recover_workflows(7899),
        ],
        StepId::Smoke => vec![
            commands.get_pods(),
            commands.get_jobs(),
            commands.kots_get_apps(),
            commands.get_restore_job_json(),
            commands.velero_restore_json("$restore_name"),
        ],
    }
}
