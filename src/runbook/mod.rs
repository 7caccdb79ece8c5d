//! The runbook as data: its steps, in order, with their section titles and documented commands.
//!
//! `plan`, `run`, `steps` and `audit` all read this module; nothing else spells a command (the
//! catalogue in `commands.rs` builds every argv).

pub mod commands;
pub mod notify;
pub mod signing;

use serde::{Deserialize, Serialize};

use crate::names::{
    InstanceClass, Namespace, ObjectName, PortNumber, RdsIdentifier, S3Uri, SecurityGroupId,
    SnapshotId, SubnetGroupName, VeleroBackupName,
};
pub use commands::Commands;

/// A step of the runbook (SPEC section 2), in runbook order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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

    /// A name of this module as a checked object name (a unit test checks every one).
    pub fn object(name: &'static str) -> crate::names::ObjectName {
        crate::names::ObjectName::new(name)
            .unwrap_or_else(|_| crate::names::ObjectName::placeholder(name))
    }
}

/// A catalogue with the runbook's own placeholders (`$arthur_namespace`), for `steps` and for
/// matching hand-typed logs.
pub fn template_commands() -> Commands {
    Commands {
        namespace: Namespace::placeholder("$arthur_namespace"),
        velero_namespace: Namespace::placeholder("$velero_namespace"),
        clickhouse_pod: ObjectName::placeholder(fixed::DEFAULT_CLICKHOUSE_POD),
        connection: commands::Connection::default(),
    }
}

/// How much the runbook insists on a documented command (for `audit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Need {
    /// The runbook's section gives it: a log without it misses a step.
    Required,
    /// One of a group (ClickHouse backups listed with kubectl exec or with aws s3 ls).
    OneOf(u8),
    /// Only when needed (leftover PVs), or from the AWS documentation or SPEC rather than the
    /// runbook's own text.
    Optional,
}

/// One command of a step, as the runbook (or for `rds` the AWS documentation) documents it.
#[derive(Debug, Clone)]
pub struct Documented {
    pub cmd: crate::process::Cmd,
    pub need: Need,
}

/// The commands a step is documented to run, in order, as built by the catalogue.
pub fn documented(step: StepId, commands: &Commands) -> Vec<Documented> {
    use Need::*;
    let settings = commands::RdsSettings {
        port: PortNumber::placeholder("PORT"),
        security_groups: vec![
            SecurityGroupId::placeholder("SG1"),
            SecurityGroupId::placeholder("SG2"),
        ],
        subnet_group: SubnetGroupName::placeholder("GROUP"),
        instance_class: InstanceClass::placeholder("CLASS"),
    };
    let instance = |id: &str| RdsIdentifier::placeholder(id);
    let object = |name: &str| ObjectName::placeholder(name);
    let backup = |name: &str| VeleroBackupName::placeholder(name);
    let list: Vec<(crate::process::Cmd, Need)> = match step {
        StepId::Rds => vec![
            (commands.describe_db_instance(&instance("SOURCE")), Optional),
            (
                commands.restore_db_instance(
                    &instance("NEW"),
                    &SnapshotId::placeholder("SNAPSHOT"),
                    &settings,
                ),
                Optional,
            ),
            (commands.describe_db_instance(&instance("NEW")), Optional),
        ],
        StepId::Platform => vec![
            (commands.kots_get_config(), Optional),
            (commands.get_pods(), Required),
            (commands.get_jobs(), Required),
        ],
        StepId::Clickhouse => vec![
            (commands.clickhouse_backup_list(), OneOf(1)),
            (
                commands.s3_list(&S3Uri::placeholder("s3://<s3-bucket-name>/<backup-path>/")),
                OneOf(1),
            ),
            (commands.create_restore_job_yaml(), Required),
            (
                commands.apply(std::path::Path::new(fixed::CLICKHOUSE_YAML)),
                Required,
            ),
        ],
        StepId::Messaging => vec![
            (commands.get_statefulsets(), Required),
            (commands.delete_statefulset(&object("messaging")), Required),
            (
                commands.delete_statefulset(&object("messaging-cp-zookeeper")),
                Required,
            ),
            (commands.get_pvcs(), Required),
            (commands.delete_pvcs(&[object("PVC...")]), Required),
            (commands.get_pvs(), Required),
            (commands.delete_pvs(&[object("PV...")]), Optional),
            (commands.velero_backup_list(), Required),
            (
                commands.velero_restore_create(&backup("$messaging_backup")),
                Required,
            ),
            (commands.kots_get_apps(), Required),
        ],
        StepId::Enrichments => vec![
            (commands.velero_backup_list(), Required),
            (
                commands.velero_restore_create(&backup("$enrichments_backup")),
                Required,
            ),
        ],
        StepId::Workflows => vec![
            (commands.velero_backup_list(), Required),
            (
                commands.velero_restore_create(&backup("$workflows_backup")),
                Required,
            ),
            (commands.port_forward(7899), Required),
            (commands.recover_workflows(7899), Required),
        ],
        StepId::Smoke => vec![
            (commands.get_pods(), Optional),
            (commands.get_jobs(), Optional),
            (commands.kots_get_apps(), Optional),
            (commands.get_restore_job_json(), Optional),
            (
                commands.velero_restore_json(&object("$restore_name")),
                Optional,
            ),
        ],
    };
    list.into_iter()
        .map(|(cmd, need)| Documented { cmd, need })
        .collect()
}

