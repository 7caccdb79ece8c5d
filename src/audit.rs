//! `audit TRANSCRIPT`: holds a log against the runbook. The log is a transcript of this tool or a
//! terminal log kept by hand in the same `$ command` style (variable assignments, `$variable`
//! references, continuation lines and the runbook's pipelines). The runbook's commands come from
//! the same model `plan` uses (`runbook::documented`), and the tool's own reads from
//! `runbook::additions`: there is no second copy of any command here.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::cmd::{Cmd, Effect, shell_quote};
use crate::error::{Error, Result};
use crate::restore_point;
use crate::runbook::{self, Need, StepId, VeleroComponent};

/// A command as logged: its line, the words of each part of its pipeline, its exit status and
/// its output.
#[derive(Debug, Clone)]
struct Logged {
    line: usize,
    text: String,
    pipeline: Vec<Vec<String>>,
    status: Option<i32>,
    output: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    /// The line of the log it is about; none for something missing.
    pub line: Option<usize>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub id: StepId,
    pub title: &'static str,
    /// `done`, `partly done`, `not done`, `not evidenced`, or `not in this run` (a tool
    /// transcript of a run with --only/--skip/--from).
    pub status: &'static str,
    pub commands_found: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub transcript: String,
    pub conforms: bool,
    pub steps: Vec<StepReport>,
    pub findings: Vec<Finding>,
    pub commands: usize,
    /// What the events.jsonl beside a tool transcript says, if there is one.
    pub events: Option<String>,
}

static ASSIGNMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$").expect("valid"));
static VARIABLE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)").expect("valid")
});
static SED_REPLACEMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"s/insert-backup-name-here/([^/]+)/").expect("valid"));
static NOTE_REPLACEMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^replaced insert-backup-name-here with (\S+)").expect("valid"));
static LOCAL_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"localhost:[0-9]+").expect("valid"));
static FORWARD_PORTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]+:80$").expect("valid"));

/// Expands `$name` and `${name}` outside single quotes, for the variables the log assigned.
fn expand(text: &str, variables: &HashMap<String, String>) -> String {
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

/// Reads the log: commands (continuation lines joined, variables expanded, pipelines split,
/// redirections dropped), exit statuses, outputs, and the tool's `# replaced …` notes.
fn read_log(text: &str) -> (Vec<Logged>, Vec<(usize, String)>) {
    let mut commands: Vec<Logged> = Vec::new();
    let mut replacements: Vec<(usize, String)> = Vec::new();
    let mut variables: HashMap<String, String> = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    let mut index = 0;
    let mut in_command = false;
    while index < lines.len() {
        let raw = lines[index];
        let number = index + 1;
        index += 1;
        if let Some(first) = raw.strip_prefix("$ ") {
            let mut joined = first.trim_end().to_string();
            while joined.ends_with('\\') && index < lines.len() {
                joined.pop();
                joined.push(' ');
                joined.push_str(lines[index].trim());
                index += 1;
            }
            let expanded = expand(&joined, &variables);
            let Some(words) = shlex::split(&expanded) else {
                commands.push(Logged {
                    line: number,
                    text: expanded,
                    pipeline: vec![vec!["<unreadable>".into()]],
                    status: None,
                    output: Vec::new(),
                });
                in_command = true;
                continue;
            };
            if !words.is_empty() && words.iter().all(|w| ASSIGNMENT.is_match(w)) {
                for word in &words {
                    let caps = ASSIGNMENT.captures(word).expect("it matched");
                    variables.insert(caps[1].to_string(), caps[2].to_string());
                }
                in_command = false;
                continue;
            }
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
            if pipeline.is_empty() {
                in_command = false;
                continue;
            }
            commands.push(Logged {
                line: number,
                text: expanded,
                pipeline,
                status: None,
                output: Vec::new(),
            });
            in_command = true;
        } else if let Some(status) = raw.strip_prefix("# exit status ") {
            if let (Some(last), Ok(status)) = (commands.last_mut(), status.trim().parse()) {
                last.status = Some(status);
            }
        } else if let Some(note) = raw.strip_prefix("# ") {
            if let Some(caps) = NOTE_REPLACEMENT.captures(note) {
                replacements.push((number, caps[1].to_string()));
            }
            in_command = false;
        } else if raw.starts_with("## ") || raw.starts_with('#') {
            in_command = false;
        } else if in_command && let Some(last) = commands.last_mut() {
            last.output.push(raw.to_string());
        }
    }
    (commands, replacements)
}

/// A command reduced to what matters for matching: the program, its positional words and its
/// flags, with aliases folded and the connection flags (which vary by host) left out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Invocation {
    program: String,
    positionals: Vec<String>,
    flags: BTreeMap<String, Vec<String>>,
}

