//! `aws` (RDS: snapshots, instances that become available, the caller's identity) and `curl`
//! (the recover call).

use serde_json::{Value, json};

use crate::*;

pub(crate) fn aws(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["--version"] => Answer::out(
            "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off\n",
        ),
        ["sts", "get-caller-identity"] => Answer::out(
            "{\"UserId\": \"AIDA4EXAMPLEOPERATOR1\", \"Account\": \"123456789012\", \"Arn\": \"arn:aws:iam::123456789012:user/restore-operator\"}\n",
        ),
        [
            "rds",
            "describe-db-snapshots",
            "--db-instance-identifier",
            "arthur-prod-db",
        ] => Answer::out(fixture("reference/aws-rds-describe-db-snapshots.json")),
        [
            "rds",
            "describe-db-snapshots",
            "--db-snapshot-identifier",
            id,
        ] => {
            let all: Value =
                serde_json::from_str(&fixture("reference/aws-rds-describe-db-snapshots.json"))
                    .expect("JSON");
            let found: Vec<Value> = all["DBSnapshots"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["DBSnapshotIdentifier"] == *id)
                .cloned()
                .collect();
            if found.is_empty() {
                Answer::err(
                    format!(
                        "\nAn error occurred (DBSnapshotNotFound) when calling the DescribeDBSnapshots operation: DBSnapshot {id} not found.\n"
                    ),
                    254,
                )
            } else {
                Answer::out(json!({"DBSnapshots": found}).to_string())
            }
        }
        _ => return aws_instances(world, w),
    })
}

/// The source instance, the restored one and its restore.
pub(crate) fn aws_instances(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        [
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            "arthur-prod-db",
        ] => Answer::out(fixture("reference/aws-rds-describe-db-instances.json")),
        [
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            id,
        ] => match world.instances.get_mut(*id) {
            Some(instance) => {
                if instance.status == "creating" {
                    instance.polls_left = instance.polls_left.saturating_sub(1);
                    if instance.polls_left == 0 {
                        instance.status = "available".into();
                    }
                }
                let mut answer: Value = serde_json::from_str(&fixture(
                    "reference/aws-rds-describe-db-instances-restored.json",
                ))
                .expect("JSON");
                let item = &mut answer["DBInstances"][0];
                item["DBInstanceIdentifier"] = json!(id);
                item["DBInstanceStatus"] = json!(instance.status);
                item["InstanceCreateTime"] = json!(instance.created);
                if instance.status != "available" {
                    // While RDS creates an instance it has neither an endpoint nor a create time.
                    let object = item.as_object_mut().expect("an object");
                    object.remove("Endpoint");
                    object.remove("InstanceCreateTime");
                }
                Answer::out(serde_json::to_string_pretty(&answer).expect("JSON"))
            }
            None => Answer::err(
                format!(
                    "\nAn error occurred (DBInstanceNotFound) when calling the DescribeDBInstances operation: DBInstance {id} not found.\n"
                ),
                254,
            ),
        },
        [
            "rds",
            "restore-db-instance-from-db-snapshot",
            "--db-instance-identifier",
            id,
            "--db-snapshot-identifier",
            snapshot,
            ..,
        ] => {
            if world.instances.contains_key(*id) {
                let mut answer = Answer::err(
                    "\nAn error occurred (DBInstanceAlreadyExists) when calling the RestoreDBInstanceFromDBSnapshot operation: DB instance already exists\n",
                    254,
                );
                answer.changed = Some(format!("rds/{id}"));
                answer.missing = true;
                return Some(answer);
            }
            world.instances.insert(
                id.to_string(),
                Instance {
                    snapshot: snapshot.to_string(),
                    status: "creating".into(),
                    polls_left: 1,
                    created: now(),
                },
            );
            Answer::out(fixture(
                "reference/aws-rds-restore-db-instance-from-db-snapshot.json",
            ))
            .changed(format!("rds/{id}"))
        }
        _ => return None,
    })
}

pub(crate) fn curl(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["--version"] => Answer::out("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\n"),
        ["-k", "-XPOST", url] if url.ends_with("/api/v1/workflows/batch/recover") => {
            world.recovered += 1;
            Answer::out("{\"message\":\"success\"}").changed("recover")
        }
        _ => return None,
    })
}
