//! What the operator sees (issue 12): the run in a real pseudo-terminal, by default, with `-v`
//! and `-q`, and without a terminal; gates that want a word; colour; the live wait line; the
//! ending. The transcript is the same in every view.

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::support::{Argv, Replay, SESSION_RDS, explain, stdout};

/// A child on a pseudo-terminal: its standard input, output and error are the terminal, as
/// when an operator runs it; what it prints is collected, and answers can be typed.
pub(crate) struct Pty {
    master: std::fs::File,
    child: std::process::Child,
    seen: Arc<Mutex<Vec<u8>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    pub(crate) fn spawn(command: Command) -> Pty {
        Pty::spawn_sized(command, 250)
    }

    /// In a terminal of `columns` columns.
    fn spawn_sized(mut command: Command, columns: u16) -> Pty {
        let (mut master, mut slave) = (0, 0);
        let size = libc::winsize {
            ws_row: 50,
            ws_col: columns,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: openpty writes two descriptors it opened; they are owned from here on.
        let opened = unsafe {
            libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                &size,
            )
        };
        assert_eq!(opened, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both descriptors were just opened by openpty and are not owned elsewhere.
        let (master, slave) = unsafe {
            (
                std::fs::File::from_raw_fd(master),
                OwnedFd::from_raw_fd(slave),
            )
        };
        command
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave))
            .env("TERM", "xterm");
        let child = command.spawn().expect("the tool starts");
        // The parent's copies of the terminal's other end go with the Command, so that reading
        // ends when the child does.
        drop(command);
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut reading = master.try_clone().unwrap();
        let sink = Arc::clone(&seen);
        let reader = std::thread::spawn(move || {
            let mut buffer = [0u8; 8192];
            while let Ok(n) = reading.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        });
        Pty {
            master,
            child,
            seen,
            reader: Some(reader),
        }
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.seen.lock().unwrap()).replace('\r', "")
    }

    /// Waits until the screen shows `text` (at most 20 s).
    pub(crate) fn expect(&self, text: &str) {
        let started = Instant::now();
        while !self.text().contains(text) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "the screen never showed {text:?}:\n{}",
                self.text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Types a line, as the operator would.
    pub(crate) fn type_line(&mut self, line: &str) {
        self.master
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    pub(crate) fn finish(mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        if let Some(reader) = self.reader.take() {
            reader.join().unwrap();
        }
        (status, self.text())
    }
}

/// The tool against a recorded session, with the clean environment of `support::tool`.
fn command(replay: &Replay, session: &str, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_arthur-restore"));
    command
        .args(args)
        .env_clear()
        .env("TZ", "UTC")
        .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z")
        .envs(replay.env(session))
        .current_dir(replay.dir.path());
    command
}

/// The tool in a pseudo-terminal against a recorded session.
fn in_terminal(replay: &Replay, session: &str, args: &[&str]) -> Pty {
    Pty::spawn(command(replay, session, args))
}

/// The demo's restore, answered by --yes.
fn restore_argv(replay: &Replay, view: &[&str]) -> Vec<String> {
    let argv = Argv::new(view, "run")
        .with(&["--yes", "--color", "never"])
        .fast(&replay.run_dir())
        .pairs(&SESSION_RDS[1..], &[]);
    argv.words().into_iter().map(String::from).collect()
}

/// The messaging step alone against `messaging-manual-pv.session`, with `extra` options.
fn messaging_argv(replay: &Replay, extra: &[&str]) -> Argv {
    Argv::arthur("run")
        .with(&["--only", "messaging"])
        .with(extra)
        .with(&["--run-dir", &replay.run_dir().display().to_string()])
        .with(&[
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
        ])
}

fn words(argv: &[String]) -> Vec<&str> {
    argv.iter().map(String::as_str).collect()
}

/// The parts of a screen that change from run to run: the one normalisation of the harness.
fn steady(text: &str, replay: &Replay) -> String {
    crate::support::steady(text, replay.dir.path())
}

#[test]
fn the_default_terminal_view_is_short_and_the_transcript_whole() {
    let replay = Replay::new();
    let argv = restore_argv(&replay, &["-n", "arthur"]);
    let (status, screen) = in_terminal(&replay, "happy.session", &words(&argv)).finish();
    assert!(status.success(), "{screen}");
    let shown = steady(&screen, &replay);
    let lines = shown.lines().count();
    assert!(lines < 200, "{lines} lines on the screen:\n{shown}");
    // Headers, commands with a digest, the gates, the ending; no full listing.
    assert!(
        shown.contains("== Restore Messaging Infrastructure"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "$ velero backup get -n velero -o json  → 6 items (full output in transcript.log)"
        ),
        "{shown}"
    );
    assert!(!shown.contains("\"apiVersion\""), "{shown}");
    assert!(
        shown.contains("next:\n  arthur-restore verify --run-dir [DIR]/run\n"),
        "{shown}"
    );
    assert_eq!(
        shown.matches("Delete exactly these objects?").count(),
        1,
        "the gate once: {shown}"
    );
    // The transcript is the complete record, whatever the screen showed.
    let transcript = replay.transcript();
    assert!(transcript.contains("\"apiVersion\""));
    assert!(!transcript.contains('\x1b'));
    insta::assert_snapshot!("default_view", shown);
}

#[test]
fn verbose_shows_every_output_and_quiet_only_what_must_be_seen() {
    let replay = Replay::new();
    let argv = restore_argv(&replay, &["-n", "arthur", "-v"]);
    let (status, screen) = in_terminal(&replay, "happy.session", &words(&argv)).finish();
    assert!(status.success(), "{screen}");
    let verbose = steady(&screen, &replay);
    assert!(verbose.contains("\"apiVersion\""), "-v shows full outputs");
    assert!(verbose.contains("## Restore Messaging Infrastructure"));
    // -v on a terminal is the transcript itself (the snapshot of tests/run.rs).
    let transcript = steady(&replay.transcript(), &replay);
    let differs = verbose
        .lines()
        .zip(transcript.lines())
        .position(|(a, b)| a != b);
    assert!(
        differs.is_none() && verbose.lines().count() == transcript.lines().count(),
        "-v differs from the transcript at line {differs:?}: {:?}",
        differs.map(|i| (
            verbose
                .lines()
                .skip(i.saturating_sub(3))
                .take(6)
                .collect::<Vec<_>>(),
            transcript
                .lines()
                .skip(i.saturating_sub(3))
                .take(6)
                .collect::<Vec<_>>()
        ))
    );

    let replay = Replay::new();
    let argv = restore_argv(&replay, &["-n", "arthur", "-q"]);
    let (status, screen) = in_terminal(&replay, "happy.session", &words(&argv)).finish();
    assert!(status.success(), "{screen}");
    let quiet = steady(&screen, &replay);
    assert!(!quiet.contains("$ "), "-q shows no command:\n{quiet}");
    assert!(quiet.contains("Delete exactly these objects?"), "{quiet}");
    assert!(quiet.contains("WILL CAUSE DATA CORRUPTION"), "{quiet}");
    assert!(
        quiet.contains("run completed: every step passed"),
        "{quiet}"
    );
    assert!(quiet.lines().count() < 80, "{quiet}");
    insta::assert_snapshot!("quiet_view", quiet);
}

/// Without a terminal (a pipe, `tee`), standard output is the transcript, as scripts expect.
#[test]
fn without_a_terminal_the_output_is_the_transcript() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert_eq!(stdout(&output), replay.transcript());
}

