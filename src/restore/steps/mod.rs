//! The runbook's steps as procedures over an `Executor`. Each step says which commands it runs,
//! what it reads from their output and which safety conditions it checks; whether a command
//! really runs is the executor's business. A read that returns `None` (the offline plan) makes
//! the step describe, in a `# ` line, what it would select.

pub mod approval;
mod clickhouse;
mod identity;
mod messaging;
mod platform;
mod preflight;
mod rds;
mod smoke;
mod velero_restore;
mod waits;
mod workflows;

use super::executor::Executor;
use crate::error::{Error, Result};
use crate::model::{Facts, RestoreOptions};
use crate::parse::ParseResult;
use crate::process::{Cmd, Output, command_failed};
use crate::runbook::{Commands, StepId};

pub use clickhouse::{FilledJob, fill_in_backup_name};
pub use identity::identify;
pub use preflight::preflight;

/// What every step works with.
pub struct Context<'a> {
    pub options: &'a mut RestoreOptions,
    pub commands: Commands,
    pub exec: &'a mut dyn Executor,
    pub facts: &'a mut Facts,
    /// True when continuing a recorded run: objects this run already changed are expected.
    pub resuming: bool,
    /// `--allow-unknown-cluster`: a resume goes on when the cluster's identity cannot be read.
    pub allow_unknown_cluster: bool,
}

impl<'a> Context<'a> {
    pub fn new(
        options: &'a mut RestoreOptions,
        exec: &'a mut dyn Executor,
        facts: &'a mut Facts,
        resuming: bool,
    ) -> Context<'a> {
        Context {
            commands: options.commands(),
            options,
            exec,
            facts,
            resuming,
            allow_unknown_cluster: false,
        }
    }

    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.exec.read(cmd)
    }

    fn note(&mut self, text: impl AsRef<str>) -> Result<()> {
        self.exec.note(text.as_ref())
    }

    pub(crate) fn checkpoint(&mut self) -> Result<()> {
        self.exec.checkpoint(self.options, self.facts)
    }
}

/// Reads a command's output with a parser, naming the command when it cannot.
fn parsed<T>(cmd: &Cmd, result: ParseResult<T>) -> Result<T> {
    result.map_err(|error| error.for_command(cmd))
}

/// Performs one step.
pub fn perform(step: StepId, cx: &mut Context<'_>) -> Result<()> {
    cx.exec.section(step.title())?;
    match step {
        StepId::Rds => rds::perform(cx),
        StepId::Platform => platform::perform(cx),
        StepId::Clickhouse => clickhouse::perform(cx),
        StepId::Messaging => messaging::perform(cx),
        StepId::Enrichments | StepId::Workflows => {
            let component = step.velero_component().expect("a Velero step");
            velero_restore::perform(cx, component)?;
            if step == StepId::Workflows {
                workflows::recover(cx)?;
            }
            Ok(())
        }
        StepId::Smoke => smoke::perform(cx),
    }
}

/// The explicit or discovered name of a backup, or a usage error naming the flag.
fn required<'a, T: ?Sized>(value: Option<&'a T>, flag: &str, step: StepId) -> Result<&'a T> {
    value.ok_or_else(|| {
        Error::usage(format!(
            "the `{step}` step needs {flag}; give it, or leave the step out with --skip {step}"
        ))
    })
}

/// Fails with the command and what it printed unless it exited 0.
fn expect_success(cmd: &Cmd, out: &Output) -> Result<()> {
    if out.success() {
        Ok(())
    } else {
        Err(command_failed(cmd, out))
    }
}

impl Context<'_> {
    /// A step finished before an interruption is not performed again.
    pub fn note_completed(&mut self, step: StepId) -> Result<()> {
        self.note(format!(
            "step {step} was completed by this run before the interruption; not performed again"
        ))
    }
}
