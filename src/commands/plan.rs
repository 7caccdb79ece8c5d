//! `plan`: every command the restore would run, in order, as a transcript (or JSON); changes
//! nothing. Offline nothing runs; otherwise the commands that only read run, so that the plan
//! shows what `run` would select.

use serde_json::json;

use crate::cli::{GlobalArgs, OutputFormat, PlanArgs, settings};
use crate::error::{Result, exit};
use crate::model::Facts;
use crate::process::{Interrupt, Runner};
use crate::record::TranscriptEntry;
use crate::record::transcript;
use crate::restore::{ReadOnlyExecutor, Start, restore};
use crate::version::VERSION;

pub fn plan(global: &GlobalArgs, args: &PlanArgs) -> Result<i32> {
    let mut options = settings::restore_options(global, &args.restore)?;
    if args.offline {
        options.require_explicit()?;
    }
    options.check_rds()?;
    let mut exec = if args.offline {
        ReadOnlyExecutor::offline(options.timing.poll_interval)
    } else {
        let runner = Runner::locate(options.timing.command_timeout, Interrupt::never())?
            .with_max_output(options.max_output);
        ReadOnlyExecutor::reading(options.timing.poll_interval, runner)
    };
    let mode = if args.offline {
        "offline: nothing was run"
    } else {
        "read-only commands were run; nothing was changed"
    };
    let steps: Vec<&str> = options.steps.iter().map(|s| s.id()).collect();
    exec.push(TranscriptEntry::Header {
        text: format!(
            "arthur-restore {VERSION} plan ({mode}) namespace={} velero-namespace={}\nsteps: {}",
            options.namespace,
            options.velero_namespace,
            steps.join(" ")
        ),
    });
    let mut facts = Facts::default();
    let start = Start::Plan {
        offline: args.offline,
    };
    let outcome = restore(&mut options, &mut exec, &mut facts, start);
    exec.settle();
    if let Err(error) = &outcome {
        exec.push(TranscriptEntry::Note {
            text: format!("plan stopped: {error}"),
        });
    }
    match global.output {
        OutputFormat::Text => super::print(&transcript::render_all(&exec.entries))?,
        OutputFormat::Json => super::print_json(&plan_json(&exec.entries, args.offline))?,
    }
    outcome.map(|()| exit::SUCCESS)
}

/// The plan as JSON: its sections, each with its commands (argv arrays) and notes.
fn plan_json(entries: &[TranscriptEntry], offline: bool) -> serde_json::Value {
    let mut header = String::new();
    let mut sections: Vec<serde_json::Value> = Vec::new();
    for entry in entries {
        match entry {
            TranscriptEntry::Header { text } => header.clone_from(text),
            TranscriptEntry::Section { step, title } => sections.push(json!({
                "step": step, "title": title, "entries": []
            })),
            other => {
                if let Some(section) = sections.last_mut()
                    && let Some(list) = section["entries"].as_array_mut()
                    && let Ok(value) = serde_json::to_value(other)
                {
                    list.push(value);
                }
            }
        }
    }
    json!({
        "tool": "arthur-restore",
        "version": VERSION,
        "commit": crate::version::COMMIT,
        "offline": offline,
        "header": header,
        "sections": sections,
    })
}
