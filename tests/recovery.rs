//! Recovery against the simulated cluster (`arthur-restore-sim`): a complete restore interrupted
//! at every command, then resumed; every command failing in each way the tool tells apart, then
//! resumed once the fault is cleared. Each matrix writes its summary line to
//! target/test-summaries, which scripts/test prints.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::sim::{
    Sim, command_number, fault_env, faulted_call, reference_calls, summary, transcript,
};
use crate::support::{Argv, SESSION_RDS, explain, stdout, tool};

fn audit_conforms(transcript: &Path) -> Result<(), String> {
    let output = tool().arg("audit").arg(transcript).output().unwrap();
    if output.status.code() == Some(0) {
        Ok(())
    } else {
        Err(stdout(&output))
    }
}

/// The reference: an uninterrupted restore, its number of commands and its end state.
fn reference() -> (usize, Value) {
    let sim = Sim::new();
    let output = sim.restore(None);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    sim.assert_nothing_repeated();
    (sim.calls(), sim.end_state())
}

/// One crash: interrupt with `signal` while command `n` runs (after it took effect), let the
/// world move on, resume. `Err` says what went wrong.
fn crash_at(n: usize, signal: &str, expected: &Value) -> Result<(), String> {
    let sim = Sim::new();
    let first = sim.restore(Some(&format!("{n}:{signal}")));
    let code = first.status.code();
    let want = if signal == "kill" { None } else { Some(130) };
    if code != want {
        return Err(format!(
            "the interrupted run exited {code:?}\n{}",
            explain(&first)
        ));
    }
    resumed(&sim, false)?;
    same_end(&sim, expected)?;
    audit_conforms(&sim.run_dir().join("transcript.log"))
}

/// `--resume` (clearing a blocking fault first when `clear`) completes: `Err` says how not.
fn resumed(sim: &Sim, clear: bool) -> Result<(), String> {
    let resumed = sim.resume(clear);
    if resumed.status.code() != Some(0) {
        return Err(format!(
            "the resume exited {:?}\n{}",
            resumed.status.code(),
            explain(&resumed)
        ));
    }
    Ok(())
}

/// The world ended as the uninterrupted restore left it, and no change was asked twice.
fn same_end(sim: &Sim, expected: &Value) -> Result<(), String> {
    let end = sim.end_state();
    if &end != expected {
        return Err(format!("end state {end:#}\nexpected {expected:#}"));
    }
    let repeated = sim.repeated_changes();
    if !repeated.is_empty() {
        return Err(format!("repeated: {repeated:?}"));
    }
    Ok(())
}

/// The orderly interruptions, Ctrl-C and SIGTERM: the tool handles both alike (one flag).
const ORDERLY: [&str; 2] = ["interrupt", "terminate"];

