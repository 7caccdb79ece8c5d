//! Discovery: the choice of backups for a plan or a run, from the listings (`inventory`), and
//! the check of names given against them.

use jiff::Timestamp;

use super::executor::{Confirmation, Executor};
use super::inventory::{discover, now};
use crate::error::{Error, Result};
use crate::model::RestoreOptions;
use crate::names::{ClickhouseBackupName, SnapshotId, VeleroBackupName};
use crate::parse::rds::DbSnapshot;
use crate::process::Cmd;
use crate::restore_point::{self, Inventory, RestorePoint, describe, gap};
use crate::runbook::{StepId, VeleroComponent};

/// The section title of the restore-point choice.
pub const RESTORE_POINT_TITLE: &str =
    "Restore point (arthur-restore: which backups belong together)";

/// What the plan or run lacks and has: for each store a step of this run restores, whether its
/// name was given.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Wanted {
    velero: Vec<VeleroComponent>,
    clickhouse: bool,
    snapshot: bool,
    missing_velero: Vec<VeleroComponent>,
    missing_clickhouse: bool,
    missing_snapshot: bool,
}

impl Wanted {
    fn of(options: &RestoreOptions) -> Wanted {
        let velero: Vec<VeleroComponent> = VeleroComponent::ALL
            .into_iter()
            .filter(|c| options.includes(c.step()))
            .collect();
        let clickhouse = options.includes(StepId::Clickhouse);
        let snapshot = options.includes(StepId::Rds);
        Wanted {
            missing_velero: velero
                .iter()
                .copied()
                .filter(|c| options.backups.velero(*c).is_none())
                .collect(),
            missing_clickhouse: clickhouse && options.backups.clickhouse.is_none(),
            missing_snapshot: snapshot && options.rds.snapshot.is_none(),
            velero,
            clickhouse,
            snapshot,
        }
    }

    fn anything(&self) -> bool {
        !self.velero.is_empty() || self.clickhouse || self.snapshot
    }

    fn missing_any(&self) -> bool {
        !self.missing_velero.is_empty() || self.missing_clickhouse || self.missing_snapshot
    }
}

/// What discovery makes of the names given: the restore point the run uses (and why), the
/// names that do not belong to it, those that do, and what could not be checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Judgement {
    /// The index in the restore points of the point the run uses, and why; `None` when no
    /// Velero backup is part of the run and nothing is missing.
    pub reference: Option<(usize, String)>,
    /// Names from other backup operations than the reference point's.
    pub mixed: Vec<String>,
    /// Names that coincide with the reference point, with their gap.
    pub coinciding: Vec<String>,
    /// Names that cannot be checked.
    pub unchecked: Vec<String>,
}

/// True when a step of the run has no backup name yet (discovery is to choose it).
pub fn lacks_names(options: &RestoreOptions) -> bool {
    Wanted::of(options).missing_any()
}

