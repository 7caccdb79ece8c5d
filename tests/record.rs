//! The record is the truth (SPEC section 5, rules 12-15): a run directory another user could
//! write is refused before any command; every byte of the transcript is bound to the chained
//! events; a resume believes the events, not state.json; a child's whole process group ends with
//! it; the audit says how the run ended and what its anchor proves.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::sim::{Sim, command_number};
use crate::support::{Argv, Replay, SESSION_RDS, explain, stderr, stdout, tool};

fn audit(target: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = tool()
        .arg("audit")
        .args(extra)
        .arg(target)
        .output()
        .unwrap();
    (
        output.status.code(),
        format!("{}{}", stdout(&output), stderr(&output)),
    )
}

fn final_hash(run_dir: &Path) -> String {
    let events = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    arthur_restore::record::events::line_hash(events.lines().last().unwrap())
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A restore of the simulated cluster into `run_dir` (or the default folder when `None`).
fn restore_into(sim: &Sim, run_dir: Option<&Path>) -> std::process::Output {
    let mut argv = Argv::arthur("run").with(&["--yes", "--poll-interval", "1ms"]);
    if let Some(dir) = run_dir {
        argv = argv.with(&["--run-dir", &dir.display().to_string()]);
    }
    sim.run(&argv.pairs(&SESSION_RDS[1..], &[]).words(), None, false)
}

fn refused_before_any_command(sim: &Sim, output: &std::process::Output, because: &str) {
    assert_eq!(output.status.code(), Some(3), "{}", explain(output));
    assert!(stderr(output).contains(because), "{}", stderr(output));
    assert_eq!(sim.calls(), 0, "no command ran");
}

/// Rule 12: a folder others may write, a run directory of another user, a default parent another
/// user made, a symlink as the run directory: each refused before any command runs.
#[test]
fn a_run_directory_others_could_write_is_refused_before_any_command() {
    let sim = Sim::new();
    let shared = sim.dir.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o777);
    let output = restore_into(&sim, Some(&shared.join("run")));
    refused_before_any_command(&sim, &output, "which any user may write");
    let output = restore_into(&sim, Some(&shared));
    refused_before_any_command(&sim, &output, "may be written by its group or others");

    // A symlink as the run directory (to a folder of one's own that others may read).
    let target = sim.dir.path().join("target");
    std::fs::create_dir(&target).unwrap();
    set_mode(&target, 0o755);
    std::os::unix::fs::symlink(&target, sim.dir.path().join("link")).unwrap();
    let output = restore_into(&sim, Some(&sim.dir.path().join("link")));
    refused_before_any_command(&sim, &output, "is a symlink or not a folder");
    assert!(std::fs::read_dir(&target).unwrap().next().is_none());

    // The default parent, made beforehand by another user (as root here: chown to nobody).
    let parent = sim.dir.path().join("arthur-restore-runs");
    std::fs::create_dir(&parent).unwrap();
    set_mode(&parent, 0o755);
    if std::os::unix::fs::chown(&parent, Some(65534), Some(65534)).is_ok() {
        let output = restore_into(&sim, None);
        refused_before_any_command(&sim, &output, "belongs to another user");
    }
}

/// A run directory of one's own that others could read is made 0700 before anything is written.
#[test]
fn an_empty_run_directory_of_ones_own_is_made_private() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::new();
    let dir = sim.dir.path().join("mine");
    std::fs::create_dir(&dir).unwrap();
    set_mode(&dir, 0o755);
    let output = restore_into(&sim, Some(&dir));
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700);
}

