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
    log: Log,
}

impl Reader<'_> {
    /// A `$ ` line (with its continuation lines): a command, or variable assignments.
    fn command(&mut self, first: &str, number: usize) {
        let mut joined = first.trim_end().to_string();
        while joined.ends_with('\\') && self.index < self.lines.len() {
            joined.pop();
            joined.push(' ');
            joined.push_str(self.lines[self.index].trim());
            self.index += 1;
        }
        let expanded = expand(&joined, &self.variables);
        let Some(words) = shlex::split(&expanded) else {
            self.push(number, expanded, vec![vec!["<unreadable>".into()]]);
            return;
        };
        if !words.is_empty() && words.iter().all(|w| ASSIGNMENT.is_match(w)) {
            for word in &words {
                let caps = ASSIGNMENT.captures(word).expect("it matched");
                self.variables
                    .insert(caps[1].to_string(), caps[2].to_string());
            }
            self.in_command = false;
            return;
        }
        let pipeline = pipeline(words);
        if pipeline.is_empty() {
            self.in_command = false;
            return;
        }
        self.push(number, expanded, pipeline);
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

    fn line(&mut self, raw: &str, number: usize) {
        if let Some(first) = raw.strip_prefix("$ ") {
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
