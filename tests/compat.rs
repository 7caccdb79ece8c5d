//! Run directories written by an earlier release (fixtures/runs) are resumed and audited by this
//! binary: the formats of transcript.log, events.jsonl and state.json stay readable.

use std::path::Path;

use crate::support::{Replay, explain, fixtures, stdout, tool};

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

fn audit(transcript: &Path) -> (Option<i32>, String) {
    let output = tool().arg("audit").arg(transcript).output().unwrap();
    (output.status.code(), stdout(&output))
}

#[test]
fn an_interrupted_run_of_release_0_1_0_is_resumed_to_completion_and_audits_clean() {
    let replay = Replay::new();
    copy_dir(
        &fixtures().join("runs/v0.1.0-interrupted-messaging"),
        &replay.run_dir(),
    );
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run(
        "messaging-resumed.session",
        &["run", "--resume", &run_dir, "--yes"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert_eq!(replay.state()["status"], "completed");
    let (code, text) = audit(&replay.run_dir().join("transcript.log"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("hash chain intact"), "{text}");
    assert!(text.contains("  messaging    done"), "{text}");
}

#[test]
fn a_complete_run_of_release_0_1_0_audits_clean() {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixtures().join("runs/v0.1.0-complete"), dir.path());
    let (code, text) = audit(&dir.path().join("transcript.log"));
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("hash chain intact (143 events)"), "{text}");
}

#[test]
fn a_complete_run_of_release_0_1_0_is_not_resumed() {
    let replay = Replay::new();
    copy_dir(&fixtures().join("runs/v0.1.0-complete"), &replay.run_dir());
    let run_dir = replay.run_dir().display().to_string();
    let output = replay.run("happy.session", &["run", "--resume", &run_dir]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    assert!(replay.calls().is_empty());
}
