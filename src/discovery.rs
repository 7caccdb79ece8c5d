//! Discovery: the listings restore points are made of, read through the executor (so that they
//! appear in the transcript), and the choice of backups for a plan or a run.

use jiff::Timestamp;

use crate::error::{Error, Result};
use crate::executor::{Confirmation, Executor};
use crate::options::RestoreOptions;
use crate::parse::{clickhouse, rds, velero};
use crate::restore_point::{self, Inventory, RestorePoint};
use crate::runbook::{Commands, StepId, VeleroComponent};

/// The section title of the restore-point choice.
pub const RESTORE_POINT_TITLE: &str =
    "Restore point (arthur-restore: which backups belong together)";

/// "Now", for expiry: the clock, or ARTHUR_RESTORE_NOW (RFC 3339) to judge a recorded listing
/// as of the day it was recorded.
pub fn now() -> Timestamp {
    std::env::var("ARTHUR_RESTORE_NOW")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(Timestamp::now)
}

/// Lists the ClickHouse backups of every node: `clickhouse-backup list` in the pod, or `aws s3 ls`
/// of the bucket. `aws s3 ls` of a prefix that holds nothing exits 1 with no output at all: that
/// is an empty listing, not a failure. `None` when the executor runs nothing.
pub fn clickhouse_backups(
    exec: &mut dyn Executor,
    commands: &Commands,
    s3_uri: Option<&str>,
) -> Result<Option<(crate::cmd::Cmd, Vec<clickhouse::ClickhouseBackup>)>> {
    let cmd = match s3_uri {
        Some(uri) => commands.s3_list(uri),
        None => commands.clickhouse_backup_list(),
    };
    let Some(out) = exec.probe(&cmd)? else {
        return Ok(None);
    };
    let empty_prefix = s3_uri.is_some()
        && out.status == 1
        && out.stdout.trim().is_empty()
        && out.stderr.trim().is_empty();
    if empty_prefix {
        return Ok(Some((cmd, Vec::new())));
    }
    if !out.success() {
        return Err(Error::command_failed(&cmd, &out));
    }
    let parsed = match s3_uri {
        Some(_) => clickhouse::parse_s3_listing(&out.stdout),
        None => clickhouse::parse_list(&out.stdout),
    };
    let backups = parsed.map_err(|e| e.for_command(&cmd))?;
    Ok(Some((cmd, backups)))
}

/// Reads the Velero backups, the ClickHouse backups and (with a source) the RDS snapshots.
/// `None` when the executor runs nothing.
pub fn discover(
    exec: &mut dyn Executor,
    commands: &Commands,
    clickhouse_s3_uri: Option<&str>,
    with_clickhouse: bool,
    rds_source: Option<&str>,
) -> Result<Option<Inventory>> {
    let cmd = commands.velero_backups_json();
    let Some(out) = exec.read(&cmd)? else {
        return Ok(None);
    };
    let velero = velero::backups(&out.stdout).map_err(|e| e.for_command(&cmd))?;
    let clickhouse = if with_clickhouse {
        match clickhouse_backups(exec, commands, clickhouse_s3_uri)? {
            Some((_, backups)) => backups,
            None => return Ok(None),
        }
    } else {
        Vec::new()
    };
    let snapshots = match rds_source {
        Some(source) => {
            let cmd = commands.describe_db_snapshots_of(source);
            let Some(out) = exec.read(&cmd)? else {
                return Ok(None);
            };
            Some(rds::snapshots(&out.stdout).map_err(|e| e.for_command(&cmd))?)
        }
        None => None,
    };
    Ok(Some(Inventory {
        velero,
        clickhouse,
        snapshots,
    }))
}

/// `+4h37m`, `-44s`: how far a backup is from the Velero run.
pub fn gap(seconds: i64) -> String {
    let sign = if seconds < 0 { '-' } else { '+' };
    let s = seconds.unsigned_abs();
    match s {
        0..60 => format!("{sign}{s}s"),
        60..3600 => format!("{sign}{}m{}s", s / 60, s % 60),
        _ => format!("{sign}{}h{}m", s / 3600, (s % 3600) / 60),
    }
}

pub fn describe(point: &RestorePoint) -> String {
    let name = |b: Option<&restore_point::DatedBackup>| {
        b.map(|b| b.name.clone()).unwrap_or_else(|| "-".into())
    };
    let mut text = format!(
        "restore point {} (Velero backups spread over {}):\n  messaging    {}\n  enrichments  {}\n  workflows    {}",
        point.time,
        gap(point.spread_seconds).trim_start_matches('+'),
        name(point.messaging.as_ref()),
        name(point.enrichments.as_ref()),
        name(point.workflows.as_ref()),
    );
    if let Some(c) = &point.clickhouse {
        text.push_str(&format!(
            "\n  clickhouse   {} ({})",
            c.name,
            gap(c.gap_seconds)
        ));
    }
    if let Some(s) = &point.rds_snapshot {
        text.push_str(&format!(
            "\n  rds snapshot {} ({})",
            s.name,
            gap(s.gap_seconds)
        ));
    }
    text
}

