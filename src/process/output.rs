//! What a finished command printed, and the error for a command that exited non-zero.

use std::time::Duration;

use super::cmd::Cmd;
use crate::error::Error;

/// What a finished command printed, stdout and stderr apart (parsers need them apart).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// A command's output as the runner saw it: also the order in which its pieces of stdout and
/// stderr arrived (the transcript shows them as they came) and how long it ran.
#[derive(Debug, Clone)]
pub struct RunOutput {
    pub output: Output,
    /// (from stderr, end offset in its stream) for each piece, in arrival order.
    pub order: Vec<(bool, usize)>,
    /// When it started (a read run side by side is recorded after others, in runbook order:
    /// its event keeps its own start).
    pub started: std::time::SystemTime,
    pub duration: Duration,
}

impl RunOutput {
    /// The size of stdout and stderr together.
    pub fn len(&self) -> usize {
        self.output.stdout.len() + self.output.stderr.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// stdout and stderr merged in the order they arrived (a copy of both).
    pub fn combined(&self) -> String {
        self.pieces().concat()
    }

    /// stdout and stderr in the order they arrived, as slices of the two (nothing copied: a
    /// long listing is summarised from these without a second copy of it).
    pub fn pieces(&self) -> Vec<&str> {
        let mut pieces = Vec::new();
        let (mut out_at, mut err_at) = (0, 0);
        for (from_stderr, end) in &self.order {
            let (stream, at) = if *from_stderr {
                (&self.output.stderr, &mut err_at)
            } else {
                (&self.output.stdout, &mut out_at)
            };
            let end = (*end).min(stream.len());
            // A piece may end inside a character that the next piece completes.
            let mut cut = end;
            while cut > *at && !stream.is_char_boundary(cut) {
                cut -= 1;
            }
            if cut > *at {
                pieces.push(&stream[*at..cut]);
                *at = cut;
            }
        }
        pieces.push(&self.output.stdout[out_at..]);
        pieces.push(&self.output.stderr[err_at..]);
        pieces.retain(|p| !p.is_empty());
        pieces
    }
}

/// A command that exited non-zero: its status and what it said (stderr, else stdout).
pub fn command_failed(cmd: &Cmd, out: &Output) -> Error {
    let said = [out.stderr.trim(), out.stdout.trim()]
        .into_iter()
        .find(|text| !text.is_empty())
        .unwrap_or("(no output)");
    Error::CommandFailed {
        command: cmd.to_string(),
        reason: format!("exit status {}: {}", out.status, escape_controls(said)),
    }
}

/// Whether a character must not leave the process raw: a control character (ESC, BEL, NUL,
/// CR, DEL, the C1 controls) but for the line end and the tab, or one that reorders or hides
/// text (the bidirectional overrides, embeddings and isolates, the marks, SPEC section 5 rule 15).
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

/// A command's output as the terminal and the transcript show it: verbatim, but for control
/// characters (an escape sequence, a NUL) and bidirectional overrides, which are shown escaped
/// (`\x1b`, `\0`, `\u{202e}`) so that they can neither drive the operator's terminal nor hide
/// or reorder text. Line ends stay (a CRLF is a line end).
pub fn escape_controls(output: &str) -> std::borrow::Cow<'_, str> {
    if !output.chars().any(is_unsafe_char) {
        return output.into();
    }
    let mut text = String::with_capacity(output.len());
    let mut chars = output.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\n' | '\t' => text.push(c),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\0' => text.push_str("\\0"),
            '\r' => text.push_str("\\r"),
            c if c.is_control() => text.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if is_unsafe_char(c) => text.push_str(&format!("\\u{{{:04x}}}", u32::from(c))),
            c => text.push(c),
        }
    }
    text.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unsafe_character_is_escaped() {
        let hostile =
            "a\x1b[2Jb\x1b]8;;http://x\x07link\x1b]8;;\x07\x07c\rd\0e\u{202e}f\u{2066}g\u{9b}h\r\n";
        let shown = escape_controls(hostile);
        assert!(!shown.chars().any(is_unsafe_char), "{shown:?}");
        assert_eq!(
            shown,
            "a\\x1b[2Jb\\x1b]8;;http://x\\x07link\\x1b]8;;\\x07\\x07c\\rd\\0e\\u{202e}f\\u{2066}g\\x9bh\n"
        );
        assert_eq!(escape_controls("plain\ttext\n"), "plain\ttext\n");
    }
}