/// The deletion gate wants the word `delete` (or the namespace): a letter is asked again, what
/// was typed is recorded, and three wrong answers stop the run, resumably.
#[test]
fn the_deletion_gate_wants_the_word() {
    let replay = Replay::new();
    let argv = messaging_argv(&replay, &["--color", "never", "--poll-interval", "1ms"]);
    let mut pty = in_terminal(&replay, "messaging-manual-pv.session", &argv.words());
    pty.expect("Type `delete` (or `arthur`) to confirm:");
    pty.type_line("y");
    pty.expect("`y` does not confirm");
    pty.type_line("delete");
    let (status, screen) = pty.finish();
    assert!(status.success(), "{screen}");
    // What was typed is on record.
    let transcript = replay.transcript();
    assert!(
        transcript.contains("# gate delete-messaging: yes (typed `delete` at the prompt)"),
        "{transcript}"
    );
    assert_eq!(
        screen
            .matches("About to delete, in namespace arthur")
            .count(),
        1,
        "{screen}"
    );
    let audit = crate::support::tool()
        .arg("audit")
        .arg(replay.run_dir().join("transcript.log"))
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(0), "{}", explain(&audit));

    let replay = Replay::new();
    let argv = messaging_argv(&replay, &["--color", "never", "--poll-interval", "1ms"]);
    let mut pty = in_terminal(&replay, "messaging-manual-pv.session", &argv.words());
    let pasted = "x".repeat(500);
    for answer in ["y", pasted.as_str(), "ok"] {
        pty.expect("to confirm:");
        pty.type_line(answer);
        std::thread::sleep(Duration::from_millis(100));
    }
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(3), "{screen}");
    assert!(screen.contains("run --resume"), "{screen}");
    assert!(
        replay.transcript().contains(&format!(
            "# gate delete-messaging: no answer after 3 tries (typed `y`, `{}…`, `ok`)",
            "x".repeat(80)
        )),
        "{}",
        replay.transcript()
    );
    assert!(
        !replay.calls().iter().any(|c| c.contains(" delete ")),
        "nothing deleted: {:?}",
        replay.calls()
    );
}

