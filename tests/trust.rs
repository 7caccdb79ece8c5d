//! Trust boundaries: values from state.json and from command output reach an argv only through
//! the same checks as flags; a state edited by hand is refused before anything runs.

use serde_json::Value;

use crate::support::sim::{Sim, command_number};
use crate::support::{Argv, SESSION_RDS, explain};

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The calls the sim received that change something, after the first `skip`.
fn changes_after(sim: &Sim, skip: usize) -> Vec<String> {
    sim.world()["calls"]
        .as_array()
        .into_iter()
        .flatten()
        .skip(skip)
        .filter(|c| c["changed"].is_string())
        .map(|c| c["argv"].to_string())
        .collect()
}

/// A run interrupted right after its first deletion, with state.json then edited by `edit`; the
/// resume must be refused (exit 3) with `because`, and change nothing.
fn edited_state_is_refused(edit: impl Fn(&mut Value), because: &str) {
    let sim = Sim::new();
    let n = command_number("delete sts messaging ");
    let first = sim.restore(Some(&format!("{n}:interrupt")));
    assert_eq!(first.status.code(), Some(130), "{}", explain(&first));
    let path = sim.run_dir().join("state.json");
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut state);
    std::fs::write(&path, serde_json::to_string_pretty(&state).unwrap()).unwrap();
    let before = sim.calls();
    let resumed = sim.resume(false);
    assert_eq!(resumed.status.code(), Some(3), "{}", explain(&resumed));
    assert!(stderr(&resumed).contains(because), "{}", stderr(&resumed));
    assert!(
        changes_after(&sim, before).is_empty(),
        "{:?}",
        changes_after(&sim, before)
    );
    assert_eq!(sim.calls(), before, "nothing ran at all");
}

#[test]
fn a_state_edited_to_delete_everything_is_refused() {
    edited_state_is_refused(
        |state| {
            state["facts"]["messaging_deletions"]["statefulsets"]
                .as_array_mut()
                .unwrap()
                .push("--all".into())
        },
        "is not a Kubernetes object name",
    );
}

/// Rule 14: facts come from the chained events. A state that says a step completed, or names a
/// restore the events never recorded, is refused naming the fact.
#[test]
fn a_state_that_says_more_than_the_events_is_refused() {
    edited_state_is_refused(
        |state| {
            state["facts"]["completed_steps"] =
                serde_json::json!(["rds", "platform", "clickhouse", "messaging"])
        },
        "facts.completed_steps",
    );
    edited_state_is_refused(
        |state| {
            state["facts"]["restores"]["messaging"] =
                "arthur-backup-2023-05-11t15.25.24-04.00-enrichments-20261204020000".into()
        },
        "facts.restores",
    );
}

#[test]
fn a_state_edited_to_an_option_like_namespace_is_refused() {
    edited_state_is_refused(
        |state| state["options"]["namespace"] = "-A".into(),
        "is not a Kubernetes namespace",
    );
}

#[test]
fn a_state_whose_deletions_the_gate_did_not_show_is_refused() {
    edited_state_is_refused(
        |state| {
            state["facts"]["messaging_deletions"]["pvcs"]
                .as_array_mut()
                .unwrap()
                .push("data-volume-template-chi-olap-installation-arthur-0-0-0".into())
        },
        "not the one the deletion gate showed",
    );
}

#[test]
fn a_state_whose_parameters_the_events_did_not_record_is_refused() {
    edited_state_is_refused(
        |state| {
            state["options"]["backups"]["enrichments"] =
                "arthur-backup-2023-05-04t15.25.24-04.00-enrichments".into()
        },
        "not those events.jsonl recorded",
    );
}

/// A PV listed under the name `--all`, bound to a messaging claim: a refusal naming the command,
/// the line and the value, before anything is deleted.
#[test]
fn a_name_from_output_that_is_not_a_name_is_refused() {
    let sim = Sim::new();
    let argv = Argv::arthur("run")
        .with(&["--yes"])
        .fast(&sim.run_dir())
        .pairs(&SESSION_RDS[1..], &[]);
    let output = sim
        .command()
        .env("ARTHUR_SIM_EXTRA_PV", "--all")
        .args(argv.words())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let said = stderr(&output);
    assert!(said.contains("`kubectl get pv`"), "{said}");
    assert!(said.contains("\"--all\""), "{said}");
    assert!(said.contains("at line"), "{said}");
    let deletes: Vec<String> = changes_after(&sim, 0)
        .into_iter()
        .filter(|c| c.contains("\"delete\""))
        .collect();
    assert!(deletes.is_empty(), "{deletes:?}");
}

