//! The signatures of a run's event log (`run --sign-key`, `audit --allowed-signers`): the
//! ssh-keygen commands, built from checked values like every other argv. Not the runbook's
//! commands: the tool's own evidence.

use std::path::Path;

use super::commands::path_text;
use crate::names::CliPath;
use crate::process::{Cmd, Tool};

/// The namespace of the tool's signatures (`ssh-keygen -Y … -n`): a signature made for another
/// purpose does not verify as one of a run's event log.
pub const SIGNATURE_NAMESPACE: &str = "arthur-restore";

/// `ssh-keygen -Y sign`: signs the event log with the operator's key, writing `FILE.sig`. The log
/// is named by its absolute path, so that it can never be read as an option.
pub fn sign_events(key: &CliPath, events: &Path) -> Cmd {
    let events = std::path::absolute(events).unwrap_or_else(|_| events.to_path_buf());
    Cmd::changes(Tool::SshKeygen).args([
        "-Y".to_string(),
        "sign".into(),
        "-f".into(),
        key.to_string(),
        "-n".into(),
        SIGNATURE_NAMESPACE.into(),
        path_text(&events),
    ])
}

/// `ssh-keygen -Y find-principals`: who, among the allowed signers, made the signature.
pub fn find_principals(allowed: &CliPath, signature: &Path) -> Cmd {
    Cmd::reads(Tool::SshKeygen).args([
        "-Y".to_string(),
        "find-principals".into(),
        "-s".into(),
        path_text(signature),
        "-f".into(),
        allowed.to_string(),
    ])
}

/// `ssh-keygen -Y verify`: the signature is the principal's, in the tool's namespace, over the
/// event log (read on standard input).
pub fn verify_signature(
    allowed: &CliPath,
    principal: &crate::names::Principal,
    signature: &Path,
    events: &Path,
) -> Cmd {
    Cmd::reads(Tool::SshKeygen)
        .args([
            "-Y".to_string(),
            "verify".into(),
            "-f".into(),
            allowed.to_string(),
            "-I".into(),
            principal.to_string(),
            "-n".into(),
            SIGNATURE_NAMESPACE.into(),
            "-s".into(),
            path_text(signature),
        ])
        .stdin_from(events)
}
