//! The terminal: what the operator sees and types. The screen (`screen`: the views, colour,
//! digests), the live line of a wait, and the prompt's answers. Commands build a `Screen` and
//! hand it to the live run, which knows it only as a `restore::operator::Operator`.

pub mod screen;

use std::io::IsTerminal;
use std::sync::mpsc::Receiver;

pub use screen::{Colour, Screen, Verbosity, init_colour};

use crate::record::{RunStatus, redact};
use crate::restore::operator::{LiveLine, Operator, Tone};

impl Operator for Screen {
    fn transcript(&self, text: &str) {
        Screen::transcript(*self, text);
    }

    fn section(&self, title: &str) {
        Screen::section(*self, title);
    }

    fn note(&self, text: &str) {
        Screen::note(*self, text);
    }

    fn step_done(&self, text: &str) {
        Screen::step_done(*self, text);
    }

    fn command_started(&self, line: &str) {
        Screen::command_started(*self, line);
    }

    fn command_answered(&self, stdout: &str, stderr: &str, status: i32) {
        Screen::command_ended(*self, &screen::digest(stdout, stderr, status));
    }

    fn command_ended(&self, said: &str) {
        Screen::command_ended(*self, said);
    }

    fn gate(&self, details: &[String]) {
        Screen::gate(*self, details);
    }

    fn shows_gates(&self) -> bool {
        Screen::shows_gates(*self)
    }

    fn shows_live_line(&self) -> bool {
        Screen::shows_live_line(*self)
    }

    fn ending(&self, status: RunStatus, said: &str, rest: &str) {
        Screen::ending(*self, status, said, rest);
    }

    fn tone(&self, tone: Tone, text: &str) -> String {
        match tone {
            Tone::Warning => screen::warning(text),
            Tone::Prompt => Screen::prompt(*self, text),
        }
    }

    fn can_ask(&self) -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    fn say(&self, text: &str) {
        redact::err(text);
    }

    fn read_line(&self) -> Receiver<std::io::Result<String>> {
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let read = std::io::stdin().read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
        });
        receiver
    }

    fn live_line(&self) -> Box<dyn LiveLine> {
        Box::new(Spinner::new())
    }
}

/// The live line of a wait, drawn by indicatif on standard error (hidden when it is no
/// terminal).
struct Spinner(indicatif::ProgressBar);

impl Spinner {
    fn new() -> Spinner {
        let spinner = indicatif::ProgressBar::new_spinner();
        // `wide_msg`: the line is cut to the terminal's width instead of wrapping.
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {wide_msg}") {
            spinner.set_style(style);
        }
        if !std::io::stderr().is_terminal() {
            spinner.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        }
        Spinner(spinner)
    }
}

impl LiveLine for Spinner {
    fn show(&self, message: &str) {
        // Drawn past `redact::out`: escaped and redacted here.
        self.0.set_message(redact::redact(message));
        self.0.tick();
    }

    fn clear(&self) {
        self.0.finish_and_clear();
    }
}
