//! `verify` on recorded clusters: the summary, one line per problem with a command to look
//! closer, and the exit status (0 healthy, 4 not, 1 when a command failed).

use crate::support::{Replay, explain, stdout};

fn verify(session: &str, extra: &[&str]) -> (i32, String) {
    let replay = Replay::new();
    let mut args = vec!["-n", "arthur"];
    args.extend(extra);
    args.extend(["verify", "--poll-interval", "1ms", "--timeout", "2s"]);
    let output = replay.run(session, &args);
    (output.status.code().unwrap_or(-1), stdout(&output))
}

#[test]
fn healthy() {
    let (code, text) = verify("verify-healthy.session", &[]);
    assert_eq!(code, 0, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_crash_looping_pod_is_a_problem_and_a_finished_jobs_pod_is_not() {
    let (code, text) = verify("verify-crashloop.session", &[]);
    assert_eq!(code, 4, "{text}");
    insta::assert_snapshot!(text);
    assert!(!text.contains("clickhouse-restore-7xk2p"));
}

#[test]
fn a_failed_job_is_named() {
    let (code, text) = verify("verify-failed-job.session", &[]);
    assert_eq!(code, 4, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_degraded_app_is_a_problem() {
    let (code, text) = verify("verify-degraded.session", &[]);
    assert_eq!(code, 4, "{text}");
    insta::assert_snapshot!(text);
}

#[test]
fn a_running_job_is_not_yet_and_wait_waits_for_it() {
    let (code, text) = verify("verify-running.session", &[]);
    assert_eq!(code, 4, "{text}");
    insta::assert_snapshot!(text);
    assert!(text.contains("not yet: job arthurai-database-migration-hhlpc is still running"));
    assert!(!text.contains("problem"));
    let replay = Replay::new();
    let output = replay.run(
        "verify-running-then-done.session",
        &[
            "-n",
            "arthur",
            "verify",
            "--wait",
            "--poll-interval",
            "1ms",
            "--timeout",
            "5s",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert!(stdout(&output).starts_with("verify: healthy"));
}

#[test]
fn json_carries_the_same_facts() {
    let (code, text) = verify("verify-crashloop.session", &["--output", "json"]);
    assert_eq!(code, 4);
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["healthy"], false);
    assert_eq!(json["problems"], 1);
    assert_eq!(json["health"]["findings"][0]["severity"], "problem");
}

#[test]
fn a_failing_command_exits_1() {
    // The session expects other commands than verify runs: the fake CLI fails loudly.
    let replay = Replay::new();
    let output = replay.run(
        "hang.session",
        &["-n", "arthur", "verify", "--command-timeout", "200ms"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    assert!(
        crate::support::stderr(&output).contains("`kubectl get pods -n arthur -o json` failed")
    );
}

#[test]
fn the_restores_of_a_run_directory_are_checked() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    replay.restart_session();
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run(
        "verify-after-run.session",
        &["verify", "--run-dir", &run_dir],
    );
    assert_eq!(output.status.code(), Some(4), "{}", explain(&output));
    let text = stdout(&output);
    assert!(text.contains("3 Velero restores"), "{text}");
    assert!(text.contains("problem: Velero restore arthur-backup-2023-05-11t15.23.25-04.00-workflows-20230514102511 ended PartiallyFailed (2 errors)"), "{text}");
    assert!(text.contains("look: velero restore logs arthur-backup-2023-05-11t15.23.25-04.00-workflows-20230514102511 -n velero"));
    // `verify RUN_DIR`, as `audit RUN_DIR` takes it: the same check.
    replay.restart_session();
    let positional = replay.run("verify-after-run.session", &["verify", &run_dir]);
    assert_eq!(
        positional.status.code(),
        Some(4),
        "{}",
        explain(&positional)
    );
    assert_eq!(stdout(&positional), text);
}

#[test]
fn ctrl_c_while_verify_waits_exits_130() {
    let replay = Replay::new();
    let output = replay.run(
        "verify-interrupted.session",
        &[
            "-n",
            "arthur",
            "verify",
            "--wait",
            "--poll-interval",
            "10s",
            "--timeout",
            "60s",
        ],
    );
    assert_eq!(output.status.code(), Some(130), "{}", explain(&output));
    assert!(
        crate::support::stderr(&output).contains("interrupted"),
        "{}",
        explain(&output)
    );
}

/// verify --run-dir checks the run's cluster: another one is refused (exit 3), and one whose
/// identity cannot be read is refused unless --allow-unknown-cluster.
#[test]
fn verify_of_a_run_directory_checks_the_runs_cluster() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let run_dir = replay.run_dir().display().to_string();
    replay.restart_session();
    let output = replay.run(
        "verify-other-cluster.session",
        &["verify", "--run-dir", &run_dir],
    );
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(crate::support::stderr(&output).contains("but the current kube context reaches"));
    for (allow, code) in [(false, 3), (true, 4)] {
        replay.restart_session();
        let mut args = vec!["verify", "--run-dir", &run_dir];
        if allow {
            args.push("--allow-unknown-cluster");
        }
        let output = replay.run("verify-unknown-cluster.session", &args);
        assert_eq!(output.status.code(), Some(code), "{}", explain(&output));
        if !allow {
            assert!(crate::support::stderr(&output).contains("--allow-unknown-cluster"));
        }
    }
}

/// `verify` runs kubectl alone (and velero only for a run directory's restores): a host without
/// velero, aws or curl can verify. A command that needs a missing CLI names it and where to get
/// it.
#[test]
fn verify_needs_only_kubectl() {
    let replay = Replay::new();
    let path = format!("{}:/usr/bin:/bin", replay.dir.path().join("bin").display());
    let missing = |command: &mut std::process::Command| {
        for variable in [
            "ARTHUR_RESTORE_VELERO",
            "ARTHUR_RESTORE_AWS",
            "ARTHUR_RESTORE_CURL",
        ] {
            command.env(variable, "/nonexistent/program");
        }
        command
            .env("PATH", &path)
            .env(
                "ARTHUR_REPLAY_SESSION",
                crate::support::fixtures().join("sessions/verify-healthy.session"),
            )
            .env("ARTHUR_REPLAY_STATE", replay.dir.path().join("state"));
    };
    let mut command = crate::support::tool();
    missing(&mut command);
    let output = command
        .args(["-n", "arthur", "verify", "--poll-interval", "1ms"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));

    let mut command = crate::support::tool();
    missing(&mut command);
    let output = command.args(["-n", "arthur", "backups"]).output().unwrap();
    // A preflight refusal, as for run and plan: nothing was run.
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let said = crate::support::stderr(&output);
    assert!(said.contains("`velero` was not found"), "{said}");
    assert!(said.contains("install the velero CLI"), "{said}");
    assert!(said.contains("ARTHUR_RESTORE_VELERO"), "{said}");
}

#[test]
fn a_missing_run_directory_is_named() {
    let replay = Replay::new();
    let output = replay.run(
        "verify-healthy.session",
        &["verify", "--run-dir", "/nonexistent/run"],
    );
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let said = crate::support::stderr(&output);
    assert!(
        said.contains("--run-dir /nonexistent/run: no such directory"),
        "{said}"
    );
    assert!(!said.contains("--resume"), "{said}");
}
