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
    sign_in(SIGNATURE_NAMESPACE, key, events)
}

/// `ssh-keygen -Y sign -n NAMESPACE`, the file named by its absolute path.
fn sign_in(namespace: &str, key: &CliPath, file: &Path) -> Cmd {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    Cmd::changes(Tool::SshKeygen).args([
        "-Y".to_string(),
        "sign".into(),
        "-f".into(),
        key.to_string(),
        "-n".into(),
        namespace.into(),
        path_text(&file),
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

/// The namespace of an approval's signature (`run --approvers`, `approve`): a signature of the
/// event log, or of anything else, never counts as an approval.
pub const APPROVAL_NAMESPACE: &str = "arthur-restore-approval";

/// `ssh-keygen -Y verify`: the signature is the principal's, in the tool's namespace, over the
/// event log (read on standard input).
pub fn verify_signature(
    allowed: &CliPath,
    principal: &crate::names::Principal,
    signature: &Path,
    events: &Path,
) -> Cmd {
    verify_in(SIGNATURE_NAMESPACE, allowed, principal, signature, events)
}

/// `ssh-keygen -Y verify` of an approval: the principal's signature over the request.
pub fn verify_approval(
    approvers: &CliPath,
    principal: &crate::names::Principal,
    signature: &Path,
    request: &Path,
) -> Cmd {
    verify_in(APPROVAL_NAMESPACE, approvers, principal, signature, request)
}

/// `ssh-keygen -Y sign` of an approval request with the approver's key, writing `REQUEST.sig`.
pub fn sign_approval(key: &CliPath, request: &Path) -> Cmd {
    sign_in(APPROVAL_NAMESPACE, key, request)
}

/// `ssh-keygen -l -f KEY`: the key's fingerprint (`256 SHA256:… comment (ED25519)`).
pub fn key_fingerprint(key: &CliPath) -> Cmd {
    Cmd::reads(Tool::SshKeygen).args(["-l".to_string(), "-f".into(), key.to_string()])
}

fn verify_in(
    namespace: &str,
    allowed: &CliPath,
    principal: &crate::names::Principal,
    signature: &Path,
    signed: &Path,
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
            namespace.into(),
            "-s".into(),
            path_text(signature),
        ])
        .stdin_from(signed)
}

/// The fingerprint in ssh-keygen's words (`… key SHA256:abc…`, `256 SHA256:abc… comment`).
pub fn fingerprint_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|word| word.starts_with("SHA256:"))
        .map(|word| word.trim_end_matches([',', '.']).to_string())
}
