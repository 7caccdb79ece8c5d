//! `velero`: backups and restores; a restore runs, then completes and recreates what it restores.

use serde_json::{Value, json};

use crate::*;

pub(crate) fn velero(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["version", "--client-only"] => Answer::out(
            "Client:\n\tVersion: v1.11.0\n\tGit commit: 0da2baa908c88ec3c45da15001f6a4b0bda64ae2\n",
        ),
        ["backup", "get", "-n", "velero", "-o", "json"] => {
            Answer::out(fixture("sessions/data/velero-backups.json"))
        }
        ["backup", "get", "-n", "velero"] => {
            Answer::out(fixture("sessions/data/velero-backup-get.txt"))
        }
        ["backup", "get", name, "-n", "velero", "-o", "json"] => {
            let list: Value =
                serde_json::from_str(&fixture("sessions/data/velero-backups.json")).expect("JSON");
            let found = list["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == *name));
            match found {
                Some(item) => {
                    let mut item = item.clone();
                    item["kind"] = json!("Backup");
                    Answer::out(serde_json::to_string_pretty(&item).expect("JSON"))
                }
                None => Answer::err(
                    format!("An error occurred: backups.velero.io \"{name}\" not found\n"),
                    1,
                ),
            }
        }
        [
            "restore",
            "create",
            "--from-backup",
            backup,
            "--namespace",
            "velero",
        ] => {
            world.restore_sequence += 1;
            let name = format!("{backup}-2023051410{:04}", world.restore_sequence);
            let stuck = fault_kind().as_deref() == Some("blocking") && fault_now(world);
            world.restores.push(Restore {
                name: name.clone(),
                backup: backup.to_string(),
                phase: "InProgress".into(),
                polls_left: 1,
                created: now(),
                stuck,
            });
            Answer::out(format!(
                "Restore request \"{name}\" submitted successfully.\nRun `velero restore describe {name}` or `velero restore logs {name}` for more details.\n"
            ))
            .changed(format!("restore-of/{backup}"))
        }
        ["restore", "get", name, "-n", "velero", "-o", "json"] => {
            let Some(index) = world.restores.iter().position(|r| r.name == *name) else {
                return Some(Answer::err(
                    format!("An error occurred: restores.velero.io \"{name}\" not found\n"),
                    1,
                ));
            };
            observe_restore(world, index);
            Answer::out(
                serde_json::to_string_pretty(&restore_json(&world.restores[index])).expect("JSON"),
            )
        }
        ["restore", "get", "-n", "velero", "-o", "json"] => {
            let items: Vec<Value> = world.restores.iter().map(restore_json).collect();
            Answer::out(
                serde_json::to_string_pretty(
                    &json!({"kind": "RestoreList", "apiVersion": "velero.io/v1", "items": items}),
                )
                .expect("JSON"),
            )
        }
        _ => return None,
    })
}

/// A restore moves on each time it is looked at; a completed messaging restore recreates the
/// StatefulSets and volumes it holds.
pub(crate) fn observe_restore(world: &mut World, index: usize) {
    let restore = &mut world.restores[index];
    if restore.phase != "InProgress" || restore.stuck {
        return;
    }
    restore.polls_left = restore.polls_left.saturating_sub(1);
    if restore.polls_left > 0 {
        return;
    }
    restore.phase = "Completed".into();
    if restore.backup.ends_with("-messaging") {
        let generation = format!("r{}", world.restore_sequence);
        world.restore_messaging(&generation);
    }
}

pub(crate) fn restore_json(restore: &Restore) -> Value {
    json!({
        "kind": "Restore",
        "apiVersion": "velero.io/v1",
        "metadata": {"name": restore.name, "namespace": "velero", "creationTimestamp": restore.created},
        "spec": {"backupName": restore.backup},
        "status": {"phase": restore.phase, "errors": 0, "warnings": 0},
    })
}