/// Rule 13: with the anchor, any edit of the transcript is a finding: an output line, the
/// header, a note, a line added; and without it too, while events.jsonl was left alone.
#[test]
fn every_byte_of_the_transcript_is_bound_to_the_events() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let run_dir = replay.run_dir();
    let anchor = final_hash(&run_dir);
    let (code, text) = audit(&run_dir, &["--expect", &anchor]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("every byte of the transcript is bound"),
        "{text}"
    );
    let path = run_dir.join("transcript.log");
    let original = std::fs::read_to_string(&path).unwrap();
    let output_line = original
        .lines()
        .find(|l| l.contains("\" deleted"))
        .expect("a deletion's answer")
        .to_string();
    let edits: Vec<(&str, String)> = vec![
        (
            "an output line",
            original.replacen(&output_line, &output_line.replace("deleted", "KEPT!!"), 1),
        ),
        (
            "the header's user",
            original.replacen("user=", "user=someone-else-", 1),
        ),
        (
            "a note",
            original.replacen(
                "# preflight passed",
                "# preflight PASSED (checked by hand)",
                1,
            ),
        ),
        (
            "a line added",
            original.replacen(
                &format!("{output_line}\n"),
                &format!("{output_line}\nI also ran rm -rf /data by hand\n"),
                1,
            ),
        ),
        (
            "a line added at the end",
            format!("{original}# steps: rds\n"),
        ),
    ];
    for (what, edited) in edits {
        assert_ne!(edited, original, "{what}: the edit changed nothing");
        std::fs::write(&path, &edited).unwrap();
        for extra in [vec!["--expect", anchor.as_str()], vec![]] {
            let (code, text) = audit(&run_dir, &extra);
            assert_eq!(code, Some(4), "{what} {extra:?}: {text}");
            assert!(
                text.contains("the transcript was edited there") || text.contains("bound to none"),
                "{what}: {text}"
            );
        }
    }
    std::fs::write(&path, &original).unwrap();
    // Without the anchor the report says what it cannot see.
    let (_, text) = audit(&run_dir, &[]);
    assert!(text.contains("not anchored"), "{text}");
}

/// A run killed after the messaging step, anchored by its true last hash: a `# steps:` line
/// inserted near the top does not make it conform; the steps come from the events.
#[test]
fn the_steps_of_a_run_come_from_its_events() {
    let sim = Sim::new();
    let n = command_number(
        "restore create --from-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments",
    );
    let output = sim.restore(Some(&format!("{n}:kill")));
    assert_ne!(output.status.code(), Some(0), "{}", explain(&output));
    let run_dir = sim.run_dir();
    let anchor = final_hash(&run_dir);
    let (code, text) = audit(&run_dir, &["--expect", &anchor]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("run ended: did not end"), "{text}");
    let path = run_dir.join("transcript.log");
    let original = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = original.lines().collect();
    lines.insert(2, "# steps: rds platform clickhouse messaging smoke");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    let (code, text) = audit(&run_dir, &["--expect", &anchor]);
    assert_eq!(code, Some(4), "{text}");
    assert!(!text.contains("conforms"), "{text}");
    assert!(text.contains("workflows    not done"), "{text}");
    assert!(!text.contains("smoke        done"), "{text}");
}

