//! The notifications of a run (`run --notify URL`): a JSON object POSTed through curl, the body
//! on standard input (never in the argv), limited to ten seconds. Not the runbook's commands:
//! the tool's own calls to the people around a run (SPEC section 8).

use crate::names::WebhookUrl;
use crate::process::{Cmd, Tool};

/// curl's limit for one notification: a webhook that hangs delays the run by this at most.
pub const NOTIFY_LIMIT_SECONDS: u32 = 10;

/// `curl … --data-binary @- URL`: POSTs the body read from standard input and prints only the
/// HTTP status (`-w`), the answer's body discarded.
pub fn notification(url: &WebhookUrl, body: Vec<u8>) -> Cmd {
    Cmd::changes(Tool::Curl)
        .args([
            "-sS".to_string(),
            "--max-time".into(),
            NOTIFY_LIMIT_SECONDS.to_string(),
            "-X".into(),
            "POST".into(),
            "-H".into(),
            "Content-Type: application/json".into(),
            "--data-binary".into(),
            "@-".into(),
            "-o".into(),
            "/dev/null".into(),
            "-w".into(),
            "%{http_code}".into(),
            url.whole().to_string(),
        ])
        .stdin_bytes(body)
}
