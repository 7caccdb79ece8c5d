//! A simulated cluster and AWS account for the recovery tests: installed as `kubectl`, `velero`,
//! `aws` and `curl`, it answers from a world kept in a JSON file, and every command that changes
//! something changes the world (a deleted StatefulSet is gone; a Velero restore runs, then
//! completes and recreates what it restores; a restored RDS instance is `creating`, then
//! `available`). Where the replay program proves an exact command sequence, this one lets a run be
//! interrupted at any command and resumed against a world that moved on.
//!
//! Static listings come from the recorded fixtures (`ARTHUR_SIM_FIXTURES`); the world lives in
//! `ARTHUR_SIM_STATE` (created on first use). Faults, for the crash-point and fault matrices:
//!
//!   `ARTHUR_SIM_FAULT=N:KIND`  at the N-th command received (1-based; or, with
//!                              `ARTHUR_SIM_FAULT_COMMAND="K LINE"`, at the K-th call of LINE),
//!                              one of:
//!     `interrupt`, `terminate`, `kill`   do what the command does, then send SIGINT, SIGTERM or
//!                                        SIGKILL to the caller and hang (the caller stops us)
//!     `interrupt-twice`                  the same with two SIGINTs (Ctrl-C pressed twice)
//!     `notfound`, `forbidden`, `refused`, `throttled`   exit non-zero with the real CLI's
//!                                        error text, changing nothing
//!     `hang`       hang until killed (past --command-timeout)
//!     `garbage`    exit 0 with output no parser can read, changing nothing
//!     `signal`     die of SIGKILL, changing nothing
//!     `blocking`   do what the command does, but leave it stuck as the real system can: PVCs held
//!                  by their protection finalizer, a Velero restore that stays InProgress
//!   `ARTHUR_SIM_CLUSTER=other|forbidden`  the kube context reaches another cluster, or one
//!                              whose identity the operator may not read
//!   `ARTHUR_SIM_EXTRA_PV=NAME`  the world starts with one more PV, of that name, bound to a
//!                              messaging claim (a name no real API server would accept)
//!   `ARTHUR_SIM_SECRETS=SEED`  every answer carries generated secrets, in every form (on
//!                              stderr; on stdout too where it is YAML or the command failed);
//!                              the values are kept in the world's `planted`
//!   `ARTHUR_SIM_EXTRA_PODS=N`  `kubectl get pods` lists N more running pods
//!   `ARTHUR_SIM_NOISE=N`       the answer of call N holds hostile bytes (escape sequences, BEL,
//!                              CR, NUL, U+202E) and a line of 2 MiB
//!   `ARTHUR_SIM_CLEAR=1`       the operator cleared a blocking fault (finalizers removed, the
//!                              stuck restore finished)
//!   `ARTHUR_SIM_REAL_CURL=PATH`  notifications (`curl … --data-binary @-`) go to the real curl
//!
//! Every command received is appended to `calls` in the world, with whether it changed something
//! and which object, so that tests can count what was done twice.

mod aws;
mod faults;
mod kubectl;
mod velero;
mod world;

use std::io::Write;
use std::path::Path;

pub(crate) use aws::*;
pub(crate) use faults::*;
pub(crate) use kubectl::*;
pub(crate) use velero::*;
pub(crate) use world::*;

/// `ARTHUR_SIM_REAL_CURL=PATH`: a notification (`curl … --data-binary @- URL`, the tool's own
/// call, not the runbook's) goes to the real curl, which posts it to the test's HTTP server; it
/// is on the world's calls like any other.
fn forward_notification(tool: &str, args: &[String], file: &mut std::fs::File, world: &mut World) {
    let Some(real) = std::env::var_os("ARTHUR_SIM_REAL_CURL") else {
        return;
    };
    if tool != "curl" || !args.iter().any(|a| a == "@-") {
        return;
    }
    world.calls.push(Call {
        n: world.calls.len() as u64 + 1,
        argv: std::iter::once(tool.to_string())
            .chain(args.iter().cloned())
            .collect(),
        changed: None,
        missing: false,
        pid: std::process::id(),
        faulted: false,
    });
    save_state(file, world);
    use std::os::unix::process::CommandExt;
    let error = std::process::Command::new(real).args(args).exec();
    eprintln!("arthur-restore-sim: cannot run the real curl: {error}");
    std::process::exit(99);
}

