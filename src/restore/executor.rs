//! The seam between the steps and the world. Step code says what to run and what it needs to
//! know; an `Executor` decides what running means: the live run spawns processes, a plan prints
//! the commands (and, when not offline, runs only those that read). Dry run is decided here, at
//! the point of execution, never in step code.

use std::path::PathBuf;
use std::time::Duration;

use crate::error::Result;
use crate::model::{Facts, RestoreOptions};
use crate::process::{Cmd, Output, Read};
use crate::runbook::StepId;

/// One answer of a wait's check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// The condition holds; the text says how it looked.
    Ready(String),
    /// Not yet: a progress line (`37/41 pods ready`) and what is still not ready.
    NotYet {
        progress: String,
        pending: Vec<String>,
    },
    /// Waiting longer cannot help (a PV whose reclaim policy keeps it): stop now, as if the
    /// time had run out.
    Stop {
        progress: String,
        pending: Vec<String>,
    },
}

/// Reads one answer of a wait's probe.
pub type Check<'a> = Box<dyn FnMut(&Output) -> Result<Poll> + 'a>;

/// A condition polled with one read-only command until it holds, fails, or time runs out.
pub struct Wait<'a> {
    /// What is waited for, as a phrase: "RDS instance arthur-restored to be available".
    pub what: String,
    pub probe: Cmd,
    /// Limit of this wait; the run's `--timeout` unless the step has a shorter grace period.
    pub timeout: Duration,
    /// Reads one answer of the probe. An error ends the wait at once (a terminal failure).
    pub check: Check<'a>,
}

/// How a wait ended, when time running out is not an error in itself (a grace period).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaitEnd {
    Ready,
    TimedOut {
        pending: Vec<String>,
    },
    /// Nothing was polled (a plan).
    NotRun,
}

/// A question for the operator before something that cannot be undone.
pub struct Confirmation {
    /// The gate's name in events.jsonl (`delete-messaging`, `admin-console`).
    pub gate: &'static str,
    /// Lines shown before the question.
    pub details: Vec<String>,
    pub question: String,
    /// The words that say yes at the prompt: `["delete", NAMESPACE]` before a deletion (a word,
    /// not a letter, as terraform asks for `yes`); empty for `y`/`yes`.
    pub words: Vec<String>,
}

/// What an approver is asked to approve (`run --approvers`): the gate, and exactly what the
/// gate showed.
pub struct ApprovalRequest {
    /// `restore-point` or `delete-messaging`.
    pub gate: &'static str,
    pub shown: Vec<String>,
    /// The allowed signers whose signature counts.
    pub approvers: crate::names::CliPath,
}

/// How a gate ended when it did not refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateOutcome {
    /// The operator (or `--yes`) said yes: what follows may be done.
    Passed,
    /// The gate was only shown (a plan): nothing follows for real.
    NotAsked,
}

/// A command left running while others run (the port-forward). Dropping it stops the child.
pub trait Background {
    /// Stops the child now, for the transcript to say so.
    fn stop(self: Box<Self>) -> Result<()>;
}

pub trait Executor {
    /// A runbook section begins (`## ` line).
    fn section(&mut self, title: &str) -> Result<()>;

    /// A `# ` line: what the tool did in process, a selection, a decision.
    fn note(&mut self, text: &str) -> Result<()>;

    /// Runs a read-only command and fails when it exits non-zero. `None` when this executor runs
    /// nothing (the offline plan).
    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>>;

    /// Runs a read-only command whose non-zero exit the caller interprets (NotFound expected).
    fn probe(&mut self, cmd: &Cmd) -> Result<Option<Output>>;

    /// Runs reads that need no other's answer side by side (at most four at a time); their
    /// answers are then taken, and recorded, in the runbook's order by `read` and `probe` of
    /// the same commands. Nothing runs where nothing reads (the offline plan).
    fn read_ahead(&mut self, _reads: &[Read<'_>]) -> Result<()> {
        Ok(())
    }

    /// Runs a command that changes something; `None` when it is only shown (any plan).
    fn change(&mut self, cmd: &Cmd) -> Result<Option<Output>>;

    /// Polls until the condition holds. Time running out is an error.
    fn wait(&mut self, wait: Wait<'_>) -> Result<WaitEnd>;

    /// Polls until the condition holds or the time runs out (for a grace period).
    fn wait_or_time_out(&mut self, wait: Wait<'_>) -> Result<WaitEnd>;

    /// Asks the operator; refuses (exit 3) when the answer is no or nobody can answer.
    fn confirm(&mut self, confirmation: &Confirmation) -> Result<GateOutcome>;

    /// Four eyes: writes the approval request and waits until one of the approvers has signed
    /// it (never answered by `--yes`). A plan only says that it will be asked.
    fn approve(&mut self, request: &ApprovalRequest) -> Result<()> {
        self.note(&format!(
            "approval ({}): one of the approvers in {} signs the request with `arthur-restore approve RUN_DIR --sign-key KEY`; the run waits for it",
            request.gate, request.approvers
        ))
    }

    /// Writes an artefact into the run directory and returns its path.
    fn save_artifact(&mut self, name: &str, contents: &str) -> Result<PathBuf>;

    /// The path an artefact has (or would have) in the run directory.
    fn artifact_path(&self, name: &str) -> PathBuf;

    /// The artefact still holds exactly `contents` (right before a command reads it); a
    /// refusal when it does not. Nothing to check where nothing was written (a plan).
    fn check_artifact(&mut self, _name: &str, _contents: &str) -> Result<()> {
        Ok(())
    }

    /// Starts a long-running command and waits for a line of its output that contains
    /// `ready_text`; `None` when nothing runs (any plan).
    fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<Option<Box<dyn Background>>>;

    /// The run's parameters changed (backup names chosen by discovery): record them.
    fn record_options(&mut self, _options: &RestoreOptions) -> Result<()> {
        Ok(())
    }

    /// The identity reads have answered: the live run writes its first event with what they
    /// learnt (and what it held until then); a plan has nothing to record.
    fn identified(&mut self, _reached: crate::record::Reached) -> Result<()> {
        Ok(())
    }

    /// Saves what has been learnt so far (state.json), so that an interruption loses nothing.
    fn checkpoint(&mut self, options: &RestoreOptions, facts: &Facts) -> Result<()>;

    /// A step has passed. The live run records it (a resume does not perform it again) and
    /// says so; a plan has nothing to record.
    fn complete_step(
        &mut self,
        step: StepId,
        options: &RestoreOptions,
        facts: &mut Facts,
    ) -> Result<()>;
}
