//! The offline plan: snapshots of the whole transcript for several parameter sets, and its JSON.

use crate::support::{Argv, BACKUPS, OFFLINE_RDS, explain, tool};

/// `plan --offline` with the sessions' backups and the offline RDS names.
pub fn offline_argv(global: &[&str]) -> Argv {
    Argv::new(global, "plan")
        .with(&["--offline"])
        .pairs(&BACKUPS, &[])
        .pairs(&OFFLINE_RDS, &[])
}

pub fn offline_plan(global: &[&str], extra: &[&str]) -> String {
    let args = offline_argv(global).with(extra);
    let output = tool().args(args.words()).output().unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn defaults() {
    insta::assert_snapshot!(offline_plan(
        &["-n", "arthur"],
        &["--rds-like", "arthur-prod"]
    ));
}

#[test]
fn kubeconfig_and_context() {
    insta::assert_snapshot!(offline_plan(
        &[
            "-n",
            "arthur",
            "--velero-namespace",
            "velero-system",
            "--kubeconfig",
            "/home/op/.kube/prod config",
            "--context",
            "arn:aws:eks:us-east-1:123456789012:cluster/prod"
        ],
        &["--rds-like", "arthur-prod", "--only", "platform,messaging"],
    ));
}

#[test]
fn clickhouse_from_s3_with_profile_and_region() {
    insta::assert_snapshot!(offline_plan(
        &[
            "-n",
            "arthur",
            "--aws-profile",
            "arthur-prod",
            "--aws-region",
            "us-east-1"
        ],
        &[
            "--rds-like",
            "arthur-prod",
            "--only",
            "clickhouse",
            "--clickhouse-s3-uri",
            "s3://arthur-prod-backups/clickhouse"
        ],
    ));
}

#[test]
fn only_messaging() {
    insta::assert_snapshot!(offline_plan(&["-n", "arthur"], &["--only", "messaging"]));
}

#[test]
fn rds_like_and_explicit_settings() {
    insta::assert_snapshot!(
        "rds_like_with_override",
        offline_plan(
            &["-n", "arthur"],
            &[
                "--only",
                "rds",
                "--rds-like",
                "arthur-prod",
                "--rds-instance-class",
                "db.r6g.large"
            ],
        )
    );
    insta::assert_snapshot!(
        "rds_explicit",
        offline_plan(
            &["-n", "arthur"],
            &[
                "--only",
                "rds",
                "--rds-port",
                "5433",
                "--rds-security-group",
                "sg-0a1b2c3d4e5f60718",
                "--rds-security-group",
                "sg-12345678",
                "--rds-subnet-group",
                "arthur-db-subnet-group",
                "--rds-instance-class",
                "db.m5.large"
            ],
        )
    );
}

#[test]
fn from_and_skip() {
    let plan = offline_plan(
        &["-n", "arthur"],
        &["--from", "messaging", "--skip", "enrichments"],
    );
    let sections: Vec<&str> = plan.lines().filter(|l| l.starts_with("## ")).collect();
    assert_eq!(
        sections,
        [
            "## Identity (arthur-restore: which programs, which cluster)",
            "## Preflight (arthur-restore: checks before any change)",
            "## Restore Messaging Infrastructure",
            "## Restore Enrichments Workflows",
            "## Smoke Tests and Validation"
        ]
    );
}

/// Every command of ../shared/runbook/COMMANDS.md, in the runbook's order (pipelines and sed are
/// done in process and named on `# ` lines).
#[test]
fn the_plan_holds_the_runbooks_commands_in_order() {
    let plan = offline_plan(&["-n", "arthur"], &["--rds-like", "arthur-prod"]);
    let expected = [
        "$ aws rds describe-db-instances --db-instance-identifier arthur-prod",
        "$ aws rds restore-db-instance-from-db-snapshot --db-instance-identifier arthur-restored --db-snapshot-identifier arthur-snap",
        "$ aws rds describe-db-instances --db-instance-identifier arthur-restored",
        "$ kubectl get pods -n arthur",
        "$ kubectl get jobs -n arthur",
        "$ kubectl exec chi-olap-installation-arthur-0-0-0 -n arthur -c backup -- clickhouse-backup list",
        "$ kubectl create job --from=cronjob/clickhouse-restore-cronjob -n arthur -o yaml clickhouse-restore --dry-run=client --save-config",
        "# saved to RUN_DIR/clickhouse-restore.yaml",
        "$ kubectl apply -f RUN_DIR/clickhouse-restore.yaml -n arthur",
        "$ kubectl get sts -n arthur",
        "# selected (grep -i messaging)",
        "$ kubectl delete sts messaging -n arthur",
        "$ kubectl delete sts messaging-cp-zookeeper -n arthur",
        "$ kubectl get pvc -n arthur",
        "$ kubectl delete pvc",
        "$ kubectl get pv",
        "$ velero backup get -n velero",
        "$ velero restore create --from-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging --namespace velero",
        "$ kubectl kots get apps -n arthur",
        "$ velero restore create --from-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments --namespace velero",
        "$ velero restore create --from-backup arthur-backup-2023-05-11t15.23.25-04.00-workflows --namespace velero",
        "$ kubectl port-forward -n arthur svc/arthurai-dataset-service 7899:80",
        "$ curl -k -XPOST http://localhost:7899/api/v1/workflows/batch/recover",
        "## Smoke Tests and Validation",
    ];
    // The listings of pvc and pv come before their deletions in the tool (it must know what to
    // delete); the runbook's order of the destructive commands is what is checked here.
    let mut at = 0;
    for wanted in expected {
        let found = plan[at..]
            .find(wanted)
            .unwrap_or_else(|| panic!("`{wanted}` not found after byte {at}:\n{plan}"));
        if !wanted.starts_with("$ kubectl get pvc") && !wanted.starts_with("$ kubectl get pv") {
            at += found;
        }
    }
    let command_lines: Vec<&str> = plan.lines().filter(|l| l.starts_with("$ ")).collect();
    assert!(
        command_lines.iter().all(|l| !l.contains(" | ")),
        "no pipeline is claimed to run"
    );
    assert!(
        command_lines.iter().all(|l| !l.contains("sed ")),
        "sed is done in process"
    );
}

#[test]
fn json_plan_carries_argv_arrays() {
    let args = offline_argv(&["-n", "arthur", "--output", "json"]).with(&["--only", "messaging"]);
    let output = tool().args(args.words()).output().unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(plan["offline"], true);
    let sections = plan["sections"].as_array().unwrap();
    assert_eq!(sections[2]["step"], "messaging");
    let deletes: Vec<&serde_json::Value> = sections[2]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "command" && e["effect"] == "changes")
        .collect();
    assert_eq!(
        deletes[0]["argv"],
        serde_json::json!(["kubectl", "delete", "sts", "messaging", "-n", "arthur"])
    );
    assert_eq!(deletes[0]["ran"], false);
}

