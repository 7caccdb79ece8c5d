//! `audit TRANSCRIPT`: the log held against the runbook; with `--expect`, against the final hash
//! the run printed; with `--allowed-signers`, its signature checked with ssh-keygen. Exit 4 on
//! deviations.

use std::path::Path;
use std::time::Duration;

use crate::audit::{self, AuditFinding, FindingKind, Report};
use crate::cli::{AuditArgs, OutputFormat};
use crate::error::{Error, Result, exit};
use crate::names::{CliPath, Principal};
use crate::process::{Interrupt, Runner, Tool, escape_controls};
use crate::record::{EVENTS_FILE, RunDir};
use crate::runbook::signing::{find_principals, verify_approval, verify_signature};

pub fn audit(output: OutputFormat, args: &AuditArgs) -> Result<i32> {
    // `audit RUN_DIR` audits the transcript in it, as `verify --run-dir` reads its state.
    let transcript = if args.transcript.is_dir() {
        args.transcript.join(crate::record::TRANSCRIPT_FILE)
    } else {
        args.transcript.clone()
    };
    if let Some(html) = &args.html {
        refuse_evidence_as_page(html, &transcript)?;
    }
    let mut audited = audit::audit(&transcript, args.expect.as_deref())?;
    if let Some(allowed) = &args.allowed_signers {
        check_signature(&mut audited.report, &transcript, allowed)?;
    }
    if let Some(approvers) = &args.approvers {
        check_approvals(&mut audited.report, &transcript, approvers)?;
    }
    if let Some(html) = &args.html {
        write_page(&audited, html)?;
    }
    let report = audited.report;
    match output {
        OutputFormat::Text => super::print(&audit::render(&report))?,
        OutputFormat::Json => super::print_json(&report)?,
    }
    Ok(if report.conforms {
        exit::SUCCESS
    } else {
        exit::UNHEALTHY
    })
}

/// `--html` never writes into the run directory, nor over the audited log or any file that
/// exists there (SPEC section 3): the page must not replace the evidence it reports on.
fn refuse_evidence_as_page(html: &Path, transcript: &Path) -> Result<()> {
    let real = |path: &Path| std::fs::canonicalize(path).ok();
    let folder_of = |path: &Path| {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        real(parent.unwrap_or(Path::new(".")))
    };
    let run_dir = folder_of(transcript);
    let page_dir = folder_of(html);
    let same_file = real(html).is_some() && real(html) == real(transcript);
    let in_run_dir = run_dir.is_some() && page_dir == run_dir;
    let evidence = html.file_name().is_some_and(|name| {
        [
            crate::record::TRANSCRIPT_FILE,
            EVENTS_FILE,
            crate::record::STATE_FILE,
        ]
        .iter()
        .any(|e| name == *e)
    }) && html.exists();
    if same_file || in_run_dir || evidence {
        return Err(Error::usage(format!(
            "--html {}: the page would be written over the evidence or into the run directory {}; write it elsewhere (e.g. --html ./audit-report.html)",
            html.display(),
            run_dir.as_deref().unwrap_or(Path::new(".")).display()
        )));
    }
    Ok(())
}

/// Writes the report as an HTML page, from the log and the events beside it.
fn write_page(audited: &audit::Audited, html: &Path) -> Result<()> {
    let page = audit::page(&audit::Evidence {
        report: &audited.report,
        log_text: &audited.log_text,
        events_text: audited.events_text.as_deref(),
    });
    std::fs::write(html, page).map_err(|e| {
        Error::usage(format!(
            "--html {}: cannot write the page: {e}",
            html.display()
        ))
    })?;
    crate::record::redact::err(&format!(
        "audit: HTML report written to {}\n",
        html.display()
    ));
    Ok(())
}

/// `--approvers`: each approval the run recorded is checked again, its signed request against
/// the allowed signers, for the approver recorded.
fn check_approvals(report: &mut Report, transcript: &Path, approvers: &CliPath) -> Result<()> {
    let Some(dir) = RunDir::of_transcript(transcript) else {
        return Ok(());
    };
    let mut runner = Runner::locating(
        &[Tool::SshKeygen],
        Duration::from_secs(60),
        Interrupt::never(),
    )?;
    let mut findings = Vec::new();
    for approval in &mut report.approvals {
        let request = dir.approval_path(&format!("{}.json", approval.gate));
        let signature = dir.approval_path(&format!("{}.json.sig", approval.gate));
        let held = Principal::new(&approval.principal).is_ok_and(|principal| {
            let found = runner.run(&find_principals(approvers, &signature));
            let named = found.is_ok_and(|out| {
                out.output.success()
                    && out
                        .output
                        .stdout
                        .lines()
                        .any(|l| l.trim() == approval.principal)
            });
            named
                && runner
                    .run(&verify_approval(
                        approvers, &principal, &signature, &request,
                    ))
                    .is_ok_and(|out| out.output.success())
        });
        approval.verified = Some(held);
        if !held {
            findings.push(AuditFinding::nowhere(
                FindingKind::Tampered,
                format!(
                    "the approval of the {} gate by {} does not verify against {approvers} ({} with {}): the request or its signature was changed, or the approver is not in the file",
                    approval.gate,
                    approval.principal,
                    request.display(),
                    signature.display()
                ),
            ));
        }
    }
    for finding in findings {
        report.add(finding);
    }
    Ok(())
}

/// Checks events.jsonl.sig with ssh-keygen: who signed it among the allowed signers, and that the
/// signature is over events.jsonl as it is.
fn check_signature(report: &mut Report, transcript: &Path, allowed: &CliPath) -> Result<()> {
    let tampered = |message: String| AuditFinding::nowhere(FindingKind::Tampered, message);
    let Some(dir) = RunDir::of_transcript(transcript) else {
        return Ok(());
    };
    let events = dir.events_path();
    let signature = dir.path().join(format!("{EVENTS_FILE}.sig"));
    if !signature.exists() {
        report.add(tampered(format!(
            "{} does not exist: the event log is not signed (run --sign-key)",
            signature.display()
        )));
        return Ok(());
    }
    let mut runner = Runner::locating(
        &[Tool::SshKeygen],
        Duration::from_secs(60),
        Interrupt::never(),
    )
    .map_err(|e| Error::usage(format!("--allowed-signers needs ssh-keygen: {e}")))?;
    let find = find_principals(allowed, &signature);
    let found = runner.run(&find)?.output;
    let principal = found.stdout.lines().map(str::trim).find(|l| !l.is_empty());
    let Some(principal) = principal.filter(|_| found.success()) else {
        report.add(tampered(format!(
            "the signature is by none of the allowed signers (`{find}`: {})",
            escape_controls(found.stderr.trim())
        )));
        return Ok(());
    };
    let principal = Principal::new(principal).map_err(|problem| {
        Error::refused(format!(
            "`{find}` named a signer that may not go into a command: {problem}"
        ))
    })?;
    let verify = verify_signature(allowed, &principal, &signature, &events);
    let verified = runner.run(&verify)?.output;
    if verified.success() {
        let said = [verified.stdout.trim(), verified.stderr.trim()]
            .into_iter()
            .find(|t| !t.is_empty())
            .unwrap_or("good signature");
        report.signature = Some(audit::Signature {
            signer: principal.to_string(),
            verified: true,
            said: escape_controls(said).into_owned(),
        });
        report.assurance = audit::ANCHORED.into();
    } else {
        report.add(tampered(format!(
            "the signature of {principal} does not match {} (`{verify}`: {}): it was changed after it was signed",
            events.display(),
            escape_controls(verified.stderr.trim())
        )));
    }
    Ok(())
}
