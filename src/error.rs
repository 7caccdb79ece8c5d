//! The one error type of the library, and the exit status each error maps to (SPEC section 3).
//!
//! This is the lowest layer: it knows no other module of the crate. Errors that concern a
//! command carry the command's transcript form (its `$ ` line without the `$ `), made by the
//! layer that ran it (`process`).

use std::path::PathBuf;

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
    #[error("`{program}` was not found on PATH ({source}): {hint}, or set {variable} to its path")]
    ToolNotFound {
        program: &'static str,
        variable: &'static str,
        hint: &'static str,
        source: which::Error,
    },

    /// A command ran and failed.
    #[error("`{command}` failed: {reason}")]
    CommandFailed { command: String, reason: String },

    /// A command's output could not be read.
    #[error("could not read the output of `{command}`: {problem}{}", line.as_ref().map(|l| format!("\n  at line: {l}")).unwrap_or_default())]
    Parse {
        command: String,
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
    #[error("timed out after {waited} waiting for {what} (polling `{probe}`):\n{still}")]
    Timeout {
        what: String,
        probe: String,
        waited: String,
        still: String,
    },

    /// Ctrl-C or SIGTERM. Raised where it is noticed (the runner, a wait, a prompt); the run
    /// command adds the run directory to continue from.
    #[error("{}", interrupted_message(run_dir.as_deref()))]
    Interrupted { run_dir: Option<PathBuf> },

    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },

    /// An error the operator was already told of, with what to do (a run's ending on the
    /// terminal): only its exit status remains.
    #[error("")]
    Told { code: i32 },

    /// An error and what to do about it (the cause once, then the advice).
    #[error("{error}\n{advice}")]
    Advised { error: Box<Error>, advice: String },
}

fn interrupted_message(run_dir: Option<&std::path::Path>) -> String {
    match run_dir {
        Some(dir) => format!(
            "interrupted; state saved in {}: continue with `arthur-restore run --resume {}`",
            dir.display(),
            dir.display()
        ),
        None => "interrupted".to_string(),
    }
}

impl Error {
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Usage(message.into())
    }

    pub fn refused(message: impl Into<String>) -> Error {
        Error::Refused(message.into())
    }

    pub fn interrupted() -> Error {
        Error::Interrupted { run_dir: None }
    }

    pub fn is_interrupted(&self) -> bool {
        matches!(self, Error::Interrupted { .. })
    }

    /// An interruption of a run names the run directory to resume; other errors stay as they are.
    pub fn in_run_dir(self, dir: &std::path::Path) -> Error {
        match self {
            Error::Interrupted { .. } => Error::Interrupted {
                run_dir: Some(dir.to_path_buf()),
            },
            other => other,
        }
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
            Error::Told { code } => *code,
            // A CLI that is not there: found before anything runs, the same status everywhere.
            Error::ToolNotFound { .. } => exit::REFUSED,
            Error::Advised { error, .. } => error.exit_code(),
            Error::CommandFailed { .. }
            | Error::StepFailed(_)
            | Error::Parse { .. }
            | Error::Timeout { .. }
            | Error::Io { .. } => exit::FAILED,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_the_exit_status_of_spec_section_3() {
        let cases: Vec<(Error, i32)> = vec![
            (Error::usage("x"), exit::USAGE),
            (Error::refused("x"), exit::REFUSED),
            (Error::interrupted(), exit::INTERRUPTED),
            (Error::StepFailed("x".into()), exit::FAILED),
            (
                Error::CommandFailed {
                    command: "kubectl get pods".into(),
                    reason: "exit status 1".into(),
                },
                exit::FAILED,
            ),
        ];
        for (error, code) in cases {
            assert_eq!(error.exit_code(), code, "{error}");
        }
    }

    #[test]
    fn an_interruption_of_a_run_names_the_directory_to_resume() {
        let error = Error::interrupted().in_run_dir(std::path::Path::new("runs/x"));
        assert_eq!(
            error.to_string(),
            "interrupted; state saved in runs/x: continue with `arthur-restore run --resume runs/x`"
        );
        assert_eq!(Error::interrupted().to_string(), "interrupted");
    }
}
