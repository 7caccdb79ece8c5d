//! Notifications of the live run (`--notify URL`, SPEC section 8): a JSON object POSTed through
//! curl when the run starts, whenever a person is needed, when a long wait ends, and when the run
//! ends. A notification that fails is recorded and the run goes on: curl's `--max-time` bounds
//! the delay. Only the URL's scheme and host reach any file or stream (`WebhookUrl`).
//!
//! Every notification but the last is recorded in the chained record (a `# ` note and a
//! `notified` event). The last carries the final hash, which seals the record: its outcome is
//! said on the screen and kept in `RUN_DIR/notified-at-the-end.txt`.

use std::time::Duration;

use serde_json::json;

use super::LiveExecutor;
use crate::error::Result;
use crate::names::WebhookUrl;
use crate::process::shell_quote;
use crate::record::Event;
use crate::runbook::StepId;
use crate::runbook::notify::notification;

/// What the run tells the people around it, and when.
#[derive(Debug, Clone, Default)]
pub struct Notify {
    pub urls: Vec<WebhookUrl>,
    /// A wait that lasted at least this long is told when it ends.
    pub after_wait: Duration,
}

/// What a notification is about.
pub(super) struct Message<'a> {
    pub event: &'a str,
    pub text: String,
    pub status: &'a str,
    pub final_hash: Option<&'a str>,
}

impl LiveExecutor {
    /// Tells every URL; the outcome of each, as the record keeps it.
    fn send(
        &mut self,
        message: &Message<'_>,
    ) -> Vec<(WebhookUrl, std::result::Result<String, String>)> {
        let step = self
            .sections
            .last()
            .and_then(|(title, _)| StepId::ALL.into_iter().find(|s| s.title() == title))
            .map(|s| s.id());
        let body = json!({
            "text": message.text,
            "event": message.event,
            "run_dir": self.record.dir().path().display().to_string(),
            "namespace": self.namespace,
            "cluster": self.cluster,
            "step": step,
            "status": message.status,
            "final_hash": message.final_hash,
        })
        .to_string();
        let body = crate::record::redact::redact(&body).into_bytes();
        let mut outcomes = Vec::new();
        for url in self.notify.urls.clone() {
            let cmd = notification(&url, body.clone());
            let outcome = match self.runner.run_regardless(&cmd) {
                Ok(out) if out.output.success() && out.output.stdout.trim().starts_with('2') => {
                    Ok(format!("HTTP {}", out.output.stdout.trim()))
                }
                Ok(out) => Err(format!(
                    "curl exited {}, HTTP status {}: {}",
                    out.output.status,
                    out.output.stdout.trim(),
                    out.output.stderr.trim()
                )),
                Err(error) => Err(error.to_string()),
            };
            // curl's words and the runner's may quote the URL: only its scheme and host are kept.
            let outcome = outcome.map_err(|said| {
                said.replace(shell_quote(url.whole()).as_ref(), &url.to_string())
                    .replace(url.whole(), &url.to_string())
            });
            outcomes.push((url, outcome));
        }
        outcomes
    }

    /// Tells every URL and records how each went (a note and a `notified` event); a failure is
    /// a warning, never the run's end.
    pub(super) fn notify(&mut self, message: Message<'_>) -> Result<()> {
        if self.notify.urls.is_empty() {
            return Ok(());
        }
        for (url, outcome) in self.send(&message) {
            let note = match &outcome {
                Ok(said) => format!("notified {url} ({}): {said}", message.event),
                Err(why) => format!(
                    "WARNING: notifying {url} ({}) failed, the run goes on: {why}",
                    message.event
                ),
            };
            self.comment(&note)?;
            self.event(Event::Notified {
                to: url.to_string(),
                about: message.event.to_string(),
                ok: outcome.is_ok(),
                said: outcome.unwrap_or_else(|why| why),
            })?;
        }
        Ok(())
    }

    /// The last notification, after the record is sealed by its final hash: its outcome goes to
    /// the screen (a failure as a warning) and to `notified-at-the-end.txt`.
    pub(super) fn notify_the_end(&mut self, message: Message<'_>) {
        if self.notify.urls.is_empty() {
            return;
        }
        let mut kept = String::new();
        for (url, outcome) in self.send(&message) {
            let line = match outcome {
                Ok(said) => format!("notified {url} ({}): {said}\n", message.event),
                Err(why) => {
                    let line = format!(
                        "WARNING: notifying {url} ({}) failed: {why}\n",
                        message.event
                    );
                    self.screen.say(&line);
                    line
                }
            };
            kept.push_str(&line);
        }
        let _ = self
            .record
            .dir()
            .write_artifact("notified-at-the-end.txt", &kept);
    }

    /// The notification of a person needed (a gate the operator answers), unless `--yes`
    /// answers it.
    pub(super) fn notify_person_needed(&mut self, question: &str) -> Result<()> {
        if self.yes {
            return Ok(());
        }
        self.notify(Message {
            event: "needs-a-person",
            text: format!("arthur-restore needs you: {question}"),
            status: "waiting",
            final_hash: None,
        })
    }
}
