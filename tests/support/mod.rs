use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub mod sim;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A test double of the four CLIs (`arthur-restore-replay`, `arthur-restore-sim`), built from the
/// workspace member `tests/doubles` beside the test binary (`cargo build --workspace --bins`, which
/// `cargo test` from the top and scripts/test do). One that is missing is one clear failure.
pub fn double(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/PROFILE/deps/THIS");
    let path = profile.join(name);
    assert!(
        path.is_file(),
        "the test double {} is not built: scripts/test builds it (cargo build --workspace --bins), or run `cargo test` from the repository's top folder",
        path.display()
    );
    path
}

/// A real program a test runs (kubectl, aws, moto_server, ssh-keygen, chromium): its path, or
/// one clear failure naming it, the package that has it and that scripts/test installs it.
pub fn external(names: &[&str], package: &str) -> PathBuf {
    names
        .iter()
        .find_map(|name| which::which(name).ok())
        .unwrap_or_else(|| {
            panic!(
                "`{}` is not installed, and this test runs it: scripts/test installs it ({package})",
                names.join("` or `")
            )
        })
}

/// The tool with a clean environment, so that a developer's ARTHUR_NAMESPACE or AWS_PROFILE
/// cannot change what a test sees.
pub fn tool() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_arthur-restore"));
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "UTC")
        // The recorded listings are judged as of the day they were recorded (expiry).
        .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z");
    command
}

/// A fake cluster: a folder on PATH where kubectl, velero, aws and curl are the replay program,
/// answering from one recorded session.
pub struct Replay {
    pub dir: tempfile::TempDir,
}

impl Replay {
    pub fn new() -> Replay {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("state")).unwrap();
        for name in ["kubectl", "velero", "aws", "curl"] {
            std::os::unix::fs::symlink(double("arthur-restore-replay"), bin.join(name)).unwrap();
        }
        Replay { dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// The environment that puts these fake CLIs first on PATH (before the real programs, so
    /// that `kill` stays reachable for the interrupt directive) and has them answer `session`
    /// (a file of fixtures/sessions, or any path).
    pub fn env(&self, session: &str) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![
            (
                "PATH",
                format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display()).into(),
            ),
            (
                "ARTHUR_REPLAY_SESSION",
                fixtures().join("sessions").join(session).into(),
            ),
            ("ARTHUR_REPLAY_STATE", self.dir.path().join("state").into()),
        ]
    }

    /// Runs the tool against the session.
    pub fn run(&self, session: &str, args: &[&str]) -> Output {
        let output = tool()
            .envs(self.env(session))
            .current_dir(self.dir.path())
            .args(args)
            .output()
            .expect("the tool runs");
        if std::env::var_os("SHOW_OUTPUT").is_some() {
            eprintln!(
                "{}\n{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
        output
    }

    /// `run --yes` with fast polls, into this fake's run directory, restoring RDS next to
    /// arthur-prod-db and choosing the backups by discovery unless `extra` names them.
    pub fn restore(&self, session: &str, extra: &[&str]) -> Output {
        let argv = Argv::arthur("run")
            .with(&["--yes"])
            .fast(&self.run_dir())
            .pairs(&SESSION_RDS[1..], &[])
            .with(extra);
        self.run(session, &argv.words())
    }

    /// Every command the fake CLIs received, in order.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("state/calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Starts the session again from its first command (for a second run in the same folder).
    pub fn restart_session(&self) {
        let _ = std::fs::remove_file(self.dir.path().join("state/cursor"));
        let _ = std::fs::remove_file(self.dir.path().join("state/calls.log"));
    }

    /// The run directory's state.json.
    pub fn state(&self) -> serde_json::Value {
        let text = std::fs::read_to_string(self.run_dir().join("state.json")).expect("state.json");
        serde_json::from_str(&text).expect("state.json is JSON")
    }

    pub fn transcript(&self) -> String {
        std::fs::read_to_string(self.run_dir().join("transcript.log")).unwrap_or_default()
    }
}

/// Runs `command` to its end like `output()`, but kills it once `limit` has passed: a test of a
/// time limit must not hang the suite when the limit fails.
pub fn output_within(command: &mut Command, limit: std::time::Duration) -> Output {
    let child = command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the tool runs");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let (done, ended) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if ended.recv_timeout(limit).is_err() {
            // SAFETY: kill(2) on the child, which has not been reaped yet (wait is below).
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
    });
    let output = child.wait_with_output().expect("the tool's output");
    let _ = done.send(());
    let _ = watchdog.join();
    output
}