/// Every planted secret found in the run directory's files or the tool's output.
fn leaks(sim: &Sim, output: &std::process::Output) -> Vec<String> {
    let planted: Vec<String> = sim.world()["planted"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let mut texts: Vec<(String, String)> = vec![
        (
            "stdout".into(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
        ),
        (
            "stderr".into(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        ),
    ];
    if let Ok(entries) = std::fs::read_dir(sim.run_dir()) {
        for entry in entries.flatten() {
            let text = std::fs::read(entry.path()).unwrap_or_default();
            texts.push((
                entry.file_name().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&text).into_owned(),
            ));
        }
    }
    let mut found = Vec::new();
    for secret in &planted {
        for (name, text) in &texts {
            if text.contains(secret.as_str()) {
                found.push(format!("{secret} in {name}"));
            }
        }
    }
    found
}

/// Secrets of every form, planted in every command's stdout and stderr, in success and in
/// failure (the command failing, or printing what no parser reads): none reaches any file of the
/// run directory, standard output or standard error.
#[test]
fn no_planted_secret_reaches_any_file_or_stream() {
    let started = std::time::Instant::now();
    let commands = crate::support::sim::reference_calls().len();
    let mut cases: Vec<(u64, Option<String>)> = (1..=3).map(|seed| (seed, None)).collect();
    for kind in ["forbidden", "garbage"] {
        for n in 1..=commands {
            cases.push((n as u64 + 10, Some(format!("{n}:{kind}"))));
        }
    }
    let planted = std::sync::atomic::AtomicUsize::new(0);
    let failures = crate::support::check_all(&cases, |(seed, fault)| {
        let sim = Sim::new();
        let argv = Argv::arthur("run")
            .with(&["--yes", "--command-timeout", "20s"])
            .fast(&sim.run_dir())
            .pairs(&SESSION_RDS[1..], &[]);
        let mut command = sim.command();
        command.env("ARTHUR_SIM_SECRETS", seed.to_string());
        if let Some(fault) = fault {
            command.envs(crate::support::sim::fault_env(fault));
        }
        let output = command.args(argv.words()).output().unwrap();
        planted.fetch_add(
            sim.world()["planted"].as_array().map_or(0, Vec::len),
            std::sync::atomic::Ordering::SeqCst,
        );
        let found = leaks(&sim, &output);
        (!found.is_empty()).then(|| format!("seed {seed}, fault {fault:?}: {found:?}"))
    });
    crate::support::sim::summary(
        "secrets",
        &format!(
            "secrets property test: {} runs, {} secrets planted in stdout and stderr, {} runs leaked",
            cases.len(),
            planted.into_inner(),
            failures.len()
        ),
        started,
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The run directory is the operator's alone: 0700, its files 0600.
#[test]
fn the_run_directory_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let sim = Sim::new();
    let output = sim.restore(None);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&sim.run_dir()), 0o700);
    for entry in std::fs::read_dir(sim.run_dir()).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

fn restore_args(sim: &Sim, extra: &[&str]) -> Vec<String> {
    Argv::arthur("run")
        .with(&["--yes", "--command-timeout", "20s"])
        .fast_with(&sim.run_dir(), "20s")
        .pairs(&SESSION_RDS[1..], &[])
        .with(extra)
        .words()
        .iter()
        .map(|w| w.to_string())
        .collect()
}

/// A command that prints more than --max-output is stopped and the run fails, naming the limit.
#[test]
fn a_command_printing_past_max_output_is_stopped() {
    let sim = Sim::new();
    let output = sim
        .command()
        .env("ARTHUR_SIM_EXTRA_PODS", "40000")
        .args(restore_args(&sim, &["--max-output", "1MiB"]))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let said = stderr(&output);
    assert!(said.contains("`kubectl get pods -n arthur`"), "{said}");
    assert!(said.contains("more than 1MiB (--max-output)"), "{said}");
}

/// An output over 1 MiB is summarised in the transcript (its first lines, size and SHA-256);
/// --keep-output keeps it whole in the run directory.
#[test]
fn a_long_output_is_summarised_and_kept_on_request() {
    let sim = Sim::new();
    let output = sim
        .command()
        .env("ARTHUR_SIM_EXTRA_PODS", "20000")
        .args(restore_args(&sim, &["--keep-output"]))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let transcript = std::fs::read_to_string(sim.run_dir().join("transcript.log")).unwrap();
    assert!(transcript.len() < 2 << 20, "{} bytes", transcript.len());
    assert!(transcript.contains("the first 40 lines are shown, kept whole in"));
    assert!(transcript.contains("(sha256 "));
    let kept = sim.run_dir().join("outputs/0001.txt");
    assert!(std::fs::metadata(&kept).unwrap().len() > 1 << 20);
}

/// Control characters from command output reach neither the terminal nor the transcript raw.
#[test]
fn control_characters_from_output_are_escaped() {
    let sim = Sim::new();
    let n = crate::support::sim::command_number("get sts");
    let output = sim.restore(Some(&format!("{n}:garbage")));
    assert_ne!(output.status.code(), Some(0), "{}", explain(&output));
    let transcript = std::fs::read_to_string(sim.run_dir().join("transcript.log")).unwrap();
    for (name, text) in [
        ("transcript", transcript.as_bytes()),
        ("stdout", &output.stdout[..]),
        ("stderr", &output.stderr[..]),
    ] {
        assert!(
            !text.iter().any(|b| *b == 0x1b || *b == 0),
            "{name} holds a raw control character"
        );
    }
    assert!(
        transcript.contains("\\x1b[31m<html>502 Bad Gateway\\0"),
        "{transcript}"
    );
}

/// audit reads within limits: a file that is not text, a line without end, is refused at once.
#[test]
fn audit_refuses_what_is_not_a_text_log() {
    let dir = tempfile::tempdir().unwrap();
    let long = dir.path().join("long.log");
    std::fs::write(&long, "x".repeat(2 << 20)).unwrap();
    let binary = dir.path().join("binary.log");
    std::fs::write(&binary, b"$ kubectl get pv\n\x00\x01\x02").unwrap();
    for (path, because) in [
        (std::path::Path::new("/dev/zero"), "line 1"),
        (long.as_path(), "longer than"),
        (binary.as_path(), "NUL"),
    ] {
        let started = std::time::Instant::now();
        let output = crate::support::tool()
            .arg("audit")
            .arg(path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
        assert!(stderr(&output).contains(because), "{}", stderr(&output));
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }
}