/// A whole restore without --yes in a terminal: `y` at the restore point, `admin_console` at the
/// Admin Console gate (each answer after the question or its retry), `delete` at the deletions.
fn answered_run(replay: &Replay, admin_console: &[&str]) -> (Argv, ExitStatus, String) {
    let argv = Argv::arthur("run")
        .with(&["--color", "never"])
        .fast(&replay.run_dir())
        .pairs(&SESSION_RDS[1..], &[]);
    let mut pty = in_terminal(replay, "happy.session", &argv.words());
    pty.expect("Restore this restore point? [y/N]");
    pty.type_line("y");
    pty.expect("Have both settings been changed and deployed? [y/N]");
    for (index, answer) in admin_console.iter().enumerate() {
        if index > 0 {
            pty.expect(&format!("Try {} of 3", index + 1));
        }
        pty.type_line(answer);
    }
    pty.expect("Type `delete` (or `arthur`) to confirm:");
    pty.type_line("delete");
    let (status, screen) = pty.finish();
    (argv, status, screen)
}

/// One rule for every gate: an empty Enter is asked again (here at the Admin Console gate, after
/// a long RDS restore), a clear `no` stops resumably; with `-q --yes` each question is shown
/// with its answer.
#[test]
fn every_gate_asks_again_on_an_empty_answer() {
    let replay = Replay::new();
    let (_, status, screen) = answered_run(&replay, &["", "y"]);
    assert!(status.success(), "{screen}");
    assert!(
        screen.contains("an empty answer does not confirm: the answer is `y` or `yes`. Try 2 of 3"),
        "{screen}"
    );
    assert!(
        replay
            .transcript()
            .contains("# gate admin-console: yes (at the prompt)")
    );

    let replay = Replay::new();
    let argv = Argv::arthur("run")
        .with(&["--color", "never"])
        .fast(&replay.run_dir())
        .pairs(&SESSION_RDS[1..], &[]);
    let mut pty = in_terminal(&replay, "happy.session", &argv.words());
    pty.expect("Restore this restore point? [y/N]");
    pty.type_line("no");
    let (status, screen) = pty.finish();
    assert_eq!(status.code(), Some(3), "{screen}");
    assert!(screen.contains("run --resume"), "{screen}");

    let replay = Replay::new();
    let mut argv = vec!["-q".to_string()];
    argv.extend(
        Argv::arthur("run")
            .with(&["--color", "never", "--yes"])
            .fast(&replay.run_dir())
            .pairs(&SESSION_RDS[1..], &[])
            .words()
            .iter()
            .map(|w| w.to_string()),
    );
    let (status, screen) = in_terminal(&replay, "happy.session", &words(&argv)).finish();
    assert!(status.success(), "{screen}");
    for question in [
        "Restore this restore point? yes (--yes)",
        "Have both settings been changed and deployed? yes (--yes)",
    ] {
        assert!(screen.contains(question), "{question}:\n{screen}");
    }
}

/// On a terminal a failure's ending says the cause once, then what to do once, then the run
/// directory, and nothing is said again after it.
#[test]
fn a_failure_on_the_terminal_ends_with_the_cause_then_what_to_do() {
    let replay = Replay::new();
    let argv = messaging_argv(&replay, &["--yes", "--color", "never"]);
    let (status, screen) =
        in_terminal(&replay, "messaging-partially-failed.session", &argv.words()).finish();
    assert_eq!(status.code(), Some(1), "{screen}");
    assert_eq!(screen.matches("run --resume").count(), 1, "{screen}");
    assert_eq!(
        screen.matches("ended PartiallyFailed").count(),
        1,
        "{screen}"
    );
    assert!(!screen.contains("arthur-restore: error:"), "{screen}");
    let verdict = screen.find("run failed: ").expect("the verdict");
    let advice = screen
        .find("continue with `arthur-restore run --resume")
        .expect("advice");
    let record = screen.rfind("run directory: ").expect("the run directory");
    assert!(verdict < advice && advice < record, "{screen}");
}