/// Judges the names of a plan or run against the restore points (pure: tested on data). An
/// explicit Velero backup that no point holds, or (with names missing) no complete point, is a
/// refusal.
pub fn judge(
    options: &RestoreOptions,
    points: &[RestorePoint],
    snapshots: Option<&[DbSnapshot]>,
    at: Option<Timestamp>,
) -> Result<Judgement> {
    let wanted = Wanted::of(options);
    let named = named_points(options, &wanted, points)?;
    let mut judgement = Judgement {
        reference: None,
        mixed: Vec::new(),
        coinciding: Vec::new(),
        unchecked: Vec::new(),
    };
    if named.len() > 1 {
        judgement.mixed.push(format!(
            "the Velero backups belong to {} different runs ({})",
            named.len(),
            named
                .iter()
                .map(|i| points[*i].time.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    // The Velero run the restore uses: the one of the names given, else (when something must be
    // filled in) the chosen one. With neither, there is nothing to check the other names against.
    judgement.reference = match named.first() {
        Some(index) => Some((
            *index,
            "the restore point of the Velero backups named".to_string(),
        )),
        None if wanted.missing_any() => Some(chosen_point(points, at)?),
        None => None,
    };
    if let Some((index, _)) = &judgement.reference {
        check_coinciding(options, &wanted, &points[*index], snapshots, &mut judgement);
    }
    Ok(judgement)
}

/// The restore points of the Velero backups named explicitly, each once, in the order named.
fn named_points(
    options: &RestoreOptions,
    wanted: &Wanted,
    points: &[RestorePoint],
) -> Result<Vec<usize>> {
    let mut named: Vec<usize> = Vec::new();
    for component in &wanted.velero {
        let Some(name) = options.backups.velero(*component) else {
            continue;
        };
        let index = restore_point::index_of(points, name).ok_or_else(|| {
            let meant = restore_point::nearest_name(points, *component, name)
                .map(|listed| format!(" (did you mean {listed}?)"))
                .unwrap_or_default();
            Error::refused(format!(
                "{} {name}: Velero lists no such backup in namespace {}{meant}; the newest complete restore point is {}",
                component.flag(),
                options.velero_namespace,
                restore_point::choose(points, None)
                    .map(describe)
                    .unwrap_or_else(|| "none".into())
            ))
        })?;
        if !named.iter().any(|i| points[*i].time == points[index].time) {
            named.push(index);
        }
    }
    Ok(named)
}

/// The newest complete restore point (at or before `--at`), or a refusal that lists the newest.
fn chosen_point(points: &[RestorePoint], at: Option<Timestamp>) -> Result<(usize, String)> {
    let chosen = restore_point::choose(points, at).ok_or_else(|| {
        let newest: Vec<String> = points
            .iter()
            .take(5)
            .map(|p| format!("{}: {}", p.time, restore_point::joined(&p.reasons)))
            .collect();
        Error::refused(format!(
            "no complete restore point{}; the newest ones: {}. See `arthur-restore backups`",
            at.map(|a| format!(" at or before {a}")).unwrap_or_default(),
            if newest.is_empty() {
                "none".into()
            } else {
                newest.join(" | ")
            }
        ))
    })?;
    let index = points
        .iter()
        .position(|p| std::ptr::eq(p, chosen))
        .expect("the chosen point is one of the points");
    let why = match at {
        Some(at) => format!("the newest complete restore point at or before {at}"),
        None => "the newest complete restore point".to_string(),
    };
    Ok((index, why))
}

/// An explicit ClickHouse backup or RDS snapshot must coincide with the reference point.
fn check_coinciding(
    options: &RestoreOptions,
    wanted: &Wanted,
    point: &RestorePoint,
    snapshots: Option<&[DbSnapshot]>,
    judgement: &mut Judgement,
) {
    if wanted.clickhouse
        && let Some(name) = &options.backups.clickhouse
    {
        match restore_point::clickhouse_name_time(name) {
            Some(time) if time.duration_since(point.time).abs() <= restore_point::CLICKHOUSE_LIMIT => judgement.coinciding
                .push(format!("clickhouse {name} is {} from the Velero run", gap(time.duration_since(point.time).as_secs()))),
            Some(time) => judgement.mixed.push(format!("the ClickHouse backup {name} ({time}) is more than 24h from the Velero run ({})", point.time)),
            None => judgement.unchecked.push(format!("the ClickHouse backup name {name} holds no time; it cannot be checked against the Velero run")),
        }
    }
    if wanted.snapshot
        && let (Some(name), Some(snapshots)) = (&options.rds.snapshot, snapshots)
    {
        let time = snapshots
            .iter()
            .find(|s| s.id == name.as_str())
            .and_then(restore_point::snapshot_time);
        match time {
            Some(time) if time.duration_since(point.time).abs() <= restore_point::RDS_LIMIT => {
                judgement.coinciding.push(format!(
                    "rds snapshot {name} is {} from the Velero run",
                    gap(time.duration_since(point.time).as_secs())
                ));
            }
            Some(time) => judgement.mixed.push(format!(
                "the RDS snapshot {name} ({time}) is more than 60m from the Velero run ({})",
                point.time
            )),
            None => judgement.mixed.push(format!(
                "the RDS snapshot {name} is not among the snapshots of {}",
                options.rds.source.as_deref().unwrap_or("the source")
            )),
        }
    }
}

/// A name read from a listing, checked before it can go into an argv: one that is not of its
/// form is a refusal naming it.
fn from_listing<T>(
    name: &str,
    check: fn(&str) -> std::result::Result<T, String>,
    listing: &Cmd,
) -> Result<T> {
    check(name).map_err(|problem| {
        crate::parse::ParseError::unsafe_value(problem, name).for_command(listing)
    })
}

/// Fills the missing names from the point; what was filled in, as flags.
fn fill_in(
    options: &mut RestoreOptions,
    wanted: &Wanted,
    point: &RestorePoint,
    why: &str,
) -> Result<Vec<String>> {
    let commands = options.commands();
    let mut filled: Vec<String> = Vec::new();
    for component in &wanted.missing_velero {
        let backup = point
            .velero(*component)
            .ok_or_else(|| Error::refused(format!("{why} has no {} backup", component.word())))?;
        let name = from_listing(
            &backup.name,
            VeleroBackupName::new,
            &commands.velero_backups_json(),
        )?;
        options.backups.set_velero(*component, name);
        filled.push(format!("{} {}", component.flag(), backup.name));
    }
    if wanted.missing_clickhouse {
        let c = point
            .clickhouse
            .as_ref()
            .ok_or_else(|| Error::refused(format!("{why} has no ClickHouse backup")))?;
        let listing = match &options.clickhouse_s3_uri {
            Some(uri) => commands.s3_list(uri),
            None => commands.clickhouse_backup_list(),
        };
        options.backups.clickhouse =
            Some(from_listing(&c.name, ClickhouseBackupName::new, &listing)?);
        filled.push(format!("--clickhouse-backup {}", c.name));
    }
    if wanted.missing_snapshot {
        let s = point
            .rds_snapshot
            .as_ref()
            .ok_or_else(|| Error::refused(format!("{why} has no RDS snapshot")))?;
        let listing = match &options.rds.source {
            Some(source) => commands.describe_db_snapshots_of(source),
            None => commands.describe_db_snapshot(&SnapshotId::placeholder(&s.name)),
        };
        options.rds.snapshot = Some(from_listing(&s.name, SnapshotId::new, &listing)?);
        filled.push(format!("--rds-snapshot {}", s.name));
    }
    Ok(filled)
}

/// Reads what restore points are made of. A restore point is complete only when all its stores
/// are: to choose one, every store is read, also those of steps left out of this run. With every
/// name given, a listing that fails is said, not fatal (the preflight checks each name on its
/// own); `None` then, and when the executor runs nothing.
fn read_inventory(
    options: &RestoreOptions,
    exec: &mut dyn Executor,
    wanted: &Wanted,
) -> Result<Option<Inventory>> {
    let rds_source = if wanted.snapshot || wanted.missing_any() {
        options.rds.source.clone()
    } else {
        None
    };
    let listed = discover(
        exec,
        &options.commands(),
        options.clickhouse_s3_uri.as_ref(),
        wanted.clickhouse || wanted.missing_any(),
        rds_source.as_ref(),
    );
    match listed {
        Ok(inventory) => Ok(inventory),
        Err(error) if !wanted.missing_any() => {
            exec.note(&format!(
                "WARNING: the names given could not be checked against discovery ({error}); the preflight checks each of them"
            ))?;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// Fills in the backup names a plan or run lacks from the newest complete restore point (or the
/// one at or before --at), and checks explicit names against discovery: an explicit name that
/// discovery does not find, or names from different backup operations, are refused (exit 3)
/// unless --allow-mixed.
pub fn resolve(options: &mut RestoreOptions, exec: &mut dyn Executor) -> Result<()> {
    let wanted = Wanted::of(options);
    if !wanted.anything() {
        return Ok(());
    }
    exec.section(RESTORE_POINT_TITLE)?;
    let Some(inventory) = read_inventory(options, exec, &wanted)? else {
        return Ok(());
    };
    let (points, _) = restore_point::restore_points(&inventory, now());
    let at = options.at_time()?;
    let judgement = judge(options, &points, inventory.snapshots.as_deref(), at)?;
    for line in &judgement.unchecked {
        exec.note(line)?;
    }
    let Some((index, why)) = &judgement.reference else {
        return exec.note("no Velero backup is part of this run; the names given are used as they are (preflight checks that they exist)");
    };
    let point = &points[*index];
    if !judgement.mixed.is_empty() {
        if !options.allow_mixed {
            return Err(Error::refused(format!(
                "the backups named come from different backup operations, which corrupts data: {}. Discovery found {}. Name backups of one operation, leave them out to use the newest complete restore point, or pass --allow-mixed",
                judgement.mixed.join("; "),
                restore_point::choose(&points, at)
                    .map(describe)
                    .unwrap_or_else(|| "no complete restore point".into())
            )));
        }
        exec.note(&format!(
            "WARNING: --allow-mixed: {}; the restored stores will NOT be consistent with each other",
            judgement.mixed.join("; ")
        ))?;
    }
    if !wanted.missing_any() {
        let mut text = format!(
            "explicit names checked against discovery: the Velero backups named are one run, {} (spread {})",
            point.time,
            gap(point.spread_seconds).trim_start_matches('+')
        );
        for line in &judgement.coinciding {
            text.push_str(&format!("\n{line}"));
        }
        return exec.note(&text);
    }
    let filled = fill_in(options, &wanted, point, why)?;
    exec.note(&format!(
        "chosen: {why}\n{}\nas if given: {}",
        describe(point),
        filled.join(" ")
    ))?;
    exec.confirm(&Confirmation {
        gate: "restore-point",
        details: vec![format!("The restore will use {why}, {}.", point.time)],
        question: "Restore this restore point?".into(),
        words: Vec::new(),
    })?;
    exec.record_options(options)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::{BackupNames, RdsOptions, Timing};
    use crate::restore_point::tests::sample::{self, *};

    fn options(backups: BackupNames, snapshot: Option<&str>) -> RestoreOptions {
        RestoreOptions {
            namespace: "arthur".into(),
            velero_namespace: "velero".into(),
            connection: Default::default(),
            clickhouse_pod: "chi-olap-installation-arthur-0-0-0".into(),
            clickhouse_s3_uri: None,
            backups,
            at: None,
            allow_mixed: false,
            rds: RdsOptions {
                snapshot: snapshot.map(Into::into),
                instance: Some("arthur-restored-db".into()),
                like: Some("arthur-prod-db".into()),
                source: Some("arthur-prod-db".into()),
                ..RdsOptions::default()
            },
            steps: StepId::ALL.to_vec(),
            timing: Timing {
                timeout: Duration::from_secs(1),
                poll_interval: Duration::from_secs(1),
                command_timeout: Duration::from_secs(1),
            },
            local_port: 7899,
            skip_db_pointer_check: false,
            max_output: crate::process::DEFAULT_MAX_OUTPUT,
            approvers: None,
        }
    }

    fn named(messaging: &str, clickhouse: &str) -> BackupNames {
        BackupNames {
            messaging: Some(messaging.into()),
            enrichments: Some(ENRICHMENTS.into()),
            workflows: Some(WORKFLOWS.into()),
            clickhouse: Some(clickhouse.into()),
        }
    }

    /// The tidy operation, and an older one a week before it (complete too).
    fn inventory() -> Inventory {
        let mut inventory = sample::tidy();
        inventory.velero.push(velero(
            "arthur-backup-2023-05-04t15.22.37-04.00-messaging",
            "Completed",
        ));
        inventory.velero.push(velero(
            "arthur-backup-2023-05-04t15.23.25-04.00-workflows",
            "Completed",
        ));
        inventory.velero.push(velero(
            "arthur-backup-2023-05-04t15.25.24-04.00-enrichments",
            "Completed",
        ));
        for node in 0..2 {
            inventory.clickhouse.push(clickhouse(
                node,
                "arthur-clickhouse-backup-2023-05-04-00-00-07",
            ));
        }
        inventory.snapshots.as_mut().unwrap().push(snapshot(
            "arthur-backup-2023-05-04t15-21-50-04-00",
            "available",
        ));
        inventory
    }

    enum Expect {
        /// The reference point's time and why; how many names are mixed, coincide, unchecked.
        Judged(&'static str, &'static str, usize, usize, usize),
        Refused(&'static str),
    }

    /// Each row: the names given, and what discovery makes of them.
    #[test]
    fn names_are_judged_against_the_restore_points() {
        use Expect::*;
        let newest = "the newest complete restore point";
        let of_names = "the restore point of the Velero backups named";
        let rows: Vec<(&str, RestoreOptions, Expect)> = vec![
            (
                "nothing named",
                options(BackupNames::default(), None),
                Judged("2023-05-11T19:22:37Z", newest, 0, 0, 0),
            ),
            (
                "all of one operation",
                options(named(MESSAGING, CLICKHOUSE), Some(SNAPSHOT)),
                Judged("2023-05-11T19:22:37Z", of_names, 0, 2, 0),
            ),
            (
                "messaging of the week before",
                options(
                    named(
                        "arthur-backup-2023-05-04t15.22.37-04.00-messaging",
                        CLICKHOUSE,
                    ),
                    Some(SNAPSHOT),
                ),
                Judged("2023-05-04T19:22:37Z", of_names, 3, 0, 0),
            ),
            (
                "ClickHouse of the week before",
                options(
                    named(MESSAGING, "arthur-clickhouse-backup-2023-05-04-00-00-07"),
                    Some(SNAPSHOT),
                ),
                Judged("2023-05-11T19:22:37Z", of_names, 1, 1, 0),
            ),
            (
                "a ClickHouse name without a time",
                options(named(MESSAGING, "nightly"), Some(SNAPSHOT)),
                Judged("2023-05-11T19:22:37Z", of_names, 0, 1, 1),
            ),
            (
                "a snapshot of another instance",
                options(named(MESSAGING, CLICKHOUSE), Some("manual-snapshot")),
                Judged("2023-05-11T19:22:37Z", of_names, 1, 1, 0),
            ),
            (
                "a backup Velero does not list",
                options(
                    named(
                        "arthur-backup-2023-01-01t00.00.00-04.00-messaging",
                        CLICKHOUSE,
                    ),
                    None,
                ),
                Refused("Velero lists no such backup"),
            ),
        ];
        let (points, _) = restore_point::restore_points(&inventory(), sample::now());
        let snapshots = inventory().snapshots;
        for (what, options, expect) in rows {
            let judged = judge(&options, &points, snapshots.as_deref(), None);
            match (judged, expect) {
                (Ok(j), Judged(time, why, mixed, coinciding, unchecked)) => {
                    let (index, reason) = j.reference.clone().expect(what);
                    assert_eq!(points[index].time.to_string(), time, "{what}");
                    assert_eq!(reason, why, "{what}");
                    assert_eq!(j.mixed.len(), mixed, "{what}: {:?}", j.mixed);
                    assert_eq!(j.coinciding.len(), coinciding, "{what}: {:?}", j.coinciding);
                    assert_eq!(j.unchecked.len(), unchecked, "{what}: {:?}", j.unchecked);
                }
                (Err(e), Refused(because)) => {
                    assert!(e.to_string().contains(because), "{what}: {e}");
                }
                (Ok(j), Refused(_)) => panic!("{what}: judged {j:?}, expected a refusal"),
                (Err(e), Judged(..)) => panic!("{what}: {e}"),
            }
        }
    }

    #[test]
    fn with_names_missing_and_no_complete_point_the_run_is_refused() {
        let mut inventory = sample::tidy();
        inventory.velero[0].phase = "Failed".into();
        let (points, _) = restore_point::restore_points(&inventory, sample::now());
        let error = judge(
            &options(BackupNames::default(), None),
            &points,
            inventory.snapshots.as_deref(),
            None,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("no complete restore point"),
            "{error}"
        );
        assert!(
            error.to_string().contains("messaging backup is Failed"),
            "{error}"
        );
    }
}
