//! The read-only executor: shows every command in order and changes nothing. Offline it runs
//! nothing at all; otherwise it runs the commands that only read through the runner, so that
//! `plan` shows what `run` would select, and `verify` and `backups` read the cluster with it.

use std::path::PathBuf;
use std::time::Duration;

use super::ahead::{Ahead, leftover_note};
use super::executor::{Background, Confirmation, Executor, GateOutcome, Wait, WaitEnd};
use crate::error::Result;
use crate::model::{Facts, RestoreOptions};
use crate::process::{Cmd, Output, Read, RunOutput, Runner, command_failed};
use crate::record::TranscriptEntry;
use crate::record::transcript::{FULL_OUTPUT_LIMIT, LongOutput};
use crate::runbook::StepId;
use crate::units::format_duration;

pub struct ReadOnlyExecutor {
    pub entries: Vec<TranscriptEntry>,
    poll_interval: Duration,
    /// Runs the read-only commands; `None` for the offline plan.
    runner: Option<Runner>,
    /// Answers of reads run ahead, side by side, not yet taken.
    ahead: Ahead,
    /// The commands' outputs are kept as entries (a plan prints them); `verify` and `backups`
    /// only judge the answers, so nothing is kept (a long listing's head and digest included).
    keeps_outputs: bool,
}

impl ReadOnlyExecutor {
    pub fn offline(poll_interval: Duration) -> ReadOnlyExecutor {
        ReadOnlyExecutor {
            entries: Vec::new(),
            poll_interval,
            runner: None,
            ahead: Ahead::default(),
            keeps_outputs: true,
        }
    }

    pub fn reading(poll_interval: Duration, runner: Runner) -> ReadOnlyExecutor {
        ReadOnlyExecutor {
            entries: Vec::new(),
            poll_interval,
            runner: Some(runner),
            ahead: Ahead::default(),
            keeps_outputs: true,
        }
    }

    /// Runs the reads for their answers alone: no entry keeps their outputs (`verify`,
    /// `backups`, which print what they judge, not a transcript).
    pub fn answering(poll_interval: Duration, runner: Runner) -> ReadOnlyExecutor {
        ReadOnlyExecutor {
            keeps_outputs: false,
            ..ReadOnlyExecutor::reading(poll_interval, runner)
        }
    }

    pub fn push(&mut self, entry: TranscriptEntry) {
        self.entries.push(entry);
    }

    /// Records the reads run ahead whose answers were not taken (a check before them stopped
    /// the section), so that the plan shows every command that ran.
    pub fn settle(&mut self) {
        for (cmd, answer) in self.ahead.leftovers() {
            self.entries.push(TranscriptEntry::Note {
                text: leftover_note(&cmd, &answer),
            });
            if let Ok(out) = answer {
                self.push_ran(&cmd, &out);
            }
        }
    }

    fn run_read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let Some(runner) = self.runner.as_mut() else {
            self.entries.push(TranscriptEntry::planned(cmd));
            return Ok(None);
        };
        let out = match self.ahead.take(cmd) {
            Some(answer) => answer?,
            None => runner.run(cmd)?,
        };
        self.push_ran(cmd, &out);
        Ok(Some(out.output))
    }

    fn push_ran(&mut self, cmd: &Cmd, out: &RunOutput) {
        if !self.keeps_outputs {
            return;
        }
        if out.len() <= FULL_OUTPUT_LIMIT {
            self.entries.push(TranscriptEntry::ran(
                cmd,
                &out.combined(),
                out.output.status,
            ));
        } else {
            // A long listing is kept as the transcript shows it, its head and a summary: not a
            // second copy of it.
            let long = LongOutput::of(&out.pieces());
            self.entries
                .push(TranscriptEntry::ran(cmd, &long.head, out.output.status));
            self.entries.push(TranscriptEntry::Note {
                text: long.summary(None),
            });
        }
    }

    fn show_wait(&mut self, wait: &Wait<'_>) {
        self.entries.push(TranscriptEntry::planned(&wait.probe));
        self.entries.push(TranscriptEntry::Note {
            text: format!(
                "wait for {}: polled every {}, up to {}",
                wait.what,
                format_duration(self.poll_interval),
                format_duration(wait.timeout)
            ),
        });
    }
}

impl Executor for ReadOnlyExecutor {
    fn section(&mut self, title: &str) -> Result<()> {
        self.settle();
        let step = StepId::ALL
            .into_iter()
            .find(|step| step.title() == title)
            .map(|step| step.id().to_string())
            .unwrap_or_else(|| "preflight".to_string());
        self.entries.push(TranscriptEntry::Section {
            step,
            title: title.to_string(),
        });
        Ok(())
    }

    fn note(&mut self, text: &str) -> Result<()> {
        self.entries.push(TranscriptEntry::Note {
            text: text.to_string(),
        });
        Ok(())
    }

    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let out = self.run_read(cmd)?;
        if let Some(out) = &out
            && !out.success()
        {
            return Err(command_failed(cmd, out));
        }
        Ok(out)
    }

    fn probe(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.run_read(cmd)
    }

    fn read_ahead(&mut self, reads: &[Read<'_>]) -> Result<()> {
        if let Some(runner) = self.runner.as_mut() {
            self.ahead.run(runner, reads);
        }
        Ok(())
    }

    fn change(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.entries.push(TranscriptEntry::planned(cmd));
        Ok(None)
    }

    fn wait(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.show_wait(&wait);
        Ok(WaitEnd::NotRun)
    }

    fn wait_or_time_out(&mut self, wait: Wait<'_>) -> Result<WaitEnd> {
        self.show_wait(&wait);
        Ok(WaitEnd::NotRun)
    }

    fn confirm(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        let mut text = format!("gate ({}): ", confirmation.gate);
        text.push_str(&confirmation.details.join("\n"));
        text.push_str(&format!(
            "\n{} (answered at the prompt, or by --yes)",
            confirmation.question
        ));
        self.note(&text)?;
        Ok(GateOutcome::NotAsked)
    }

    fn save_artifact(&mut self, name: &str, _contents: &str) -> Result<PathBuf> {
        Ok(self.artifact_path(name))
    }

    fn artifact_path(&self, name: &str) -> PathBuf {
        PathBuf::from("RUN_DIR").join(name)
    }

    fn start_background(
        &mut self,
        cmd: &Cmd,
        ready_text: &str,
        limit: Duration,
    ) -> Result<Option<Box<dyn Background>>> {
        self.entries.push(TranscriptEntry::planned(cmd));
        self.note(&format!(
            "runs in the background (the runbook's \"one terminal\") until the call below returns; up to {} for `{ready_text}`",
            format_duration(limit)
        ))?;
        Ok(None)
    }

    fn checkpoint(&mut self, _options: &RestoreOptions, _facts: &Facts) -> Result<()> {
        Ok(())
    }

    fn complete_step(
        &mut self,
        _step: StepId,
        _options: &RestoreOptions,
        _facts: &mut Facts,
    ) -> Result<()> {
        Ok(())
    }
}
