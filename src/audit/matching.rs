//! Matching a logged command to the runbook: a command is reduced to its program, positional
//! words and flags (aliases folded, connection flags left out), then held against the runbook's
//! documented commands (`runbook::documented`) and the tool's own reads (`runbook::additions`),
//! whose `$variables` and upper-case placeholders bind to the logged values.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use regex::Regex;

use crate::process::Cmd;
use crate::runbook::{self, StepId};

static LOCAL_PORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"localhost:[0-9]+").expect("valid"));
static FORWARD_PORTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[0-9]+:80$").expect("valid"));

/// A command reduced to what matters for matching: the program, its positional words and its
/// flags, with aliases folded and the connection flags (which vary by host) left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    pub program: String,
    pub positionals: Vec<String>,
    pub flags: BTreeMap<String, Vec<String>>,
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
pub fn program_name(words: &[String]) -> String {
    words
        .first()
        .and_then(|p| Path::new(p).file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

pub fn invocation(words: &[String]) -> Invocation {
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

pub type Bindings = Vec<(String, String)>;

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

pub fn matches(template: &Invocation, actual: &Invocation) -> Option<Bindings> {
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

pub fn cmd_invocation(cmd: &Cmd) -> Invocation {
    invocation(&cmd.argv())
}

/// One documented command of the runbook, in runbook order.
pub struct Expected {
    pub step: StepId,
    /// Its place among all documented commands, in runbook order.
    pub index: usize,
    pub documented: runbook::Documented,
    pub template: Invocation,
}

/// The runbook's commands and the tool's additions, as templates.
pub struct Catalogue {
    pub expected: Vec<Expected>,
    additions: Vec<Invocation>,
}

impl Catalogue {
    pub fn new() -> Catalogue {
        let commands = runbook::template_commands();
        let mut expected: Vec<Expected> = Vec::new();
        for step in StepId::ALL {
            for documented in runbook::documented(step, &commands) {
                let template = cmd_invocation(&documented.cmd);
                expected.push(Expected {
                    step,
                    index: expected.len(),
                    documented,
                    template,
                });
            }
        }
        let additions = runbook::additions(&commands)
            .iter()
            .map(cmd_invocation)
            .collect();
        Catalogue {
            expected,
            additions,
        }
    }

    /// The documented commands the invocation matches, with what their placeholders bind to.
    pub fn candidates(&self, actual: &Invocation) -> Vec<(usize, Bindings)> {
        self.expected
            .iter()
            .filter_map(|e| matches(&e.template, actual).map(|b| (e.index, b)))
            .collect()
    }

    /// The bindings of the first of the tool's additions the invocation matches.
    pub fn addition(&self, actual: &Invocation) -> Option<Bindings> {
        self.additions.iter().find_map(|a| matches(a, actual))
    }
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

    /// Each row: a logged command, and the step of the documented command it matches (or
    /// `None` when it matches none).
    #[test]
    fn logged_commands_match_the_runbook() {
        let catalogue = Catalogue::new();
        let rows: &[(&str, Option<StepId>)] = &[
            ("kubectl get sts -n arthur", Some(StepId::Messaging)),
            (
                "kubectl delete sts messaging -n arthur",
                Some(StepId::Messaging),
            ),
            (
                "kubectl delete pvc a b c -n arthur",
                Some(StepId::Messaging),
            ),
            (
                "velero restore create --from-backup x-2023-enrichments --namespace velero",
                Some(StepId::Enrichments),
            ),
            (
                "velero restore create --from-backup x-2023-messaging --namespace velero",
                Some(StepId::Messaging),
            ),
            (
                "kubectl apply -f /tmp/run/clickhouse-restore.yaml -n arthur",
                Some(StepId::Clickhouse),
            ),
            (
                "curl -k -XPOST http://localhost:7900/api/v1/workflows/batch/recover",
                Some(StepId::Workflows),
            ),
            ("kubectl delete namespace arthur", None),
            ("kubectl apply -f other.yaml -n arthur", None),
        ];
        for (line, step) in rows {
            let found = catalogue
                .candidates(&invocation(&words(line)))
                .first()
                .map(|(index, _)| catalogue.expected[*index].step);
            assert_eq!(found, *step, "{line}");
        }
    }

    #[test]
    fn the_tools_own_reads_are_additions() {
        let catalogue = Catalogue::new();
        for line in [
            "kubectl get namespace kube-system -o jsonpath={.metadata.uid}",
            "velero backup get -n velero -o json",
            "aws rds describe-db-snapshots --db-instance-identifier arthur-prod-db",
        ] {
            let actual = invocation(&words(line));
            assert!(catalogue.candidates(&actual).is_empty(), "{line}");
            assert!(catalogue.addition(&actual).is_some(), "{line}");
        }
    }
}
