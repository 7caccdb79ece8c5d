//! The rules a log is held to, applied while walking its commands in order: every command is in
//! the runbook (or is one of the tool's reads); changes come in the runbook's order; a failed
//! command is run again successfully; the deletions are confirmed gone before the messaging
//! restore; a restore is from a backup the listing showed; the ClickHouse Job has its backup name
//! filled in before it is applied; the namespaces do not change; the stores come from one backup
//! operation; and every step's documented commands are there.

use std::collections::{BTreeSet, HashMap};
use std::sync::LazyLock;

use regex::Regex;

use super::log::{Log, Logged};
use super::matching::{Bindings, Catalogue, Expected, Invocation, invocation, program_name};
use super::report::{AuditFinding, FindingKind, StepReport, StepStatus};
use crate::process::{Effect, Tool, shell_quote};
use crate::restore_point;
use crate::runbook::{Need, StepId, VeleroComponent, fixed};

static SED_REPLACEMENT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"s/insert-backup-name-here/([^/]+)/").expect("valid"));

/// Words a destructive command starts with, by program.
pub fn is_destructive(words: &[String]) -> bool {
    let verb = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
    match program_name(words).as_str() {
        "kubectl" => {
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
        "velero" => {
            matches!(verb(2), "create" | "delete")
                || matches!(verb(1), "delete" | "install" | "uninstall")
        }
        "aws" => {
            let op = verb(2);
            [
                "delete", "restore", "modify", "create", "put", "remove", "reboot", "stop",
                "start", "rm", "cp", "mv", "sync", "rb",
            ]
            .iter()
            .any(|p| op.starts_with(p))
        }
        "curl" => words.iter().any(|w| {
            let w = w.to_ascii_uppercase();
            w.contains("POST") || w.contains("PUT") || w.contains("DELETE") || w.contains("PATCH")
        }),
        "rm" | "helm" | "dd" | "mkfs" => true,
        "sed" => words.iter().any(|w| w.starts_with("-i")),
        _ => false,
    }
}

/// The parts of a pipeline that run commands: the first, and what `xargs CMD` runs with the
/// names the listing produced (grep, awk and wc only filter).
fn commands_of(logged: &Logged) -> Vec<Vec<String>> {
    let mut parts: Vec<Vec<String>> = vec![logged.pipeline[0].clone()];
    for part in &logged.pipeline[1..] {
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
    parts
}

/// The state of the walk through a log.
pub struct Walk<'a> {
    catalogue: &'a Catalogue,
    pub findings: Vec<AuditFinding>,
    /// For each documented command, the line of the first logged command that matched it.
    matched: Vec<Option<usize>>,
    /// What each placeholder was bound to, and where.
    bindings: Vec<(String, String, usize)>,
    current: StepId,
    /// The furthest change so far: its runbook index, line and text.
    last_change: Option<(usize, usize, String)>,
    /// Failed commands not yet run again successfully: text, line, status.
    failures: Vec<(String, usize, i32)>,
    last_delete: Option<usize>,
    confirmed_after_delete: bool,
    /// What `velero backup get | grep COMPONENT` showed, per component.
    listed: HashMap<VeleroComponent, Vec<String>>,
    restores: Vec<(VeleroComponent, String, usize)>,
    /// The backup names the ClickHouse Job was filled in with: (line, name).
    sed_names: Vec<(usize, String)>,
    applied_at: Option<usize>,
    /// Logged commands recognised as the runbook's or the tool's.
    pub recognised: usize,
    /// The log is the tool's transcript (`Log::by_tool`).
    by_tool: bool,
}

impl<'a> Walk<'a> {
    pub fn new(catalogue: &'a Catalogue, log: &Log) -> Walk<'a> {
        Walk {
            catalogue,
            by_tool: log.by_tool,
            findings: Vec::new(),
            matched: vec![None; catalogue.expected.len()],
            bindings: Vec::new(),
            current: StepId::Rds,
            last_change: None,
            failures: Vec::new(),
            last_delete: None,
            confirmed_after_delete: false,
            listed: HashMap::new(),
            restores: Vec::new(),
            sed_names: log.replacements.clone(),
            applied_at: None,
            recognised: 0,
        }
    }

    /// One logged command (all the parts of its pipeline that run something).
    pub fn command(&mut self, logged: &Logged) {
        let first = &logged.pipeline[0];
        if first.first().map(String::as_str) == Some("sed")
            && let Some(caps) = SED_REPLACEMENT.captures(&first.join(" "))
        {
            self.sed_names.push((logged.line, caps[1].to_string()));
            return;
        }
        if first.first().map(String::as_str) == Some("cat")
            && first.iter().any(|w| w.ends_with(fixed::CLICKHOUSE_YAML))
        {
            return; // the runbook's check of the replacement (`cat … | grep -C2`)
        }
        for words in commands_of(logged) {
            self.part(logged, &words);
        }
    }

    fn part(&mut self, logged: &Logged, words: &[String]) {
        let actual = invocation(words);
        let candidates = self.catalogue.candidates(&actual);
        let rendered = words
            .iter()
            .map(|w| shell_quote(w).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        if candidates.is_empty() {
            self.not_documented(logged, words, &actual, rendered);
            return;
        }
        self.recognised += 1;
        let (index, found) = self.choose(&candidates, logged.section);
        self.matched[index].get_or_insert(logged.line);
        let entry = &self.catalogue.expected[index];
        self.current = entry.step;
        self.bindings
            .extend(found.into_iter().map(|(k, v)| (k, v, logged.line)));
        // A command killed without an answer may or may not have taken effect; the resume
        // after it finds out and runs it again only if it did not. It neither failed nor
        // sets the order of what follows.
        if !logged.killed {
            self.check_failure(logged, &rendered);
            self.check_order(entry, logged.line, &rendered);
        }
        self.track_deletions(&actual, logged.line);
        if entry.documented.cmd.tool == Tool::Velero {
            match actual.positionals.first().map(String::as_str) {
                Some("restore") => self.check_restore(&actual, logged.line),
                Some("backup") => self.record_listing(logged),
                _ => {}
            }
        }
        if entry.step == StepId::Clickhouse
            && actual.positionals.first().map(String::as_str) == Some("apply")
        {
            self.applied_at.get_or_insert(logged.line);
        }
    }

    /// A command no documented command matches: one of the tool's reads, or a deviation.
    fn not_documented(
        &mut self,
        logged: &Logged,
        words: &[String],
        actual: &Invocation,
        rendered: String,
    ) {
        if let Some(bindings) = self.catalogue.addition(actual) {
            self.recognised += 1;
            self.bindings
                .extend(bindings.into_iter().map(|(k, v)| (k, v, logged.line)));
            if words.get(1).map(String::as_str) == Some("get") {
                self.confirmed_after_delete =
                    self.confirmed_after_delete || self.last_delete.is_some();
            }
            return;
        }
        let (kind, what) = if is_destructive(words) {
            (
                FindingKind::DestructiveNotInRunbook,
                "DESTRUCTIVE command not in the runbook",
            )
        } else {
            (FindingKind::NotInRunbook, "command not in the runbook")
        };
        self.findings.push(AuditFinding::at(
            kind,
            logged.line,
            format!("{what}: `{rendered}`"),
        ));
    }

    /// Which documented command a logged one is: in a tool transcript, one of the step whose
    /// section it is under; else the first not yet matched from the current step on, then any
    /// not yet matched, then any from the current step on.
    fn choose(
        &self,
        candidates: &[(usize, Bindings)],
        section: Option<StepId>,
    ) -> (usize, Bindings) {
        let expected = &self.catalogue.expected;
        let first = |keep: &dyn Fn(usize) -> bool| {
            candidates
                .iter()
                .filter(|(i, _)| keep(*i))
                .min_by_key(|(i, _)| *i)
        };
        let unmatched = |i: usize| self.matched[i].is_none();
        let onwards = |i: usize| expected[i].step >= self.current;
        let in_section = |i: usize| section.is_some_and(|s| expected[i].step == s);
        first(&|i| in_section(i) && unmatched(i))
            .or_else(|| first(&in_section))
            .or_else(|| first(&|i| unmatched(i) && onwards(i)))
            .or_else(|| first(&unmatched))
            .or_else(|| first(&onwards))
            .or_else(|| candidates.first())
            .cloned()
            .expect("candidates is not empty")
    }

    /// Failures, and their successful retries. A log kept by hand records no exit status: its
    /// output shows the failure (`curl: (7) …`, kubectl's `error:` and `Error from server`, a
    /// recover answer that is not `{"message":"success"}`, a Velero restore `PartiallyFailed`).
    fn check_failure(&mut self, logged: &Logged, rendered: &str) {
        let status = match logged.status {
            None if !self.by_tool => failed_by_output(logged).map(|_| 1),
            status => status,
        };
        match status {
            Some(status) if status != 0 => {
                self.failures
                    .push((rendered.to_string(), logged.line, status));
            }
            _ => self.failures.retain(|(text, ..)| text != rendered),
        }
    }

    /// Changes come in the runbook's order.
    fn check_order(&mut self, entry: &Expected, line: usize, rendered: &str) {
        if entry.documented.cmd.effect != Effect::Changes {
            return;
        }
        if let Some((max, at, text)) = &self.last_change
            && entry.index < *max
        {
            self.findings.push(AuditFinding::at(
                FindingKind::OutOfOrder,
                line,
                format!(
                    "`{rendered}` ({}) comes after `{text}` (line {at}), which the runbook puts later",
                    entry.step
                ),
            ));
        }
        if self
            .last_change
            .as_ref()
            .is_none_or(|(max, ..)| entry.index > *max)
        {
            self.last_change = Some((entry.index, line, rendered.to_string()));
        }
    }

    /// The deletions must be confirmed gone before the messaging restore.
    fn track_deletions(&mut self, actual: &Invocation, line: usize) {
        let resource = actual.positionals.get(1).map(String::as_str).unwrap_or("");
        match (actual.positionals.first().map(String::as_str), resource) {
            (Some("delete"), "sts" | "pvc" | "pv") => {
                self.last_delete = Some(line);
                self.confirmed_after_delete = false;
            }
            (Some("get"), "pv" | "pvc" | "sts") if self.last_delete.is_some() => {
                self.confirmed_after_delete = true;
            }
            _ => {}
        }
    }

    fn check_restore(&mut self, actual: &Invocation, line: usize) {
        let backup = actual
            .flags
            .get("--from-backup")
            .and_then(|v| v.first())
            .cloned()
            .unwrap_or_default();
        let Some(component) = restore_point::component_of(&backup) else {
            return;
        };
        self.restores.push((component, backup.clone(), line));
        if component == VeleroComponent::Messaging
            && let Some(deleted_at) = self.last_delete
            && !self.confirmed_after_delete
        {
            self.findings.push(AuditFinding::at(
                FindingKind::OutOfOrder,
                line,
                format!(
                    "the Velero restore from {backup} was created before the deletions were confirmed gone (no `kubectl get pv`/`pvc` after the last delete, line {deleted_at})"
                ),
            ));
        }
        if let Some(names) = self.listed.get(&component)
            && !names.is_empty()
            && !names.contains(&backup)
        {
            self.findings.push(AuditFinding::at(
                FindingKind::Inconsistent,
                line,
                format!(
                    "the restore is from {backup}, but the backup listing before it showed {}",
                    names.join(", ")
                ),
            ));
        }
    }

    /// What `velero backup get | grep COMPONENT` showed, per component.
    fn record_listing(&mut self, logged: &Logged) {
        let filter = logged
            .pipeline
            .iter()
            .skip(1)
            .find(|p| p.first().map(String::as_str) == Some("grep"))
            .and_then(|p| p.last().cloned());
        let names: Vec<String> = logged
            .output
            .iter()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| *n != "NAME" && restore_point::component_of(n).is_some())
            .map(str::to_string)
            .collect();
        for component in VeleroComponent::ALL {
            let shown = filter
                .as_deref()
                .is_none_or(|f| component.word().contains(f) || f.contains(component.word()));
            if shown {
                let of_component: Vec<String> = names
                    .iter()
                    .filter(|n| n.ends_with(component.word()))
                    .cloned()
                    .collect();
                self.listed.insert(component, of_component);
            }
        }
    }

    /// The checks made once the whole log is read; the findings and the step reports.
    pub fn finish(mut self, selected: Option<&[StepId]>) -> (Vec<AuditFinding>, Vec<StepReport>) {
        self.check_job_filled_in();
        for (text, line, status) in std::mem::take(&mut self.failures) {
            self.findings.push(AuditFinding::at(
                FindingKind::Failed,
                line,
                format!(
                    "`{text}` failed (exit status {status}) and was not run again successfully"
                ),
            ));
        }
        self.check_constant_values();
        let mixed = mixed_backups(&self.restores, &self.sed_names);
        self.findings.extend(mixed);
        let steps = StepId::ALL
            .into_iter()
            .map(|step| self.step_report(step, selected))
            .collect();
        (self.findings, steps)
    }

    /// The ClickHouse Job must have had its backup name filled in before it was applied.
    fn check_job_filled_in(&mut self) {
        if let Some(line) = self.applied_at
            && !self.sed_names.iter().any(|(l, _)| *l < line)
        {
            self.findings.push(AuditFinding::at(
                FindingKind::Missing,
                line,
                "the ClickHouse restore Job was applied without replacing insert-backup-name-here (the runbook's sed -i)",
            ));
        }
    }

    /// Values that must not change across the log.
    fn check_constant_values(&mut self) {
        for (placeholder, what) in [
            ("$arthur_namespace", "Arthur namespace"),
            ("$velero_namespace", "Velero namespace"),
        ] {
            let mut values: Vec<(String, usize)> = Vec::new();
            for (k, v, line) in &self.bindings {
                if k == placeholder && !values.iter().any(|(seen, _)| seen == v) {
                    values.push((v.clone(), *line));
                }
            }
            if values.len() > 1 {
                self.findings.push(AuditFinding::at(
                    FindingKind::Inconsistent,
                    values[1].1,
                    format!(
                        "the {what} changes within the log: {}",
                        values
                            .iter()
                            .map(|(v, l)| format!("{v} (line {l})"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }

    /// Done, partly done, not done, not evidenced, not in this run; missing commands reported.
    fn step_report(&mut self, step: StepId, selected: Option<&[StepId]>) -> StepReport {
        let of_step: Vec<&Expected> = self
            .catalogue
            .expected
            .iter()
            .filter(|e| e.step == step)
            .collect();
        let found = of_step
            .iter()
            .filter(|e| self.matched[e.index].is_some())
            .count();
        let missing = self.missing_of(&of_step);
        let quiet = matches!(step, StepId::Rds | StepId::Platform | StepId::Smoke);
        let in_run = selected.is_none_or(|steps| steps.contains(&step));
        let changed = of_step
            .iter()
            .any(|e| e.documented.cmd.effect == Effect::Changes && self.matched[e.index].is_some());
        let status = match (in_run, found, missing.is_empty()) {
            (false, 0, _) => StepStatus::NotInThisRun,
            (_, 0, _) if quiet => StepStatus::NotEvidenced,
            (_, 0, _) => StepStatus::NotDone,
            (_, _, true) if step == StepId::Rds && !changed => StepStatus::PartlyDone,
            (_, _, true) => StepStatus::Done,
            (_, _, false) => StepStatus::PartlyDone,
        };
        if status == StepStatus::NotDone {
            self.findings.push(AuditFinding::nowhere(
                FindingKind::Missing,
                format!(
                    "step {step} ({}) not done: none of its commands is in the log",
                    step.title()
                ),
            ));
        } else if status == StepStatus::PartlyDone {
            for argv in missing {
                self.findings.push(AuditFinding::nowhere(
                    FindingKind::Missing,
                    format!("missing from step {step}: `{argv}`"),
                ));
            }
        }
        StepReport {
            id: step,
            title: step.title(),
            status,
            commands_found: found,
        }
    }

    /// The required commands of a step not in the log, and a member of each group none of whose
    /// members is, as the runbook writes them.
    fn missing_of(&self, of_step: &[&Expected]) -> Vec<String> {
        let unmatched = |e: &&&Expected| self.matched[e.index].is_none();
        let mut missing: Vec<&Expected> = of_step
            .iter()
            .filter(|e| e.documented.need == Need::Required)
            .filter(unmatched)
            .copied()
            .collect();
        let groups: BTreeSet<u8> = of_step
            .iter()
            .filter_map(|e| match e.documented.need {
                Need::OneOf(group) => Some(group),
                _ => None,
            })
            .collect();
        for group in groups {
            let members: Vec<&Expected> = of_step
                .iter()
                .filter(|e| e.documented.need == Need::OneOf(group))
                .copied()
                .collect();
            if members.iter().all(|e| self.matched[e.index].is_none()) {
                missing.push(members[0]);
            }
        }
        missing
            .iter()
            .map(|e| e.documented.cmd.argv().join(" "))
            .collect()
    }
}

/// The Velero backups restored and the ClickHouse backup used must come from one backup
/// operation (the rules of `backups`).
pub fn mixed_backups(
    restores: &[(VeleroComponent, String, usize)],
    clickhouse: &[(usize, String)],
) -> Vec<AuditFinding> {
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
            findings.push(AuditFinding::at(
                FindingKind::Inconsistent,
                *line,
                format!(
                    "{name} is from another backup operation ({time}) than the other Velero backups restored ({reference}): mixing operations corrupts data"
                ),
            ));
        }
    }
    for (line, name) in clickhouse {
        if let Some(time) = restore_point::clickhouse_name_time(name)
            && time.duration_since(reference).abs() > restore_point::CLICKHOUSE_LIMIT
        {
            findings.push(AuditFinding::at(
                FindingKind::Inconsistent,
                *line,
                format!("the ClickHouse backup {name} is more than 24h from the Velero backups restored ({reference}): mixing operations corrupts data"),
            ));
        }
    }
    findings
}

static FAILED_PHASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)(?:^Phase:\s*|"phase":\s*"|\s)(PartiallyFailed|FailedValidation|Failed)\b"#)
        .expect("valid")
});

/// The line of a hand-kept command's output that shows it failed, if one does.
fn failed_by_output(logged: &Logged) -> Option<&str> {
    let words = logged.pipeline.first()?;
    let program = words.first().map(String::as_str)?;
    let failed = |line: &&String| {
        let line = line.trim_start();
        line.starts_with("curl: (")
            || line.starts_with("error: ")
            || line.starts_with("Error from server")
            || line.starts_with("Error: ")
            || (program == "velero"
                && words.iter().any(|w| w == "restore")
                && FAILED_PHASE.is_match(line))
    };
    if let Some(line) = logged.output.iter().find(failed) {
        return Some(line);
    }
    let recover = program == "curl" && words.iter().any(|w| w.ends_with("/batch/recover"));
    let success = logged
        .output
        .iter()
        .any(|l| l.replace(' ', "").contains(r#""message":"success""#));
    (recover && !success).then_some("the recover call did not answer {\"message\":\"success\"}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        shlex::split(line).unwrap()
    }

    #[test]
    fn destructive_commands_are_recognised() {
        let rows: &[(&str, bool)] = &[
            ("kubectl delete namespace arthur", true),
            (
                "kubectl create job --from=cronjob/x x --dry-run=client -o yaml",
                false,
            ),
            ("kubectl create job x --image=busybox", true),
            (
                "aws rds delete-db-instance --db-instance-identifier x",
                true,
            ),
            ("aws rds describe-db-instances", false),
            ("velero restore create --from-backup x", true),
            ("velero backup get", false),
            ("kubectl get pods -n arthur", false),
            ("curl -k -XPOST http://localhost:7899/x", true),
            ("curl -k http://localhost:7899/x", false),
            ("sed -i s/a/b/ f", true),
            ("sed s/a/b/ f", false),
            ("/usr/bin/rm -rf /", true),
        ];
        for (line, destructive) in rows {
            assert_eq!(is_destructive(&words(line)), *destructive, "{line}");
        }
    }

    fn restore(
        component: VeleroComponent,
        name: &str,
        line: usize,
    ) -> (VeleroComponent, String, usize) {
        (component, name.to_string(), line)
    }

    #[test]
    fn backups_of_another_operation_are_inconsistent() {
        use VeleroComponent::*;
        let one_operation = [
            restore(
                Messaging,
                "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
                10,
            ),
            restore(
                Enrichments,
                "arthur-backup-2023-05-11t15.25.24-04.00-enrichments",
                20,
            ),
            restore(
                Workflows,
                "arthur-backup-2023-05-11t15.23.25-04.00-workflows",
                30,
            ),
        ];
        let same_day = [(
            5,
            "arthur-clickhouse-backup-2023-05-11-00-00-07".to_string(),
        )];
        assert!(mixed_backups(&one_operation, &same_day).is_empty());

        let mut mixed = one_operation.to_vec();
        mixed[2] = restore(
            Workflows,
            "arthur-backup-2023-05-12t15.23.25-04.00-workflows",
            30,
        );
        let findings = mixed_backups(&mixed, &same_day);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].line, Some(30));

        let days_before = [(
            5,
            "arthur-clickhouse-backup-2023-05-08-00-00-07".to_string(),
        )];
        let findings = mixed_backups(&one_operation, &days_before);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].line, Some(5));
    }
}
