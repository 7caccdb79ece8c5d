//! `backups`: the restore points found in the cluster, newest first.

use crate::cli::{BackupsArgs, GlobalArgs, OutputFormat, settings};
use crate::error::{Error, Result, exit};
use crate::freshness;
use crate::process::{Interrupt, Runner, Tool};
use crate::restore::ReadOnlyExecutor;
use crate::restore::inventory::{discover, now};
use crate::restore_point::{self, RestorePoint};

pub fn backups(global: &GlobalArgs, args: &BackupsArgs) -> Result<i32> {
    let namespace = match (&global.namespace, &args.point.clickhouse_s3_uri) {
        (Some(ns), _) => ns.clone(),
        // Only the S3 listing is read: no command names the Arthur namespace.
        (None, Some(_)) => crate::names::Namespace::placeholder("<no namespace>"),
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
        .map(crate::units::at_time)
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
    // A missing CLI is exit 3 here too (with --check as well): nothing was listed.
    ?;
    let runner = runner.with_max_output(args.max_output);
    let mut exec = ReadOnlyExecutor::answering(std::time::Duration::from_secs(1), runner);
    let source = args.rds_source.clone().or_else(|| args.rds_like.clone());
    let inventory = discover(
        &mut exec,
        &commands,
        args.point.clickhouse_s3_uri.as_ref(),
        true,
        source.as_ref(),
    )
    .map_err(|e| for_cron(args.check, e))?
    .ok_or_else(|| Error::StepFailed("the listings did not run".into()))?;
    let now = now();
    let (points, unplaced) = restore_point::restore_points(&inventory, now);
    if args.check || args.textfile.is_some() {
        let max_age = jiff::SignedDuration::try_from(args.max_age)
            .map_err(|e| Error::usage(format!("--max-age: {e}")))?;
        let freshness = freshness::assess(&points, now, max_age);
        if let Some(path) = &args.textfile {
            crate::textfile::write(
                path,
                &freshness::textfile(&freshness, &points, &inventory, now),
            )?;
        }
        if args.check {
            match global.output {
                OutputFormat::Json => super::print_json(&freshness)?,
                OutputFormat::Text => super::print(&freshness.render())?,
            }
            return Ok(freshness.exit_code());
        }
    }
    let chosen = restore_point::choose(&points, at).map(|p| p.time);
    match global.output {
        OutputFormat::Json => print_points(&points, chosen, at, &unplaced)?,
        OutputFormat::Text => {
            super::print(&table(&points, chosen, at, source.is_some(), args.wide))?
        }
    }
    Ok(exit::SUCCESS)
}

fn table(
    points: &[RestorePoint],
    chosen: Option<jiff::Timestamp>,
    at: Option<jiff::Timestamp>,
    with_rds: bool,
    wide: bool,
) -> String {
    // The RDS column when no source instance was given.
    let not_looked_up = if wide { "(not looked up)" } else { "?" };
    let mut rows: Vec<Vec<String>> = vec![
        [
            "",
            "TIME (UTC)",
            "COMPLETE",
            "MESSAGING",
            "ENRICHMENTS",
            "WORKFLOWS",
            "CLICKHOUSE",
            if wide { "RDS SNAPSHOT" } else { "RDS" },
            if wide || points.iter().any(|p| !p.reasons.is_empty()) {
                "REASON"
            } else {
                ""
            },
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
                        not_looked_up.into()
                    }
                }),
            restore_point::joined(&point.reasons),
        ]);
    }
    let legend = if wide {
        Vec::new()
    } else {
        shorten_names(&mut rows)
    };
    let mut text = aligned(&rows, if wide { "   " } else { "  " });
    if points.is_empty() {
        text = "no Velero backups of Arthur found\n".into();
    } else if !legend.is_empty() {
        text.push_str(&format!(
            "\nnames shortened to what differs (… stands for the common part; --wide shows them whole):\n{}",
            legend.join("")
        ));
    }
    if !with_rds && !points.is_empty() {
        text.push_str(&format!(
            "{not_looked_up}: RDS snapshots were not looked up (give --rds-source ID, the instance they are taken of)\n"
        ));
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

/// The rows as columns, each as wide as its widest cell (the last one left ragged).
fn aligned(rows: &[Vec<String>], gap: &str) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut text = String::new();
    for row in rows {
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
        text.push_str(line.join(gap).trim_end());
        text.push('\n');
    }
    text
}

