//! Restore ClickHouse Data: the restore Job is made from the CronJob with the backup name filled
//! in. The runbook's `sed -i` and `grep -C2` are done in process: the placeholder appears twice
//! (the env value and the last-applied annotation) and both are replaced.

use super::{Context, required};
use crate::error::{Error, Result};
use crate::process::{Cmd, Output};
use crate::runbook::{StepId, fixed};

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    let backup = required(
        cx.options.backups.clickhouse.as_deref(),
        "--clickhouse-backup",
        StepId::Clickhouse,
    )?
    .to_string();
    super::preflight::check_clickhouse_backup(cx, &backup)?;
    if cx.facts.clickhouse_job_applied {
        return cx.note(format!(
            "the Job {} was applied by this run before the interruption; not applied again",
            fixed::CLICKHOUSE_JOB
        ));
    }
    let create = cx.commands.create_restore_job_yaml();
    let (path, written) = match cx.read(&create)? {
        Some(out) => {
            let yaml = fill_in_backup_name(&out.stdout, &backup).map_err(|problem| {
                Error::refused(format!(
                    "`{create}` printed a Job that cannot be used: {problem}"
                ))
            })?;
            let path = cx.exec.save_artifact(fixed::CLICKHOUSE_YAML, &yaml.text)?;
            cx.note(format!(
                "saved to {} (the runbook's `> {}`)\nreplaced {} with {backup} in process (the runbook's sed -i): {} occurrence(s), the env value and the last-applied annotation\nverified (the runbook's grep -C2 \"name: BACKUP_NAME\"):\n{}",
                path.display(),
                fixed::CLICKHOUSE_YAML,
                fixed::BACKUP_NAME_PLACEHOLDER,
                yaml.replaced,
                yaml.context
            ))?;
            (path, Some(yaml.text))
        }
        None => {
            let path = cx.exec.artifact_path(fixed::CLICKHOUSE_YAML);
            cx.note(format!(
                "saved to {} (the runbook's `> {}`); every {} replaced with {backup} in process (the runbook's sed -i), then the BACKUP_NAME value verified (the runbook's grep -C2)",
                path.display(),
                fixed::CLICKHOUSE_YAML,
                fixed::BACKUP_NAME_PLACEHOLDER,
            ))?;
            (path, None)
        }
    };
    // What kubectl reads is what was checked (rule 12): compared right before the apply.
    if let Some(text) = &written {
        cx.exec.check_artifact(fixed::CLICKHOUSE_YAML, text)?;
    }
    cx.facts.clickhouse_yaml = Some(path.clone());
    let apply = cx.commands.apply(&path);
    // Saved before it is sent: if the answer is never seen, a resume looks for the Job.
    cx.facts.clickhouse_apply_sent = true;
    cx.checkpoint()?;
    if let Some(out) = cx.exec.change(&apply)? {
        super::expect_success(&apply, &out)?;
        check_job_created(
            &apply,
            &out,
            &cx.commands.get_job(&fixed::object(fixed::CLICKHOUSE_JOB)),
        )?;
        cx.facts.clickhouse_job_applied = true;
        cx.checkpoint()?;
    }
    cx.note(format!(
        "the Job {} runs on while messaging is restored (as in the runbook); the smoke step waits for it to complete",
        fixed::CLICKHOUSE_JOB
    ))
}

/// Success is decided by the tool (SPEC section 5, rule 7): `kubectl apply` must say it
/// created (or configured) the Job, not only exit 0.
fn check_job_created(apply: &Cmd, out: &Output, look: &Cmd) -> Result<()> {
    let said = ["created", "configured", "unchanged"].iter().any(|verb| {
        out.stdout
            .contains(&format!("job.batch/{} {verb}", fixed::CLICKHOUSE_JOB))
    });
    if said {
        return Ok(());
    }
    Err(Error::StepFailed(format!(
        "`{apply}` exited 0 but did not say `job.batch/{} created`: it printed `{}`. Look with `{look}`, then resume",
        fixed::CLICKHOUSE_JOB,
        out.stdout.trim(),
    )))
}

#[derive(Debug, PartialEq, Eq)]
pub struct FilledJob {
    pub text: String,
    pub replaced: usize,
    /// The lines around `name: BACKUP_NAME`, as `grep -C2` shows them.
    pub context: String,
}

/// Replaces every placeholder and checks that the BACKUP_NAME variable now holds the name.
pub fn fill_in_backup_name(yaml: &str, backup: &str) -> Result<FilledJob, String> {
    let replaced = yaml.matches(fixed::BACKUP_NAME_PLACEHOLDER).count();
    if replaced == 0 {
        return Err(format!(
            "it has no `{}`: the CronJob was changed by hand, or the platform version names the variable differently",
            fixed::BACKUP_NAME_PLACEHOLDER
        ));
    }
    let text = yaml.replace(fixed::BACKUP_NAME_PLACEHOLDER, backup);
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.trim() == "- name: BACKUP_NAME" || line.trim() == "name: BACKUP_NAME")
        .ok_or("it has no `name: BACKUP_NAME` env entry")?;
    let value_line = lines
        .get(at + 1)
        .map(|line| line.trim())
        .unwrap_or_default();
    if value_line != format!("value: {backup}") {
        return Err(format!(
            "after the replacement BACKUP_NAME reads `{value_line}`, not `value: {backup}`"
        ));
    }
    let context = lines[at.saturating_sub(2)..(at + 3).min(lines.len())].join("\n");
    Ok(FilledJob {
        text,
        replaced,
        context,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_placeholders_are_replaced() {
        let yaml = crate::parse::sample("kubectl-create-job-dry-run.yaml");
        let filled =
            fill_in_backup_name(&yaml, "arthur-clickhouse-backup-2023-05-11-00-00-07").unwrap();
        assert_eq!(filled.replaced, 2);
        assert!(!filled.text.contains("insert-backup-name-here"));
        assert!(filled.text.contains(
            r#"{"name":"BACKUP_NAME","value":"arthur-clickhouse-backup-2023-05-11-00-00-07"}"#
        ));
        assert!(
            filled
                .context
                .contains("value: arthur-clickhouse-backup-2023-05-11-00-00-07")
        );
        assert_eq!(filled.context.lines().count(), 5);
    }

    #[test]
    fn a_job_without_the_placeholder_is_refused() {
        assert!(
            fill_in_backup_name("kind: Job\n", "x")
                .unwrap_err()
                .contains("insert-backup-name-here")
        );
    }
}