#[test]
fn plan_chooses_the_snapshot_of_the_newest_complete_restore_point() {
    let replay = crate::support::Replay::new();
    let output = replay.run(
        "plan-rds-discovered.session",
        &[
            "-n",
            "arthur",
            "plan",
            "--only",
            "rds",
            "--rds-like",
            "arthur-prod-db",
            "--rds-instance",
            "arthur-restored-db",
        ],
    );
    assert!(output.status.success(), "{}", explain(&output));
    let plan = String::from_utf8(output.stdout).unwrap();
    assert!(
        plan.contains(
            "# chosen: the newest complete restore point\n# restore point 2023-05-11T19:22:37Z"
        ),
        "{plan}"
    );
    assert!(plan.contains(
        "$ aws rds restore-db-instance-from-db-snapshot --db-instance-identifier arthur-restored-db --db-snapshot-identifier arthur-backup-2023-05-11t15-21-50-04-00 --db-instance-class db.m5.large --port 5432"
    ), "{plan}");
    assert!(
        replay
            .calls()
            .iter()
            .all(|c| !c.contains("restore-db-instance-from-db-snapshot")),
        "a plan never restores"
    );
}

/// scripts/record-session turns a read-only plan into a session that replays the same plan.
#[test]
fn a_recorded_session_replays() {
    let replay = crate::support::Replay::new();
    let recorded = replay.dir.path().join("recorded.session");
    let path = format!("{}:/usr/bin:/bin", replay.dir.path().join("bin").display());
    let args = [
        "--only",
        "messaging",
        "--messaging-backup",
        "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
    ];
    let output =
        std::process::Command::new(crate::support::fixtures().join("../scripts/record-session"))
            .arg(&recorded)
            .args(["-n", "arthur", "--"])
            .args(args)
            .env("PATH", &path)
            .env("ARTHUR_RESTORE_BIN", env!("CARGO_BIN_EXE_arthur-restore"))
            .env(
                "ARTHUR_REPLAY_SESSION",
                crate::support::fixtures().join("sessions/plan-messaging.session"),
            )
            .env("ARTHUR_REPLAY_STATE", replay.dir.path().join("state"))
            .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z")
            .output()
            .unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    let second = crate::support::Replay::new();
    let mut full = vec!["-n", "arthur", "plan"];
    full.extend(args);
    let output = second.run(recorded.to_str().unwrap(), &full);
    assert!(output.status.success(), "{}", explain(&output));
    assert_eq!(
        second.calls().len(),
        crate::support::session_length(&recorded)
    );
}