/// The columns of backup names (messaging, enrichments, workflows, ClickHouse, RDS snapshot).
const NAME_COLUMNS: std::ops::Range<usize> = 3..8;

/// Shortens each column of names to the part that differs from row to row: what all its names
/// share at the start and at the end (cut at a `-` or `.`) becomes `…`. A column with fewer than
/// two distinct names is left whole. Returns one legend line per shortened column.
fn shorten_names(rows: &mut [Vec<String>]) -> Vec<String> {
    let mut legend = Vec::new();
    for column in NAME_COLUMNS {
        let names: Vec<&str> = rows[1..]
            .iter()
            .map(|r| r[column].as_str())
            .filter(|n| *n != "-" && !n.starts_with('('))
            .collect();
        let mut distinct = names.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() < 2 {
            continue;
        }
        let (head, tail) = common_ends(&distinct);
        if head.is_empty() && tail.is_empty() {
            continue;
        }
        legend.push(format!(
            "  {:<12} {}{}{}\n",
            rows[0][column], head, "…", tail
        ));
        for row in rows[1..].iter_mut() {
            let name = &row[column];
            if name == "-" || name.starts_with('(') {
                continue;
            }
            let middle = &name[head.len()..name.len() - tail.len()];
            row[column] = format!(
                "{}{middle}{}",
                if head.is_empty() { "" } else { "…" },
                if tail.is_empty() { "" } else { "…" }
            );
        }
    }
    legend
}

/// The longest start and end all names share, each ending (or starting) at a separator, and
/// never overlapping in the shortest name. Bytes: names of backups are ASCII (`crate::names`).
fn common_ends(names: &[&str]) -> (String, String) {
    let first = names[0].as_bytes();
    let shortest = names.iter().map(|n| n.len()).min().unwrap_or(0);
    let is_separator = |b: &u8| *b == b'-' || *b == b'.';
    let shared = (0..shortest)
        .take_while(|&i| names.iter().all(|n| n.as_bytes()[i] == first[i]))
        .count();
    // Cut after the last separator inside the shared start.
    let head = first[..shared]
        .iter()
        .rposition(is_separator)
        .map_or(0, |i| i + 1);
    let shared_end = (1..=shortest - head)
        .take_while(|&k| {
            names
                .iter()
                .all(|n| n.as_bytes()[n.len() - k] == first[first.len() - k])
        })
        .count();
    // Cut before the first separator inside the shared end after which no digit comes: the
    // time a name carries is kept whole, only the component's words go.
    let end = &first[first.len() - shared_end..];
    let tail = end
        .iter()
        .enumerate()
        .find(|(i, b)| is_separator(b) && !end[*i..].iter().any(u8::is_ascii_digit))
        .map_or(0, |(i, _)| shared_end - i);
    if head + tail >= shortest {
        return (String::new(), String::new());
    }
    (
        names[0][..head].to_string(),
        names[0][names[0].len() - tail..].to_string(),
    )
}

/// For cron (`--check`), a listing that could not run or be used is a failed listing (exit 1),
/// not a refusal.
fn for_cron(check: bool, error: Error) -> Error {
    match error {
        Error::Refused(reason) if check => Error::StepFailed(format!("backups --check: {reason}")),
        other => other,
    }
}

/// `-o json`: serialized from the points themselves (no intermediate JSON tree of them).
fn print_points(
    points: &[RestorePoint],
    chosen: Option<jiff::Timestamp>,
    at: Option<jiff::Timestamp>,
    unplaced: &[restore_point::Unplaced],
) -> Result<()> {
    #[derive(serde::Serialize)]
    struct Rules {
        velero_run_window_seconds: i64,
        rds_limit_seconds: i64,
        clickhouse_limit_seconds: i64,
    }
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        restore_points: &'a [RestorePoint],
        chosen: Option<jiff::Timestamp>,
        at: Option<jiff::Timestamp>,
        rules: Rules,
        not_in_any_restore_point: &'a [restore_point::Unplaced],
    }
    super::print_json(&Answer {
        restore_points: points,
        chosen,
        at,
        rules: Rules {
            velero_run_window_seconds: restore_point::VELERO_RUN_WINDOW.as_secs(),
            rds_limit_seconds: restore_point::RDS_LIMIT.as_secs(),
            clickhouse_limit_seconds: restore_point::CLICKHOUSE_LIMIT.as_secs(),
        },
        not_in_any_restore_point: unplaced,
    })
}
