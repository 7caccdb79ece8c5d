//! The transcript format of SPEC section 4: `# ` header and notes, `## ` runbook sections,
//! `$ ` command lines followed by the command's output verbatim, `# exit status N` after a
//! non-zero exit.

use serde::Serialize;

use crate::process::{Cmd, Effect};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum TranscriptEntry {
    Header {
        text: String,
    },
    Section {
        /// `preflight` or a step id.
        step: String,
        title: String,
    },
    Command {
        line: String,
        argv: Vec<String>,
        effect: Effect,
        /// False when the command was only shown (a plan).
        ran: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        output: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        status: Option<i32>,
    },
    Note {
        text: String,
    },
}

impl TranscriptEntry {
    pub fn planned(cmd: &Cmd) -> TranscriptEntry {
        TranscriptEntry::Command {
            line: cmd.to_string(),
            argv: cmd.argv(),
            effect: cmd.effect,
            ran: false,
            output: None,
            status: None,
        }
    }

    /// A command that ran: its output (stdout and stderr as they came) and exit status.
    pub fn ran(cmd: &Cmd, output: &str, status: i32) -> TranscriptEntry {
        TranscriptEntry::Command {
            line: cmd.to_string(),
            argv: cmd.argv(),
            effect: cmd.effect,
            ran: true,
            output: Some(output.to_string()),
            status: Some(status),
        }
    }

    /// The entry's lines in transcript form, each ending in a newline.
    pub fn render(&self) -> String {
        match self {
            TranscriptEntry::Header { text } => comment(text),
            TranscriptEntry::Section { title, .. } => format!("## {title}\n"),
            TranscriptEntry::Note { text } => comment(text),
            TranscriptEntry::Command {
                line,
                output,
                status,
                ..
            } => {
                let mut text = format!("$ {line}\n");
                if let (Some(output), Some(status)) = (output, status) {
                    text.push_str(&command_output(output, *status));
                }
                text
            }
        }
    }
}

pub use crate::process::escape_controls;

/// What follows a command's `$ ` line once it has ended: its output (control characters
/// escaped, ending in a newline) and, after a non-zero exit, `# exit status N`.
pub fn command_output(output: &str, status: i32) -> String {
    let mut text = escape_controls(output).into_owned();
    if !output.is_empty() && !output.ends_with('\n') {
        text.push('\n');
    }
    if status != 0 {
        text.push_str(&format!("# exit status {status}\n"));
    }
    text
}

/// The note after `ssh-keygen -Y sign` (`--sign-key`), written after the last event.
pub const SIGNED_NOTE: &str = "signed: events.jsonl.sig covers events.jsonl as it is now; nothing is appended to it after the signature";

/// The transcript's last line: the anchor. It comes after the last event, so no event binds it;
/// `audit` holds it to the hash it names instead.
pub fn final_hash_line(anchor: &str) -> String {
    comment(&format!(
        "events.jsonl final hash (the SHA-256 of its last line; paste it into the change ticket, check it with `arthur-restore audit --expect HASH`): {anchor}"
    ))
}

/// The longest output line the transcript shows whole; `audit` reads lines up to
/// `record::MAX_LOG_LINE`, well above it, so that every transcript the tool writes is read.
pub const LONG_LINE: usize = 64 << 10;

/// Lines longer than `LONG_LINE` cut there (at a character boundary), each followed by what was
/// left out: its size and SHA-256.
pub fn cut_long_lines(text: &str) -> String {
    if text.len() <= LONG_LINE || !text.split('\n').any(|l| l.len() > LONG_LINE) {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len().min(4 * LONG_LINE));
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        if line.len() <= LONG_LINE {
            out.push_str(line);
            continue;
        }
        let end = cut_point(line, LONG_LINE);
        let digest = super::events::sha256_hex(line.as_bytes());
        out.push_str(&line[..end]);
        out.push_str(&format!(
            "\n# (the line above is cut at {end} of its {} bytes; the whole line has the SHA-256 {digest})",
            line.len()
        ));
    }
    out
}

/// Where a text longer than `limit` bytes is cut: at `limit`, or the character boundary before.
pub fn cut_point(text: &str, limit: usize) -> usize {
    let mut end = limit.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end
}

/// The line after the `$ ` line of a command that never ended: killed at its time limit or
/// interrupted. Its effect is unknown; a resume looks at the cluster to find out.
pub fn command_killed(reason: &str) -> String {
    comment(&format!("command ended without an answer: {reason}"))
}

/// Outputs longer than this are summarised in the transcript (`--keep-output` keeps them whole
/// in a file of the run directory).
pub const FULL_OUTPUT_LIMIT: usize = 1 << 20;

/// The lines of a long output the transcript shows before its summary.
pub const HEAD_LINES: usize = 40;

/// A long output as the transcript shows it: its first lines, then its size and SHA-256, and
/// where it is kept whole when it is.
/// What the transcript shows of a command's output: all of it, or, past `FULL_OUTPUT_LIMIT`,
/// its head and a summary, made from its pieces without copying the whole.
pub fn of_output(out: &crate::process::RunOutput, kept: Option<&str>) -> String {
    if out.len() <= FULL_OUTPUT_LIMIT {
        return command_output(&out.combined(), out.output.status);
    }
    long_output(&out.pieces(), out.output.status, kept)
}

