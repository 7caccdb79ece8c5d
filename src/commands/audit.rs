//! `audit TRANSCRIPT`: the log held against the runbook; exit 4 on deviations.

use crate::audit;
use crate::cli::{AuditArgs, OutputFormat};
use crate::error::{Result, exit};

pub fn audit(output: OutputFormat, args: &AuditArgs) -> Result<i32> {
    let report = audit::audit(&args.transcript)?;
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