/// Prints what a test needs to see when it fails.
pub fn explain(output: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The samples of a textfile as Prometheus's own client library reads them (Python's
/// prometheus_client, which scripts/test installs): `TYPE name [labels] value`, one a line.
pub fn prometheus_samples(path: &Path) -> Vec<String> {
    let parsed = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys\nfrom prometheus_client.parser import text_string_to_metric_families\nfor family in text_string_to_metric_families(open(sys.argv[1]).read()):\n    for sample in family.samples:\n        print(family.type, sample.name, sorted(sample.labels.items()), float(sample.value))\n",
        ])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        parsed.status.success(),
        "prometheus_client could not parse it (scripts/test installs it): {}",
        String::from_utf8_lossy(&parsed.stderr)
    );
    String::from_utf8_lossy(&parsed.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The recorded session's own count of commands, following includes.
pub fn session_length(session: &Path) -> usize {
    let text = std::fs::read_to_string(session).unwrap();
    assert!(
        !text.contains("#> repeat"),
        "a repeating entry has no fixed count"
    );
    let folder = session.parent().unwrap();
    text.lines()
        .map(|line| {
            if line.starts_with("$ ") {
                1
            } else if let Some(included) = line.strip_prefix("#> include: ") {
                session_length(&folder.join(included.trim()))
            } else {
                0
            }
        })
        .sum()
}

/// The backups of the restore point 2023-05-11T19:22:37Z that the recorded sessions hold.
pub const BACKUPS: [(&str, &str); 4] = [
    (
        "--messaging-backup",
        "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
    ),
    (
        "--enrichments-backup",
        "arthur-backup-2023-05-11t15.25.24-04.00-enrichments",
    ),
    (
        "--workflows-backup",
        "arthur-backup-2023-05-11t15.23.25-04.00-workflows",
    ),
    (
        "--clickhouse-backup",
        "arthur-clickhouse-backup-2023-05-11-00-00-07",
    ),
];

/// The RDS snapshot of that restore point and the restore's target and source, as the recorded
/// sessions have them.
pub const SESSION_RDS: [(&str, &str); 3] = [
    ("--rds-snapshot", "arthur-backup-2023-05-11t15-21-50-04-00"),
    ("--rds-instance", "arthur-restored-db"),
    ("--rds-like", "arthur-prod-db"),
];

/// The offline plan's RDS names (nothing is asked, so any valid identifiers).
pub const OFFLINE_RDS: [(&str, &str); 2] = [
    ("--rds-snapshot", "arthur-snap"),
    ("--rds-instance", "arthur-restored"),
];

/// An argv for the tool, in the order SPEC section 3 wants: global options, the command, its
/// options. One builder for every integration test.
#[derive(Debug, Clone)]
pub struct Argv(Vec<String>);

impl Argv {
    pub fn new(global: &[&str], command: &str) -> Argv {
        let mut words: Vec<String> = global.iter().map(|s| s.to_string()).collect();
        words.push(command.to_string());
        Argv(words)
    }

    /// `-n arthur COMMAND`.
    pub fn arthur(command: &str) -> Argv {
        Argv::new(&["-n", "arthur"], command)
    }

    pub fn with(mut self, args: &[&str]) -> Argv {
        self.0.extend(args.iter().map(|s| s.to_string()));
        self
    }

    /// Flag and value pairs, except those whose flag `except` names (a test that names its own).
    pub fn pairs(mut self, pairs: &[(&str, &str)], except: &[&str]) -> Argv {
        for (flag, value) in pairs {
            if !except.contains(flag) {
                self.0.push(flag.to_string());
                self.0.push(value.to_string());
            }
        }
        self
    }

    /// Fast polls and short waits into `run_dir`, for `run` against a recorded session.
    pub fn fast(self, run_dir: &Path) -> Argv {
        self.fast_with(run_dir, "2s")
    }

    /// Fast polls into `run_dir`, each wait limited to `timeout`.
    pub fn fast_with(self, run_dir: &Path, timeout: &str) -> Argv {
        let run_dir = run_dir.display().to_string();
        self.with(&[
            "--poll-interval",
            "1ms",
            "--timeout",
            timeout,
            "--run-dir",
            &run_dir,
        ])
    }

    pub fn words(&self) -> Vec<&str> {
        self.0.iter().map(String::as_str).collect()
    }
}

/// The calls received by the fake CLIs that change something: deletions, applies, restores,
/// the recover call. The one definition of "destructive" of the tests.
pub fn destructive(calls: &[String]) -> Vec<&String> {
    calls
        .iter()
        .filter(|c| {
            c.contains(" delete ")
                || c.contains(" apply ")
                || c.contains("restore create")
                || c.contains("restore-db-instance")
                || c.contains("-XPOST")
        })
        .collect()
}

/// Checks every case on three threads (the matrices' cases are independent runs of the tool);
/// the failures, each as `check` said it, in no particular order.
pub fn check_all<T: Sync>(cases: &[T], check: impl Fn(&T) -> Option<String> + Sync) -> Vec<String> {
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..3 {
            scope.spawn(|| {
                while let Some(case) =
                    cases.get(next.fetch_add(1, std::sync::atomic::Ordering::SeqCst))
                {
                    if let Some(failure) = check(case) {
                        failures.lock().unwrap().push(failure);
                    }
                }
            });
        }
    });
    failures.into_inner().unwrap()
}

