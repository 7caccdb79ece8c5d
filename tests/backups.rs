//! `backups`: restore points of recorded environments (fixtures/environments), text and JSON.

use crate::support::{Replay, explain, fixtures, stdout};

fn backups(environment: &str, extra: &[&str]) -> (String, std::process::Output) {
    let replay = Replay::new();
    let session = fixtures()
        .join("environments")
        .join(environment)
        .join("session");
    let mut args = vec!["-n", "arthur"];
    args.extend(extra);
    args.push("backups");
    let output = replay.run(session.to_str().unwrap(), &args);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    (stdout(&output), output)
}

fn points(environment: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--output", "json"];
    args.extend(extra);
    let (text, _) = backups(environment, &args);
    serde_json::from_str(&text).unwrap()
}

#[test]
fn tidy_daily_runs() {
    insta::assert_snapshot!(backups("tidy", &[]).0);
    let json = points("tidy", &[]);
    let all = json["restore_points"].as_array().unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|p| p["complete"] == true));
    assert_eq!(json["chosen"], "2023-05-13T19:22:37Z");
}

#[test]
fn a_run_without_its_workflows_backup_is_incomplete() {
    insta::assert_snapshot!(backups("missing-workflows", &[]).0);
    let json = points("missing-workflows", &[]);
    let newest = &json["restore_points"][0];
    assert_eq!(newest["complete"], false);
    assert_eq!(newest["reasons"][0], "no workflows backup in this run");
    assert_eq!(json["chosen"], "2023-05-12T19:22:37Z");
}

#[test]
fn a_clickhouse_backup_missing_on_one_node_makes_the_point_incomplete() {
    insta::assert_snapshot!(backups("clickhouse-node-missing", &[]).0);
    let json = points("clickhouse-node-missing", &[]);
    let newest = &json["restore_points"][0];
    assert_eq!(
        newest["clickhouse"]["name"],
        "arthur-clickhouse-backup-2023-05-14-00-00-06"
    );
    assert_eq!(
        newest["reasons"][0],
        "ClickHouse backup missing on chi-olap-installation-arthur-0-2"
    );
    assert_eq!(json["chosen"], "2023-05-12T19:22:37Z");
}

#[test]
fn utc_offsets_are_honoured_where_names_sort_wrong() {
    insta::assert_snapshot!(backups("offsets-midnight", &[]).0);
    let json = points("offsets-midnight", &[]);
    let times: Vec<&str> = json["restore_points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["time"].as_str().unwrap())
        .collect();
    assert_eq!(
        times,
        [
            "2023-05-13T03:50:00Z",
            "2023-05-13T01:10:00Z",
            "2023-05-13T00:00:00Z"
        ]
    );
    assert_eq!(
        json["restore_points"][0]["messaging"]["name"],
        "arthur-backup-2023-05-12t23.50.00-04.00-messaging"
    );
    assert_eq!(json["chosen"], "2023-05-13T03:50:00Z");
}

#[test]
fn at_picks_the_newest_complete_point_at_or_before() {
    let json = points("tidy", &[]);
    assert_eq!(json["chosen"], "2023-05-13T19:22:37Z");
    let mut args = vec!["--output", "json"];
    args.extend(["backups", "--at", "2023-05-12T20:00:00Z"]);
    let replay = Replay::new();
    let session = fixtures().join("environments/tidy/session");
    let mut full = vec!["-n", "arthur"];
    full.extend(args);
    let output = replay.run(session.to_str().unwrap(), &full);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["chosen"], "2023-05-12T19:22:37Z");
    let output = replay_at("tidy", "2023-05-10");
    assert!(
        output.contains("no complete restore point at or before 2023-05-10T23:59:59.999999999Z"),
        "{output}"
    );
}

