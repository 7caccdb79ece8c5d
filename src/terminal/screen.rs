//! What the operator sees. The transcript (transcript.log) is the complete `$ command` record and
//! never changes with these settings; the screen is for the person at the terminal at 3am:
//!
//! - standard output not a terminal (a pipe, `tee`, a file): the transcript, as it is written;
//! - a terminal, by default: step headers, each command line with a short digest of what it
//!   answered, the tool's notes (selections, decisions), waits as one live line, gates, warnings
//!   and the ending;
//! - `-v`: the transcript, on the terminal too (every output in full);
//! - `-q`: only gates, warnings, errors and the ending.
//!
//! Colour (never in the transcript): errors and refusals red, warnings and gates yellow, done
//! steps green; `--color auto|always|never`, and `NO_COLOR` honoured.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};

use anstyle::{AnsiColor, Style};

use std::sync::mpsc::Receiver;

use crate::record::transcript::is_warning;
use crate::record::{RunStatus, redact};
use crate::restore::operator::{LiveLine, Operator, Tone};

/// How much of the run the terminal shows (`-q`, default, `-v`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Verbosity {
    Quiet,
    #[default]
    Normal,
    Verbose,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Colour {
    #[default]
    Auto,
    Always,
    Never,
}

/// Whether this process paints (decided once, from `--color`, `NO_COLOR` and the terminals).
static PAINT: AtomicBool = AtomicBool::new(false);

/// Decides colour for the whole process: `always`, `never`, or (auto) when standard error is a
/// terminal and `NO_COLOR` is not set (https://no-color.org).
pub fn init_colour(choice: Colour) {
    let paint = match choice {
        Colour::Always => true,
        Colour::Never => false,
        Colour::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stderr().is_terminal()
                && std::env::var("TERM").map_or(true, |t| t != "dumb")
        }
    };
    PAINT.store(paint, Ordering::Relaxed);
    redact::allow_colour(paint);
}

