//! `run` end to end against recorded sessions: exit statuses, the exact command sequence, what
//! was (and was not) deleted, the run directory.

use crate::support::{
    Argv, BACKUPS, Replay, SESSION_RDS, destructive, explain, fixtures, session_length, stderr,
    stdout,
};

/// `run` with fast polls into the fake's run directory, the backups and RDS names of the
/// sessions (less those `extra` names itself), and `--yes` when asked.
fn run_args(replay: &Replay, extra: &[&str], yes: bool) -> Argv {
    let argv = Argv::arthur("run").fast(&replay.run_dir());
    let argv = if yes { argv.with(&["--yes"]) } else { argv };
    argv.pairs(&BACKUPS, extra)
        .pairs(&SESSION_RDS, extra)
        .with(extra)
}

fn run(replay: &Replay, session: &str, extra: &[&str], yes: bool) -> std::process::Output {
    replay.run(session, &run_args(replay, extra, yes).words())
}

/// Runs the session, which must end in a refusal (exit 3) whose message says `because`, with no
/// destructive command received by the fake CLIs. Returns the fake for further checks.
fn assert_refused(session: &str, extra: &[&str], yes: bool, because: &str) -> Replay {
    let replay = Replay::new();
    let output = run(&replay, session, extra, yes);
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let message = stderr(&output);
    assert!(
        message.contains(because),
        "expected `{because}` in:\n{message}"
    );
    let calls = replay.calls();
    assert!(destructive(&calls).is_empty(), "{calls:#?}");
    replay
}

#[test]
fn a_complete_restore() {
    let replay = Replay::new();
    let output = run(&replay, "happy.session", &[], true);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let calls = replay.calls();
    assert!(
        calls.iter().all(|c| !c.starts_with("UNEXPECTED")),
        "{calls:#?}"
    );
    assert_eq!(
        calls.len(),
        session_length(&fixtures().join("sessions/happy.session")),
        "every recorded command ran"
    );

    let transcript = replay.transcript();
    assert_eq!(
        transcript,
        stdout(&output),
        "the transcript file is what was printed"
    );
    let sections: Vec<&str> = transcript
        .lines()
        .filter(|l| l.starts_with("## "))
        .collect();
    assert_eq!(sections.len(), 10);
    assert!(transcript.starts_with("# arthur-restore 0.1.0 run started "));
    assert!(transcript.contains(
        "# restored endpoint: arthur-restored-db.c9xkq2abcd12.us-east-1.rds.amazonaws.com:5432"
    ));
    assert!(
        transcript.contains("meta_db_password:\n      value: <redacted>"),
        "secrets never reach the transcript"
    );
    assert!(!transcript.contains("Wm9TxO1bT2c3"));

    let yaml = std::fs::read_to_string(replay.run_dir().join("clickhouse-restore.yaml")).unwrap();
    assert_eq!(
        yaml.matches("arthur-clickhouse-backup-2023-05-11-00-00-07")
            .count(),
        2
    );
    assert!(!yaml.contains("insert-backup-name-here"));

    let state = replay.state();
    assert_eq!(state["status"], "completed");
    assert_eq!(
        state["facts"]["completed_steps"].as_array().unwrap().len(),
        7
    );
    let events = std::fs::read_to_string(replay.run_dir().join("events.jsonl")).unwrap();
    assert!(arthur_restore::record::events::verify_chain(&events).is_ok());
    let mut tampered = events.replacen("\"exit\":0", "\"exit\":1", 1);
    if tampered == events {
        tampered = events.replacen("arthur", "arthuR", 1);
    }
    assert!(
        arthur_restore::record::events::verify_chain(&tampered).is_err(),
        "an edited log is detected"
    );
}

#[test]
fn three_messaging_statefulsets_are_refused_before_any_delete() {
    assert_refused(
        "refuse-three-statefulsets.session",
        &["--only", "messaging"],
        true,
        "exactly two messaging StatefulSets",
    );
}

#[test]
fn without_a_terminal_or_yes_the_deletion_gate_refuses() {
    let replay = assert_refused(
        "refuse-no-answer.session",
        &["--only", "messaging"],
        false,
        "--yes",
    );
    assert!(
        replay.transcript().contains("#   sts  messaging "),
        "the exact list is shown"
    );
}

#[test]
fn a_clickhouse_backup_missing_on_a_node_is_refused_in_preflight() {
    assert_refused(
        "refuse-clickhouse-node.session",
        &[
            "--only",
            "clickhouse",
            "--clickhouse-backup",
            "arthur-clickhouse-backup-2023-05-12-00-00-06",
        ],
        true,
        "chi-olap-installation-arthur-0-2",
    );
}

