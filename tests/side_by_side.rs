//! Issue 20: reads that need no other's answer run side by side (at most four at a time), and
//! the record does not show it: the transcript is the same whatever order they finish in, each
//! read keeps its own start, no read starts before the answers it needs, and the first failure
//! in the runbook's order is the one reported.

use std::time::Instant;

use arthur_restore::record::Event;
use arthur_restore::record::events;

use crate::support::{Argv, BACKUPS, Replay, SESSION_RDS, explain, stderr, steady};

/// A complete restore of the recorded session, its answers delayed at random (up to `jitter`
/// ms each) so that reads side by side finish in any order.
fn jittered_restore(jitter: &str) -> (Replay, String) {
    let replay = Replay::new();
    let argv = Argv::arthur("run")
        .with(&["--yes"])
        .fast(&replay.run_dir())
        .pairs(&BACKUPS, &[])
        .pairs(&SESSION_RDS, &[]);
    let output = crate::support::tool()
        .envs(replay.env("happy.session"))
        .env("ARTHUR_REPLAY_JITTER_MS", jitter)
        .current_dir(replay.dir.path())
        .args(argv.words())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let transcript = steady(&replay.transcript(), replay.dir.path());
    (replay, transcript)
}

fn time(text: &str) -> jiff::Timestamp {
    text.parse().expect("an RFC 3339 time")
}

/// Checks the run's events: every read of a `reads-ahead` batch started after every command
/// recorded before the batch had ended, and at most four ran at once (at least two did).
fn check_side_by_side(replay: &Replay) {
    let text = std::fs::read_to_string(replay.run_dir().join("events.jsonl")).unwrap();
    let mut answered = jiff::Timestamp::UNIX_EPOCH;
    let mut barrier = None;
    let mut spans = Vec::new();
    for record in events::read(&text) {
        let (_, record) = record.expect("whole events");
        match record.event {
            Event::ReadsAhead { .. } => barrier = Some(answered),
            Event::Command {
                started: Some(started),
                duration_ms,
                argv,
                ..
            } => {
                let started = time(&started);
                let barrier = barrier.expect("a read run ahead follows its batch's event");
                assert!(
                    started >= barrier,
                    "{argv:?} started at {started}, before an answer it needs ({barrier})"
                );
                let ended = started + jiff::SignedDuration::from_millis(duration_ms as i64);
                spans.push((started, ended));
                answered = answered.max(ended);
            }
            Event::Command { .. } => answered = answered.max(time(&record.time)),
            _ => {}
        }
    }
    let most = spans
        .iter()
        .map(|(start, _)| {
            spans
                .iter()
                .filter(|(s, e)| s <= start && start < e)
                .count()
        })
        .max()
        .unwrap_or(0);
    assert!(
        (2..=4).contains(&most),
        "at most four reads at once, and some side by side: {most}"
    );
}

#[test]
fn reads_side_by_side_leave_the_same_record_whatever_order_they_finish_in() {
    let (first, once) = jittered_restore("25");
    let (second, again) = jittered_restore("25");
    assert_eq!(
        once, again,
        "the transcript does not depend on the order of answers"
    );
    assert!(
        once.contains("## Preflight (arthur-restore: checks before any change)"),
        "{once}"
    );
    check_side_by_side(&first);
    check_side_by_side(&second);
}

#[test]
fn the_first_failure_in_runbook_order_is_reported_and_later_reads_are_stopped() {
    let replay = Replay::new();
    let started = Instant::now();
    let output = replay.run("verify-two-forbidden.session", &["-n", "arthur", "verify"]);
    let took = started.elapsed();
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let said = stderr(&output);
    assert!(
        said.contains("`kubectl get pods -n arthur -o json` failed"),
        "the pods listing, first in order, though the jobs listing failed first: {said}"
    );
    assert!(!said.contains("get jobs"), "{said}");
    // The KOTS app would answer after 20 s: it is stopped, not awaited.
    assert!(took.as_secs() < 10, "the app's read was awaited: {took:?}");
}