fn painted(style: Style, text: &str) -> String {
    if PAINT.load(Ordering::Relaxed) {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

/// Red, for errors and refusals.
pub fn error(text: &str) -> String {
    painted(
        Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
        text,
    )
}

/// Yellow, for warnings and gates.
pub fn warning(text: &str) -> String {
    painted(Style::new().fg_color(Some(AnsiColor::Yellow.into())), text)
}

/// Green, for what is done.
pub fn done(text: &str) -> String {
    painted(Style::new().fg_color(Some(AnsiColor::Green.into())), text)
}

fn heading(text: &str) -> String {
    painted(Style::new().bold(), text)
}

fn dim(text: &str) -> String {
    painted(Style::new().dimmed(), text)
}

/// What the terminal shows of a run.
#[derive(Debug, Clone, Copy)]
pub struct Screen {
    /// Standard output is a terminal.
    terminal: bool,
    verbosity: Verbosity,
}

impl Screen {
    pub fn new(verbosity: Verbosity) -> Screen {
        Screen {
            terminal: std::io::stdout().is_terminal(),
            verbosity,
        }
    }

    /// The transcript is printed as written: not a terminal (unless -q), or -v.
    fn full(self) -> bool {
        match self.verbosity {
            Verbosity::Verbose => true,
            Verbosity::Normal => !self.terminal,
            Verbosity::Quiet => false,
        }
    }

    /// The default terminal view: headers, commands with digests, notes.
    fn digest(self) -> bool {
        self.terminal && self.verbosity == Verbosity::Normal
    }

    fn print(text: &str) {
        let _ = redact::out(text);
    }
}

/// The views of a run (module documentation), as the live run tells and asks the operator.
impl Operator for Screen {
    /// Whether the live wait line stands for the `waiting for …` note (the default view, when
    /// standard error, where the line is drawn, is a terminal too).
    fn shows_live_line(&self) -> bool {
        self.digest() && std::io::stderr().is_terminal()
    }

    /// Whether a gate's details are on the operator's screen (else the prompt repeats them).
    fn shows_gates(&self) -> bool {
        self.terminal
    }

    /// Text of the transcript (`$ ` lines, outputs, `# ` lines), printed in the full view.
    fn transcript(&self, text: &str) {
        if self.full() {
            Screen::print(text);
        }
    }

    /// A section (`## title`): a step header.
    fn section(&self, title: &str) {
        if self.digest() {
            Screen::print(&format!("\n{}\n", heading(&format!("== {title}"))));
        }
    }

    /// A note of the tool (`# ` lines): shown in the default view; warnings in every view.
    fn note(&self, text: &str) {
        if self.full() {
            return;
        }
        let mut shown = String::new();
        for line in text.lines() {
            if is_warning(line) {
                shown.push_str(&format!("  {}\n", warning(line)));
            } else if self.digest() {
                shown.push_str(&format!("  {line}\n"));
            }
        }
        Screen::print(&shown);
    }

    /// The line of a step that is done.
    fn step_done(&self, text: &str) {
        if self.digest() {
            Screen::print(&format!("  {}\n", done(&format!("✓ {text}"))));
        }
    }

    /// A command is about to run: its line, which the digest completes.
    fn command_started(&self, line: &str) {
        if self.digest() {
            Screen::print(&dim(&format!("$ {line}")));
        }
    }

    fn command_answered(&self, stdout: &str, stderr: &str, status: i32) {
        self.command_ended(&digest(stdout, stderr, status));
    }

    /// What a command answered, in short (after `command_started`), or how it ended.
    fn command_ended(&self, digest: &str) {
        if self.digest() {
            Screen::print(&format!("  → {digest}\n"));
        }
    }

    /// A gate's details and question, on the screen (the prompt asks on standard error).
    fn gate(&self, details: &[String]) {
        if self.full() || !self.terminal {
            return;
        }
        let mut shown = String::from("\n");
        for line in details {
            shown.push_str(&format!("{}\n", warning(line)));
        }
        Screen::print(&shown);
    }

    /// The ending: shown in every view but the full one (where the transcript carries it).
    fn ending(
        &self,
        status: RunStatus,
        summary: &str,
        verdict: &str,
        advice: Option<&str>,
        closing: &str,
    ) -> bool {
        if self.full() {
            return false;
        }
        let mut shown = String::from("\n");
        for line in summary.lines() {
            let line = if is_warning(line) {
                warning(line)
            } else {
                line.to_string()
            };
            shown.push_str(&format!("{line}\n"));
        }
        // The line that says how the run ended, in the colour of how it ended.
        let verdict = match status {
            RunStatus::Completed => done(verdict),
            RunStatus::Failed | RunStatus::Refused => error(verdict),
            RunStatus::Interrupted | RunStatus::Running => warning(verdict),
        };
        shown.push_str(&format!("{verdict}\n"));
        if let Some(advice) = advice {
            shown.push_str(&format!("{}\n", warning(advice)));
        }
        shown.push_str(closing);
        Screen::print(&shown);
        true
    }

    fn tone(&self, tone: Tone, text: &str) -> String {
        // A gate's question and a warning stand out alike.
        match tone {
            Tone::Warning | Tone::Prompt => warning(text),
        }
    }

    fn can_ask(&self) -> bool {
        super::can_ask()
    }

    fn say(&self, text: &str) {
        redact::err(text);
    }

    fn read_line(&self) -> Receiver<std::io::Result<String>> {
        super::read_line()
    }

    fn live_line(&self) -> Box<dyn LiveLine> {
        Box::new(super::Spinner::new())
    }
}

/// A short account of what a command answered: its exit status and first line when it failed,
/// its one or two lines when short, else what it holds (items of a JSON listing, rows of a
/// table, lines), the whole being in transcript.log.
pub fn digest(stdout: &str, stderr: &str, status: i32) -> String {
    fn first(text: &str) -> &str {
        text.lines().find(|l| !l.trim().is_empty()).unwrap_or("")
    }
    if status != 0 {
        let said = [stderr, stdout]
            .into_iter()
            .map(first)
            .find(|l| !l.is_empty())
            .unwrap_or_default();
        return format!("exit {status}{}", shortened(said, ": "));
    }
    // What a command answered is on stdout; stderr only when stdout is empty.
    let answer = if stdout.trim().is_empty() {
        stderr
    } else {
        stdout
    };
    let mut lines = answer.lines().filter(|l| !l.trim().is_empty());
    let (Some(header), second) = (lines.next(), lines.next()) else {
        return "done, no output".into();
    };
    if second.is_none() {
        return shortened(header, "").trim_start().to_string();
    }
    let count = 2 + lines.count();
    let trimmed = answer.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        // Counted for a listing of ordinary size; a long one is not read a second time.
        if answer.len() > crate::record::transcript::FULL_OUTPUT_LIMIT {
            return format!(
                "{} of JSON (summarised in transcript.log)",
                crate::process::format_size(answer.len() as u64)
            );
        }
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(trimmed) {
            return format!("{} (full output in transcript.log)", json_digest(&value));
        }
    }
    let table = header.split_whitespace().all(|w| {
        w.chars()
            .all(|c| c.is_ascii_uppercase() || "-_()".contains(c))
    });
    if table {
        let rows = count - 1;
        return format!(
            "{rows} row{} (full output in transcript.log)",
            if rows == 1 { "" } else { "s" }
        );
    }
    format!("{count} lines (full output in transcript.log)")
}

/// `58 items` for a Kubernetes/Velero list, `3 DBSnapshots` for an AWS answer, else the kind.
fn json_digest(value: &serde_json::Value) -> String {
    use serde_json::Value;
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    match value {
        Value::Array(items) => plural(items.len(), "entry"),
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("items") {
                return plural(items.len(), "item");
            }
            if let Some((key, Value::Array(items))) = map.iter().find(|(_, v)| v.is_array()) {
                return format!("{} {key}", items.len());
            }
            let kind = map.get("kind").and_then(Value::as_str);
            let name = value
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .map(|n| format!(" {n}"))
                .unwrap_or_default();
            let phase = value
                .pointer("/status/phase")
                .and_then(Value::as_str)
                .map(|p| format!(", {p}"))
                .unwrap_or_default();
            match kind {
                Some(kind) => format!("{kind}{name}{phase}"),
                None => format!("a JSON object of {}", plural(map.len(), "field")),
            }
        }
        _ => "JSON".into(),
    }
}