#[test]
fn a_backup_that_is_not_completed_is_refused_in_preflight() {
    assert_refused(
        "refuse-backup-not-completed.session",
        &[
            "--only",
            "messaging",
            "--messaging-backup",
            "arthur-backup-2023-05-12t15.22.31-04.00-messaging",
        ],
        true,
        "PartiallyFailed",
    );
}

#[test]
fn the_database_pointer_gate_refuses_a_config_naming_another_database() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "refuse-db-pointer.session",
        &["--only", "platform", "--rds-instance", "arthur-prod-db"],
        true,
    );
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(stderr(&output).contains("DATA CORRUPTION"));
    assert_eq!(
        replay.calls().last().unwrap(),
        "kubectl kots get config -n arthur --appslug arthur"
    );
}

#[test]
fn an_existing_target_instance_is_refused_in_preflight() {
    assert_refused(
        "refuse-rds-exists.session",
        &["--only", "rds"],
        true,
        "already exists",
    );
}

#[test]
fn a_partially_failed_velero_restore_stops_the_run() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "messaging-partially-failed.session",
        &["--only", "messaging"],
        true,
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let message = stderr(&output);
    assert!(
        message.contains(
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging-20230514101502 ended PartiallyFailed"
        ),
        "{message}"
    );
    assert!(message.contains("velero restore describe arthur-backup-2023-05-11t15.22.37-04.00-messaging-20230514101502 -n velero"));
    assert!(message.contains("velero restore logs"));
}

#[test]
fn leftover_pvs_are_deleted_by_claim_never_by_name() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "messaging-manual-pv.session",
        &["--only", "messaging"],
        true,
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let calls = replay.calls();
    let deleted_pvs: Vec<&String> = calls
        .iter()
        .filter(|c| c.starts_with("kubectl delete pv "))
        .collect();
    assert_eq!(
        deleted_pvs,
        ["kubectl delete pv pvc-c7480f36-0e4c-4502-b9d6-b5172c242ccd"]
    );
    assert!(
        !calls.iter().any(|c| c.contains("pvc-d8591a47")),
        "arthur-staging's volume survives"
    );
    assert!(replay.transcript().contains("left alone (another claim): pvc-d8591a47-1f5d-4613-8ae7-c6283d353dde (claim arthur-staging/datadir-0-messaging-0)"));
}

#[test]
fn an_interrupted_run_resumes_without_repeating_destructive_commands() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "messaging-interrupted.session",
        &["--only", "messaging"],
        true,
    );
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    let first = replay.calls();
    assert_eq!(destructive(&first).len(), 4, "{first:#?}");
    let state = replay.state();
    assert_eq!(state["status"], "interrupted");

    replay.restart_session();
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run(
        "messaging-resumed.session",
        &["run", "--resume", &run_dir, "--yes"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let second = replay.calls();
    assert!(
        destructive(&second).is_empty(),
        "nothing destructive again: {second:#?}"
    );
    assert!(
        replay
            .transcript()
            .contains("# arthur-restore 0.1.0 run resumed ")
    );
}

#[test]
fn resume_refuses_options_that_disagree() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "messaging-interrupted.session",
        &["--only", "messaging"],
        true,
    );
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run(
        "messaging-resumed.session",
        &["-n", "other", "run", "--resume", &run_dir],
    );
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(stderr(&output).contains("--namespace other"));
}

#[test]
fn a_missing_cli_is_refused_before_anything_runs() {
    let replay = Replay::new();
    std::fs::remove_file(replay.dir.path().join("bin/velero")).unwrap();
    let path = format!("{}", replay.dir.path().join("bin").display());
    let args = run_args(&replay, &[], true);
    let output = crate::support::tool()
        .env("PATH", path)
        .env(
            "ARTHUR_REPLAY_SESSION",
            fixtures().join("sessions/happy.session"),
        )
        .env("ARTHUR_REPLAY_STATE", replay.dir.path().join("state"))
        .args(args.words())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(stderr(&output).contains("`velero` was not found"));
    assert!(replay.calls().is_empty());
}

#[test]
fn a_wait_that_runs_out_of_time_names_what_is_not_ready() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "platform-timeout.session",
        &["--only", "platform", "--skip-db-pointer-check"],
        true,
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let message = stderr(&output);
    assert!(
        message.contains("timed out after 2s waiting for every pod Running and ready"),
        "{message}"
    );
    assert!(
        message.contains("pod messaging-1 1/2 CrashLoopBackOff"),
        "{message}"
    );
    let transcript = replay.transcript();
    assert_eq!(
        transcript.matches("$ kubectl get pods -n arthur\n").count(),
        2,
        "only the first and the final poll are in the transcript"
    );
    let events = std::fs::read_to_string(replay.run_dir().join("events.jsonl")).unwrap();
    assert!(
        events.matches("\"event\":\"poll\"").count() > 2,
        "every poll is an event"
    );
}

