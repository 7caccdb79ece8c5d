//! A Velero restore from one backup: the runbook's `velero backup get | grep COMPONENT`, then
//! `velero restore create`, then a wait for the restore's own phase (SPEC section 5, rule 7:
//! velero's exit status says nothing about the restore).

use super::{Context, expect_success, parsed, required, waits};
use crate::error::{Error, Result};
use crate::names::{ObjectName, VeleroBackupName};
use crate::parse::table::Table;
use crate::parse::velero;
use crate::runbook::VeleroComponent;

pub fn perform(cx: &mut Context<'_>, component: VeleroComponent) -> Result<()> {
    let backup = required(
        cx.options.backups.velero(component),
        component.flag(),
        component.step(),
    )?
    .clone();
    show_backup(cx, component, &backup)?;
    let restore = match cx.facts.restores.get(&component).cloned() {
        Some(name) => {
            cx.note(format!(
                "the restore {name} was created by this run before the interruption; not created again"
            ))?;
            Some(name)
        }
        None => match find_restore_of_this_run(cx, &backup)? {
            Some(name) => {
                cx.facts.restores.insert(component, name.clone());
                cx.checkpoint()?;
                Some(name)
            }
            None => create(cx, component, &backup)?,
        },
    };
    let name = restore.unwrap_or_else(|| {
        ObjectName::placeholder(format!("<the restore velero names for {backup}>"))
    });
    waits::restore_finished(cx, &name, Some(&backup))
}

/// The runbook's `velero backup get -n NS | grep COMPONENT`, done in process.
fn show_backup(
    cx: &mut Context<'_>,
    component: VeleroComponent,
    backup: &VeleroBackupName,
) -> Result<()> {
    let cmd = cx.commands.velero_backup_list();
    let Some(out) = cx.read(&cmd)? else {
        return cx.note(format!(
            "selected (grep {}): {backup}, which must be Completed",
            component.word()
        ));
    };
    let table = parsed(&cmd, Table::parse(&out.stdout))?;
    let records = table.records();
    let row = records
        .iter()
        .find(|r| r.get("NAME") == Some(&backup.as_str()));
    match row {
        Some(row) if row.get("STATUS") == Some(&"Completed") => cx.note(format!(
            "selected (grep {}): {backup} Completed",
            component.word()
        )),
        Some(row) => Err(Error::refused(format!(
            "the Velero backup `{backup}` is {}, not Completed",
            row.get("STATUS").copied().unwrap_or("of unknown status")
        ))),
        None => Err(Error::refused(format!(
            "`{cmd}` does not list the backup `{backup}`"
        ))),
    }
}

/// On resume, a restore from this backup created after the run started (the interruption may
/// have come between `restore create` and the state being saved) is reused.
pub(super) fn find_restore_of_this_run(
    cx: &mut Context<'_>,
    backup: &VeleroBackupName,
) -> Result<Option<ObjectName>> {
    if !cx.resuming {
        return Ok(None);
    }
    let cmd = cx.commands.velero_restores_json();
    let Some(out) = cx.read(&cmd)? else {
        return Ok(None);
    };
    let restores = parsed(&cmd, velero::restores(&out.stdout))?;
    let found = restores
        .into_iter()
        .find(|r| backup == r.backup.as_str() && cx.facts.made_by_this_run(r.created.as_deref()));
    if let Some(restore) = &found {
        cx.note(format!(
            "found the restore {} from {backup}, created by this run before the interruption; reusing it",
            restore.name
        ))?;
    }
    found
        .map(|r| {
            ObjectName::new(&r.name).map_err(|problem| {
                crate::parse::ParseError::unsafe_value(problem, &r.name).for_command(&cmd)
            })
        })
        .transpose()
}

fn create(
    cx: &mut Context<'_>,
    component: VeleroComponent,
    backup: &VeleroBackupName,
) -> Result<Option<ObjectName>> {
    let cmd = cx.commands.velero_restore_create(backup);
    let Some(out) = cx.exec.change(&cmd)? else {
        return Ok(None);
    };
    expect_success(&cmd, &out)?;
    let name = parsed(&cmd, velero::created_restore_name(&out.stdout))?;
    let name = ObjectName::new(&name).map_err(|problem| {
        crate::parse::ParseError::unsafe_value(problem, &name).for_command(&cmd)
    })?;
    cx.facts.restores.insert(component, name.clone());
    cx.checkpoint()?;
    Ok(Some(name))
}