/// A line cut to fit a terminal line after the command.
fn shortened(line: &str, lead: &str) -> String {
    let line = line.trim();
    if line.is_empty() {
        return String::new();
    }
    let cut: String = line.chars().take(100).collect();
    let more = if cut.len() < line.len() { "…" } else { "" };
    format!("{lead}{cut}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_say_what_came_back() {
        let cases: [(&str, i32, &str); 8] = [
            ("", 0, "done, no output"),
            (
                "statefulset.apps \"messaging\" deleted\n",
                0,
                "statefulset.apps \"messaging\" deleted",
            ),
            (
                "{\n\"items\": [{}, {}, {}]\n}\n",
                0,
                "3 items (full output in transcript.log)",
            ),
            (
                "{\n\"DBSnapshots\": [{}, {}]\n}\n",
                0,
                "2 DBSnapshots (full output in transcript.log)",
            ),
            (
                "NAME   READY\na      1/1\nb      0/1\n",
                0,
                "2 rows (full output in transcript.log)",
            ),
            (
                "Error from server (NotFound): jobs \"x\" not found\n",
                1,
                "exit 1: Error from server (NotFound): jobs \"x\" not found",
            ),
            (
                "one\ntwo\nthree\n",
                0,
                "3 lines (full output in transcript.log)",
            ),
            (
                "{\n\"Account\": \"123\"\n}\n",
                0,
                "a JSON object of 1 field (full output in transcript.log)",
            ),
        ];
        for (output, status, expected) in cases {
            let (stdout, stderr) = if status == 0 {
                (output, "")
            } else {
                ("", output)
            };
            assert_eq!(digest(stdout, stderr, status), expected, "{output:?}");
        }
    }

    #[test]
    fn warnings_are_told_apart() {
        assert!(is_warning("WARNING: --allow-mixed: …"));
        assert!(is_warning(
            "     Failure to complete this step WILL CAUSE DATA CORRUPTION."
        ));
        assert!(!is_warning("selected (grep -i messaging): messaging"));
    }
}
