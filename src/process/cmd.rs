//! A command as a value: which program, which arguments, and whether it changes anything.
//!
//! A `Cmd` never runs itself; the runner turns it into a process in one place. Its `Display` is
//! the exact POSIX-shell line the transcript shows: pasting it into `sh` runs the same argv.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::tool::Tool;

/// What running a command does to the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Only reads (listings, describes, versions). Safe in `plan` and in preflight.
    Reads,
    /// Changes the cluster or the cloud account. Never run by `plan`, never before preflight.
    Changes,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cmd {
    pub tool: Tool,
    /// Arguments after the program name, global flags included.
    pub args: Vec<String>,
    pub effect: Effect,
    /// Built with a placeholder (the runbook's `$variable`, a plan's `<…>`): only to be shown;
    /// the runner refuses to start it.
    #[serde(skip)]
    pub placeholder: bool,
    /// A file given on standard input (`ssh-keygen -Y verify` reads the signed file so);
    /// otherwise standard input is closed.
    #[serde(skip)]
    pub stdin: Option<std::path::PathBuf>,
    /// Bytes given on standard input (a notification's body: never in the argv).
    #[serde(skip)]
    pub stdin_bytes: Option<Vec<u8>>,
}

impl Cmd {
    pub fn new(tool: Tool, effect: Effect) -> Cmd {
        Cmd {
            tool,
            args: Vec::new(),
            effect,
            placeholder: false,
            stdin: None,
            stdin_bytes: None,
        }
    }

    pub fn reads(tool: Tool) -> Cmd {
        Cmd::new(tool, Effect::Reads)
    }

    pub fn changes(tool: Tool) -> Cmd {
        Cmd::new(tool, Effect::Changes)
    }

    /// Gives the command these bytes on standard input.
    pub fn stdin_bytes(mut self, bytes: Vec<u8>) -> Cmd {
        self.stdin_bytes = Some(bytes);
        self
    }

    /// Gives the command a file on standard input.
    pub fn stdin_from(mut self, path: &std::path::Path) -> Cmd {
        self.stdin = Some(path.to_path_buf());
        self
    }

    /// Marks a command built with a placeholder: it can be shown, never run.
    pub fn placeholder_if(mut self, placeholder: bool) -> Cmd {
        self.placeholder = self.placeholder || placeholder;
        self
    }

    pub fn arg(mut self, arg: impl Into<String>) -> Cmd {
        self.args.push(arg.into());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// The full argv as the transcript shows it: the program's runbook name, then the arguments.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.tool.name().to_string())
            .chain(self.args.iter().cloned())
            .collect()
    }
}

impl fmt::Display for Cmd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tool.name())?;
        for arg in &self.args {
            write!(f, " {}", shell_quote(arg))?;
        }
        Ok(())
    }
}

/// Quotes one word for a POSIX shell. Words made only of characters no shell treats specially
/// stay as they are, so the transcript reads like the runbook (`--from=cronjob/x`, `7899:80`);
/// anything else is put in single quotes, where only the single quote itself needs care.
pub fn shell_quote(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = !word.is_empty()
        && word.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'_' | b'@' | b'%' | b'+' | b'=' | b':' | b',' | b'.' | b'/' | b'-'
                )
        });
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r#"'"'"'"#)).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(args: &[&str]) -> String {
        Cmd::reads(Tool::Kubectl)
            .args(args.iter().copied())
            .to_string()
    }

    #[test]
    fn plain_words_stay_unquoted() {
        assert_eq!(
            line(&[
                "create",
                "job",
                "--from=cronjob/clickhouse-restore-cronjob",
                "-n",
                "arthur"
            ]),
            "kubectl create job --from=cronjob/clickhouse-restore-cronjob -n arthur"
        );
    }

    const AWKWARD: &[&str] = &[
        "",
        "two words",
        "it's",
        "'",
        "''",
        "$HOME",
        "$(touch pwned)",
        "`id`",
        "a;b",
        "a|b",
        "a&&b",
        "back\\slash",
        "double\"quote",
        "new\nline",
        "tab\there",
        "*",
        "?",
        "~",
        "#hash",
        "{a,b}",
        "!bang",
        "ünïcödé",
        "-",
        "--",
        "arthur;rm -rf /",
    ];

    #[test]
    fn awkward_words_split_back_to_the_same_argv() {
        for word in AWKWARD {
            let cmd = Cmd::reads(Tool::Kubectl).args(["get", word, "x"]);
            let shown = cmd.to_string();
            let split = shlex::split(&shown).expect("the displayed line splits");
            assert_eq!(split, cmd.argv(), "word {word:?} displayed as {shown}");
        }
    }

    /// The strongest check: a real POSIX shell reads the displayed line and prints the argv it
    /// would run. The script comes on standard input (no `-c`), and `printf` stands in for the
    /// program so that nothing is run.
    #[test]
    fn a_real_shell_reads_back_the_same_argv() {
        use std::io::Write;
        let mut script = String::new();
        for word in AWKWARD {
            let cmd = Cmd::reads(Tool::Kubectl).args(["get", word]);
            let shown = cmd.to_string();
            let rest = shown.strip_prefix("kubectl").unwrap();
            script.push_str(&format!("printf '%s\\0' kubectl{rest}; printf '\\1'\n"));
        }
        let mut child = std::process::Command::new("sh")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("sh runs");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let groups: Vec<&str> = text.split('\u{1}').filter(|g| !g.is_empty()).collect();
        assert_eq!(groups.len(), AWKWARD.len());
        for (group, word) in groups.iter().zip(AWKWARD) {
            let argv: Vec<&str> = group.strip_suffix('\0').unwrap().split('\0').collect();
            assert_eq!(argv, vec!["kubectl", "get", word]);
        }
    }
}