fn replay_at(environment: &str, at: &str) -> String {
    let replay = Replay::new();
    let session = fixtures()
        .join("environments")
        .join(environment)
        .join("session");
    let output = replay.run(
        session.to_str().unwrap(),
        &["-n", "arthur", "backups", "--at", at],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    stdout(&output)
}

#[test]
fn an_empty_s3_prefix_is_an_empty_listing_not_a_failure() {
    let replay = Replay::new();
    let output = replay.run(
        "backups-s3-empty.session",
        &[
            "--output",
            "json",
            "backups",
            "--clickhouse-s3-uri",
            "s3://arthur-prod-backups/clickhouse",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = json["restore_points"].as_array().unwrap();
    assert_eq!(points.len(), 3);
    assert!(
        points
            .iter()
            .all(|p| p["reasons"] == serde_json::json!(["no ClickHouse backup within 24h"]))
    );
    assert_eq!(json["chosen"], serde_json::Value::Null);
}

/// The default table fits a terminal: names shortened to what differs, with a legend; `--wide`
/// shows them whole.
#[test]
fn the_default_table_is_narrow_and_wide_shows_every_name() {
    let (narrow, _) = backups("tidy", &[]);
    let widest = narrow
        .lines()
        .take_while(|l| !l.is_empty())
        .map(|l| l.chars().count())
        .max()
        .unwrap();
    assert!(widest <= 120, "{widest} columns:\n{narrow}");
    assert!(narrow.contains("…13t15.22.37-04.00…"), "{narrow}");
    assert!(
        narrow.contains("  MESSAGING    arthur-backup-2023-05-…-messaging"),
        "{narrow}"
    );

    let replay = Replay::new();
    let session = fixtures().join("environments/tidy/session");
    let output = replay.run(
        session.to_str().unwrap(),
        &["-n", "arthur", "backups", "--wide"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let wide = stdout(&output);
    assert!(
        wide.contains("arthur-backup-2023-05-13t15.22.37-04.00-messaging"),
        "{wide}"
    );
    assert!(!wide.contains('…'), "{wide}");
}

/// `backups --check` in an environment, judged at `now`: its exit status and what it printed.
fn check(environment: &str, now: &str, extra: &[&str]) -> (Option<i32>, String) {
    let replay = Replay::new();
    let session = fixtures()
        .join("environments")
        .join(environment)
        .join("session");
    let mut args = vec!["-n", "arthur", "backups", "--check"];
    args.extend(extra);
    let output = crate::support::tool()
        .envs(replay.env(session.to_str().unwrap()))
        .env("ARTHUR_RESTORE_NOW", now)
        .current_dir(replay.dir.path())
        .args(&args)
        .output()
        .unwrap();
    (
        output.status.code(),
        format!("{}{}", stdout(&output), crate::support::stderr(&output)),
    )
}

const RECORDED: &str = "2023-05-14T14:05:00Z";

#[test]
fn check_exits_0_when_the_newest_complete_point_is_young_enough() {
    let (code, text) = check("tidy", RECORDED, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(
        text,
        "ok: the newest complete restore point, 2023-05-13T19:22:37Z, is 18h42m old (--max-age 26h)\n"
    );
}

#[test]
fn check_exits_4_when_it_is_older_and_says_why_newer_ones_are_incomplete() {
    let (code, text) = check("missing-workflows", RECORDED, &[]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.starts_with("stale: the newest complete restore point, 2023-05-12T19:22:37Z, is 1d18h old, older than --max-age 26h\n"), "{text}");
    assert!(
        text.contains("  2023-05-13T19:22:37Z: no workflows backup in this run"),
        "{text}"
    );
    let (code, text) = check("clickhouse-node-missing", RECORDED, &["--max-age", "1h30m"]);
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.contains("ClickHouse backup missing on chi-olap-installation-arthur-0-2"),
        "{text}"
    );
    assert!(text.contains("--max-age 1h30m"), "{text}");
}

#[test]
fn check_exits_4_when_none_is_complete() {
    // Seven years on, every Velero backup has expired.
    let (code, text) = check("tidy", "2030-05-14T14:05:00Z", &[]);
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.starts_with("none: no restore point is complete\n"),
        "{text}"
    );
    assert!(text.contains("messaging backup has expired"), "{text}");
}

#[test]
fn check_exits_1_when_a_listing_fails() {
    let (code, text) = check("listing-fails", RECORDED, &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("velero backup get -n velero -o json"),
        "{text}"
    );
    assert!(text.contains("i/o timeout"), "{text}");
}

/// The metrics for node_exporter's textfile collector: a snapshot, and parsed by the Prometheus
/// client library's own parser (Python's prometheus_client, which scripts/test installs).
#[test]
fn the_textfile_is_valid_prometheus_text() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arthur_restore.prom");
    let file_arg = file.display().to_string();
    let (code, text) = check("missing-workflows", RECORDED, &["--textfile", &file_arg]);
    assert_eq!(code, Some(4), "{text}");
    let metrics = std::fs::read_to_string(&file).unwrap();
    insta::assert_snapshot!(metrics);
    // Nothing but the file is left in the folder (the temporary file was renamed).
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let samples = crate::support::prometheus_samples(&file).join("\n");
    assert!(
        samples.contains("gauge arthur_restore_newest_complete_point_age_seconds [] 153743.0"),
        "{samples}"
    );
    assert!(
        samples.contains("gauge arthur_restore_incomplete_points [('reason', 'missing'), ('store', 'workflows')] 1.0"),
        "{samples}"
    );
    assert!(
        samples.contains(
            "gauge arthur_restore_newest_backup_age_seconds [('store', 'clickhouse')] 50694.0"
        ),
        "{samples}"
    );
}