pub fn long_output(pieces: &[&str], status: i32, kept: Option<&str>) -> String {
    let long = LongOutput::of(pieces);
    let mut text = command_output(&long.head, 0);
    text.push_str(&comment(&long.summary(kept)));
    if status != 0 {
        text.push_str(&format!("# exit status {status}\n"));
    }
    text
}

/// A long output in short: its first `HEAD_LINES` lines, its size, line count and SHA-256, read
/// from its pieces in order (nothing is copied but the head).
pub struct LongOutput {
    pub head: String,
    bytes: usize,
    lines: usize,
    sha256: String,
}

impl LongOutput {
    pub fn of(pieces: &[&str]) -> LongOutput {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        let (mut bytes, mut newlines, mut last) = (0usize, 0usize, None);
        let mut head = String::new();
        let mut head_lines = 0;
        for piece in pieces {
            hasher.update(piece.as_bytes());
            bytes += piece.len();
            newlines += piece.bytes().filter(|b| *b == b'\n').count();
            last = piece.bytes().last().or(last);
            let mut rest = *piece;
            while head_lines < HEAD_LINES && !rest.is_empty() {
                let (line, after) = match rest.find('\n') {
                    Some(at) => (&rest[..=at], &rest[at + 1..]),
                    None => (rest, ""),
                };
                head.push_str(line);
                if line.ends_with('\n') {
                    head_lines += 1;
                }
                rest = after;
            }
        }
        if !head.ends_with('\n') && !head.is_empty() {
            head.push('\n');
        }
        LongOutput {
            head,
            bytes,
            lines: newlines + usize::from(last.is_some_and(|b| b != b'\n')),
            sha256: super::events::hex(&hasher.finalize()),
        }
    }

    /// The line that stands for the rest.
    pub fn summary(&self, kept: Option<&str>) -> String {
        let whole = match kept {
            Some(path) => format!("kept whole in {path}"),
            None => "run with --keep-output to keep it whole".to_string(),
        };
        format!(
            "output of {} bytes in {} lines (sha256 {}); the first {HEAD_LINES} lines are shown, {whole}",
            self.bytes, self.lines, self.sha256
        )
    }
}

/// The transcript's line (without `# `) for a gate's answer as events.jsonl records it: the
/// run writes it, the audit expects it.
pub fn gate_line(gate: &str, answer: &str) -> String {
    match answer {
        "no" => format!("gate {gate}: answered no"),
        a if a.starts_with("none (") => format!("gate {gate}: nobody to answer"),
        a => format!("gate {gate}: {a}"),
    }
}

/// A line the operator must not miss among the notes: a warning, or what the runbook says
/// would corrupt data.
pub fn is_warning(line: &str) -> bool {
    let line = line.trim_start();
    line.starts_with("WARNING")
        || line.starts_with("not copied, check them")
        || line.contains("WILL CAUSE DATA CORRUPTION")
        || line.starts_with("Data sent during or after the backup must be re-sent")
}

/// Each line of the text as a `# ` line of the transcript.
pub fn comment(text: &str) -> String {
    text.lines().map(|line| format!("# {line}\n")).collect()
}

pub fn render_all(entries: &[TranscriptEntry]) -> String {
    entries.iter().map(TranscriptEntry::render).collect()
}

/// The section title of the versions, kube context and cluster identity.
pub const IDENTITY_TITLE: &str = "Identity (arthur-restore: which programs, which cluster)";

/// The section title of the checks made before any step.
pub const PREFLIGHT_TITLE: &str = "Preflight (arthur-restore: checks before any change)";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::Tool;

    #[test]
    fn a_failed_command_says_its_exit_status() {
        let entry = TranscriptEntry::Command {
            line: "kubectl delete sts messaging -n arthur".into(),
            argv: vec![],
            effect: Effect::Changes,
            ran: true,
            output: Some(
                "Error from server (NotFound): statefulsets.apps \"messaging\" not found".into(),
            ),
            status: Some(1),
        };
        assert_eq!(
            entry.render(),
            "$ kubectl delete sts messaging -n arthur\nError from server (NotFound): statefulsets.apps \"messaging\" not found\n# exit status 1\n"
        );
    }

    #[test]
    fn control_characters_are_shown_escaped() {
        assert_eq!(
            command_output("\u{1b}[31mred\u{0}\r\nok\rback\u{85}", 0),
            "\\x1b[31mred\\0\nok\\rback\\x85\n"
        );
        assert_eq!(command_output("plain\ttext\n", 0), "plain\ttext\n");
    }

    #[test]
    fn notes_are_commented_line_by_line() {
        assert_eq!(
            TranscriptEntry::Note {
                text: "one\ntwo".into()
            }
            .render(),
            "# one\n# two\n"
        );
        assert_eq!(
            TranscriptEntry::planned(&Cmd::reads(Tool::Kubectl).args(["get", "pv"])).render(),
            "$ kubectl get pv\n"
        );
    }
}
