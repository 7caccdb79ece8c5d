//! The one error type of the library, and the exit status each error maps to (SPEC section 3).

use std::path::PathBuf;

use crate::cmd::Cmd;

/// Exit statuses of SPEC section 3.
pub mod exit {
    pub const SUCCESS: i32 = 0;
    pub const FAILED: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const REFUSED: i32 = 3;
    pub const UNHEALTHY: i32 = 4;
    pub const INTERRUPTED: i32 = 130;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line asks for something that cannot be done as asked.
    #[error("{0}")]
    Usage(String),

    /// A program the restore needs is not installed.
    #[error(
        "`{program}` was not found on PATH (set {variable} to its path, or install it): {source}"
    )]
    ToolNotFound {
        program: &'static str,
        variable: &'static str,
        source: which::Error,
    },

    /// A command ran and failed.
    #[error("`{cmd}` failed: {reason}")]
    CommandFailed { cmd: Box<Cmd>, reason: String },

    /// A command's output could not be read.
    #[error("could not read the output of `{cmd}`: {problem}{}", line.as_ref().map(|l| format!("\n  at line: {l}")).unwrap_or_default())]
    Parse {
        cmd: Box<Cmd>,
        problem: String,
        line: Option<String>,
    },

    /// A step found that the platform did not end up as it should (a failed Velero restore, a
    /// failed Job); the message names the object and the commands to look closer.
    #[error("{0}")]
    StepFailed(String),

    /// A safety condition does not hold; nothing destructive ran after the check.
    #[error("refusing to go on: {0}")]
    Refused(String),

    /// A wait ran out of time.
    #[error("timed out after {waited} waiting for {what}:\n{still}")]
    Timeout {
        what: String,
        waited: String,
        still: String,
    },

    /// Ctrl-C or SIGTERM.
    #[error("interrupted; state saved in {}: continue with `arthur-restore run --resume {}`", run_dir.display(), run_dir.display())]
    Interrupted { run_dir: PathBuf },

    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    /// A command that exited non-zero: its status and what it said (stderr, else stdout).
    pub fn command_failed(cmd: &Cmd, out: &crate::executor::Output) -> Error {
        let said = [out.stderr.trim(), out.stdout.trim()]
            .into_iter()
            .find(|text| !text.is_empty())
            .unwrap_or("(no output)");
        Error::CommandFailed {
            cmd: Box::new(cmd.clone()),
            reason: format!("exit status {}: {said}", out.status),
        }
    }

    pub fn refused(message: impl Into<String>) -> Error {
        Error::Refused(message.into())
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }

    /// The exit status of SPEC section 3 that this error ends the program with.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Refused(_) => exit::REFUSED,
            Error::Interrupted { .. } => exit::INTERRUPTED,
            Error::ToolNotFound { .. }
            | Error::CommandFailed { .. }
            | Error::StepFailed(_)
            | Error::Parse { .. }
            | Error::Timeout { .. }
            | Error::Io { .. } => exit::FAILED,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