#[test]
fn a_restore_interrupted_at_any_command_resumes_to_the_same_end() {
    let started = std::time::Instant::now();
    let (commands, expected) = reference();
    // SIGKILL at every command; SIGINT and SIGTERM (one handler, one flag: the same way out)
    // in turn, so that every command also meets an orderly interruption and each signal half.
    let cases: Vec<(usize, &str)> = (1..=commands)
        .flat_map(|n| [(n, "kill"), (n, ORDERLY[n % ORDERLY.len()])])
        .collect();
    let failures = crate::support::check_all(&cases, |(n, signal)| {
        crash_at(*n, signal, &expected)
            .err()
            .map(|why| format!("command {n}, {signal}: {why}"))
    });
    summary(
        "crash-points",
        &format!(
            "crash-point matrix: {} cases ({commands} commands x SIGKILL, and SIGINT or SIGTERM in turn), {} failed",
            cases.len(),
            failures.len()
        ),
        started,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Interrupted while waiting for the messaging restore (which then completes and recreates the
/// StatefulSets and PVCs): the resume does not ask for them to be gone again.
#[test]
fn resume_after_the_messaging_restore_began_finishes() {
    let sim = Sim::new();
    let n = command_number("restore get arthur-backup-2023-05-11t15.22.37-04.00-messaging");
    let first = sim.restore(Some(&format!("{n}:interrupt")));
    assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
    sim.resume_completes("");
    assert!(transcript(&sim).contains("recreates the objects; not checked again"));
    sim.assert_nothing_repeated();
}

/// The RDS restore and the ClickHouse Job, killed after the API accepted them: the resume finds
/// this run's instance and Job and adopts them, sending nothing again.
#[test]
fn a_change_killed_after_it_took_effect_is_adopted() {
    for (command, adopted) in [
        (
            "restore-db-instance-from-db-snapshot",
            "adopted, the restore is not sent again",
        ),
        ("apply -f", "adopted, not applied again"),
    ] {
        let sim = Sim::new();
        let n = command_number(command);
        let first = sim.restore(Some(&format!("{n}:terminate")));
        assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
        sim.resume_completes(&format!("{command}: "));
        assert!(transcript(&sim).contains(adopted), "{command}");
        sim.assert_nothing_repeated();
    }
}

/// A command killed at --command-timeout has its `$` line, a note and a `command-killed` event;
/// the completed, resumed run audits clean.
#[test]
fn a_command_killed_by_its_time_limit_is_on_record() {
    let sim = Sim::new();
    let n = command_number("apply -f");
    let first = sim.restore(Some(&format!("{n}:hang")));
    assert_eq!(first.status.code(), Some(1), "{}", explain(&first));
    let text = transcript(&sim);
    let at = text
        .find("$ kubectl apply -f")
        .expect("the $ line of the killed command");
    assert!(
        text[at..].contains("# command ended without an answer: `kubectl apply"),
        "{}",
        &text[at..]
    );
    let events = std::fs::read_to_string(sim.run_dir().join("events.jsonl")).unwrap();
    assert!(events.contains("\"event\":\"command-started\""));
    assert!(events.contains("\"event\":\"command-killed\""));
    sim.resume_completes("");
    audit_conforms(&sim.run_dir().join("transcript.log")).unwrap();
}

/// A mistyped backup name is refused before any change; the refusal says so and how to go on,
/// and the resume with the corrected name completes.
#[test]
fn a_refusal_before_any_change_leads_to_a_corrected_resume() {
    let sim = Sim::new();
    let argv = Argv::arthur("run")
        .with(&["--yes"])
        .fast(&sim.run_dir())
        .pairs(&SESSION_RDS[1..], &[])
        .with(&[
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messagin",
        ]);
    let first = sim.run(&argv.words(), None, false);
    assert_eq!(first.status.code(), Some(3), "{}", explain(&first));
    let said = stderr(&first);
    assert!(said.contains("nothing was changed"), "{said}");
    assert!(said.contains("run --resume"), "{said}");
    assert!(
        said.contains("(did you mean arthur-backup-2023-05-11t15.22.37-04.00-messaging?)"),
        "{said}"
    );
    sim.assert_nothing_repeated();
    let run_dir = sim.run_dir().display().to_string();
    let resumed = sim.run(
        &[
            "run",
            "--resume",
            &run_dir,
            "--yes",
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
        ],
        None,
        false,
    );
    assert_eq!(resumed.status.code(), Some(0), "{}", explain(&resumed));
    assert!(transcript(&sim).contains("# options corrected on resume (their steps had not begun): --messaging-backup arthur-backup-2023-05-11t15.22.37-04.00-messagin -> arthur-backup-2023-05-11t15.22.37-04.00-messaging"));
    // Once a step has begun, its options are fixed.
    let done = sim.run(
        &["run", "--resume", &run_dir, "--messaging-backup", "other"],
        None,
        false,
    );
    assert_eq!(done.status.code(), Some(2), "{}", explain(&done));
}

/// A resume checks the cluster and the connection: options that name another cluster or
/// endpoint are a usage error; an identity that cannot be read is a refusal, unless
/// --allow-unknown-cluster (recorded).
#[test]
fn a_resume_proves_it_touches_the_runs_cluster() {
    let sim = Sim::new();
    let n = command_number("restore-db-instance-from-db-snapshot");
    let first = sim.restore(Some(&format!("{n}:interrupt")));
    assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
    let run_dir = sim.run_dir().display().to_string();
    for global in [
        ["--context", "staging"],
        ["--kubeconfig", "/other/config"],
        ["--aws-endpoint-url", "http://127.0.0.1:9"],
    ] {
        let mut args: Vec<&str> = global.to_vec();
        args.extend(["run", "--resume", &run_dir, "--yes"]);
        let output = sim.run(&args, None, false);
        assert_eq!(
            output.status.code(),
            Some(2),
            "{global:?}: {}",
            explain(&output)
        );
        assert!(stderr(&output).contains(global[0]), "{}", stderr(&output));
    }
    let unknown = |allow: bool| {
        let mut args = vec!["run", "--resume", &run_dir, "--yes"];
        if allow {
            args.push("--allow-unknown-cluster");
        }
        sim.command()
            .env("ARTHUR_SIM_CLUSTER", "forbidden")
            .args(&args)
            .output()
            .unwrap()
    };
    let refused = unknown(false);
    assert_eq!(refused.status.code(), Some(3), "{}", explain(&refused));
    assert!(stderr(&refused).contains("--allow-unknown-cluster"));
    let allowed = unknown(true);
    assert_eq!(allowed.status.code(), Some(0), "{}", explain(&allowed));
    assert!(transcript(&sim).contains("WARNING: --allow-unknown-cluster"));
}

fn alive(pid: u64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .is_ok_and(|stat| !stat.split(") ").nth(1).unwrap_or("").starts_with('Z'))
}

/// A second run on a directory in use is refused (exit 3) naming the holder, and changes
/// nothing; the lock of a run killed with SIGKILL is taken over and said so; the port-forward of
/// a killed run does not outlive it.
#[test]
fn one_run_at_a_time_and_nothing_left_behind() {
    let sim = Sim::new();
    let n = command_number("apply -f");
    let run_dir = sim.run_dir().display().to_string();
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_arthur-restore"))
        .env_clear()
        .env("TZ", "UTC")
        .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z")
        .envs(sim.env())
        .envs(fault_env(&format!("{n}:hang")))
        .args([
            "-n",
            "arthur",
            "run",
            "--yes",
            "--poll-interval",
            "1ms",
            "--command-timeout",
            "60s",
            "--run-dir",
            &run_dir,
            "--rds-instance",
            "arthur-restored-db",
            "--rds-like",
            "arthur-prod-db",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while sim.calls() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let before = sim.calls();
    let second = sim.run(&["run", "--resume", &run_dir, "--yes"], None, false);
    assert_eq!(second.status.code(), Some(3), "{}", explain(&second));
    assert!(
        stderr(&second).contains(&format!("pid {}", first.id())),
        "{}",
        stderr(&second)
    );
    assert_eq!(sim.calls(), before, "the refused run ran nothing");
    first.kill().unwrap();
    first.wait().unwrap();
    sim.resume_completes("");
    assert!(
        transcript(&sim).contains("lock was left by pid"),
        "the stale lock is said"
    );

    // SIGKILL while the recover call runs: the port-forward beside it dies with the tool.
    let sim = Sim::new();
    let n = command_number("-XPOST");
    let killed = sim.restore(Some(&format!("{n}:kill")));
    assert_eq!(killed.status.code(), None, "{}", explain(&killed));
    let forward = sim.world()["calls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["argv"].to_string().contains("port-forward"))
        .map(|c| c["pid"].as_u64().unwrap())
        .expect("a port-forward ran");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while alive(forward) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(
        !alive(forward),
        "the port-forward {forward} outlived the tool"
    );
}

/// The tool killed while writing an event: the resume finds the last line cut short, says so
/// before appending, and the chain still checks.
#[test]
fn a_last_event_cut_short_is_reported_and_the_chain_holds() {
    let sim = Sim::new();
    let n = command_number("delete sts messaging ");
    let first = sim.restore(Some(&format!("{n}:kill")));
    assert_eq!(first.status.code(), None);
    let events = sim.run_dir().join("events.jsonl");
    let text = std::fs::read_to_string(&events).unwrap();
    std::fs::write(&events, &text[..text.len() - 15]).unwrap();
    sim.resume_completes("");
    assert!(transcript(&sim).contains("was cut short"));
    audit_conforms(&sim.run_dir().join("transcript.log")).unwrap();
}

/// Ctrl-C pressed twice: the child is killed at once and the state is still saved.
#[test]
fn ctrl_c_twice_still_saves_state() {
    let sim = Sim::new();
    let n = command_number("restore-db-instance-from-db-snapshot");
    let first = sim.restore(Some(&format!("{n}:interrupt-twice")));
    assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
    let state: Value =
        serde_json::from_str(&std::fs::read_to_string(sim.run_dir().join("state.json")).unwrap())
            .unwrap();
    assert_eq!(state["status"], "interrupted");
}

/// --run-dir must be new or empty, or hold a run of this tool.
#[test]
fn a_run_dir_with_other_files_is_refused() {
    let sim = Sim::new();
    std::fs::create_dir_all(sim.run_dir()).unwrap();
    std::fs::write(sim.run_dir().join("notes.txt"), "mine").unwrap();
    let output = sim.restore(None);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(stderr(&output).contains("not empty"));
    assert_eq!(sim.calls(), 0);
}

/// The real CLIs' other errors (forbidden, connection refused, throttled): the tool reads none
/// of their texts, so one class; each command meets one of them, in turn.
const ERRORS: [&str; 3] = ["forbidden", "refused", "throttled"];

/// The faults command `n` meets in the fault matrix: a not-found answer (which some reads take
/// as "absent"), one of ERRORS, a hang past --command-timeout, output no parser reads, death by
/// a signal.
fn faults_of(n: usize) -> [&'static str; 5] {
    [
        "notfound",
        ERRORS[n % ERRORS.len()],
        "hang",
        "garbage",
        "signal",
    ]
}

/// The changes asked after call `n` (the first run's, before the resume).
fn changes_after(world: &Value, n: usize) -> Vec<String> {
    world["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["n"].as_u64().unwrap_or(0) as usize > n && c["changed"].is_string())
        .map(|c| c["argv"].to_string())
        .collect()
}

/// One fault: the run fails as SPEC says (or, where the command is only recorded or polled
/// again, goes on), changes nothing after the failure, says which command and what to do; once
/// the fault is cleared, --resume completes to the same end.
fn fault_at(n: usize, kind: &str, expected: &Value) -> Result<(), String> {
    let sim = Sim::new();
    let first = sim.restore(Some(&format!("{n}:{kind}")));
    let command = &reference_calls()[n - 1];
    match first.status.code() {
        Some(0) => {}
        Some(1 | 3) => {
            let said = stderr(&first);
            let program = command.split(' ').next().unwrap_or("");
            if !said.contains(&format!("`{program} ")) && !said.contains(&format!("`{command}`")) {
                return Err(format!(
                    "the error does not name the command `{command}`:\n{said}"
                ));
            }
            if !said.contains("run --resume") {
                return Err(format!("the error does not say how to go on:\n{said}"));
            }
            let world = sim.world();
            let after = changes_after(&world, faulted_call(&world).unwrap_or(n));
            if !after.is_empty() {
                return Err(format!("changed after the failure: {after:?}"));
            }
            resumed(&sim, kind == "blocking")?;
        }
        other => {
            return Err(format!(
                "exit {other:?}, not 0, 1 or 3\n{}",
                explain(&first)
            ));
        }
    }
    same_end(&sim, expected)
}

#[test]
fn every_command_meets_every_fault() {
    let started = std::time::Instant::now();
    let (_, expected) = reference();
    let commands = reference_calls();
    let mut cases: Vec<(usize, &str)> = (1..=commands.len())
        .flat_map(|n| faults_of(n).map(|kind| (n, kind)))
        .collect();
    // Blocking like the real systems: PVCs held by their protection finalizer, a Velero restore
    // that stays InProgress.
    cases.push((command_number("delete pvc"), "blocking"));
    cases.push((command_number("restore create --from-backup"), "blocking"));
    let failures = crate::support::check_all(&cases, |(n, kind)| {
        fault_at(*n, kind, &expected)
            .err()
            .map(|why| format!("command {n} (`{}`), {kind}: {why}", commands[n - 1]))
    });
    summary(
        "faults",
        &format!(
            "fault matrix: {} cases ({} commands x {} faults, one of {} errors in turn; and 2 blocking), {} failed",
            cases.len(),
            commands.len(),
            faults_of(1).len(),
            ERRORS.len(),
            failures.len()
        ),
        started,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
