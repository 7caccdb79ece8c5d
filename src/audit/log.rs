//! Reading a log: a transcript of this tool or a terminal log kept by hand in the same `$ command`
//! style. Continuation lines are joined, `$variable` references expanded, pipelines split and
//! redirections dropped; exit statuses, outputs and the tool's `# replaced …` notes are kept.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use crate::runbook::StepId;

/// A command as logged: its line, the words of each part of its pipeline, its exit status, its
/// output, and the runbook step of the `## ` section it appears under (tool transcripts).
#[derive(Debug, Clone)]
pub struct Logged {
    pub line: usize,
    pub text: String,
    pub pipeline: Vec<Vec<String>>,
    pub status: Option<i32>,
    pub output: Vec<String>,
    pub section: Option<StepId>,
    /// The tool said the command ended without an answer (killed at its time limit, or
    /// interrupted): its effect is unknown, and the resume that follows finds out.
    pub killed: bool,
}

/// What a log holds.
#[derive(Debug, Clone, Default)]
pub struct Log {
    pub commands: Vec<Logged>,
    /// The tool's `# replaced insert-backup-name-here with NAME` notes: (line, NAME).
    pub replacements: Vec<(usize, String)>,
    /// The steps a tool transcript says it was asked to perform (`# steps: …`).
    pub selected: Option<Vec<StepId>>,
    /// The log is a transcript of this tool (its `# arthur-restore … run started` header): the
    /// tool decided each command's success itself, and said so.
    pub by_tool: bool,
}

static ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$").expect("valid"));
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)").expect("valid")
});
static NOTE_REPLACEMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^replaced insert-backup-name-here with (\S+)").expect("valid"));

/// How the tool's transcript says a command ended without an answer.
const KILLED_NOTE: &str = "command ended without an answer:";