fn rechain(text: &str) -> String {
    let mut previous = "0".repeat(64);
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut value: Value = serde_json::from_str(line).unwrap();
        value["prev"] = previous.clone().into();
        let line = serde_json::to_string(&value).unwrap();
        previous = arthur_restore::record::events::line_hash(&line);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Rule 14: a record forged whole (state.json and events.jsonl chained again, as someone who
/// knows the format would) to make the enrichments step wait on the messaging restore: the
/// resume holds the restore to the backup it must be of, and refuses.
#[test]
fn an_adopted_restore_must_be_of_the_chosen_backup() {
    let sim = Sim::new();
    let n = command_number("restore get arthur-backup-2023-05-11t15.25.24-04.00-enrichments");
    let first = sim.restore(Some(&format!("{n}:interrupt")));
    assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
    let run_dir = sim.run_dir();
    let state_path = run_dir.join("state.json");
    let mut state: Value =
        serde_json::from_str(&std::fs::read_to_string(&state_path).unwrap()).unwrap();
    let messaging = state["facts"]["restores"]["messaging"].clone();
    assert!(messaging.is_string(), "{state:#}");
    state["facts"]["restores"]["enrichments"] = messaging.clone();
    std::fs::write(&state_path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let events_path = run_dir.join("events.jsonl");
    let forged: String = std::fs::read_to_string(&events_path)
        .unwrap()
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            if value["event"] == "facts-saved"
                && value["facts"]["restores"]["enrichments"].is_string()
            {
                value["facts"]["restores"]["enrichments"] = messaging.clone();
            }
            serde_json::to_string(&value).unwrap() + "\n"
        })
        .collect();
    std::fs::write(&events_path, rechain(&forged)).unwrap();
    let resumed = sim.resume(false);
    assert_eq!(resumed.status.code(), Some(3), "{}", explain(&resumed));
    assert!(
        stderr(&resumed).contains("restores the backup"),
        "{}",
        stderr(&resumed)
    );
}

/// Rule 14: a child's whole process group ends at its time limit: a kubectl that is a shell
/// script forking `sleep` (not exec) leaves nothing behind, nor does a grandchild holding stdout.
#[test]
fn a_time_limit_ends_the_whole_process_group() {
    let sim = Sim::new();
    let marker = 7000 + (std::process::id() % 900);
    let script = sim.dir.path().join("forking-kubectl");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nsleep {marker}.1 &\n(sleep {marker}.2) &\nsleep {marker}.3\n"),
    )
    .unwrap();
    set_mode(&script, 0o755);
    let run_dir = sim.run_dir().display().to_string();
    let argv = Argv::arthur("run")
        .with(&["--yes", "--command-timeout", "1s", "--run-dir", &run_dir])
        .pairs(&SESSION_RDS[1..], &[]);
    let output = crate::support::output_within(
        sim.command()
            .env("ARTHUR_RESTORE_KUBECTL", &script)
            .args(argv.words()),
        std::time::Duration::from_secs(60),
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    assert!(
        stderr(&output).contains("--command-timeout"),
        "{}",
        stderr(&output)
    );
    std::thread::sleep(std::time::Duration::from_millis(200));
    let survivors: Vec<PathBuf> = std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .map(|e| e.path().join("cmdline"))
        .filter(|p| {
            std::fs::read(p)
                .map(|c| String::from_utf8_lossy(&c).contains(&format!("{marker}.")))
                .unwrap_or(false)
        })
        .collect();
    assert!(survivors.is_empty(), "still running: {survivors:?}");
}

/// The audit says how a run ended: a PartiallyFailed restore, a refusal, a run of one step.
#[test]
fn the_verdict_names_how_the_run_ended() {
    let replay = Replay::new();
    let output = replay.restore(
        "messaging-partially-failed.session",
        &[
            "--only",
            "messaging",
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
        ],
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let (code, text) = audit(&replay.run_dir(), &[]);
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.contains("run ended: failed at step messaging"),
        "{text}"
    );
    assert!(text.contains("ended PartiallyFailed"), "{text}");
    assert!(!text.contains("smoke        done"), "{text}");
    let json = tool()
        .args(["-o", "json", "audit"])
        .arg(replay.run_dir())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["ending"]["status"], "failed", "{report:#}");
    assert_eq!(report["ending"]["step"], "step messaging", "{report:#}");
    assert!(
        report["ending"]["command"]
            .as_str()
            .unwrap()
            .starts_with("velero"),
        "{report:#}"
    );
    assert!(report["findings"].is_array());
}

/// `audit --expect` says the final hash, the expected one and that they match, in text and
/// JSON; the JSON's identity is structured; `audit RUN_DIR` reads the transcript in it.
#[test]
fn the_anchor_and_the_identity_are_said_outright() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let anchor = final_hash(&replay.run_dir());
    let (code, text) = audit(&replay.run_dir(), &["--expect", &anchor]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("final hash: {anchor}")), "{text}");
    assert!(
        text.contains(&format!("expected:   {anchor}: matches")),
        "{text}"
    );
    assert!(text.contains("run ended: completed"), "{text}");
    assert!(text.contains("assurance: anchored"), "{text}");
    let json = tool()
        .args(["-o", "json", "audit", "--expect", &anchor])
        .arg(replay.run_dir())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["anchor"]["matches"], true, "{report:#}");
    assert_eq!(report["chain"]["intact"], true, "{report:#}");
    assert_eq!(report["anchor"]["final_hash"], anchor.as_str());
    assert!(
        report["run"]["reached"]["kube_context"].is_string(),
        "{report:#}"
    );
    assert!(report["run"]["steps"].is_array(), "{report:#}");
    let wrong = "0".repeat(64);
    let (code, text) = audit(&replay.run_dir(), &["--expect", &wrong]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("DOES NOT MATCH"), "{text}");
}

