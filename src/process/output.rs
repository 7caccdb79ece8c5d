//! What a finished command printed, and the error for a command that exited non-zero.

use std::time::Duration;

use super::cmd::Cmd;
use crate::error::Error;

/// What a finished command printed, stdout and stderr apart (parsers need them apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// A command's output as the runner saw it: also the two streams merged in arrival order (the
/// transcript shows them as they came) and how long it ran.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub output: Output,
    /// stdout and stderr in the order they arrived.
    pub combined: String,
    pub duration: Duration,
}

/// A command that exited non-zero: its status and what it said (stderr, else stdout).
pub fn command_failed(cmd: &Cmd, out: &Output) -> Error {
    let said = [out.stderr.trim(), out.stdout.trim()]
        .into_iter()
        .find(|text| !text.is_empty())
        .unwrap_or("(no output)");
    Error::CommandFailed {
        command: cmd.to_string(),
        reason: format!("exit status {}: {said}", out.status),
    }
}
