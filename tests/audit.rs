//! `audit`: hand-written logs give the expected findings (snapshots); transcripts of the
//! end-to-end runs audit clean; an edited transcript or events.jsonl is detected.

use crate::support::{Replay, explain, fixtures, stdout, tool};

fn audit(path: &std::path::Path, json: bool) -> (i32, String) {
    let mut command = tool();
    if json {
        command.args(["--output", "json"]);
    }
    let output = command.arg("audit").arg(path).output().unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8(output.stdout).unwrap(),
    )
}

fn hand_log(name: &str) -> (i32, String) {
    let (code, text) = audit(&fixtures().join("audit").join(name), false);
    (code, crate::support::steady(&text, &fixtures()))
}

/// Prompts, export and read, quoted and braced variables, sudo, time, a KUBECONFIG= prefix,
/// --flag=value, chains with && and ;, a backgrounded port-forward and clock-prefixed lines.
#[test]
fn a_log_typed_as_operators_type_conforms() {
    let (code, text) = hand_log("typed-forms.log");
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_clean_log_typed_by_hand_conforms() {
    let (code, text) = hand_log("clean-by-hand.log");
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_missing_runbook_command() {
    let (code, text) = hand_log("missing-zookeeper.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!(text);
}

#[test]
fn commands_out_of_the_runbooks_order() {
    let (code, text) = hand_log("restore-before-deletions.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!(text);
}

#[test]
fn a_destructive_command_the_runbook_does_not_have() {
    let (code, text) = hand_log("unknown-destructive.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!(text);
}

#[test]
fn values_inconsistent_across_the_log() {
    let (code, text) = hand_log("inconsistent-values.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!(text);
}

#[test]
fn a_failed_command_not_retried() {
    let (code, text) = hand_log("failed-not-retried.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!(text);
}

#[test]
fn steps_not_done_and_a_job_without_its_backup_name() {
    let (code, text) = hand_log("stopped-early.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!("stopped_early", text);
    let (code, text) = hand_log("job-without-backup-name.log");
    assert_eq!(code, 4);
    insta::assert_snapshot!("job_without_backup_name", text);
}

#[test]
fn json_carries_steps_and_findings() {
    let (code, text) = audit(&fixtures().join("audit/missing-zookeeper.log"), true);
    assert_eq!(code, 4);
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["conforms"], false);
    let messaging = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "messaging")
        .unwrap();
    assert_eq!(messaging["status"], "partly done");
    assert_eq!(report["findings"][0]["kind"], "missing");
    let rds = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "rds")
        .unwrap();
    assert_eq!(rds["status"], "not evidenced");
}

fn run_and_audit(session: &str, extra: &[&str]) -> (Replay, i32, String) {
    let replay = Replay::new();
    let output = replay.restore(session, extra);
    assert!(output.status.success(), "{}", explain(&output));
    let (code, text) = audit(&replay.run_dir().join("transcript.log"), false);
    (replay, code, text)
}

#[test]
fn the_transcripts_of_the_end_to_end_runs_audit_clean() {
    let (_, code, text) = run_and_audit("happy.session", &[]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("hash chain intact"));
    assert!(
        text.lines().filter(|l| l.contains(" done ")).count() == 7,
        "{text}"
    );
    let (_, code, text) = run_and_audit(
        "messaging-manual-pv.session",
        &[
            "--only",
            "messaging",
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
        ],
    );
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("  messaging    done"), "{text}");
    assert!(text.contains("  clickhouse   not in this run"), "{text}");
    assert!(!text.contains("not-in-runbook"), "{text}");
    assert!(!text.contains("out-of-order"), "{text}");
}

#[test]
fn an_edited_transcript_or_event_log_is_detected() {
    let (replay, code, _) = run_and_audit("happy.session", &[]);
    assert_eq!(code, 0);
    let transcript = replay.run_dir().join("transcript.log");
    let original = std::fs::read_to_string(&transcript).unwrap();
    // Someone hides that the zookeeper StatefulSet was deleted in another namespace.
    let edited = original.replace(
        "$ kubectl delete sts messaging-cp-zookeeper -n arthur",
        "$ kubectl delete sts messaging-cp-zookeeper -n arthur-prod",
    );
    assert_ne!(edited, original);
    std::fs::write(&transcript, &edited).unwrap();
    let (code, text) = audit(&transcript, false);
    assert_eq!(code, 4);
    assert!(text.contains("tampered"), "{text}");
    std::fs::write(&transcript, &original).unwrap();
    let events = replay.run_dir().join("events.jsonl");
    let log = std::fs::read_to_string(&events).unwrap();
    std::fs::write(&events, log.replacen("\"exit\":0", "\"exit\":3", 1)).unwrap();
    let (code, text) = audit(&transcript, false);
    assert_eq!(code, 4);
    assert!(text.contains("hash chain breaks"), "{text}");
    let _ = stdout;
}

#[test]
fn a_missing_transcript_is_an_error() {
    let output = tool()
        .args(["audit", "/nonexistent/transcript.log"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
}
