//! The batch-workflow recovery of "Restore Enrichments Workflows": a port-forward as a child
//! process (the runbook's "one terminal"), the recover call (the "other"), then the child stops.

use std::time::Duration;

use super::{Context, expect_success};
use crate::error::{Error, Result};

/// How long the port-forward may take to say `Forwarding from`.
const FORWARD_READY_LIMIT: Duration = Duration::from_secs(60);

pub fn recover(cx: &mut Context<'_>) -> Result<()> {
    if cx.facts.workflows_recovered {
        return cx.note("the batch workflows were recovered by this run before the interruption");
    }
    let port = cx.options.local_port;
    let forward = cx.commands.port_forward(port);
    let limit = FORWARD_READY_LIMIT.min(cx.options.timing.timeout);
    let background = cx
        .exec
        .start_background(&forward, "Forwarding from", limit)?;
    let curl = cx.commands.recover_workflows(port);
    let answer = cx.exec.change(&curl);
    // The port-forward stops on every path, also when the call failed.
    if let Some(background) = background {
        background.stop()?;
    }
    let Some(out) = answer? else {
        return cx.note(
            "requires the answer {\"message\":\"success\"}; the port-forward is stopped afterwards",
        );
    };
    expect_success(&curl, &out)?;
    let body: Option<serde_json::Value> = serde_json::from_str(out.stdout.trim()).ok();
    let message = body
        .as_ref()
        .and_then(|b| b.get("message"))
        .and_then(|m| m.as_str());
    if message != Some("success") {
        return Err(Error::StepFailed(format!(
            "`{curl}` answered `{}`, not {{\"message\":\"success\"}}; look at the dataset service's logs (`{}`)",
            out.stdout.trim(),
            cx.commands.dataset_service_logs()
        )));
    }
    cx.facts.workflows_recovered = true;
    cx.checkpoint()?;
    cx.note("checked: the recover call answered {\"message\":\"success\"}")
}
