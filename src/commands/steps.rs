//! `steps`: the runbook's steps and their documented commands, from the runbook model.

use serde_json::json;

use crate::cli::OutputFormat;
use crate::error::{Result, exit};
use crate::runbook::{self, Need, StepId};

pub fn steps(output: OutputFormat) -> Result<i32> {
    match output {
        OutputFormat::Text => super::print(&text())?,
        OutputFormat::Json => super::print_json(&json())?,
    }
    Ok(exit::SUCCESS)
}

fn text() -> String {
    let commands = runbook::template_commands();
    let mut text = String::from(
        "The runbook \"Restoring the Arthur Platform\", step by step (ids for --only, --skip, --from):\n",
    );
    for step in StepId::ALL {
        text.push_str(&format!(
            "\n{:<12} {}\n             {}\n",
            step.id(),
            step.title(),
            step.summary()
        ));
        for documented in runbook::documented(step, &commands) {
            let need = match documented.need {
                Need::Required => "",
                Need::OneOf(_) => "   (either of the two listings)",
                Need::Optional => "   (optional)",
            };
            text.push_str(&format!(
                "             $ {}{need}\n",
                documented.cmd.argv().join(" ")
            ));
        }
    }
    text
}

fn json() -> serde_json::Value {
    let commands = runbook::template_commands();
    let steps: Vec<serde_json::Value> = StepId::ALL
        .into_iter()
        .map(|step| {
            json!({
                "id": step.id(),
                "title": step.title(),
                "summary": step.summary(),
                "commands": runbook::documented(step, &commands)
                    .iter()
                    .map(|d| json!({"argv": d.cmd.argv(), "effect": d.cmd.effect, "need": d.need}))
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    serde_json::Value::Array(steps)
}
