//! Four eyes in the live run (`run --approvers FILE`, SPEC section 8): the approval request is
//! written to `RUN_DIR/approvals/<gate>.json` (the run, the gate, exactly what was shown, the
//! chain's hash at that point), and the run waits, as in any wait (a live line, `--timeout`,
//! resumable), until `<gate>.json.sig` verifies with `ssh-keygen -Y verify -n
//! arthur-restore-approval` for a principal of FILE whose key is not the run's own
//! (`--sign-key`). Any other signature is refused, recorded, and waited past. `--yes` never
//! answers an approval.

use std::time::{Duration, Instant};

use serde_json::json;

use super::LiveExecutor;
use super::notify::Message;
use crate::error::{Error, Result};
use crate::names::Principal;
use crate::record::Event;
use crate::restore::executor::ApprovalRequest;
use crate::runbook::signing::{find_principals, fingerprint_in, key_fingerprint, verify_approval};
use crate::units::format_duration;

/// The request's text: what the approver signs. The chain's hash says where in the record it
/// was asked; a request that shows the same (a resumed run reaching the gate again) is kept
/// as it was, so that an approval given meanwhile counts.
fn request_text(run: &str, request: &ApprovalRequest, chain: &str) -> String {
    let value = json!({
        "run": run,
        "gate": request.gate,
        "shown": request.shown,
        "chain": chain,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).unwrap_or_default()
    )
}

/// Whether a request on disk asks the same as this one (its chain hash aside).
fn same_request(text: &str, run: &str, request: &ApprovalRequest) -> bool {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return false;
    };
    value["run"] == run && value["gate"] == request.gate && value["shown"] == json!(request.shown)
}

impl LiveExecutor {
    /// The request on disk: the one there when it asks the same (a resumed run), else new.
    fn write_request(
        &mut self,
        run: &str,
        name: &str,
        request: &ApprovalRequest,
    ) -> Result<String> {
        let kept = self
            .record
            .dir()
            .read_approval(name)?
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .filter(|text| same_request(text, run, request));
        if let Some(text) = kept {
            return Ok(text);
        }
        let text = request_text(run, request, &self.record.last_hash());
        self.record.dir().write_approval(name, &text)?;
        Ok(text)
    }

    pub(super) fn wait_for_approval(&mut self, request: &ApprovalRequest) -> Result<()> {
        let run = self.record.dir().path().display().to_string();
        let name = format!("{}.json", request.gate);
        let text = self.write_request(&run, &name, request)?;
        let path = self.record.dir().approval_path(&name);
        let signature_name = format!("{name}.sig");
        let signature = self.record.dir().approval_path(&signature_name);
        let timeout = self.timing.timeout;
        self.comment(&format!(
            "four eyes: the {} gate needs the approval of one of the approvers in {}:\n{}\nto approve: arthur-restore approve {run} --sign-key KEY (it writes {}; a signature carried here from another host counts too); waiting up to {}",
            request.gate,
            request.approvers,
            request.shown.join("\n"),
            signature.display(),
            format_duration(timeout)
        ))?;
        self.event(Event::ApprovalRequested {
            gate: request.gate.into(),
            request_sha256: crate::record::events::sha256_hex(text.as_bytes()),
        })?;
        self.notify(Message {
            event: "needs-a-person",
            text: format!(
                "arthur-restore needs an approval: the {} gate of the run in {run} (arthur-restore approve {run} --sign-key KEY)",
                request.gate
            ),
            status: "waiting",
            final_hash: None,
        })?;
        let own = self.own_fingerprint()?;
        let started = Instant::now();
        let line = self.screen.live_line();
        let mut seen: Option<Vec<u8>> = None;
        loop {
            if let Err(error) = self.runner.interrupt().check() {
                line.clear();
                return Err(error);
            }
            let current = self.record.dir().read_approval(&signature_name)?;
            if current.is_some() && current != seen {
                seen = current;
                line.clear();
                match self.check_approval(request, &path, &signature, own.as_deref())? {
                    Ok((principal, fingerprint)) => {
                        self.comment(&format!(
                            "approved: the {} gate, by {principal} (key {fingerprint})",
                            request.gate
                        ))?;
                        return self.event(Event::Approved {
                            gate: request.gate.into(),
                            principal: principal.to_string(),
                            fingerprint,
                        });
                    }
                    Err(why) => {
                        self.comment(&format!(
                            "WARNING: an approval of the {} gate was refused, still waiting: {why}",
                            request.gate
                        ))?;
                        self.event(Event::ApprovalRefused {
                            gate: request.gate.into(),
                            why,
                        })?;
                    }
                }
            }
            if started.elapsed() >= timeout {
                line.clear();
                return Err(Error::Timeout {
                    what: format!("the approval of the {} gate", request.gate),
                    probe: signature.display().to_string(),
                    waited: format_duration(timeout),
                    still: format!(
                        "  no approval verified; resume to go on waiting (arthur-restore run --resume {run})"
                    ),
                });
            }
            line.show(
                &format!(
                    "{} of {}",
                    format_duration(Duration::from_secs(started.elapsed().as_secs().max(1))),
                    format_duration(timeout)
                ),
                &format!("waiting for the approval of the {} gate", request.gate),
            );
            self.runner
                .interrupt()
                .sleep(self.timing.poll_interval.min(Duration::from_secs(1)))
                .inspect_err(|_| line.clear())?;
        }
    }

    /// The fingerprint of the run's own key (`--sign-key`), which may not approve. Without one
    /// the run cannot tell the operator's key from an approver's: it says so.
    fn own_fingerprint(&mut self) -> Result<Option<String>> {
        let Some(key) = self.sign_key.clone() else {
            self.comment("WARNING: no --sign-key: the run cannot tell the operator's own key from an approver's; give --sign-key so that the operator cannot approve their own run")?;
            return Ok(None);
        };
        self.runner.add_tool(crate::process::Tool::SshKeygen)?;
        let out = self.execute(&key_fingerprint(&key))?;
        Ok(fingerprint_in(&out.stdout))
    }

    /// The signer of a signature found, or why it does not count.
    fn check_approval(
        &mut self,
        request: &ApprovalRequest,
        path: &std::path::Path,
        signature: &std::path::Path,
        own: Option<&str>,
    ) -> Result<std::result::Result<(Principal, String), String>> {
        let find = find_principals(&request.approvers, signature);
        let found = self.execute(&find)?;
        let principal = found.stdout.lines().map(str::trim).find(|l| !l.is_empty());
        let Some(principal) = principal.filter(|_| found.success()) else {
            return Ok(Err(format!(
                "it is signed by a key that is not among the approvers in {}",
                request.approvers
            )));
        };
        let Ok(principal) = Principal::new(principal) else {
            return Ok(Err(format!(
                "`{find}` named a signer that may not go into a command"
            )));
        };
        let verify = verify_approval(&request.approvers, &principal, signature, path);
        let verified = self.execute(&verify)?;
        if !verified.success() {
            return Ok(Err(format!(
                "the signature of {principal} does not verify for this request: it was made for another request (another run or gate, or an earlier list), or the request was edited after it was signed"
            )));
        }
        let said = format!("{}\n{}", verified.stdout, verified.stderr);
        let fingerprint = fingerprint_in(&said).unwrap_or_else(|| "unknown".into());
        if own.is_some_and(|own| own == fingerprint) {
            return Ok(Err(format!(
                "it is signed with the run's own key (--sign-key, {fingerprint}): the operator cannot approve their own run"
            )));
        }
        Ok(Ok((principal, fingerprint)))
    }
}