/// Expands `$name` and `${name}` outside single quotes, for the variables the log assigned.
pub fn expand(text: &str, variables: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut quoted = false;
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if c == '\'' {
            quoted = !quoted;
        }
        if c == '$'
            && !quoted
            && let Some(m) = VARIABLE.find(rest)
            && m.start() == 0
        {
            let caps = VARIABLE.captures(rest).expect("it matched");
            let name = caps.get(1).or(caps.get(2)).expect("a name").as_str();
            if let Some(value) = variables.get(name) {
                out.push_str(value);
                rest = &rest[m.end()..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The words of a command line split at pipes, redirections dropped; empty parts left out.
fn pipeline(words: Vec<String>) -> Vec<Vec<String>> {
    let mut pipeline: Vec<Vec<String>> = vec![Vec::new()];
    let mut skip_next = false;
    for word in words {
        if skip_next {
            skip_next = false;
        } else if word == "|" {
            pipeline.push(Vec::new());
        } else if word == ">" || word == ">>" {
            skip_next = true;
        } else if let Some(last) = pipeline.last_mut() {
            last.push(word);
        }
    }
    pipeline.retain(|part| !part.is_empty());
    pipeline
}

/// Reads a log line by line.
struct Reader<'a> {
    lines: Vec<&'a str>,
    index: usize,
    variables: HashMap<String, String>,
    in_command: bool,
    section: Option<StepId>,
    /// A `read NAME` waiting for the line typed after it.
    reading: Option<String>,
    /// A transcript of this tool (its first line is its header): `# ` starts a note.
    tool_transcript: bool,
    log: Log,
}

/// Splits a command line's words where the shell would run one command after another:
/// `;`, `&&`, `||`, and a trailing `&` (a command left in the background).
fn sequence(words: Vec<String>) -> Vec<Vec<String>> {
    let mut commands: Vec<Vec<String>> = vec![Vec::new()];
    for word in words {
        match word.as_str() {
            ";" | "&&" | "||" | "&" => commands.push(Vec::new()),
            _ => match word.strip_suffix(';').or_else(|| word.strip_suffix('&')) {
                Some(last) if !last.is_empty() && !word.ends_with("\\;") => {
                    if let Some(current) = commands.last_mut() {
                        current.push(last.to_string());
                    }
                    commands.push(Vec::new());
                }
                _ => {
                    if let Some(current) = commands.last_mut() {
                        current.push(word);
                    }
                }
            },
        }
    }
    commands.retain(|c| !c.is_empty());
    commands
}

/// What a command's words run, without what only wraps it: `sudo` (and its options), `time`,
/// `env` and leading `NAME=value` settings (`KUBECONFIG=… kubectl …`).
fn unwrapped(mut words: Vec<String>) -> Vec<String> {
    loop {
        let Some(first) = words.first().map(String::as_str) else {
            return words;
        };
        let strip = match first {
            "sudo" => {
                // sudo's own options, and `-u USER`.
                let mut n = 1;
                while n < words.len() && words[n].starts_with('-') {
                    n += if matches!(words[n].as_str(), "-u" | "-g" | "-C") {
                        2
                    } else {
                        1
                    };
                }
                n
            }
            "time" | "env" | "command" | "exec" => 1,
            _ if ASSIGNMENT.is_match(first) && words.len() > 1 => 1,
            _ => return words,
        };
        words.drain(..strip.min(words.len()));
    }
}

/// A shell prompt before a command: `$ `, `user@host:~/dir$ `, `[user@host dir]# `; `# ` too in
/// a log typed by hand as root (in a transcript of this tool, `# ` starts a note).
static PROMPT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\$ |[A-Za-z0-9_.-]+@[A-Za-z0-9_.-]+:[^$#\s]*[$#] |\[[^\]]+\][$#] )")
        .expect("valid")
});
/// A clock before a line (`14:02:11 `, `[14:02:11] `): two terminals' logs merged by time.
static CLOCK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\[?[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?\]?\s+").expect("valid")
});
/// The programs a root prompt (`# `) may be followed by in a log typed by hand.
const PROGRAMS: [&str; 8] = [
    "kubectl", "velero", "aws", "curl", "sudo", "time", "export", "cat",
];

impl Reader<'_> {
    /// A command line (with its continuation lines, `> ` prompts removed): commands run one
    /// after another, variable assignments, `export`, `read`.
    fn command(&mut self, first: &str, number: usize) {
        let mut joined = first.trim_end().to_string();
        while joined.ends_with('\\') && self.index < self.lines.len() {
            joined.pop();
            joined.push(' ');
            let next = CLOCK.replace(self.lines[self.index], "");
            let next = next.trim();
            joined.push_str(next.strip_prefix("> ").unwrap_or(next));
            self.index += 1;
        }
        let expanded = expand(&joined, &self.variables);
        let Some(words) = shlex::split(&expanded) else {
            self.push(number, expanded, vec![vec!["<unreadable>".into()]]);
            return;
        };
        self.in_command = false;
        for words in sequence(words) {
            self.one_command(words, &expanded, number);
        }
    }

    fn one_command(&mut self, words: Vec<String>, text: &str, number: usize) {
        let words = if words.first().map(String::as_str) == Some("export") {
            words[1..].to_vec()
        } else {
            words
        };
        if !words.is_empty() && words.iter().all(|w| ASSIGNMENT.is_match(w)) {
            for word in &words {
                let caps = ASSIGNMENT.captures(word).expect("it matched");
                self.variables
                    .insert(caps[1].to_string(), caps[2].to_string());
            }
            return;
        }
        if words.first().map(String::as_str) == Some("read") && words.len() >= 2 {
            // `read NAME`: what was typed on the next line is its value.
            self.reading = words.last().cloned();
            return;
        }
        let pipeline = pipeline(unwrapped(words));
        if pipeline.is_empty() {
            return;
        }
        self.push(number, text.to_string(), pipeline);
    }

    fn push(&mut self, line: usize, text: String, pipeline: Vec<Vec<String>>) {
        self.log.commands.push(Logged {
            line,
            text,
            pipeline,
            status: None,
            output: Vec::new(),
            section: self.section,
            killed: false,
        });
        self.in_command = true;
    }

    /// The command a line holds after a prompt, if it is one.
    fn prompted<'l>(&self, line: &'l str) -> Option<&'l str> {
        if let Some(prompt) = PROMPT.find(line) {
            return Some(&line[prompt.end()..]);
        }
        let root = line.strip_prefix("# ")?;
        let program = root.split_whitespace().next()?;
        (!self.tool_transcript && PROGRAMS.contains(&program)).then_some(root)
    }

    fn line(&mut self, raw: &str, number: usize) {
        let raw = if self.tool_transcript {
            raw
        } else {
            // Two terminals merged by time: the clock goes, the order stays.
            let at = CLOCK.find(raw).map_or(0, |m| m.end());
            &raw[at..]
        };
        if let Some(name) = self.reading.take() {
            self.variables.insert(name, raw.trim().to_string());
            return;
        }
        if let Some(first) = self.prompted(raw) {
            self.command(first, number);
        } else if let Some(status) = raw.strip_prefix("# exit status ") {
            if let (Some(last), Ok(status)) = (self.log.commands.last_mut(), status.trim().parse())
            {
                last.status = Some(status);
            }
        } else if let Some(note) = raw.strip_prefix("# ") {
            if self.in_command
                && let Some(last) = self.log.commands.last_mut()
            {
                // Said by the tool; or a resumption right after a command that printed nothing:
                // the tool itself was killed while the command ran.
                let resumed_after_silence = note.starts_with("arthur-restore ")
                    && note.contains(" run resumed ")
                    && last.output.is_empty()
                    && last.status.is_none();
                if note.starts_with(KILLED_NOTE) || resumed_after_silence {
                    last.killed = true;
                }
            }
            if note.starts_with("arthur-restore ")
                && (note.contains(" run started ") || note.contains(" run resumed "))
            {
                self.log.by_tool = true;
            }
            if let Some(caps) = NOTE_REPLACEMENT.captures(note) {
                self.log.replacements.push((number, caps[1].to_string()));
            }
            if self.log.selected.is_none()
                && number <= 8
                && let Some(ids) = note.strip_prefix("steps: ")
            {
                self.log.selected =
                    Some(ids.split_whitespace().filter_map(StepId::from_id).collect());
            }
            self.in_command = false;
        } else if let Some(title) = raw.strip_prefix("## ") {
            self.section = StepId::ALL
                .into_iter()
                .find(|step| step.title() == title.trim());
            self.in_command = false;
        } else if raw.starts_with('#') {
            self.in_command = false;
        } else if self.in_command
            && let Some(last) = self.log.commands.last_mut()
        {
            last.output.push(raw.to_string());
        }
    }
}

