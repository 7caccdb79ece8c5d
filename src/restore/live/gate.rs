//! Gates of the live run: the question before something that cannot be undone, answered at the
//! terminal or by `--yes`; without either, a refusal (exit 3) that says how to go on.

use std::time::Duration;

use super::LiveExecutor;
use crate::error::{Error, Result};
use crate::record::{Event, redact};
use crate::restore::executor::{Confirmation, GateOutcome};

impl LiveExecutor {
    pub(super) fn ask(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        let mut text = confirmation.details.join("\n");
        text.push_str(&format!("\n{}", confirmation.question));
        self.comment(&text)?;
        let answer = if self.yes {
            "yes (--yes)".to_string()
        } else if self.interactive {
            self.ask_at_the_terminal(confirmation)?
        } else {
            return self.nobody_to_answer(confirmation);
        };
        self.comment(&format!("gate {}: {answer}", confirmation.gate))?;
        self.event(Event::Gate {
            gate: confirmation.gate.into(),
            answer,
            details: Some(confirmation.details.clone()),
        })?;
        Ok(GateOutcome::Passed)
    }

    fn ask_at_the_terminal(&mut self, confirmation: &Confirmation) -> Result<String> {
        for detail in &confirmation.details {
            redact::err(&format!("{detail}\n"));
        }
        redact::err(&format!("{} [y/N] ", confirmation.question));
        let line = self.read_answer()?;
        let line = line.trim().to_ascii_lowercase();
        if line == "y" || line == "yes" {
            return Ok("yes (at the prompt)".to_string());
        }
        self.comment(&format!("gate {}: answered no", confirmation.gate))?;
        self.event(Event::Gate {
            gate: confirmation.gate.into(),
            answer: "no".into(),
            details: None,
        })?;
        Err(Error::refused(format!(
            "the answer to \"{}\" was no; nothing was done after it",
            confirmation.question
        )))
    }

    fn nobody_to_answer(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        self.comment(&format!("gate {}: nobody to answer", confirmation.gate))?;
        self.event(Event::Gate {
            gate: confirmation.gate.into(),
            answer: "none (no terminal, no --yes)".into(),
            details: None,
        })?;
        Err(Error::refused(format!(
            "\"{}\" needs an answer, and there is no terminal to ask on; run in a terminal, or pass --yes to answer it (non-interactive use). Continue with `arthur-restore run --resume {} --yes`",
            confirmation.question,
            self.record.dir().path().display()
        )))
    }

    /// Reads one line from the terminal on a helper thread, so that Ctrl-C at the prompt stops
    /// the run at once (saving state) instead of waiting for Enter.
    fn read_answer(&self) -> Result<String> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
        });
        loop {
            if self.runner.interrupt().is_set() {
                redact::err("\n");
            }
            self.runner.interrupt().check()?;
            match receiver.recv_timeout(Duration::from_millis(50)) {
                Ok(answer) => {
                    return answer.map_err(|e| {
                        Error::io("cannot read the answer from", "standard input", e)
                    });
                }
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(Error::refused(
                        "the terminal closed before the question was answered",
                    ));
                }
            }
        }
    }
}
