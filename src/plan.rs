//! The plan: an executor that shows every command in order and changes nothing. Offline it runs
//! nothing at all; otherwise it runs the read-only commands through the live runner so that the
//! plan shows what `run` would select.

use std::path::PathBuf;
use std::time::Duration;

use crate::cmd::Cmd;
use crate::error::{Error, Result};
use crate::executor::{Background, Confirmation, Executor, Output, Wait, WaitEnd};
use crate::facts::Facts;
use crate::names::format_duration;
use crate::runner::Runner;
use crate::transcript::Entry;

pub struct PlanExecutor {
    pub entries: Vec<Entry>,
    poll_interval: Duration,
    /// Runs the read-only commands; `None` for the offline plan.
    runner: Option<Runner>,
}

impl PlanExecutor {
    pub fn offline(poll_interval: Duration) -> PlanExecutor {
        PlanExecutor {
            entries: Vec::new(),
            poll_interval,
            runner: None,
        }
    }

    pub fn reading(poll_interval: Duration, runner: Runner) -> PlanExecutor {
        PlanExecutor {
            entries: Vec::new(),
            poll_interval,
            runner: Some(runner),
        }
    }

    pub fn push(&mut self, entry: Entry) {
        self.entries.push(entry);
    }

    fn run_read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let Some(runner) = self.runner.as_mut() else {
            self.entries.push(Entry::shown(cmd));
            return Ok(None);
        };
        let out = runner.run(cmd)?;
        self.entries
            .push(Entry::ran(cmd, &out.combined, out.output.status));
        Ok(Some(out.output))
    }

    fn show_wait(&mut self, wait: &Wait<'_>) {
        self.entries.push(Entry::shown(&wait.probe));
        self.entries.push(Entry::Note {
            text: format!(
                "wait for {}: polled every {}, up to {}",
                wait.what,
                format_duration(self.poll_interval),
                format_duration(wait.timeout)
            ),
        });
    }
}

impl Executor for PlanExecutor {
    fn section(&mut self, title: &str) -> Result<()> {
        let step = crate::runbook::StepId::ALL
            .into_iter()
            .find(|step| step.title() == title)
            .map(|step| step.id().to_string())
            .unwrap_or_else(|| "preflight".to_string());
        self.entries.push(Entry::Section {
            step,
            title: title.to_string(),
        });
        Ok(())
    }

    fn note(&mut self, text: &str) -> Result<()> {
        self.entries.push(Entry::Note {
            text: text.to_string(),
        });
        Ok(())
    }

    fn read(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        let out = self.run_read(cmd)?;
        if let Some(out) = &out
            && !out.success()
        {
            return Err(Error::command_failed(cmd, out));
        }
        Ok(out)
    }

    fn probe(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.run_read(cmd)
    }

    fn change(&mut self, cmd: &Cmd) -> Result<Option<Output>> {
        self.entries.push(Entry::shown(cmd));
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

    fn confirm(&mut self, confirmation: &Confirmation) -> Result<()> {
        let mut text = format!("gate ({}): ", confirmation.gate);
        text.push_str(&confirmation.details.join("\n"));
        text.push_str(&format!(
            "\n{} (answered at the prompt, or by --yes)",
            confirmation.question
        ));
        self.note(&text)
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
        self.entries.push(Entry::shown(cmd));
        self.note(&format!(
            "runs in the background (the runbook's \"one terminal\") until the call below returns; up to {} for `{ready_text}`",
            format_duration(limit)
        ))?;
        Ok(None)
    }

    fn is_live(&self) -> bool {
        false
    }

    fn checkpoint(&mut self, _facts: &Facts) -> Result<()> {
        Ok(())
    }
}
