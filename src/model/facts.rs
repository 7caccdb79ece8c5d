//! What a run learns as it goes, saved in state.json after every change so that `--resume`
//! continues without repeating destructive work.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::names::ObjectName;
use crate::runbook::commands::RdsSettings;
use crate::runbook::{StepId, VeleroComponent};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// When the run started (RFC 3339, UTC): restores created after it belong to this run.
    #[serde(default)]
    pub started_at: Option<String>,
    /// Which cluster this run works on: the `kube-system` namespace UID, read in preflight. A
    /// resumed run refuses another cluster.
    #[serde(default)]
    pub cluster_uid: Option<String>,
    #[serde(default)]
    pub kube_context: Option<String>,
    /// Steps finished, in the order they finished.
    #[serde(default)]
    pub completed_steps: Vec<StepId>,
    /// Steps begun, in the order they began: their options can no longer be corrected on resume.
    #[serde(default)]
    pub started_steps: Vec<StepId>,
    /// The settings the restored instance was created with.
    #[serde(default)]
    pub rds_settings: Option<RdsSettings>,
    /// `restore-db-instance-from-db-snapshot` is about to be sent (saved before it is): when
    /// its answer was not seen, a resume looks for the instance instead of sending it again.
    #[serde(default)]
    pub rds_restore_sent: bool,
    /// `restore-db-instance-from-db-snapshot` was sent and answered.
    #[serde(default)]
    pub rds_restore_requested: bool,
    /// `host:port` of the restored instance once available.
    #[serde(default)]
    pub restored_endpoint: Option<String>,
    #[serde(default)]
    pub admin_console_confirmed: bool,
    #[serde(default)]
    pub clickhouse_yaml: Option<PathBuf>,
    /// `kubectl apply -f clickhouse-restore.yaml` is about to be sent (saved before it is).
    #[serde(default)]
    pub clickhouse_apply_sent: bool,
    #[serde(default)]
    pub clickhouse_job_applied: bool,
    /// The exact objects the messaging step deletes, fixed before the first delete.
    #[serde(default)]
    pub messaging_deletions: Option<MessagingDeletions>,
    /// Every deletion of the messaging step is done and its absence confirmed.
    #[serde(default)]
    pub messaging_deleted: bool,
    /// The Velero restore created for each component by this run.
    #[serde(default)]
    pub restores: BTreeMap<VeleroComponent, ObjectName>,
    #[serde(default)]
    pub workflows_recovered: bool,
    /// The gates whose approval (`--approvers`) verified, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved: Vec<String>,
}

impl Facts {
    pub fn is_complete(&self, step: StepId) -> bool {
        self.completed_steps.contains(&step)
    }

    /// True while this run has changed nothing in the cluster or the AWS account (nor asked for
    /// a change whose answer it did not see): a refusal then leaves everything as it was.
    pub fn nothing_changed(&self) -> bool {
        !self.rds_restore_sent
            && !self.clickhouse_apply_sent
            && self.messaging_deletions.is_none()
            && !self.messaging_deleted
            && self.restores.is_empty()
            && !self.workflows_recovered
            && !self.completed_steps.iter().any(|s| {
                matches!(
                    s,
                    StepId::Rds
                        | StepId::Clickhouse
                        | StepId::Messaging
                        | StepId::Enrichments
                        | StepId::Workflows
                )
            })
    }

    /// Whether an object created at `created` (RFC 3339) was made after this run began: only
    /// then can it be this run's. Unknown times are not after.
    pub fn made_by_this_run(&self, created: Option<&str>) -> bool {
        let (Some(started), Some(created)) = (&self.started_at, created) else {
            return false;
        };
        match (
            started.parse::<jiff::Timestamp>(),
            created.parse::<jiff::Timestamp>(),
        ) {
            (Ok(started), Ok(created)) => created >= started,
            _ => false,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagingDeletions {
    pub statefulsets: Vec<ObjectName>,
    pub pvcs: Vec<ObjectName>,
    /// PVs whose claim is one of `pvcs`; deleted by hand only if they outlive their claims.
    pub pvs: Vec<ObjectName>,
}