fn main() {
    let mut args = std::env::args();
    let program = args.next().unwrap_or_default();
    let tool = Path::new(&program)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args: Vec<String> = args.collect();
    let kept = words(&args);
    let w: Vec<&str> = kept.iter().map(String::as_str).collect();

    let (mut file, mut world) = open_state();
    forward_notification(&tool, &args, &mut file, &mut world);
    if std::env::var_os("ARTHUR_SIM_CLEAR").is_some() {
        clear_blocking(&mut world);
    }
    let n = world.calls.len() as u64 + 1;
    let _ = CURRENT.set(format!("{tool} {}", args.join(" ")).trim_end().to_string());
    let planned = fault_kind().filter(|_| fault_now(&world));
    const EARLY: [&str; 7] = [
        "notfound",
        "forbidden",
        "refused",
        "throttled",
        "hang",
        "garbage",
        "signal",
    ];
    let early = planned.as_deref().filter(|k| EARLY.contains(k));
    let answer = match early {
        Some(kind) if ["notfound", "forbidden", "refused", "throttled"].contains(&kind) => {
            Some(failure(&tool, kind))
        }
        Some("garbage") => Some(Answer::out("\u{1b}[31m<html>502 Bad Gateway\0\n{{{")),
        Some(_) => None,
        None => match tool.as_str() {
            "kubectl" => kubectl(&mut world, &w),
            "velero" => velero(&mut world, &w),
            "aws" => aws(&mut world, &w),
            "curl" => curl(&mut world, &w),
            _ => None,
        },
    };
    // Secrets in the output: on standard error always; on standard output where the real CLI
    // prints YAML (the KOTS config) and wherever the command fails.
    let mut answer = answer;
    if let (Ok(seed), Some(answer)) = (std::env::var("ARTHUR_SIM_SECRETS"), answer.as_mut()) {
        let (text, values) = planted_secrets(seed.parse().unwrap_or(1), n);
        world.planted.extend(values);
        answer.stderr.push_str(&text);
        let yaml = w.first() == Some(&"kots") && w.get(2) == Some(&"config");
        if answer.status != 0 || early.is_some() || yaml {
            answer.stdout = format!("{}{text}", answer.stdout);
        }
    }
    if let Some(answer) = answer.as_mut() {
        add_noise(answer, n);
    }
    world.calls.push(Call {
        n,
        argv: std::iter::once(tool.clone())
            .chain(args.iter().cloned())
            .collect(),
        changed: answer.as_ref().and_then(|a| a.changed.clone()),
        missing: answer.as_ref().is_some_and(|a| a.missing),
        pid: std::process::id(),
        faulted: planned.is_some(),
    });
    save_state(&mut file, &world);
    drop(file);
    match early {
        Some("hang") => hang(),
        Some("signal") => {
            // SAFETY: raising a signal on oneself has no memory effects.
            unsafe {
                libc::raise(libc::SIGKILL);
            }
        }
        _ => {}
    }
    let Some(answer) = answer else {
        eprintln!(
            "arthur-restore-sim: no simulated answer for `{tool} {}`",
            args.join(" ")
        );
        std::process::exit(99);
    };
    print!("{}", answer.stdout);
    eprint!("{}", answer.stderr);
    let _ = std::io::stdout().flush();
    if let Some(kind) = planned.as_deref()
        && ["interrupt", "terminate", "kill", "interrupt-twice"].contains(&kind)
    {
        signal_caller(kind);
        if kind == "interrupt-twice" {
            std::thread::sleep(std::time::Duration::from_millis(2));
            signal_caller(kind);
        }
        hang();
    }
    if answer.status < 0 {
        hang(); // a port-forward runs until it is stopped
    }
    std::process::exit(answer.status);
}