/// Reads the log.
pub fn read_log(text: &str) -> Log {
    let mut reader = Reader {
        lines: text.lines().collect(),
        index: 0,
        variables: HashMap::new(),
        in_command: false,
        section: None,
        reading: None,
        tool_transcript: text.starts_with("# arthur-restore "),
        log: Log::default(),
    };
    while reader.index < reader.lines.len() {
        let raw = reader.lines[reader.index];
        reader.index += 1;
        reader.line(raw, reader.index);
    }
    reader.log
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expansion_leaves_single_quotes_alone() {
        let vars: HashMap<String, String> =
            [("arthur_namespace".to_string(), "arthur".to_string())].into();
        assert_eq!(
            expand(
                "kubectl get pvc -n $arthur_namespace | awk '{print $1}' | xargs kubectl delete pvc -n ${arthur_namespace}",
                &vars
            ),
            "kubectl get pvc -n arthur | awk '{print $1}' | xargs kubectl delete pvc -n arthur"
        );
    }

    #[test]
    fn a_log_is_read_into_commands_statuses_outputs_and_sections() {
        let log = read_log(
            "# steps: messaging smoke\n## Restore Messaging Infrastructure\n$ ns=arthur\n$ kubectl get sts -n $ns \\\n  | grep -i messaging\nmessaging 3/3\n# exit status 1\n$ kubectl apply -f x.yaml > /dev/null\n## Preflight\n$ kubectl get pv\n",
        );
        assert_eq!(log.selected, Some(vec![StepId::Messaging, StepId::Smoke]));
        assert_eq!(log.commands.len(), 3);
        let first = &log.commands[0];
        assert_eq!(first.line, 4);
        assert_eq!(
            first.pipeline,
            vec![
                vec!["kubectl", "get", "sts", "-n", "arthur"],
                vec!["grep", "-i", "messaging"]
            ]
        );
        assert_eq!(first.output, vec!["messaging 3/3"]);
        assert_eq!(first.status, Some(1));
        assert_eq!(first.section, Some(StepId::Messaging));
        assert_eq!(
            log.commands[1].pipeline,
            vec![vec!["kubectl", "apply", "-f", "x.yaml"]]
        );
        assert_eq!(log.commands[2].section, None);
    }
}
