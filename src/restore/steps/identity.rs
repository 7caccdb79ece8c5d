//! The first section of every plan and run: which programs, which cluster (SPEC section 5, rule
//! 9). It reads only, and only records: nothing here refuses but another cluster on resume.

use super::Context;
use crate::error::{Error, Result};
use crate::process::{Cmd, Output, Read, Tool};
use crate::record::Reached;
use crate::record::transcript::IDENTITY_TITLE;
use crate::runbook::StepId;

pub fn identify(cx: &mut Context<'_>) -> Result<()> {
    cx.exec.section(IDENTITY_TITLE)?;
    // None of these reads needs another's answer: they run side by side, and are taken below
    // in this order.
    let reads = identity_reads(cx);
    cx.exec
        .read_ahead(&reads.iter().map(Read::answer).collect::<Vec<_>>())?;
    let versions = versions(cx)?;
    let context = kube_context(cx)?;
    let uid = cluster_uid(cx)?;
    let (Some(context), Some(uid)) = (context, uid) else {
        return Ok(());
    };
    let reached = Reached {
        kube_context: context,
        cluster_uid: uid,
        aws_account: aws_account(cx)?,
        cli_versions: versions,
    };
    // Every read above is read-only: the run's first event is written now, with their answers.
    cx.exec.identified(reached.clone())?;
    cx.note(reached.describe())?;
    match &reached.cluster_uid {
        Some(uid) => check_same_cluster(cx, uid)?,
        None => unknown_cluster(cx)?,
    }
    cx.facts.kube_context = Some(reached.kube_context);
    if reached.cluster_uid.is_some() {
        cx.facts.cluster_uid = reached.cluster_uid;
    }
    Ok(())
}

/// The identity's reads, in the order they are taken: the versions, the kube context, the
/// cluster and the AWS account.
fn identity_reads(cx: &Context<'_>) -> Vec<Cmd> {
    let mut reads: Vec<Cmd> = Tool::ALL.iter().map(|t| cx.commands.version(*t)).collect();
    if needs_kots(cx) {
        reads.push(cx.commands.kots_version());
    }
    reads.extend([
        cx.commands.current_context(),
        cx.commands.cluster_identity(),
        cx.commands.aws_caller_identity(),
    ]);
    reads
}

/// The kots plugin is asked its version when a step uses it.
fn needs_kots(cx: &Context<'_>) -> bool {
    [StepId::Platform, StepId::Messaging, StepId::Smoke]
        .iter()
        .any(|step| cx.options.includes(*step))
}

/// What a command answered on its first line, or why it could not; `None` when not run.
fn answer(cx: &mut Context<'_>, cmd: &Cmd) -> Result<Option<String>> {
    Ok(cx.exec.probe(cmd)?.map(|out| {
        if out.success() {
            first_line(&out)
        } else {
            format!("unknown (`{cmd}` exited {})", out.status)
        }
    }))
}

/// The versions of the CLIs (and of the kots plugin, when a step uses it). Recorded, not
/// required: a CLI that cannot say its version is noted and the run goes on.
fn versions(cx: &mut Context<'_>) -> Result<Vec<String>> {
    let mut versions = Vec::new();
    for tool in Tool::ALL {
        let cmd = cx.commands.version(tool);
        if let Some(version) = answer(cx, &cmd)? {
            versions.push(format!("{tool}: {version}"));
        }
    }
    let kots = cx.commands.kots_version();
    if needs_kots(cx)
        && let Some(version) = answer(cx, &kots)?
    {
        versions.push(format!("kots: {version}"));
    }
    Ok(versions)
}

/// The AWS account and principal the aws CLI acts as (`aws sts get-caller-identity`), for the
/// record: which account a run's RDS restore touched. Recorded, never required.
fn aws_account(cx: &mut Context<'_>) -> Result<String> {
    let cmd = cx.commands.aws_caller_identity();
    let Some(out) = cx.exec.probe(&cmd)? else {
        return Ok("(read by `aws sts get-caller-identity`)".into());
    };
    let value: Option<serde_json::Value> = serde_json::from_str(&out.stdout).ok();
    let field = |key: &str| {
        value
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(|v| v.as_str())
            .map(String::from)
    };
    Ok(match (out.success(), field("Account"), field("Arn")) {
        (true, Some(account), Some(arn)) => format!("{account} as {arn}"),
        (true, Some(account), None) => account,
        _ => format!("unknown (`{cmd}` exited {})", out.status),
    })
}

/// `kubectl config current-context` names the kubeconfig's context; --context overrides it.
fn kube_context(cx: &mut Context<'_>) -> Result<Option<String>> {
    let cmd = cx.commands.current_context();
    let current = answer(cx, &cmd)?;
    Ok(current.map(|current| match &cx.options.connection.context {
        Some(given) => {
            format!("{given} (--context; the kubeconfig's current context is {current})")
        }
        None => current,
    }))
}

/// The `kube-system` namespace UID: `Some(None)` when it could not be read, `None` when not run.
fn cluster_uid(cx: &mut Context<'_>) -> Result<Option<Option<String>>> {
    let cmd = cx.commands.cluster_identity();
    Ok(match cx.exec.probe(&cmd)? {
        Some(out) if out.success() && !first_line(&out).is_empty() => Some(Some(first_line(&out))),
        Some(_) => Some(None),
        None => None,
    })
}

pub(super) fn first_line(out: &Output) -> String {
    let text = if out.stdout.trim().is_empty() {
        &out.stderr
    } else {
        &out.stdout
    };
    // `velero version` starts with a `Client:` heading; the version is on the next line.
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.ends_with(':'))
        .unwrap_or("")
        .to_string()
}

/// The cluster's identity could not be read. A new run notes it; a resumed run must prove it
/// touches the cluster it began on, so it refuses unless told to go on without the proof.
fn unknown_cluster(cx: &mut Context<'_>) -> Result<()> {
    let Some(recorded) = cx.facts.cluster_uid.clone().filter(|_| cx.resuming) else {
        return Ok(());
    };
    if cx.allow_unknown_cluster {
        return cx.note(format!(
            "WARNING: --allow-unknown-cluster: the cluster's identity could not be read; going on without proof that this is the run's cluster (kube-system namespace UID {recorded})"
        ));
    }
    Err(Error::refused(format!(
        "the cluster's identity could not be read (`{}`), so this resume cannot prove it touches the cluster the run began on (kube-system namespace UID {recorded}); nothing was changed. Check the kube context and the connection, or pass --allow-unknown-cluster to go on without the proof (it is recorded)",
        cx.commands.cluster_identity()
    )))
}

/// A resumed run must touch the cluster the run began on.
fn check_same_cluster(cx: &mut Context<'_>, uid: &str) -> Result<()> {
    match &cx.facts.cluster_uid {
        Some(recorded) if recorded != uid => Err(Error::refused(format!(
            "this run began on the cluster whose kube-system namespace UID is {recorded}, but the current kube context reaches {uid}; select the run's cluster (--kubeconfig/--context) and resume again"
        ))),
        _ => Ok(()),
    }
}