/// The one normalisation of every snapshot (a transcript, a screen, an audit report): what
/// changes from run to run is replaced by a placeholder. The fixtures' folder becomes
/// `[FIXTURES]`, `dir` (the test's folder) `[DIR]`; the operator, host and commit, the
/// programs, the start time, every SHA-256 (`[HASH]`) and every time the run measured (`[T]`)
/// likewise; the live wait line's frames and the terminal's control sequences are removed.
pub fn steady(text: &str, dir: &Path) -> String {
    use std::sync::LazyLock;
    static RULES: LazyLock<Vec<(regex::Regex, &'static str)>> = LazyLock::new(|| {
        [
            // The live wait line: its frames and the sequences that redraw and clear it.
            (
                r"(?:[\x{2800}-\x{28ff}] [^\x1b\n]*(?:\x1b\[[0-9;]*[A-Za-z])*)+",
                "",
            ),
            (r"\x1b\[[0-9;?]*[A-Za-z]", ""),
            (
                r"user=\S+ host=\S+ commit=\S+",
                "user=[USER] host=[HOST] commit=[COMMIT]",
            ),
            (r"programs: .*", "programs: [PROGRAMS]"),
            (r"(run (?:started|resumed)) \d\S+", "$1 [TIME]"),
            (r"[0-9a-f]{64}", "[HASH]"),
            // Times measured by the run (waits, sections, the whole), not durations it read.
            (
                r"\b(waited|elapsed|after|in) (?:<1s|(?:\d+(?:h|ms|m|s))+)\b",
                "$1 [T]",
            ),
            (r"(?m)^(#?\s+)(?:<1s|(?:\d+(?:h|ms|m|s))+)  ", "${1}[T]  "),
            // The run's measures (time to restore, waiting for people, the data's age).
            (
                r"(time to restore|waiting for people|age when the run began): (?:\d+(?:h|ms|m|s))+",
                "$1: [T]",
            ),
        ]
        .into_iter()
        .map(|(pattern, with)| (regex::Regex::new(pattern).expect("valid"), with))
        .collect()
    });
    let mut text = text
        .replace(&fixtures().display().to_string(), "[FIXTURES]")
        .replace(&dir.display().to_string(), "[DIR]");
    for (pattern, with) in RULES.iter() {
        text = pattern.replace_all(&text, *with).into_owned();
    }
    text
}