const BOOLEAN_FLAGS: &[&str] = &[
    "--save-config",
    "--client",
    "--client-only",
    "-k",
    "--version",
    "--wait",
    "--all",
    "--force",
    "--ignore-not-found",
    "--previous",
    "--now",
    "--no-headers",
    "--all-namespaces",
    "-A",
    "--watch",
    "-w",
    "-i",
    "-t",
    "-it",
    "--stdin",
    "--tty",
    "-s",
    "-S",
    "-sS",
    "-v",
];
const MULTI_VALUE_FLAGS: &[&str] = &["--vpc-security-group-ids"];
const CONNECTION_FLAGS: &[&str] = &[
    "--kubeconfig",
    "--context",
    "--kubecontext",
    "--profile",
    "--region",
    "--endpoint-url",
];

fn alias(flag: &str) -> &str {
    match flag {
        "--namespace" => "-n",
        "--output" => "-o",
        "--container" => "-c",
        "--filename" => "-f",
        "--request" => "-X",
        "--insecure" => "-k",
        other => other,
    }
}

/// The program of a command line, without its folder (`/usr/local/bin/kubectl` is kubectl).
fn program_name(words: &[String]) -> String {
    words
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn invocation(words: &[String]) -> Invocation {
    let program = program_name(words);
    let mut positionals = Vec::new();
    let mut flags: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut i = 1;
    while i < words.len() {
        let word = &words[i];
        i += 1;
        if word == "--" {
            positionals.push("--".into());
            positionals.extend(words[i..].iter().cloned());
            break;
        }
        if !word.starts_with('-') || word.len() == 1 {
            positionals.push(word.clone());
            continue;
        }
        let (name, attached) = match word.split_once('=') {
            Some((name, value)) if name.starts_with("--") => {
                (name.to_string(), Some(value.to_string()))
            }
            _ if !word.starts_with("--")
                && word.len() > 2
                && !BOOLEAN_FLAGS.contains(&word.as_str()) =>
            {
                (word[..2].to_string(), Some(word[2..].to_string()))
            }
            _ => (word.clone(), None),
        };
        let name = alias(&name).to_string();
        let mut values = Vec::new();
        if let Some(value) = attached {
            values.push(value);
        } else if MULTI_VALUE_FLAGS.contains(&name.as_str()) {
            while i < words.len() && !words[i].starts_with('-') {
                values.push(words[i].clone());
                i += 1;
            }
        } else if !BOOLEAN_FLAGS.contains(&name.as_str()) && i < words.len() {
            values.push(words[i].clone());
            i += 1;
        }
        if CONNECTION_FLAGS.contains(&name.as_str()) {
            continue;
        }
        flags.entry(name).or_default().extend(values);
    }
    // PVs are cluster-scoped: the runbook's `-n` on them does nothing.
    if program == "kubectl" && positionals.get(1).is_some_and(|r| r == "pv") {
        flags.remove("-n");
    }
    Invocation {
        program,
        positionals,
        flags,
    }
}

fn normalized(value: &str) -> String {
    let value = LOCAL_PORT.replace_all(value, "localhost:PORT");
    FORWARD_PORTS.replace(&value, "PORT:80").into_owned()
}

fn is_placeholder(token: &str) -> bool {
    token.starts_with('$')
        || token.starts_with('<')
        || (token.len() >= 2
            && token
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
}

type Bindings = Vec<(String, String)>;

fn value_matches(template: &str, actual: &str, bindings: &mut Bindings) -> bool {
    if template.ends_with(runbook::fixed::CLICKHOUSE_YAML) {
        return Path::new(actual)
            .file_name()
            .is_some_and(|n| n == runbook::fixed::CLICKHOUSE_YAML);
    }
    if is_placeholder(template) {
        if let Some(component) = template
            .strip_prefix('$')
            .and_then(|t| t.strip_suffix("_backup"))
            && !actual.ends_with(&format!("-{component}"))
        {
            return false;
        }
        bindings.push((template.to_string(), actual.to_string()));
        return true;
    }
    normalized(template) == normalized(actual)
}

fn list_matches(template: &[String], actual: &[String], bindings: &mut Bindings) -> bool {
    if let Some(at) = template.iter().position(|t| t.ends_with("...")) {
        let after = template.len() - at - 1;
        if actual.len() < template.len() {
            return false;
        }
        return template[..at]
            .iter()
            .zip(actual)
            .all(|(t, a)| value_matches(t, a, bindings))
            && template[at + 1..]
                .iter()
                .zip(&actual[actual.len() - after..])
                .all(|(t, a)| value_matches(t, a, bindings));
    }
    template.len() == actual.len()
        && template
            .iter()
            .zip(actual)
            .all(|(t, a)| value_matches(t, a, bindings))
}

fn matches(template: &Invocation, actual: &Invocation) -> Option<Bindings> {
    if template.program != actual.program || template.flags.len() != actual.flags.len() {
        return None;
    }
    let mut bindings = Vec::new();
    if !list_matches(&template.positionals, &actual.positionals, &mut bindings) {
        return None;
    }
    for (flag, values) in &template.flags {
        let actual_values = actual.flags.get(flag)?;
        let all_placeholders = !values.is_empty() && values.iter().all(|v| is_placeholder(v));
        if all_placeholders && values.len() > 1 {
            if actual_values.is_empty() {
                return None;
            }
        } else if !list_matches(values, actual_values, &mut bindings) {
            return None;
        }
    }
    Some(bindings)
}

fn cmd_invocation(cmd: &Cmd) -> Invocation {
    invocation(&cmd.argv())
}

/// Words a destructive command starts with, by program.
fn is_destructive(words: &[String]) -> bool {
    let verb = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match Some(program_name(words)).as_deref() {
        Some("kubectl") => {
            let dry_run = words
                .iter()
                .any(|w| w.starts_with("--dry-run") && w != "--dry-run=none");
            matches!(
                verb(1),
                "delete"
                    | "apply"
                    | "patch"
                    | "replace"
                    | "scale"
                    | "edit"
                    | "annotate"
                    | "label"
                    | "drain"
                    | "cordon"
                    | "set"
                    | "rollout"
                    | "cp"
                    | "taint"
            ) || (verb(1) == "create" && !dry_run)
                || verb(1) == "exec" && words.iter().any(|w| w == "rm" || w == "delete")
        }
        Some("velero") => {
            matches!(verb(2), "create" | "delete")
                || matches!(verb(1), "delete" | "install" | "uninstall")
        }
        Some("aws") => {
            let op = verb(2);
            [
                "delete", "restore", "modify", "create", "put", "remove", "reboot", "stop",
                "start", "rm", "cp", "mv", "sync", "rb",
            ]
            .iter()
            .any(|p| op.starts_with(p))
        }
        Some("curl") => words.iter().any(|w| {
            let w = w.to_ascii_uppercase();
            w.contains("POST") || w.contains("PUT") || w.contains("DELETE") || w.contains("PATCH")
        }),
        Some("rm") | Some("helm") | Some("dd") | Some("mkfs") => true,
        Some("sed") => words.iter().any(|w| w.starts_with("-i")),
        _ => false,
    }
}

struct Entry {
    step: StepId,
    global: usize,
    documented: runbook::Documented,
    template: Invocation,
}

/// Audits the log at `path`.
pub fn audit(path: &Path) -> Result<Report> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
    let (logged, replacements) = read_log(&text);
    // A transcript of this tool names the steps it was asked to perform (--only/--skip/--from).
    let selected: Option<Vec<StepId>> = text
        .lines()
        .take(8)
        .find_map(|l| l.strip_prefix("# steps: "))
        .map(|ids| ids.split_whitespace().filter_map(StepId::from_id).collect());
    let commands = runbook::template_commands();
    let mut entries: Vec<Entry> = Vec::new();
    for step in StepId::ALL {
        for documented in runbook::documented(step, &commands) {
            let template = cmd_invocation(&documented.cmd);
            entries.push(Entry {
                step,
                global: entries.len(),
                documented,
                template,
            });
        }
    }
    let additions: Vec<Invocation> = runbook::additions(&commands)
        .iter()
        .map(cmd_invocation)
        .collect();

    let mut findings: Vec<Finding> = Vec::new();
    let mut matched: Vec<Option<usize>> = vec![None; entries.len()];
    let mut bindings: Vec<(String, String, usize)> = Vec::new();
    let mut current = StepId::Rds;
    let mut last_change: Option<(usize, usize, String)> = None;
    let mut failures: Vec<(String, usize, i32, String)> = Vec::new();
    let mut last_delete: Option<usize> = None;
    let mut confirmed_after_delete = false;
    let mut listed: HashMap<String, Vec<String>> = HashMap::new();
    let mut restores: Vec<(VeleroComponent, String, usize)> = Vec::new();
    let mut sed_names: Vec<(usize, String)> = replacements.clone();
    let mut applied_at: Option<usize> = None;

    for command in &logged {
        // The parts of a pipeline: the first is the command; `xargs CMD` runs CMD with the names
        // the listing produced; grep, awk and wc only filter.
        let mut parts: Vec<Vec<String>> = vec![command.pipeline[0].clone()];
        for part in &command.pipeline[1..] {
            if part.first().map(String::as_str) == Some("xargs") && part.len() > 1 {
                let mut words: Vec<String> = part[1..].to_vec();
                words.push("<from the listing>".into());
                let inv = invocation(&words);
                // xargs appends the names after the flags: put them where a template has them.
                let mut rebuilt = vec![inv.program.clone()];
                rebuilt.extend(inv.positionals.clone());
                for (flag, values) in &inv.flags {
                    rebuilt.push(flag.clone());
                    rebuilt.extend(values.clone());
                }
                parts.push(rebuilt);
            }
        }
        let first = &command.pipeline[0];
        if first.first().map(String::as_str) == Some("sed")
            && let Some(caps) = SED_REPLACEMENT.captures(&first.join(" "))
        {
            sed_names.push((command.line, caps[1].to_string()));
            continue;
        }
        if first.first().map(String::as_str) == Some("cat")
            && first
                .iter()
                .any(|w| w.ends_with(runbook::fixed::CLICKHOUSE_YAML))
        {
            continue; // the runbook's check of the replacement (`cat … | grep -C2`)
        }
        for words in parts {
            let actual = invocation(&words);
            let candidates: Vec<(usize, Bindings)> = entries
                .iter()
                .filter_map(|e| matches(&e.template, &actual).map(|b| (e.global, b)))
                .collect();
            let rendered = words
                .iter()
                .map(|w| shell_quote(w).into_owned())
                .collect::<Vec<_>>()
                .join(" ");
            if candidates.is_empty() {
                if let Some(b) = additions.iter().find_map(|a| matches(a, &actual)) {
                    bindings.extend(b.into_iter().map(|(k, v)| (k, v, command.line)));
                    if words.get(1).map(String::as_str) == Some("get") {
                        confirmed_after_delete = confirmed_after_delete || last_delete.is_some();
                    }
                    continue;
                }
                if is_destructive(&words) {
                    findings.push(Finding {
                        kind: "destructive-not-in-runbook",
                        line: Some(command.line),
                        message: format!("DESTRUCTIVE command not in the runbook: `{rendered}`"),
                    });
                } else {
                    findings.push(Finding {
                        kind: "not-in-runbook",
                        line: Some(command.line),
                        message: format!("command not in the runbook: `{rendered}`"),
                    });
                }
                continue;
            }
            let choice = candidates
                .iter()
                .filter(|(g, _)| matched[*g].is_none() && entries[*g].step >= current)
                .min_by_key(|(g, _)| *g)
                .or_else(|| {
                    candidates
                        .iter()
                        .filter(|(g, _)| matched[*g].is_none())
                        .min_by_key(|(g, _)| *g)
                })
                .or_else(|| {
                    candidates
                        .iter()
                        .filter(|(g, _)| entries[*g].step >= current)
                        .min_by_key(|(g, _)| *g)
                })
                .or_else(|| candidates.first())
                .expect("candidates is not empty");
            let (global, found_bindings) = choice.clone();
            let entry = &entries[global];
            matched[global].get_or_insert(command.line);
            current = entry.step;
            bindings.extend(
                found_bindings
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone(), command.line)),
            );

            // Failures, and their successful retries.
            let key = rendered.clone();
            match command.status {
                Some(status) if status != 0 => {
                    failures.push((key, command.line, status, rendered.clone()))
                }
                _ => failures.retain(|(k, ..)| *k != key),
            }

            // Order of the changes.
            if entry.documented.cmd.effect == Effect::Changes {
                if let Some((max, line, text)) = &last_change
                    && global < *max
                {
                    findings.push(Finding {
                        kind: "out-of-order",
                        line: Some(command.line),
                        message: format!(
                            "`{rendered}` ({}) comes after `{text}` (line {line}), which the runbook puts later",
                            entry.step
                        ),
                    });
                }
                if last_change.as_ref().is_none_or(|(max, ..)| global > *max) {
                    last_change = Some((global, command.line, rendered.clone()));
                }
            }

            // The deletions must be confirmed gone before the messaging restore.
            let resource = actual.positionals.get(1).map(String::as_str).unwrap_or("");
            match (actual.positionals.first().map(String::as_str), resource) {
                (Some("delete"), "sts" | "pvc" | "pv") => {
                    last_delete = Some(command.line);
                    confirmed_after_delete = false;
                }
                (Some("get"), "pv" | "pvc" | "sts") if last_delete.is_some() => {
                    confirmed_after_delete = true
                }
                _ => {}
            }
            if entry.documented.cmd.tool == crate::tool::Tool::Velero
                && actual.positionals.first().map(String::as_str) == Some("restore")
            {
                let backup = actual
                    .flags
                    .get("--from-backup")
                    .and_then(|v| v.first())
                    .cloned()
                    .unwrap_or_default();
                if let Some(component) = restore_point::component_of(&backup) {
                    restores.push((component, backup.clone(), command.line));
                    if component == VeleroComponent::Messaging
                        && last_delete.is_some()
                        && !confirmed_after_delete
                    {
                        findings.push(Finding {
                            kind: "out-of-order",
                            line: Some(command.line),
                            message: format!(
                                "the Velero restore from {backup} was created before the deletions were confirmed gone (no `kubectl get pv`/`pvc` after the last delete, line {})",
                                last_delete.unwrap_or_default()
                            ),
                        });
                    }
                    if let Some(names) = listed.get(component.word())
                        && !names.is_empty()
                        && !names.contains(&backup)
                    {
                        findings.push(Finding {
                            kind: "inconsistent",
                            line: Some(command.line),
                            message: format!(
                                "the restore is from {backup}, but the backup listing before it showed {}",
                                names.join(", ")
                            ),
                        });
                    }
                }
            }
            if entry.documented.cmd.tool == crate::tool::Tool::Velero
                && actual.positionals.first().map(String::as_str) == Some("backup")
            {
                // What `velero backup get | grep COMPONENT` showed, per component.
                let filter = command
                    .pipeline
                    .iter()
                    .skip(1)
                    .find(|p| p.first().map(String::as_str) == Some("grep"))
                    .and_then(|p| p.last().cloned());
                let names: Vec<String> = command
                    .output
                    .iter()
                    .filter_map(|l| l.split_whitespace().next())
                    .filter(|n| *n != "NAME" && restore_point::component_of(n).is_some())
                    .map(str::to_string)
                    .collect();
                for component in VeleroComponent::ALL {
                    if filter.as_deref().is_none_or(|f| {
                        component.word().contains(f) || f.contains(component.word())
                    }) {
                        let of_component: Vec<String> = names
                            .iter()
                            .filter(|n| n.ends_with(component.word()))
                            .cloned()
                            .collect();
                        listed.insert(component.word().to_string(), of_component);
                    }
                }
            }
            if entry.step == StepId::Clickhouse
                && actual.positionals.first().map(String::as_str) == Some("apply")
            {
                applied_at.get_or_insert(command.line);
            }
        }
    }

    // The ClickHouse Job must have had its backup name filled in before it was applied.
    if let Some(line) = applied_at
        && !sed_names.iter().any(|(l, _)| *l < line)
    {
        findings.push(Finding {
            kind: "missing",
            line: Some(line),
            message: "the ClickHouse restore Job was applied without replacing insert-backup-name-here (the runbook's sed -i)".into(),
        });
    }

    for (_, line, status, rendered) in &failures {
        findings.push(Finding {
            kind: "failed",
            line: Some(*line),
            message: format!(
                "`{rendered}` failed (exit status {status}) and was not run again successfully"
            ),
        });
    }

    // Values that must not change across the log.
    for (placeholder, what) in [
        ("$arthur_namespace", "Arthur namespace"),
        ("$velero_namespace", "Velero namespace"),
    ] {
        let mut values: Vec<(String, usize)> = Vec::new();
        for (k, v, line) in &bindings {
            if k == placeholder && !values.iter().any(|(seen, _)| seen == v) {
                values.push((v.clone(), *line));
            }
        }
        if values.len() > 1 {
            findings.push(Finding {
                kind: "inconsistent",
                line: Some(values[1].1),
                message: format!(
                    "the {what} changes within the log: {}",
                    values
                        .iter()
                        .map(|(v, l)| format!("{v} (line {l})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
    }
    findings.extend(mixed_backups(&restores, &sed_names));

    // Steps: done, partly done, not done, not evidenced.
    let mut steps = Vec::new();
    for step in StepId::ALL {
        let of_step: Vec<&Entry> = entries.iter().filter(|e| e.step == step).collect();
        let found = of_step
            .iter()
            .filter(|e| matched[e.global].is_some())
            .count();
        let mut missing: Vec<&Entry> = of_step
            .iter()
            .copied()
            .filter(|e| e.documented.need == Need::Required && matched[e.global].is_none())
            .collect();
        let groups: Vec<u8> = of_step
            .iter()
            .filter_map(|e| {
                if let Need::OneOf(g) = e.documented.need {
                    Some(g)
                } else {
                    None
                }
            })
            .collect();
        for group in groups
            .iter()
            .copied()
            .collect::<std::collections::BTreeSet<u8>>()
        {
            let members: Vec<&Entry> = of_step
                .iter()
                .copied()
                .filter(|e| e.documented.need == Need::OneOf(group))
                .collect();
            if !members.iter().any(|e| matched[e.global].is_some()) {
                missing.push(members[0]);
            }
        }
        let quiet = matches!(step, StepId::Rds | StepId::Platform | StepId::Smoke);
        let in_run = selected.as_ref().is_none_or(|steps| steps.contains(&step));
        let status = if !in_run && found == 0 {
            "not in this run"
        } else if found == 0 {
            if quiet { "not evidenced" } else { "not done" }
        } else if missing.is_empty() {
            if step == StepId::Rds
                && !of_step.iter().any(|e| {
                    e.documented.cmd.effect == Effect::Changes && matched[e.global].is_some()
                })
            {
                "partly done"
            } else {
                "done"
            }
        } else {
            "partly done"
        };
        if status == "not done" {
            findings.push(Finding {
                kind: "missing",
                line: None,
                message: format!(
                    "step {step} ({}) not done: none of its commands is in the log",
                    step.title()
                ),
            });
        } else if status == "partly done" {
            for entry in missing {
                findings.push(Finding {
                    kind: "missing",
                    line: None,
                    message: format!(
                        "missing from step {step}: `{}`",
                        entry.documented.cmd.argv().join(" ")
                    ),
                });
            }
        }
        steps.push(StepReport {
            id: step,
            title: step.title(),
            status,
            commands_found: found,
        });
    }

    let events = check_events(path, &logged, &mut findings);
    findings.sort_by_key(|f| (f.line.unwrap_or(usize::MAX), f.kind));
    Ok(Report {
        transcript: path.display().to_string(),
        conforms: findings.is_empty(),
        steps,
        findings,
        commands: logged.len(),
        events,
    })
}

/// The Velero backups restored and the ClickHouse backup used must come from one backup
/// operation (the rules of `backups`).
fn mixed_backups(
    restores: &[(VeleroComponent, String, usize)],
    clickhouse: &[(usize, String)],
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let dated: Vec<(&String, usize, jiff::Timestamp)> = restores
        .iter()
        .filter_map(|(_, name, line)| {
            restore_point::velero_name_time(name).map(|t| (name, *line, t))
        })
        .collect();
    // The operation most of the restored backups belong to (the first logged, on a tie) is the
    // reference; the others are the ones mixed in.
    let near = |a: jiff::Timestamp, b: jiff::Timestamp| {
        a.duration_since(b).abs() <= restore_point::VELERO_RUN_WINDOW
    };
    let Some(reference) = dated
        .iter()
        .enumerate()
        .max_by_key(|(index, (_, _, t))| {
            (
                dated.iter().filter(|(_, _, u)| near(*t, *u)).count(),
                usize::MAX - index,
            )
        })
        .map(|(_, (_, _, t))| *t)
    else {
        return findings;
    };
    for (name, line, time) in &dated {
        if !near(*time, reference) {
            findings.push(Finding {
                kind: "inconsistent",
                line: Some(*line),
                message: format!(
                    "{name} is from another backup operation ({time}) than the other Velero backups restored ({reference}): mixing operations corrupts data"
                ),
            });
        }
    }
    let earliest = reference;
    for (line, name) in clickhouse {
        if let Some(time) = restore_point::clickhouse_name_time(name)
            && time.duration_since(earliest).abs() > restore_point::CLICKHOUSE_LIMIT
        {
            findings.push(Finding {
                kind: "inconsistent",
                line: Some(*line),
                message: format!("the ClickHouse backup {name} is more than 24h from the Velero backups restored ({earliest}): mixing operations corrupts data"),
            });
        }
    }
    findings
}

/// A tool transcript has events.jsonl beside it: its hash chain must hold, and every command of
/// the transcript must be among its events, in order.
fn check_events(path: &Path, logged: &[Logged], findings: &mut Vec<Finding>) -> Option<String> {
    let events_path = path.parent()?.join(crate::live::EVENTS_FILE);
    let text = std::fs::read_to_string(&events_path).ok()?;
    match crate::live::verify_chain(&text) {
        Err(line) => {
            findings.push(Finding {
                kind: "tampered",
                line: None,
                message: format!(
                    "{} was edited: its hash chain breaks at line {line}",
                    events_path.display()
                ),
            });
            Some(format!("hash chain broken at line {line}"))
        }
        Ok(count) => {
            let commands: Vec<String> = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|v| v["event"] == "command" || v["event"] == "background-started")
                .filter_map(|v| {
                    v["argv"].as_array().map(|a| {
                        a.iter()
                            .filter_map(|w| w.as_str())
                            .map(|w| shell_quote(w).into_owned())
                            .collect::<Vec<_>>()
                            .join(" ")
                    })
                })
                .collect();
            let mut at = 0;
            for command in logged {
                match commands[at..].iter().position(|c| *c == command.text) {
                    Some(offset) => at += offset + 1,
                    None => {
                        findings.push(Finding {
                            kind: "tampered",
                            line: Some(command.line),
                            message: format!(
                                "`{}` is in the transcript but not, in this order, in {}",
                                command.text,
                                events_path.display()
                            ),
                        });
                        break;
                    }
                }
            }
            Some(format!("hash chain intact ({count} events)"))
        }
    }
}

pub fn render(report: &Report) -> String {
    let mut text = format!(
        "audit {}: {}\n",
        report.transcript,
        if report.conforms {
            "conforms to the runbook".to_string()
        } else {
            format!(
                "{} finding{}",
                report.findings.len(),
                if report.findings.len() == 1 { "" } else { "s" }
            )
        }
    );
    if let Some(events) = &report.events {
        text.push_str(&format!("events.jsonl: {events}\n"));
    }
    text.push_str("\nsteps:\n");
    for step in &report.steps {
        text.push_str(&format!(
            "  {:<12} {:<14} {}\n",
            step.id.id(),
            step.status,
            step.title
        ));
    }
    if !report.findings.is_empty() {
        text.push_str("\nfindings:\n");
        for finding in &report.findings {
            let at = finding
                .line
                .map(|l| format!("line {l}"))
                .unwrap_or_else(|| "-".into());
            text.push_str(&format!(
                "  {at:<9} {:<27} {}\n",
                finding.kind, finding.message
            ));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shlex::split(line).unwrap()
    }

    #[test]
    fn invocations_fold_aliases_and_connection_flags() {
        let a = invocation(&words(
            "velero restore create --from-backup b --namespace velero --kubecontext prod",
        ));
        let b = invocation(&words(
            "velero restore create --namespace velero --from-backup b",
        ));
        assert_eq!(a, b);
        let pv = invocation(&words("kubectl get pv -n arthur"));
        assert!(pv.flags.is_empty());
        let curl = invocation(&words(
            "curl -k -XPOST http://localhost:7900/api/v1/workflows/batch/recover",
        ));
        assert_eq!(curl.flags["-X"], ["POST"]);
    }

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
    fn destructive_commands_are_recognised() {
        assert!(is_destructive(&words("kubectl delete namespace arthur")));
        assert!(!is_destructive(&words(
            "kubectl create job --from=cronjob/x x --dry-run=client -o yaml"
        )));
        assert!(is_destructive(&words(
            "aws rds delete-db-instance --db-instance-identifier x"
        )));
        assert!(is_destructive(&words(
            "velero restore create --from-backup x"
        )));
        assert!(!is_destructive(&words("kubectl get pods -n arthur")));
    }
}
