//! Reads that need no other's answer run ahead, side by side (`Runner::run_side_by_side`), and
//! wait here to be taken in the runbook's order by `read` or `probe` of the same command: the
//! step code reads and judges one answer after another as before, and the record shows them in
//! that order, each with its own output. A read never taken (a check before it refused) is
//! recorded too, when the section ends (`leftovers`): nothing that ran is missing from the record.

use crate::error::Result;
use crate::process::{Cmd, Read, RunOutput, Runner};

/// The answers of reads run ahead, in the order they were given.
#[derive(Default)]
pub struct Ahead {
    answers: Vec<(Cmd, Result<RunOutput>)>,
}

impl Ahead {
    /// Runs the reads side by side and keeps their answers.
    pub fn run(&mut self, runner: &mut Runner, reads: &[Read<'_>]) {
        let results = runner.run_side_by_side(reads);
        self.answers
            .extend(reads.iter().map(|read| read.cmd.clone()).zip(results));
    }

    /// The answer of `cmd`, when it was read ahead; taken once (a second read of it runs again).
    pub fn take(&mut self, cmd: &Cmd) -> Option<Result<RunOutput>> {
        let at = self.answers.iter().position(|(read, _)| read == cmd)?;
        Some(self.answers.remove(at).1)
    }

    /// What was read ahead and never taken, in order, for the record.
    pub fn leftovers(&mut self) -> Vec<(Cmd, Result<RunOutput>)> {
        std::mem::take(&mut self.answers)
    }
}

/// The transcript's note before a read run ahead whose answer was not taken.
pub fn leftover_note(cmd: &Cmd, answer: &Result<RunOutput>) -> String {
    match answer {
        Ok(_) => {
            format!("read side by side with the reads above; its answer was not needed: `{cmd}`")
        }
        Err(error) => {
            format!("read side by side with the reads above, it ended without an answer: {error}")
        }
    }
}