/// The read-only commands the tool adds to the runbook (preflight, discovery, `-o json` forms of
/// documented listings, polls, the commands named for looking closer). `audit` recognises them
/// as the tool's additions, not as deviations.
pub fn additions(commands: &Commands) -> Vec<crate::process::Cmd> {
    let object = |name: &str| ObjectName::placeholder(name);
    let instance = |id: &str| RdsIdentifier::placeholder(id);
    let mut list: Vec<crate::process::Cmd> = crate::process::Tool::ALL
        .iter()
        .map(|t| commands.version(*t))
        .collect();
    list.extend([
        commands.kots_version(),
        commands.current_context(),
        commands.cluster_identity(),
        commands.aws_caller_identity(),
        commands.get_namespace(&Namespace::placeholder("$namespace")),
        commands.get_cronjobs(),
        commands.get_restore_job(),
        commands.get_restore_job_json(),
        commands.get_pods_json(),
        commands.get_jobs_json(),
        commands.velero_backup_json(&VeleroBackupName::placeholder("$backup")),
        commands.velero_backups_json(),
        commands.velero_restore_json(&object("$restore_name")),
        commands.velero_restores_json(),
        commands.velero_restore_describe(&object("$restore_name")),
        commands.velero_restore_logs(&object("$restore_name")),
        commands.describe_db_instance(&instance("ID")),
        commands.describe_db_snapshot(&SnapshotId::placeholder("ID")),
        commands.describe_db_snapshots_of(&instance("ID")),
        commands.s3_list(&S3Uri::placeholder("URI")),
        commands.describe_pod(&object("POD")),
        commands.job_logs(&object("JOB")),
        commands.describe_job(&object("JOB")),
        commands.get_job(&object("JOB")),
        commands.pod_logs(&object("POD")),
        commands.previous_container_logs(&object("POD"), &object("CONTAINER")),
        commands.dataset_service_logs(),
        commands.get_statefulsets_and_pvcs(),
        commands.describe_pvc(&object("PVC")),
        commands.describe_rds_events(&instance("ID")),
        // The signature of the event log at the end of a run (`--sign-key`).
        crate::process::Cmd::changes(crate::process::Tool::SshKeygen)
            .args([
                "-Y",
                "sign",
                "-f",
                "KEY",
                "-n",
                signing::SIGNATURE_NAMESPACE,
                "EVENTS",
            ])
            .placeholder_if(true),
        // Four eyes (`--approvers`): the operator's key, who signed a request, and the check.
        crate::process::Cmd::reads(crate::process::Tool::SshKeygen)
            .args(["-l", "-f", "KEY"])
            .placeholder_if(true),
        crate::process::Cmd::reads(crate::process::Tool::SshKeygen)
            .args([
                "-Y",
                "find-principals",
                "-s",
                "SIGNATURE",
                "-f",
                "APPROVERS",
            ])
            .placeholder_if(true),
        crate::process::Cmd::reads(crate::process::Tool::SshKeygen)
            .args([
                "-Y",
                "verify",
                "-f",
                "APPROVERS",
                "-I",
                "PRINCIPAL",
                "-n",
                signing::APPROVAL_NAMESPACE,
                "-s",
                "SIGNATURE",
            ])
            .placeholder_if(true),
    ]);
    list
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::ArgValue;

    #[test]
    fn every_fixed_name_is_a_valid_object_name() {
        for name in [
            fixed::MESSAGING_STATEFULSETS[0],
            fixed::MESSAGING_STATEFULSETS[1],
            fixed::CLICKHOUSE_CRONJOB,
            fixed::CLICKHOUSE_JOB,
            fixed::DEFAULT_CLICKHOUSE_POD,
        ] {
            assert!(!fixed::object(name).is_placeholder(), "{name}");
        }
    }

    #[test]
    fn commands_of_the_runbooks_text_can_be_shown_but_never_run() {
        let commands = template_commands();
        for step in StepId::ALL {
            for documented in documented(step, &commands) {
                // Placeholders: `$variable`, upper-case words (`SOURCE`), `PVC...`, `<…>`.
                let placeholder = documented.cmd.args.iter().any(|a| {
                    a.contains('$')
                        || a.contains('<')
                        || a.contains("...")
                        || (a.len() > 1
                            && a.chars()
                                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
                });
                if placeholder {
                    assert!(documented.cmd.placeholder, "{}", documented.cmd);
                }
            }
        }
    }
}
