//! The terminal: what the operator sees and types. The screen (`screen`: the views, colour,
//! digests), the live line of a wait, and the prompt's answers. Commands build a `Screen` and
//! hand it to the live run, which knows it only as a `restore::operator::Operator`.

pub mod screen;

use std::io::IsTerminal;
use std::sync::mpsc::Receiver;

pub use screen::{Colour, Screen, Verbosity, init_colour};

use crate::record::redact;
use crate::restore::operator::LiveLine;

/// Whether there is someone to ask: standard input and the prompt's stream are terminals.
fn can_ask() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a question on the terminal and reads one line of answer (trimmed); `None` without a
/// terminal to ask on (standard input and standard error).
pub fn ask_line(question: &str) -> Option<String> {
    if !can_ask() {
        return None;
    }
    redact::err(question);
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).ok()?;
    Some(line.trim().to_string())
}

/// Starts reading one answer from standard input on a helper thread.
fn read_line() -> Receiver<std::io::Result<String>> {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let read = std::io::stdin().read_line(&mut line).map(|_| line);
        let _ = sender.send(read);
    });
    receiver
}

/// The columns of the terminal on standard error (80 when it cannot be asked).
fn stderr_width() -> usize {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a winsize into the struct it is given, which lives here.
    let asked = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) };
    if asked == 0 && size.ws_col > 0 {
        usize::from(size.ws_col)
    } else {
        80
    }
}

/// `changing · subject` in `width` columns: what changes is never cut; the subject is
/// shortened with `…` (and left out when nothing of it would fit).
pub fn fit(changing: &str, subject: &str, width: usize) -> String {
    let used = changing.chars().count();
    let whole = used + 3 + subject.chars().count();
    if whole <= width {
        return format!("{changing} · {subject}");
    }
    let room = width.saturating_sub(used + 3 + 1);
    if room < 8 {
        // No room for the subject; what changes alone, cut only where even it is too wide.
        if used <= width {
            return changing.to_string();
        }
        let short: String = changing.chars().take(width.saturating_sub(1)).collect();
        return format!("{short}…");
    }
    let short: String = subject.chars().take(room).collect();
    format!("{changing} · {short}…")
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
    fn show(&self, changing: &str, subject: &str) {
        // The spinner's frame and a space come before the message.
        let width = stderr_width().saturating_sub(2);
        // Drawn past `redact::out`: escaped and redacted here.
        let line = fit(&redact::redact(changing), &redact::redact(subject), width);
        self.0.set_message(line);
        self.0.tick();
    }

    fn clear(&self) {
        self.0.finish_and_clear();
    }
}

#[cfg(test)]
mod tests {
    use super::fit;

    /// At 60, 80 and 120 columns the times and the state are whole, the subject shortened.
    #[test]
    fn the_live_line_keeps_what_changes_at_any_width() {
        let changing = "1m12s of 30m · next poll in 4s · creating";
        let subject = "waiting for RDS instance arthur-restored-db to be available";
        // The spinner's frame and a space take two of the terminal's columns.
        for width in [58, 78, 118] {
            let line = fit(changing, subject, width);
            assert!(line.chars().count() <= width, "{width}: {line}");
            assert!(line.starts_with(changing), "{width}: {line}");
        }
        assert_eq!(
            fit(changing, subject, 58),
            format!("{changing} · waiting for R…")
        );
        assert_eq!(
            fit(changing, subject, 78),
            format!("{changing} · waiting for RDS instance arthur-r…")
        );
        assert_eq!(
            fit(changing, subject, 118),
            format!("{changing} · {subject}")
        );
        // Even a state too long for the line leaves it within the width.
        let long = format!("{changing} {}", "x".repeat(80));
        assert!(fit(&long, subject, 58).chars().count() <= 58);
    }
}
