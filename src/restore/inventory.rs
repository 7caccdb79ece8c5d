//! The inventory: the listings restore points are made of (Velero backups, ClickHouse backups of
//! every node, RDS snapshots), read through the executor so that they appear in the transcript.
//! `backups`, discovery and the preflight read them here.

use jiff::Timestamp;

use super::executor::Executor;
use crate::error::Result;
use crate::names::{RdsIdentifier, S3Uri};
use crate::parse::{clickhouse, rds, velero};
use crate::process::{Cmd, Read};
use crate::restore_point::Inventory;
use crate::runbook::Commands;

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
    s3_uri: Option<&S3Uri>,
) -> Result<Option<(Cmd, Vec<clickhouse::ClickhouseBackup>)>> {
    let cmd = clickhouse_listing(commands, s3_uri);
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
        return Err(crate::process::command_failed(&cmd, &out));
    }
    let parsed = match s3_uri {
        Some(_) => clickhouse::parse_s3_listing(&out.stdout),
        None => clickhouse::parse_list(&out.stdout),
    };
    let backups = parsed.map_err(|e| e.for_command(&cmd))?;
    Ok(Some((cmd, backups)))
}

/// The listing of the ClickHouse backups: `clickhouse-backup list` in the pod, or `aws s3 ls`.
pub fn clickhouse_listing(commands: &Commands, s3_uri: Option<&S3Uri>) -> Cmd {
    match s3_uri {
        Some(uri) => commands.s3_list(uri),
        None => commands.clickhouse_backup_list(),
    }
}

/// Reads the Velero backups, the ClickHouse backups and (with a source) the RDS snapshots, side
/// by side (none needs another's answer). `None` when the executor runs nothing.
pub fn discover(
    exec: &mut dyn Executor,
    commands: &Commands,
    clickhouse_s3_uri: Option<&S3Uri>,
    with_clickhouse: bool,
    rds_source: Option<&RdsIdentifier>,
) -> Result<Option<Inventory>> {
    let cmd = commands.velero_backups_json();
    let listing = clickhouse_listing(commands, clickhouse_s3_uri);
    let snapshots_of = rds_source.map(|source| commands.describe_db_snapshots_of(source));
    let mut reads = vec![Read::required(&cmd)];
    if with_clickhouse {
        reads.push(Read::answer(&listing));
    }
    reads.extend(snapshots_of.iter().map(Read::required));
    exec.read_ahead(&reads)?;
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
    let snapshots = match snapshots_of {
        Some(cmd) => {
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