/// Fills in the backup names a plan or run lacks from the newest complete restore point (or the
/// one at or before --at), and checks explicit names against discovery: an explicit name that
/// discovery does not find, or names from different backup operations, are refused (exit 3)
/// unless --allow-mixed.
pub fn resolve(
    options: &mut RestoreOptions,
    exec: &mut dyn Executor,
    yes_needed: bool,
) -> Result<()> {
    let needs_clickhouse = options.includes(StepId::Clickhouse);
    let needs_snapshot = options.includes(StepId::Rds);
    let velero_needed: Vec<VeleroComponent> = VeleroComponent::ALL
        .into_iter()
        .filter(|c| options.includes(c.step()))
        .collect();
    if velero_needed.is_empty() && !needs_clickhouse && !needs_snapshot {
        return Ok(());
    }
    exec.section(RESTORE_POINT_TITLE)?;
    let missing_velero: Vec<VeleroComponent> = velero_needed
        .iter()
        .copied()
        .filter(|c| options.backups.velero(*c).is_none())
        .collect();
    let missing_clickhouse = needs_clickhouse && options.backups.clickhouse.is_none();
    let missing_snapshot = needs_snapshot && options.rds.snapshot.is_none();
    let missing_any = !missing_velero.is_empty() || missing_clickhouse || missing_snapshot;
    // A restore point is complete only when all its stores are: to choose one, every store is
    // read, also those of steps left out of this run.
    let rds_source = if needs_snapshot || missing_any {
        options.rds.source.clone()
    } else {
        None
    };
    let commands = options.commands();
    let s3_uri = options.clickhouse_s3_uri.clone();
    let listed = discover(
        exec,
        &commands,
        s3_uri.as_deref(),
        needs_clickhouse || missing_any,
        rds_source.as_deref(),
    );
    let inventory = match listed {
        Ok(Some(inventory)) => inventory,
        Ok(None) => return Ok(()),
        // With every name given, discovery only checks them, and the preflight checks each one
        // on its own: a listing that fails is said, not fatal. Without it nothing can be chosen.
        Err(error) if !missing_any => {
            return exec.note(&format!(
                "WARNING: the names given could not be checked against discovery ({error}); the preflight checks each of them"
            ));
        }
        Err(error) => return Err(error),
    };
    let (points, _) = restore_point::restore_points(&inventory, now());
    let at = options
        .at
        .as_deref()
        .map(crate::options::parse_at)
        .transpose()?;

    // The Velero backups named explicitly, and the Velero runs they belong to.
    let mut named_points: Vec<&RestorePoint> = Vec::new();
    let mut named: Vec<String> = Vec::new();
    for component in &velero_needed {
        let Some(name) = options.backups.velero(*component) else {
            continue;
        };
        named.push(format!("{} {name}", component.flag()));
        let point = restore_point::point_of(&points, name).ok_or_else(|| {
            Error::refused(format!(
                "{} {name}: Velero lists no such backup in namespace {}; the newest complete restore point is {}",
                component.flag(),
                options.velero_namespace,
                restore_point::choose(&points, None).map(describe).unwrap_or_else(|| "none".into())
            ))
        })?;
        if !named_points.iter().any(|p| p.time == point.time) {
            named_points.push(point);
        }
    }
    let mut mixed: Vec<String> = Vec::new();
    if named_points.len() > 1 {
        mixed.push(format!(
            "the Velero backups belong to {} different runs ({})",
            named_points.len(),
            named_points
                .iter()
                .map(|p| p.time.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    // The Velero run the restore uses: the one of the names given, else (when something must be
    // filled in) the chosen one. With neither, there is nothing to check the other names against.
    let reference: Option<(&RestorePoint, String)> = match named_points.first() {
        Some(point) => Some((
            *point,
            "the restore point of the Velero backups named".to_string(),
        )),
        None if missing_any => {
            let chosen = restore_point::choose(&points, at).ok_or_else(|| {
                let newest: Vec<String> = points
                    .iter()
                    .take(5)
                    .map(|p| format!("{}: {}", p.time, p.reasons.join("; ")))
                    .collect();
                Error::refused(format!(
                    "no complete restore point{}; the newest ones: {}. See `arthur-restore backups`",
                    at.map(|a| format!(" at or before {a}")).unwrap_or_default(),
                    if newest.is_empty() { "none".into() } else { newest.join(" | ") }
                ))
            })?;
            let why = match at {
                Some(at) => format!("the newest complete restore point at or before {at}"),
                None => "the newest complete restore point".to_string(),
            };
            Some((chosen, why))
        }
        None => None,
    };
    let Some((point, why)) = reference else {
        return exec.note("no Velero backup is part of this run; the names given are used as they are (preflight checks that they exist)");
    };

    // An explicit ClickHouse backup or RDS snapshot must coincide with that run.
    let mut coinciding: Vec<String> = Vec::new();
    if needs_clickhouse && let Some(name) = &options.backups.clickhouse {
        named.push(format!("--clickhouse-backup {name}"));
        match restore_point::clickhouse_name_time(name) {
            Some(time) if time.duration_since(point.time).abs() <= restore_point::CLICKHOUSE_LIMIT => coinciding
                .push(format!("clickhouse {name} is {} from the Velero run", gap(time.duration_since(point.time).as_secs()))),
            Some(time) => mixed.push(format!("the ClickHouse backup {name} ({time}) is more than 24h from the Velero run ({})", point.time)),
            None => exec.note(&format!("the ClickHouse backup name {name} holds no time; it cannot be checked against the Velero run"))?,
        }
    }
    if needs_snapshot
        && let (Some(name), Some(snapshots)) = (&options.rds.snapshot, &inventory.snapshots)
    {
        named.push(format!("--rds-snapshot {name}"));
        let time = snapshots
            .iter()
            .find(|s| &s.id == name)
            .and_then(restore_point::snapshot_time);
        match time {
            Some(time) if time.duration_since(point.time).abs() <= restore_point::RDS_LIMIT => {
                coinciding.push(format!(
                    "rds snapshot {name} is {} from the Velero run",
                    gap(time.duration_since(point.time).as_secs())
                ))
            }
            Some(time) => mixed.push(format!(
                "the RDS snapshot {name} ({time}) is more than 60m from the Velero run ({})",
                point.time
            )),
            None => mixed.push(format!(
                "the RDS snapshot {name} is not among the snapshots of {}",
                rds_source.as_deref().unwrap_or("the source")
            )),
        }
    }
    if !mixed.is_empty() {
        if !options.allow_mixed {
            return Err(Error::refused(format!(
                "the backups named come from different backup operations, which corrupts data: {}. Discovery found {}. Name backups of one operation, leave them out to use the newest complete restore point, or pass --allow-mixed",
                mixed.join("; "),
                restore_point::choose(&points, at)
                    .map(describe)
                    .unwrap_or_else(|| "no complete restore point".into())
            )));
        }
        exec.note(&format!(
            "WARNING: --allow-mixed: {}; the restored stores will NOT be consistent with each other",
            mixed.join("; ")
        ))?;
    }

    if !missing_any {
        let spread = gap(point.spread_seconds);
        let mut text = format!(
            "explicit names checked against discovery: the Velero backups named are one run, {} (spread {})",
            point.time,
            spread.trim_start_matches('+')
        );
        for line in &coinciding {
            text.push_str(&format!("\n{line}"));
        }
        return exec.note(&text);
    }
    let mut filled: Vec<String> = Vec::new();
    for component in missing_velero {
        let backup = point
            .velero(component)
            .ok_or_else(|| Error::refused(format!("{why} has no {} backup", component.word())))?;
        match component {
            VeleroComponent::Messaging => options.backups.messaging = Some(backup.name.clone()),
            VeleroComponent::Enrichments => options.backups.enrichments = Some(backup.name.clone()),
            VeleroComponent::Workflows => options.backups.workflows = Some(backup.name.clone()),
        }
        filled.push(format!("{} {}", component.flag(), backup.name));
    }
    if missing_clickhouse {
        let c = point
            .clickhouse
            .as_ref()
            .ok_or_else(|| Error::refused(format!("{why} has no ClickHouse backup")))?;
        options.backups.clickhouse = Some(c.name.clone());
        filled.push(format!("--clickhouse-backup {}", c.name));
    }
    if missing_snapshot {
        let s = point
            .rds_snapshot
            .as_ref()
            .ok_or_else(|| Error::refused(format!("{why} has no RDS snapshot")))?;
        options.rds.snapshot = Some(s.name.clone());
        filled.push(format!("--rds-snapshot {}", s.name));
    }
    exec.note(&format!(
        "chosen: {why}\n{}\nas if given: {}",
        describe(point),
        filled.join(" ")
    ))?;
    if yes_needed {
        exec.confirm(&Confirmation {
            gate: "restore-point",
            details: vec![format!("The restore will use {why}, {}.", point.time)],
            question: "Restore this restore point?".into(),
        })?;
    }
    exec.record_options(options)
}
