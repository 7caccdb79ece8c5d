//! Usage errors exit 2 and name the option; nothing runs.

use crate::support::{stderr, tool};

fn usage_error(args: &[&str], must_mention: &str) {
    let output = tool().args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(&output)
    );
    let message = stderr(&output);
    assert!(
        message.contains(must_mention),
        "{args:?}: expected `{must_mention}` in:\n{message}"
    );
}

#[test]
fn hostile_namespaces_are_refused_and_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    usage_error(&["-n", "arthur;rm", "steps"], "--namespace");
    usage_error(
        &["-n", "$(touch pwned)", "plan", "--offline"],
        "--namespace",
    );
    let output = tool()
        .current_dir(dir.path())
        .args(["-n", "$(touch pwned)", "plan", "--offline"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!marker.exists());
}

#[test]
fn bad_values_name_their_option() {
    usage_error(
        &["--velero-namespace", "Velero", "steps"],
        "--velero-namespace",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--messaging-backup",
            "bad;name",
        ],
        "--messaging-backup",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--clickhouse-backup",
            "chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-2023-05-11-00-00-07",
        ],
        "node prefix",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-instance", "arthur--db"],
        "--rds-instance",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-snapshot", "snap.1"],
        "--rds-snapshot",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-security-group", "sg-nothex"],
        "--rds-security-group",
    );
    usage_error(&["-n", "arthur", "plan", "--rds-port", "80"], "--rds-port");
    usage_error(&["-n", "arthur", "plan", "--timeout", "30"], "--timeout");
    usage_error(
        &["-n", "arthur", "plan", "--poll-interval", "1.5s"],
        "--poll-interval",
    );
    usage_error(&["-n", "arthur", "plan", "--only", "kafka"], "--only");
    usage_error(&["-n", "arthur", "plan", "--from", "everything"], "--from");
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--clickhouse-s3-uri",
            "https://bucket/x",
        ],
        "--clickhouse-s3-uri",
    );
    usage_error(&["--aws-region", "Mars", "steps"], "--aws-region");
    usage_error(&["--context=--oops", "steps"], "--context");
    usage_error(&["-n", "arthur", "plan", "--at", "last tuesday"], "--at");
}

#[test]
fn offline_plan_names_what_is_missing() {
    usage_error(&["-n", "arthur", "plan", "--offline"], "--messaging-backup");
    usage_error(
        &["-n", "arthur", "plan", "--offline", "--only", "clickhouse"],
        "--clickhouse-backup",
    );
    usage_error(&["plan", "--offline", "--only", "smoke"], "--namespace");
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--rds-snapshot",
            "snap",
        ],
        "--rds-instance",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--rds-snapshot",
            "snap",
            "--rds-instance",
            "new-db",
            "--rds-port",
            "5432",
        ],
        "--rds-security-group",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--skip",
            "rds",
        ],
        "no step",
    );
}

#[test]
fn steps_lists_the_seven_steps() {
    let output = tool().arg("steps").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for (id, title) in [
        ("rds", "Restore RDS Postgres"),
        ("platform", "Install the Arthur Platform"),
        ("clickhouse", "Restore ClickHouse Data"),
        ("messaging", "Restore Messaging Infrastructure"),
        ("enrichments", "Restore Enrichments Infrastructure"),
        ("workflows", "Restore Enrichments Workflows"),
        ("smoke", "Smoke Tests and Validation"),
    ] {
        assert!(
            text.contains(&format!("\n{id:<12} {title}\n")),
            "{id} missing:\n{text}"
        );
    }
    assert!(text.contains("$ kubectl get sts -n $arthur_namespace"));
    let json = tool().args(["--output", "json", "steps"]).output().unwrap();
    let steps: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(steps.as_array().unwrap().len(), 7);
    assert_eq!(
        steps[3]["commands"][1]["argv"],
        serde_json::json!([
            "kubectl",
            "delete",
            "sts",
            "messaging",
            "-n",
            "$arthur_namespace"
        ])
    );
    assert_eq!(steps[3]["commands"][1]["effect"], "changes");
}

#[test]
fn help_teaches_and_completions_print() {
    let help = tool().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("Exit status:") && text.contains("130"));
    let run_help = tool().args(["run", "--help"]).output().unwrap();
    assert!(
        String::from_utf8(run_help.stdout)
            .unwrap()
            .contains("--resume <DIR>")
    );
    for shell in ["bash", "zsh", "fish"] {
        let output = tool().args(["completions", shell]).output().unwrap();
        assert!(
            output.status.success() && !output.stdout.is_empty(),
            "{shell}"
        );
    }
}
