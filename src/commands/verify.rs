//! `verify`: platform health at a glance (the smoke step on its own). Reads the listings with the
//! read-only executor and judges them (`health`); `--wait` polls while something is only not yet
//! ready. Exit 0 healthy, 4 unhealthy, 130 interrupted.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::cli::{GlobalArgs, OutputFormat, VerifyArgs, settings};
use crate::error::{Error, Result, exit};
use crate::health::{self, Health};
use crate::names::ObjectName;
use crate::parse::{kots, kube, velero};
use crate::process::{Cmd, Interrupt, Read, Runner, Tool};
use crate::record::RunDir;
use crate::restore::ReadOnlyExecutor;
use crate::restore::executor::Executor;
use crate::runbook::{Commands, fixed};
use crate::units::format_duration;

pub fn verify(global: &GlobalArgs, args: &VerifyArgs) -> Result<i32> {
    let (commands, restore_names, cluster) = what_to_check(global, args)?;
    let interrupt = Interrupt::on_signals();
    // Only what it runs: kubectl, and velero when the run directory names Velero restores.
    let tools: &[Tool] = if restore_names.is_empty() {
        &[Tool::Kubectl]
    } else {
        &[Tool::Kubectl, Tool::Velero]
    };
    let runner = Runner::locating(tools, args.timing.command_timeout, interrupt.clone())?
        .with_max_output(args.max_output);
    let mut exec = ReadOnlyExecutor::answering(args.timing.poll_interval, runner);
    // The cluster's identity and the listings need no other's answer: side by side.
    let cluster_read = commands.cluster_identity();
    let listings = listings(&commands, &restore_names);
    let mut reads: Vec<Read<'_>> = Vec::new();
    if cluster.is_some() {
        reads.push(Read::answer(&cluster_read));
    }
    reads.extend(listings.iter().map(Read::required));
    exec.read_ahead(&reads)?;
    if let Some(recorded) = cluster {
        check_cluster(&mut exec, &commands, &recorded, args.allow_unknown_cluster)?;
    }
    let health = check_until_settled(&mut exec, &commands, &restore_names, args, &interrupt)?;
    match global.output {
        OutputFormat::Json => super::print_json(&json!({
            "healthy": health.healthy(),
            "problems": health.problems(),
            "not_yet": health.not_yet(),
            "health": health,
        }))?,
        OutputFormat::Text => super::print(&health::render(
            &health,
            args.wait.then_some(args.timing.timeout),
        ))?,
    }
    Ok(if health.healthy() {
        exit::SUCCESS
    } else {
        exit::UNHEALTHY
    })
}

/// What verify checks: the catalogue of its commands, the Velero restores of a run, and the
/// cluster the run touched (its kube-system namespace UID).
type Checks = (Commands, Vec<ObjectName>, Option<String>);

/// With --run-dir, the cluster must be the run's (SPEC section 5, rule 9): another cluster is a
/// refusal, and so is one whose identity cannot be read, unless --allow-unknown-cluster.
fn check_cluster(
    exec: &mut ReadOnlyExecutor,
    commands: &Commands,
    recorded: &str,
    allow_unknown: bool,
) -> Result<()> {
    let cmd = commands.cluster_identity();
    let uid = exec
        .probe(&cmd)?
        .filter(|out| out.success())
        .map(|out| out.stdout.trim().to_string())
        .filter(|uid| !uid.is_empty());
    match uid {
        Some(uid) if uid == recorded => Ok(()),
        Some(uid) => Err(Error::refused(format!(
            "the run directory's run touched the cluster whose kube-system namespace UID is {recorded}, but the current kube context reaches {uid}; select the run's cluster (--kubeconfig/--context)"
        ))),
        None if allow_unknown => {
            crate::record::redact::err(&format!(
                "arthur-restore: WARNING: --allow-unknown-cluster: the cluster's identity could not be read; the run's cluster is {recorded}\n"
            ));
            Ok(())
        }
        None => Err(Error::refused(format!(
            "the cluster's identity could not be read (`{cmd}`), so verify cannot prove it checks the run's cluster ({recorded}); check the kube context, or pass --allow-unknown-cluster"
        ))),
    }
}

