//! Gates of the live run: the question before something that cannot be undone, answered at the
//! terminal or by `--yes`; without either, a refusal (exit 3) that says how to go on.

use std::time::Duration;

use super::LiveExecutor;
use crate::error::{Error, Result};
use crate::process::escape_controls;
use crate::record::{Event, transcript};
use crate::restore::executor::{Confirmation, GateOutcome};
use crate::restore::operator::Tone;

/// The most of a typed answer that is recorded (a pasted page is not a record of anything).
const ANSWER_SHOWN: usize = 80;

/// How many answers a gate that wants a word takes before it stops the run.
const GATE_ATTEMPTS: usize = 3;

/// Whether an answer confirms: `y`/`yes`, or one of the gate's words (exactly, any case for
/// `delete`; the namespace as it is spelled).
fn says_yes(confirmation: &Confirmation, answer: &str) -> bool {
    if confirmation.words.is_empty() {
        return matches!(answer.to_ascii_lowercase().as_str(), "y" | "yes");
    }
    confirmation
        .words
        .iter()
        .any(|word| answer == word || answer.eq_ignore_ascii_case(word) && word == "delete")
}

/// The words, each in backquotes, joined by `separator`.
fn quoted(words: &[String], separator: &str) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(separator)
}

impl LiveExecutor {
    pub(super) fn ask(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        let mut text = confirmation.details.join("\n");
        text.push_str(&format!("\n{}", confirmation.question));
        self.write(&transcript::comment(&text))?;
        let mut shown = confirmation.details.clone();
        if self.yes {
            // The question and its answer, in every view (`-q --yes` included).
            shown.push(format!("{} yes (--yes)", confirmation.question));
        }
        self.screen.gate(&shown);
        let answer = if self.yes {
            "yes (--yes)".to_string()
        } else if self.interactive {
            self.ask_at_the_terminal(confirmation)?
        } else {
            return self.nobody_to_answer(confirmation);
        };
        self.record_answer(confirmation, answer, Some(confirmation.details.clone()))?;
        Ok(GateOutcome::Passed)
    }

    /// A gate's answer: its transcript line and its event.
    fn record_answer(
        &mut self,
        confirmation: &Confirmation,
        answer: String,
        details: Option<Vec<String>>,
    ) -> Result<()> {
        self.comment(&transcript::gate_line(confirmation.gate, &answer))?;
        self.event(Event::Gate {
            gate: confirmation.gate.into(),
            answer,
            details,
        })
    }

    /// Asks at the terminal. A gate that wants a word (`delete`) asks again on anything else,
    /// up to three times; `n`/`no` stops at once. What was typed is recorded.
    fn ask_at_the_terminal(&mut self, confirmation: &Confirmation) -> Result<String> {
        // The details are on the screen already when it shows the run; a transcript printed to a
        // pipe is not the operator's screen, so they are repeated on the prompt's stream.
        if !self.screen.shows_gates() {
            for detail in &confirmation.details {
                self.screen.say(&format!("{detail}\n"));
            }
        }
        let hint = match confirmation.words.as_slice() {
            [] => "[y/N]".to_string(),
            [word] => format!("Type `{word}` to confirm:"),
            [word, rest @ ..] => format!("Type `{word}` (or {}) to confirm:", quoted(rest, ", ")),
        };
        let mut typed: Vec<String> = Vec::new();
        for attempt in 1..=GATE_ATTEMPTS {
            let prompt = format!("{} {hint} ", confirmation.question);
            self.screen.say(&self.screen.tone(Tone::Prompt, &prompt));
            let line = self.read_answer()?;
            let answer = line.trim().to_string();
            // As typed, control characters escaped and cut to a line: it goes on record.
            let mut said: String = escape_controls(&answer)
                .chars()
                .take(ANSWER_SHOWN)
                .collect();
            if answer.chars().count() > ANSWER_SHOWN {
                said.push('…');
            }
            if says_yes(confirmation, &answer) {
                return Ok(if confirmation.words.is_empty() {
                    "yes (at the prompt)".to_string()
                } else {
                    format!("yes (typed `{said}` at the prompt)")
                });
            }
            typed.push(said);
            // One rule for every gate: a clear no stops (resumably); anything else, an empty
            // Enter included, is asked again, three times in all.
            if matches!(answer.to_ascii_lowercase().as_str(), "n" | "no") {
                let answer = if typed.len() == 1 {
                    "no".to_string()
                } else {
                    format!("no (typed `{}`)", typed.join("`, `"))
                };
                return Err(self.refused_at_the_gate(confirmation, answer));
            }
            if attempt < GATE_ATTEMPTS {
                let wanted = if confirmation.words.is_empty() {
                    "`y` or `yes`".to_string()
                } else {
                    quoted(&confirmation.words, " or ")
                };
                let what = match typed.last().map(String::as_str) {
                    None | Some("") => "an empty answer".to_string(),
                    Some(said) => format!("`{said}`"),
                };
                self.screen.say(&self.screen.tone(
                    Tone::Warning,
                    &format!(
                        "{what} does not confirm: the answer is {wanted}. Try {} of {GATE_ATTEMPTS}; `no` stops.\n",
                        attempt + 1
                    ),
                ));
            }
        }
        let answer = format!(
            "no answer after {GATE_ATTEMPTS} tries (typed `{}`)",
            typed.join("`, `")
        );
        Err(self.refused_at_the_gate(confirmation, answer))
    }

    /// The gate was not passed: recorded, and a refusal that says how to go on.
    fn refused_at_the_gate(&mut self, confirmation: &Confirmation, answer: String) -> Error {
        if let Err(error) = self.record_answer(confirmation, answer.clone(), None) {
            return error;
        }
        Error::refused(format!(
            "the answer to \"{}\" was {answer}; nothing was done after it. Continue with `arthur-restore run --resume {}`",
            confirmation.question,
            self.record.dir().path().display()
        ))
    }

    fn nobody_to_answer(&mut self, confirmation: &Confirmation) -> Result<GateOutcome> {
        self.record_answer(confirmation, "none (no terminal, no --yes)".into(), None)?;
        Err(Error::refused(format!(
            "\"{}\" needs an answer, and there is no terminal to ask on; run in a terminal, or pass --yes to answer it (non-interactive use). Continue with `arthur-restore run --resume {} --yes`",
            confirmation.question,
            self.record.dir().path().display()
        )))
    }

    /// Reads one line from the terminal on a helper thread, so that Ctrl-C at the prompt stops
    /// the run at once (saving state) instead of waiting for Enter.
    fn read_answer(&self) -> Result<String> {
        let receiver = self.screen.read_line();
        loop {
            if self.runner.interrupt().is_set() {
                self.screen.say("\n");
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