#[test]
fn sigterm_during_a_wait_saves_state_and_exits_130() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "platform-terminated.session",
        &["--only", "platform", "--skip-db-pointer-check"],
        true,
    );
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    assert!(stderr(&output).contains("--resume"));
    let state = replay.state();
    assert_eq!(state["status"], "interrupted");
    assert_eq!(state["facts"]["admin_console_confirmed"], true);
}

#[test]
fn a_busy_local_port_suggests_local_port_and_never_calls_recover() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "workflows-port-busy.session",
        &["--only", "workflows"],
        true,
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    assert!(
        stderr(&output).contains("--local-port"),
        "{}",
        stderr(&output)
    );
    assert!(!replay.calls().iter().any(|c| c.contains("-XPOST")));
}

#[test]
fn resume_refuses_another_cluster() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "messaging-interrupted.session",
        &["--only", "messaging"],
        true,
    );
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    replay.restart_session();
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run(
        "messaging-resumed-other-cluster.session",
        &["run", "--resume", &run_dir, "--yes"],
    );
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(stderr(&output).contains("5b2c6a0e-8f3d-4c1b-9a7e-2d4f6b8c0e13"));
    assert!(destructive(&replay.calls()).is_empty());
}

#[test]
fn plan_runs_only_reads_and_shows_the_exact_deletions() {
    let replay = Replay::new();
    let args = Argv::arthur("plan")
        .with(&["--only", "messaging"])
        .pairs(&BACKUPS, &[])
        .pairs(&SESSION_RDS, &[]);
    let output = replay.run("plan-messaging.session", &args.words());
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let calls = replay.calls();
    assert!(destructive(&calls).is_empty(), "{calls:#?}");
    assert_eq!(
        calls.len(),
        session_length(&fixtures().join("sessions/plan-messaging.session"))
    );
    let plan = stdout(&output);
    assert!(
        plan.contains("$ kubectl delete pvc datadir-0-messaging-0 datadir-0-messaging-1"),
        "{plan}"
    );
    assert!(plan.contains("$ kubectl delete sts messaging-cp-zookeeper -n arthur\n"));
    assert!(plan.contains("read-only commands were run; nothing was changed"));
}

#[test]
fn a_command_that_hangs_is_killed_at_the_command_timeout() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "hang.session",
        &["--only", "smoke", "--command-timeout", "300ms"],
        true,
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let message = stderr(&output);
    assert!(
        message.contains("`kubectl version --client` failed: no answer within 300ms"),
        "{message}"
    );
}

#[test]
fn a_restored_instance_unlike_its_source_is_refused() {
    let replay = Replay::new();
    let output = run(&replay, "rds-mismatch.session", &["--only", "rds"], true);
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(
        stderr(&output).contains("instance class is db.t3.medium, the source has db.m5.large"),
        "{}",
        stderr(&output)
    );
    let state = replay.state();
    assert_eq!(
        state["facts"]["restored_endpoint"],
        serde_json::Value::Null,
        "no endpoint is recorded for a wrong instance"
    );
}

/// The transcript of a complete restore, with times, paths and the operator redacted.
#[test]
fn the_transcript_of_a_complete_restore() {
    let replay = Replay::new();
    let output = run(&replay, "happy.session", &[], true);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    insta::assert_snapshot!(crate::support::steady(
        &replay.transcript(),
        replay.dir.path()
    ));
}

#[test]
fn without_backup_names_the_newest_complete_restore_point_is_restored() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert_eq!(
        replay.calls().len(),
        session_length(&fixtures().join("sessions/happy.session"))
    );
    let transcript = replay.transcript();
    assert!(
        transcript.contains(
            "# chosen: the newest complete restore point\n# restore point 2023-05-11T19:22:37Z"
        ),
        "{transcript}"
    );
    assert!(transcript.contains("# gate restore-point: yes (--yes)"));
    let state = replay.state();
    let backups = &state["options"]["backups"];
    assert_eq!(
        backups["messaging"],
        "arthur-backup-2023-05-11t15.22.37-04.00-messaging"
    );
    assert_eq!(
        backups["workflows"],
        "arthur-backup-2023-05-11t15.23.25-04.00-workflows"
    );
    assert_eq!(
        backups["clickhouse"],
        "arthur-clickhouse-backup-2023-05-12-00-00-06"
    );
    assert_eq!(
        state["options"]["rds"]["snapshot"],
        "arthur-backup-2023-05-11t15-21-50-04-00"
    );
    let yaml = std::fs::read_to_string(replay.run_dir().join("clickhouse-restore.yaml")).unwrap();
    assert_eq!(
        yaml.matches("arthur-clickhouse-backup-2023-05-12-00-00-06")
            .count(),
        2
    );
}