/// `--html` never writes into the run directory nor over its evidence (exit 2, untouched).
#[test]
fn the_html_page_never_replaces_the_evidence() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let run_dir = replay.run_dir();
    let events = std::fs::read(run_dir.join("events.jsonl")).unwrap();
    for page in [run_dir.join("events.jsonl"), run_dir.join("report.html")] {
        let output = tool()
            .arg("audit")
            .arg("--html")
            .arg(&page)
            .arg(run_dir.join("events.jsonl"))
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
        assert!(stderr(&output).contains("--html"), "{}", stderr(&output));
    }
    assert_eq!(std::fs::read(run_dir.join("events.jsonl")).unwrap(), events);
    assert!(!run_dir.join("report.html").exists());
}

/// A log kept by hand whose recover call failed (`curl: (7)`, no success answer, never run
/// again) does not conform.
#[test]
fn a_failed_call_in_a_hand_kept_log_is_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("terminal.log");
    std::fs::write(
        &log,
        "$ kubectl get sts -n arthur\nNAME        READY   AGE\nmessaging   3/3     1d\n$ curl -k -XPOST http://localhost:7899/api/v1/workflows/batch/recover\ncurl: (7) Failed to connect to localhost port 7899 after 0 ms: Couldn't connect to server\n",
    )
    .unwrap();
    let (code, text) = audit(&log, &[]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("batch/recover` failed"), "{text}");
}

/// Rule 15: random control bytes (ESC sequences, OSC 8 links, BEL, CR, NUL, U+202E) and a line
/// of 2 MiB in the output of each command of a simulated run, one command per run: no raw
/// control character reaches any file or stream, and the run's own transcript always audits.
#[test]
fn hostile_bytes_in_any_output_never_pass_the_boundary() {
    let started = std::time::Instant::now();
    let commands = crate::support::sim::reference_calls().len();
    let cases: Vec<usize> = (1..=commands).collect();
    let failures = crate::support::check_all(&cases, |n| {
        let sim = Sim::new();
        let argv = Argv::arthur("run")
            .with(&["--yes", "--command-timeout", "20s"])
            .fast(&sim.run_dir())
            .pairs(&SESSION_RDS[1..], &[]);
        let output = sim
            .command()
            .env("ARTHUR_SIM_NOISE", n.to_string())
            .args(argv.words())
            .output()
            .unwrap();
        let mut found = Vec::new();
        let mut look = |what: &str, text: &str| {
            if let Some(c) = text
                .chars()
                .find(|c| arthur_restore::process::is_unsafe_char(*c))
            {
                found.push(format!("{what} holds {c:?}"));
            }
        };
        look("stdout", &String::from_utf8_lossy(&output.stdout));
        look("stderr", &String::from_utf8_lossy(&output.stderr));
        for file in ["transcript.log", "events.jsonl", "state.json"] {
            let bytes = std::fs::read(sim.run_dir().join(file)).unwrap_or_default();
            look(file, &String::from_utf8_lossy(&bytes));
        }
        let (code, text) = audit(&sim.run_dir(), &[]);
        if !matches!(code, Some(0 | 4)) {
            found.push(format!(
                "audit exit {code:?}: {}",
                text.lines().next().unwrap_or("")
            ));
        }
        (!found.is_empty()).then(|| format!("noise in command {n}: {found:?}"))
    });
    crate::support::sim::summary(
        "controls",
        &format!(
            "control-character property test: {} runs (hostile bytes in each command's output), {} failed",
            cases.len(),
            failures.len()
        ),
        started,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
