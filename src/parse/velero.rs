//! velero: backups and restores (`-o json`), the name `restore create` prints, and phases.

use std::sync::LazyLock;

use regex::Regex;

use super::{ParseError, ParseResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeleroBackup {
    pub name: String,
    /// `status.phase`; an empty phase is shown as `New`, as velero's table does.
    pub phase: String,
    pub started: Option<String>,
    pub expiration: Option<String>,
    pub storage_location: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VeleroRestore {
    pub name: String,
    pub backup: String,
    pub phase: String,
    pub errors: u64,
    pub warnings: u64,
    pub created: Option<String>,
}

/// Where a restore stands (SPEC section 5, rule 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreOutcome {
    Running,
    Completed,
    Failed,
}

/// `New`, `InProgress`, `WaitingForPluginOperations*` and `Finalizing*` are still running;
/// `Completed` is success; `PartiallyFailed`, `Failed` and `FailedValidation` are failures. A
/// restore being deleted (` (Deleting)`, v1.12+) will not complete either.
pub fn restore_outcome(phase: &str) -> RestoreOutcome {
    if phase.ends_with("(Deleting)") {
        return RestoreOutcome::Failed;
    }
    match phase {
        "Completed" => RestoreOutcome::Completed,
        "PartiallyFailed" | "Failed" | "FailedValidation" => RestoreOutcome::Failed,
        _ => RestoreOutcome::Running,
    }
}

/// The fields of a Backup the tool reads. Deserialized directly (unknown fields, such as
/// `managedFields`, are skipped without being built), because a cluster can hold thousands.
#[derive(serde::Deserialize)]
struct BackupDocument {
    kind: Option<String>,
    #[serde(default)]
    metadata: Metadata,
    #[serde(default)]
    spec: BackupSpec,
    #[serde(default)]
    status: BackupStatus,
    #[serde(default)]
    items: Option<Vec<BackupDocument>>,
}

#[derive(serde::Deserialize, Default)]
struct Metadata {
    name: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct BackupSpec {
    #[serde(rename = "storageLocation")]
    storage_location: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct BackupStatus {
    phase: Option<String>,
    #[serde(rename = "startTimestamp")]
    start: Option<String>,
    expiration: Option<String>,
}

pub fn backups(json: &str) -> ParseResult<Vec<VeleroBackup>> {
    let document: BackupDocument = serde_json::from_str(json).map_err(ParseError::json)?;
    let items = match document.kind.as_deref() {
        Some("Backup") => vec![document],
        Some("BackupList") => document.items.unwrap_or_default(),
        other => {
            return Err(ParseError::new(format!(
                "expected a velero Backup or BackupList, found kind {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    items
        .into_iter()
        .map(|item| {
            Ok(VeleroBackup {
                name: item
                    .metadata
                    .name
                    .ok_or_else(|| ParseError::new("an item has no metadata.name"))?,
                phase: item
                    .status
                    .phase
                    .filter(|p| !p.is_empty())
                    .unwrap_or_else(|| "New".to_string()),
                started: item.status.start,
                expiration: item.status.expiration,
                storage_location: item.spec.storage_location,
            })
        })
        .collect()
}

/// The fields of a Restore the tool reads, deserialized directly like backups.
#[derive(serde::Deserialize)]
struct RestoreDocument {
    kind: Option<String>,
    #[serde(default)]
    metadata: RestoreMetadata,
    #[serde(default)]
    spec: RestoreSpec,
    #[serde(default)]
    status: RestoreStatus,
    #[serde(default)]
    items: Option<Vec<RestoreDocument>>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RestoreMetadata {
    name: Option<String>,
    #[serde(rename = "creationTimestamp")]
    created: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RestoreSpec {
    #[serde(rename = "backupName")]
    backup: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(default)]
struct RestoreStatus {
    phase: Option<String>,
    errors: u64,
    warnings: u64,
}

pub fn restores(json: &str) -> ParseResult<Vec<VeleroRestore>> {
    let document: RestoreDocument = serde_json::from_str(json).map_err(ParseError::json)?;
    let items = match document.kind.as_deref() {
        Some("Restore") => vec![document],
        Some("RestoreList") => document.items.unwrap_or_default(),
        other => {
            return Err(ParseError::new(format!(
                "expected a velero Restore or RestoreList, found kind {}",
                other.unwrap_or("(none)")
            )));
        }
    };
    items
        .into_iter()
        .map(|item| {
            Ok(VeleroRestore {
                name: item
                    .metadata
                    .name
                    .ok_or_else(|| ParseError::new("an item has no metadata.name"))?,
                backup: item.spec.backup.unwrap_or_default(),
                phase: item.status.phase.unwrap_or_else(|| "New".to_string()),
                errors: item.status.errors,
                warnings: item.status.warnings,
                created: item.metadata.created,
            })
        })
        .collect()
}

static SUBMITTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?m)^Restore request "([^"]+)" submitted successfully\.$"#).expect("valid")
});

/// The restore's name from `velero restore create` (with or without `--wait`).
pub fn created_restore_name(stdout: &str) -> ParseResult<String> {
    let captures = SUBMITTED.captures(stdout).ok_or_else(|| {
        ParseError::at(
            "expected `Restore request \"NAME\" submitted successfully.`",
            stdout.lines().next().unwrap_or(""),
        )
    })?;
    let name = captures[1].to_string();
    crate::names::object_name(&name).map_err(|problem| ParseError::at(problem, &name))?;
    Ok(name)
}

/// True when velero said the object does not exist (`… "NAME" not found`).
pub fn is_not_found(stderr: &str) -> bool {
    stderr.contains("not found")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::sample;

    #[test]
    fn single_backup_is_a_bare_object() {
        let backups = backups(&sample("velero-backup-get-single.json")).unwrap();
        assert_eq!(backups.len(), 1);
        assert_eq!(
            backups[0].name,
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging"
        );
        assert_eq!(backups[0].phase, "Completed");
    }

    #[test]
    fn backup_list() {
        let backups = backups(&sample("velero-backup-get.json")).unwrap();
        assert!(backups.len() > 1);
        assert!(backups.iter().any(|b| b.phase == "Completed"));
    }

    #[test]
    fn restores_single_and_list() {
        let single = restores(&sample("velero-restore-get-single.json")).unwrap();
        assert_eq!(single[0].phase, "Completed");
        assert_eq!(single[0].warnings, 2);
        assert_eq!(single[0].errors, 0);
        assert_eq!(
            single[0].backup,
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging"
        );
        let list = restores(&sample("velero-restore-get.json")).unwrap();
        assert!(list.iter().any(|r| r.phase == "InProgress"));
    }

    #[test]
    fn created_names() {
        assert_eq!(
            created_restore_name(&sample("velero-restore-create.txt")).unwrap(),
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging-20230514101502"
        );
        assert!(created_restore_name(&sample("velero-restore-create-wait.txt")).is_ok());
        let error = created_restore_name("An error occurred: nope").unwrap_err();
        assert_eq!(error.line.as_deref(), Some("An error occurred: nope"));
    }

    #[test]
    fn phases() {
        for running in [
            "New",
            "InProgress",
            "WaitingForPluginOperations",
            "WaitingForPluginOperationsPartiallyFailed",
            "Finalizing",
            "FinalizingPartiallyFailed",
        ] {
            assert_eq!(
                restore_outcome(running),
                RestoreOutcome::Running,
                "{running}"
            );
        }
        assert_eq!(restore_outcome("Completed"), RestoreOutcome::Completed);
        for failed in [
            "PartiallyFailed",
            "Failed",
            "FailedValidation",
            "Completed (Deleting)",
        ] {
            assert_eq!(restore_outcome(failed), RestoreOutcome::Failed, "{failed}");
        }
    }
}
