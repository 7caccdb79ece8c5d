//! The person at the terminal, as the live run sees them: what it tells them and what it asks,
//! and nothing of how (colour, the width of a line, indicatif, standard input). The terminal
//! (`crate::terminal`) implements this; the engine never imports it.

use std::sync::mpsc::Receiver;

use crate::record::RunStatus;

/// How a text is to stand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    /// A warning, a refusal's advice, a retry at a gate.
    Warning,
    /// A gate's question.
    Prompt,
}

/// What the operator is shown of a run, and asked.
pub trait Operator {
    /// Text of the transcript (`$ ` lines, outputs, `# ` lines), for a view that shows it whole.
    fn transcript(&self, text: &str);
    /// A section begins (a step header).
    fn section(&self, title: &str);
    /// A note of the tool.
    fn note(&self, text: &str);
    /// A step is done.
    fn step_done(&self, text: &str);
    /// A command is about to run.
    fn command_started(&self, line: &str);
    /// What a command answered (after `command_started`).
    fn command_answered(&self, stdout: &str, stderr: &str, status: i32);
    /// How a command ended when it gave no answer to show (after `command_started`).
    fn command_ended(&self, said: &str);
    /// A gate's details and question.
    fn gate(&self, details: &[String]);
    /// Whether a gate's details are on the operator's screen (else the prompt repeats them).
    fn shows_gates(&self) -> bool;
    /// Whether a wait is shown as one live line (instead of its `waiting for …` note).
    fn shows_live_line(&self) -> bool;
    /// How the run ended, last on the screen: the summary (times, warnings), then the verdict
    /// (the cause once), what to do, and the closing lines (run directory, final hash, next).
    /// Whether it was shown (not where the transcript itself is the screen).
    fn ending(
        &self,
        status: RunStatus,
        summary: &str,
        verdict: &str,
        advice: Option<&str>,
        closing: &str,
    ) -> bool;
    /// The text, standing out as `tone` says (colour where the terminal paints).
    fn tone(&self, tone: Tone, text: &str) -> String;
    /// Whether there is someone to ask (standard input and the prompt's stream are terminals).
    fn can_ask(&self) -> bool;
    /// Says something on the prompt's stream (standard error).
    fn say(&self, text: &str);
    /// Starts reading one answer; it comes on the receiver (on a helper thread, so that an
    /// interruption is not held up by a prompt).
    fn read_line(&self) -> Receiver<std::io::Result<String>>;
    /// A live line for a wait: shown, redrawn, cleared.
    fn live_line(&self) -> Box<dyn LiveLine>;
}

/// The one live line of a wait.
pub trait LiveLine {
    /// Draws the line: `changing` (times, state) first and whole, then `subject` (what is
    /// awaited), shortened to fit the terminal's width.
    fn show(&self, changing: &str, subject: &str);
    /// Removes it.
    fn clear(&self);
}
