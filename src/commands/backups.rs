//! `backups`: the restore points found in the cluster, newest first.

use serde_json::json;

use crate::cli::{BackupsArgs, GlobalArgs, OutputFormat, settings};
use crate::error::{Error, Result, exit};
use crate::process::{Interrupt, Runner, Tool};
use crate::restore::ReadOnlyExecutor;
use crate::restore::discovery::{discover, now};
use crate::restore_point::{self, RestorePoint};

pub fn backups(global: &GlobalArgs, args: &BackupsArgs) -> Result<i32> {
    let namespace = match (&global.namespace, &args.point.clickhouse_s3_uri) {
        (Some(ns), _) => ns.clone(),
        // Only the S3 listing is read: no command names the Arthur namespace.
        (None, Some(_)) => crate::names::Namespace::shown("<no namespace>"),
        (None, None) => {
            return Err(Error::usage(
                "the ClickHouse backups are listed in the Arthur namespace: give -n/--namespace NS before the command (or --clickhouse-s3-uri URI)",
            ));
        }
    };
    let at = args
        .point
        .at
        .as_deref()
        .map(crate::names::at_time)
        .transpose()
        .map_err(Error::usage)?;
    let commands = settings::commands(
        global,
        namespace,
        global.velero_namespace.clone(),
        args.point.clickhouse_pod.clone(),
    );
    // Only what discovery runs: velero, aws (RDS snapshots, S3) and kubectl (clickhouse-backup).
    let runner = Runner::locating(
        &[Tool::Kubectl, Tool::Velero, Tool::Aws],
        args.command_timeout,
        Interrupt::never(),
    )
    .map_err(|e| Error::refused(e.to_string()))?;
    let mut exec = ReadOnlyExecutor::reading(std::time::Duration::from_secs(1), runner);
    let source = args.rds_source.clone().or_else(|| args.rds_like.clone());
    let inventory = discover(
        &mut exec,
        &commands,
        args.point.clickhouse_s3_uri.as_ref(),
        true,
        source.as_ref(),
    )?
    .ok_or_else(|| Error::StepFailed("the listings did not run".into()))?;
    let (points, unplaced) = restore_point::restore_points(&inventory, now());
    let chosen = restore_point::choose(&points, at).map(|p| p.time);
    match global.output {
        OutputFormat::Json => {
            let value = json!({
                "restore_points": points,
                "chosen": chosen,
                "at": at,
                "rules": {
                    "velero_run_window_seconds": restore_point::VELERO_RUN_WINDOW.as_secs(),
                    "rds_limit_seconds": restore_point::RDS_LIMIT.as_secs(),
                    "clickhouse_limit_seconds": restore_point::CLICKHOUSE_LIMIT.as_secs(),
                },
                "not_in_any_restore_point": unplaced,
            });
            super::print_json(&value)?;
        }
        OutputFormat::Text => super::print(&table(&points, chosen, at, source.is_some()))?,
    }
    Ok(exit::SUCCESS)
}

fn table(
    points: &[RestorePoint],
    chosen: Option<jiff::Timestamp>,
    at: Option<jiff::Timestamp>,
    with_rds: bool,
) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        [
            "",
            "TIME (UTC)",
            "COMPLETE",
            "MESSAGING",
            "ENRICHMENTS",
            "WORKFLOWS",
            "CLICKHOUSE",
            "RDS SNAPSHOT",
            "REASON",
        ]
        .map(String::from)
        .to_vec(),
    ];
    for point in points {
        let name = |b: Option<&restore_point::DatedBackup>| {
            b.map(|b| b.name.clone()).unwrap_or_else(|| "-".into())
        };
        rows.push(vec![
            if Some(point.time) == chosen {
                "*".into()
            } else {
                String::new()
            },
            point.time.strftime("%Y-%m-%d %H:%M:%S").to_string(),
            if point.complete {
                "yes".into()
            } else {
                "no".into()
            },
            name(point.messaging.as_ref()),
            name(point.enrichments.as_ref()),
            name(point.workflows.as_ref()),
            point
                .clickhouse
                .as_ref()
                .map(|c| c.name.clone())
                .unwrap_or_else(|| "-".into()),
            point
                .rds_snapshot
                .as_ref()
                .map(|s| s.name.clone())
                .unwrap_or_else(|| {
                    if with_rds {
                        "-".into()
                    } else {
                        "(not looked up)".into()
                    }
                }),
            point.reasons.join("; "),
        ]);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in &rows {
        let line: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i + 1 == row.len() {
                    cell.clone()
                } else {
                    format!("{cell:<width$}", width = widths[i])
                }
            })
            .collect();
        text.push_str(line.join("   ").trim_end());
        text.push('\n');
    }
    if points.is_empty() {
        text = "no Velero backups of Arthur found\n".into();
    }
    text.push_str(&match (chosen, at) {
        (Some(time), Some(at)) => format!("\n* the newest complete restore point at or before {at}: {time}\n"),
        (Some(time), None) => format!("\n* the newest complete restore point: {time} (plan and run use it when no backup is named)\n"),
        (None, Some(at)) => format!("\nno complete restore point at or before {at}\n"),
        (None, None) => "\nno complete restore point\n".into(),
    });
    text.push_str(&format!(
        "rules: a Velero run is one backup of each component starting within {}m; the RDS snapshot nearest to it within {}m and the ClickHouse backup nearest to it within {}h coincide\n",
        restore_point::VELERO_RUN_WINDOW.as_secs() / 60,
        restore_point::RDS_LIMIT.as_secs() / 60,
        restore_point::CLICKHOUSE_LIMIT.as_secs() / 3600
    ));
    text
}