/// The namespaces and the restores to check: a run directory knows its namespaces, restores and
/// cluster; -n, when given, must agree with it.
fn what_to_check(global: &GlobalArgs, args: &VerifyArgs) -> Result<Checks> {
    let Some(dir) = args.run_dir() else {
        let namespace = settings::require_namespace(global)?;
        let commands = settings::commands(
            global,
            namespace,
            global.velero_namespace.clone(),
            fixed::object(fixed::DEFAULT_CLICKHOUSE_POD),
        );
        return Ok((commands, Vec::new(), None));
    };
    if !dir.is_dir() {
        return Err(Error::usage(format!(
            "--run-dir {}: no such directory (give the run directory a `run` wrote, e.g. arthur-restore-20260101T020304Z; or leave --run-dir out and give -n NAMESPACE)",
            dir.display()
        )));
    }
    let state = RunDir::existing(dir).load_state()?;
    let recorded = state.options.namespace;
    if let Some(given) = &global.namespace
        && *given != recorded
    {
        return Err(Error::usage(format!(
            "-n {given} disagrees with the run directory, whose namespace is {recorded}"
        )));
    }
    let restores = state.facts.restores.values().cloned().collect();
    let commands = settings::commands(
        global,
        recorded,
        state.options.velero_namespace,
        fixed::object(fixed::DEFAULT_CLICKHOUSE_POD),
    );
    Ok((commands, restores, state.facts.cluster_uid))
}

/// Checks once; with --wait, again every poll interval while nothing is broken and something is
/// still on its way, up to --timeout.
fn check_until_settled(
    exec: &mut ReadOnlyExecutor,
    commands: &Commands,
    restore_names: &[ObjectName],
    args: &VerifyArgs,
    interrupt: &Interrupt,
) -> Result<Health> {
    let started = Instant::now();
    let mut health = check(exec, commands, restore_names)?;
    while args.wait
        && health.problems() == 0
        && health.not_yet() > 0
        && started.elapsed() < args.timing.timeout
    {
        if std::io::stderr().is_terminal() {
            crate::record::redact::err(&format!(
                "\rverify: waiting for {} not yet ready ({} elapsed) ",
                health.not_yet(),
                format_duration(Duration::from_secs(started.elapsed().as_secs().max(1)))
            ));
        }
        interrupt.sleep(args.timing.poll_interval)?;
        let listings = listings(commands, restore_names);
        exec.read_ahead(&listings.iter().map(Read::required).collect::<Vec<_>>())?;
        health = check(exec, commands, restore_names)?;
    }
    Ok(health)
}

/// The standard output of a listing (empty when the executor runs nothing).
fn read(exec: &mut ReadOnlyExecutor, cmd: &Cmd) -> Result<String> {
    Ok(exec.read(cmd)?.map(|o| o.stdout).unwrap_or_default())
}

/// The listings a check reads, in the order it takes them.
fn listings(commands: &Commands, restore_names: &[ObjectName]) -> Vec<Cmd> {
    let mut listings = vec![
        commands.get_pods_json(),
        commands.get_jobs_json(),
        commands.kots_get_apps(),
    ];
    listings.extend(
        restore_names
            .iter()
            .map(|n| commands.velero_restore_json(n)),
    );
    listings
}

/// Reads the listings once (read ahead, side by side) and judges them.
fn check(
    exec: &mut ReadOnlyExecutor,
    commands: &Commands,
    restore_names: &[ObjectName],
) -> Result<Health> {
    let cmd = commands.get_pods_json();
    let pods = kube::pods_json(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let cmd = commands.get_jobs_json();
    let jobs = kube::jobs_json(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let cmd = commands.kots_get_apps();
    let apps = kots::apps(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
    let mut restores = Vec::new();
    for name in restore_names {
        let cmd = commands.velero_restore_json(name);
        let found = velero::restores(&read(exec, &cmd)?).map_err(|e| e.for_command(&cmd))?;
        restores.extend(found.into_iter().filter(|r| name == r.name.as_str()));
    }
    Ok(health::assess(commands, &pods, &jobs, &apps, &restores))
}
