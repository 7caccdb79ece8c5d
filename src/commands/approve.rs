//! `approve RUN_DIR --sign-key KEY`: the second pair of eyes (SPEC section 8). Shows the run's
//! pending approval request as its gate showed it, asks for the word `approve` on the terminal,
//! and signs the request with `ssh-keygen -Y sign -n arthur-restore-approval`. The waiting run
//! checks the signature. Nothing pending: exit 3.

use crate::cli::ApproveArgs;
use crate::error::{Error, Result, exit};
use crate::process::{Interrupt, Runner, Tool, command_failed};
use crate::record::{Event, RunDir, events};
use crate::runbook::signing::sign_approval;

/// The gates the run has recorded as approved.
fn approved(dir: &RunDir) -> Result<Vec<String>> {
    let text = dir.read_events()?.unwrap_or_default();
    Ok(events::read(&text)
        .into_iter()
        .flatten()
        .filter_map(|(_, record)| match record.event {
            Event::Approved { gate, .. } => Some(gate),
            _ => None,
        })
        .collect())
}

pub fn approve(args: &ApproveArgs) -> Result<i32> {
    if !args.run_dir.is_dir() {
        return Err(Error::usage(format!(
            "{}: no such run directory",
            args.run_dir.display()
        )));
    }
    let dir = RunDir::existing(&args.run_dir);
    let done = approved(&dir)?;
    let folder = dir.approval_path("");
    let mut pending: Vec<(String, serde_json::Value)> = Vec::new();
    for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(gate) = name.strip_suffix(".json") else {
            continue;
        };
        if done.iter().any(|g| g == gate) {
            continue;
        }
        if let Some(bytes) = dir.read_approval(&name)?
            && let Ok(value) = serde_json::from_slice::<serde_json::Value>(&bytes)
        {
            pending.push((name, value));
        }
    }
    let Some((name, request)) = pending.into_iter().next() else {
        return Err(Error::refused(format!(
            "nothing is pending in {}: the run waits for no approval (its approvals are recorded, or it asked for none)",
            args.run_dir.display()
        )));
    };
    let gate = request["gate"].as_str().unwrap_or("?");
    let mut shown = format!(
        "approval request: the {gate} gate of the run in {}
",
        request["run"].as_str().unwrap_or("?")
    );
    for line in request["shown"].as_array().into_iter().flatten() {
        shown.push_str(&format!("  {}\n", line.as_str().unwrap_or("")));
    }
    crate::record::redact::err(&shown);
    let answer = if args.yes {
        crate::record::redact::err("approved with --yes\n");
        "approve".to_string()
    } else {
        crate::terminal::ask_line("Type `approve` to approve, with your key: ").ok_or_else(|| {
            Error::refused(
                "approve asks on a terminal (standard input and standard error), or takes --yes; nothing was signed",
            )
        })?
    };
    if answer != "approve" {
        return Err(Error::refused(format!(
            "answered `{}`, not `approve`: nothing was signed",
            crate::process::escape_controls(&answer)
        )));
    }
    let request_path = dir.approval_path(&name);
    // ssh-keygen asks before replacing a signature: an earlier one (refused by the run) goes.
    let _ = std::fs::remove_file(dir.approval_path(&format!("{name}.sig")));
    let mut runner = Runner::locating(
        &[Tool::SshKeygen],
        std::time::Duration::from_secs(60),
        Interrupt::never(),
    )?;
    let cmd = sign_approval(&args.sign_key, &request_path);
    let out = runner.run(&cmd)?.output;
    if !out.success() {
        return Err(command_failed(&cmd, &out));
    }
    crate::record::redact::err(&format!(
        "signed: {}.sig; the run checks it at its next look\n",
        request_path.display()
    ));
    Ok(exit::SUCCESS)
}