#[test]
fn names_from_different_backup_operations_are_refused_before_any_change() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "happy.session",
        &[
            "--messaging-backup",
            "arthur-backup-2023-05-12t15.22.31-04.00-messaging",
        ],
        true,
    );
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let message = stderr(&output);
    assert!(message.contains("different backup operations"), "{message}");
    assert!(
        message.contains("Discovery found restore point 2023-05-11T19:22:37Z"),
        "{message}"
    );
    assert!(destructive(&replay.calls()).is_empty());
    // It stopped at discovery: its last calls are the restore point's listings, read side by
    // side (in any order), and nothing of the preflight after them.
    let calls = replay.calls();
    let mut last: Vec<&str> = calls.iter().rev().take(3).map(String::as_str).collect();
    last.sort_unstable();
    assert_eq!(
        last,
        [
            "aws rds describe-db-snapshots --db-instance-identifier arthur-prod-db",
            "kubectl exec chi-olap-installation-arthur-0-0-0 -n arthur -c backup -- clickhouse-backup list",
            "velero backup get -n velero -o json",
        ],
        "it stopped at discovery: {calls:#?}"
    );
}

#[test]
fn allow_mixed_goes_on_loudly() {
    let replay = Replay::new();
    let output = run(
        &replay,
        "happy.session",
        &[
            "--clickhouse-backup",
            "arthur-clickhouse-backup-2023-05-13-00-00-06",
            "--allow-mixed",
        ],
        true,
    );
    // The ClickHouse backup is 28h from the Velero run named; --allow-mixed goes on, and preflight
    // then finds it on no node of this cluster.
    let transcript = replay.transcript();
    assert!(transcript.contains("# WARNING: --allow-mixed: the ClickHouse backup arthur-clickhouse-backup-2023-05-13-00-00-06"), "{transcript}");
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
}

/// Every failure ends with the cause once, then what to do once, then where the record is: on
/// standard error when the screen is the transcript (a pipe), and on the terminal's ending
/// (which then says nothing again). One snapshot per kind of ending.
#[test]
fn each_kind_of_ending_says_the_cause_then_what_to_do_once() {
    use crate::support::sim::{Sim, command_number};
    let partially_failed = {
        let replay = Replay::new();
        let output = run(
            &replay,
            "messaging-partially-failed.session",
            &["--only", "messaging"],
            true,
        );
        (replay.dir.path().to_path_buf(), output, replay)
    };
    let refused = {
        let replay = Replay::new();
        let output = run(
            &replay,
            "refuse-backup-not-completed.session",
            &[
                "--only",
                "messaging",
                "--messaging-backup",
                "arthur-backup-2023-05-12t15.22.31-04.00-messaging",
            ],
            true,
        );
        (replay.dir.path().to_path_buf(), output, replay)
    };
    let sim_ending = |fault: String| {
        let sim = Sim::new();
        let output = sim.restore(Some(&fault));
        (sim.dir.path().to_path_buf(), output, sim)
    };
    let failed = sim_ending(format!(
        "{}:forbidden",
        command_number("delete sts messaging ")
    ));
    let timed_out = sim_ending(format!("{}:blocking", command_number("delete pvc")));
    let interrupted = sim_ending(format!(
        "{}:interrupt",
        command_number("restore get arthur-backup-2023-05-11t15.22.37-04.00-messaging")
    ));
    let cases: [(&str, &std::path::Path, &std::process::Output, i32); 5] = [
        ("ending_command_failed", &failed.0, &failed.1, 1),
        (
            "ending_phase_failed",
            &partially_failed.0,
            &partially_failed.1,
            1,
        ),
        ("ending_refused", &refused.0, &refused.1, 3),
        ("ending_timed_out", &timed_out.0, &timed_out.1, 1),
        ("ending_interrupted", &interrupted.0, &interrupted.1, 130),
    ];
    for (name, dir, output, code) in cases {
        assert_eq!(
            output.status.code(),
            Some(code),
            "{name}: {}",
            explain(output)
        );
        let said = crate::support::steady(&stderr(output), dir);
        assert_eq!(said.matches("run --resume").count(), 1, "{name}: {said}");
        let cause = said.find("arthur-restore: error:").expect("the cause");
        assert!(
            said[cause..].contains("run --resume"),
            "{name}: the advice after the cause: {said}"
        );
        insta::assert_snapshot!(name, said);
    }
}
