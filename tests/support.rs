use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
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
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_arthur-restore-replay"), bin.join(name))
                .unwrap();
        }
        Replay { dir }
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// Runs the tool against the session; `kill` stays reachable for the interrupt directive.
    pub fn run(&self, session: &str, args: &[&str]) -> Output {
        let path = format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display());
        let output = tool()
            .env("PATH", path)
            .env(
                "ARTHUR_REPLAY_SESSION",
                fixtures().join("sessions").join(session),
            )
            .env("ARTHUR_REPLAY_STATE", self.dir.path().join("state"))
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
        let run_dir = self.run_dir().display().to_string();
        let mut args = vec![
            "-n",
            "arthur",
            "run",
            "--yes",
            "--poll-interval",
            "1ms",
            "--timeout",
            "2s",
            "--run-dir",
            &run_dir,
            "--rds-instance",
            "arthur-restored-db",
            "--rds-like",
            "arthur-prod-db",
        ];
        args.extend(extra);
        self.run(session, &args)
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