/// Colour on a terminal (never in the transcript); `--color never` and `NO_COLOR` turn it off.
#[test]
fn colour_is_for_the_terminal_only() {
    let run = |extra: &[&str], no_color: bool| {
        let replay = Replay::new();
        let argv = messaging_argv(
            &replay,
            &[&["--yes", "--poll-interval", "1ms"], extra].concat(),
        );
        let mut command = command(&replay, "messaging-manual-pv.session", &argv.words());
        if no_color {
            command.env("NO_COLOR", "1");
        }
        let (status, screen) = Pty::spawn(command).finish();
        assert!(status.success(), "{screen}");
        assert!(!replay.transcript().contains('\x1b'));
        screen.contains("\x1b[32m")
    };
    assert!(
        run(&[], false),
        "green for done steps by default on a terminal"
    );
    assert!(!run(&[], true), "NO_COLOR");
    assert!(!run(&["--color", "never"], false), "--color never");
}

/// The wait line ticks every second between polls: the state, the time of the limit, and the
/// next poll counting down. (Real waits of a little over a second each.)
#[test]
fn the_wait_line_ticks_between_polls() {
    // At 60, 80 and 120 columns at once: the times and the next poll stay whole, the subject (a
    // Velero restore's long name) is shortened with `…`.
    let runs: Vec<_> = [60u16, 80, 120]
        .into_iter()
        .map(|columns| {
            std::thread::spawn(move || {
                let replay = Replay::new();
                let argv = messaging_argv(
                    &replay,
                    &[
                        "--yes",
                        "--color",
                        "never",
                        "--poll-interval",
                        "1100ms",
                        "--timeout",
                        "1m",
                    ],
                );
                let command = command(&replay, "messaging-manual-pv.session", &argv.words());
                let (status, screen) = Pty::spawn_sized(command, columns).finish();
                (columns, status, screen)
            })
        })
        .collect();
    for run in runs {
        let (columns, status, screen) = run.join().unwrap();
        assert!(status.success(), "{columns}: {screen}");
        assert!(
            screen.contains("of 1m · next poll in 2s · "),
            "{columns}: {screen}"
        );
        assert!(
            screen.contains("of 1m · next poll in 1s · "),
            "{columns}: {screen}"
        );
        assert!(screen.contains(" · waiting for"), "{columns}: {screen}");
        assert!(
            screen.contains("…"),
            "{columns}: the subject is shortened: {screen}"
        );
    }
}

/// README's "First restore": the run without --yes, in a terminal, answering each gate as an
/// operator would. The screen (steady parts) is kept in docs/first-restore.txt, which README
/// quotes; `UPDATE_DOCS=1` writes it again.
#[test]
fn the_first_restore_answered_at_the_terminal() {
    let replay = Replay::new();
    let (argv, status, screen) = answered_run(&replay, &["y"]);
    assert!(status.success(), "{screen}");
    let shown = steady(&screen, &replay);
    // The deletion gate's rows fit a terminal of 120 columns.
    for row in screen
        .lines()
        .filter(|l| l.starts_with("  sts ") || l.starts_with("  pvc ") || l.starts_with("  pv "))
    {
        assert!(
            row.chars().count() <= 120,
            "{} columns: {row}",
            row.chars().count()
        );
    }
    for gate in [
        "# gate restore-point: yes (at the prompt)",
        "# gate admin-console: yes (at the prompt)",
        "# gate delete-messaging: yes (typed `delete` at the prompt)",
    ] {
        assert!(replay.transcript().contains(gate), "{gate}");
    }
    let kept = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/first-restore.txt");
    let capture = format!(
        "$ arthur-restore {}\n{shown}",
        argv.words()
            .iter()
            .map(|w| w.replace(&replay.dir.path().display().to_string(), "[DIR]"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&kept, &capture).unwrap();
    }
    let expected = std::fs::read_to_string(&kept).unwrap_or_default();
    assert!(
        expected == capture,
        "docs/first-restore.txt differs from the screen; UPDATE_DOCS=1 cargo test first_restore writes it:\n{capture}"
    );
}
