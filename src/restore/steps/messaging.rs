//! Restore Messaging Infrastructure: the only step that deletes. Deletions are exact (SPEC
//! section 5, rules 2 and 8): the two named StatefulSets; the PVCs of the Arthur namespace whose
//! names contain `messaging`; PVs only by their claim, never by name (another namespace's
//! `…messaging…` volume must survive). The list is fixed and confirmed before the first delete,
//! saved in state.json, and the objects' absence is confirmed before the Velero restore.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Context, parsed, required, waits};
use crate::error::{Error, Result};
use crate::model::MessagingDeletions;
use crate::names::ObjectName;
use crate::parse::{ParseError, kube};
use crate::process::{Cmd, Output, command_failed};
use crate::restore::executor::{Confirmation, GateOutcome, Poll, Wait, WaitEnd};
use crate::runbook::{StepId, VeleroComponent, fixed};
use crate::units::format_duration;

/// "If the PersistentVolumes still do not get deleted automatically after a few minutes, delete
/// them manually": how long the tool gives them (or less, when --timeout is shorter).
const PV_GRACE: Duration = Duration::from_secs(180);

pub fn perform(cx: &mut Context<'_>) -> Result<()> {
    required(
        cx.options.backups.messaging.as_deref(),
        "--messaging-backup",
        StepId::Messaging,
    )?;
    let deletions = match cx.facts.messaging_deletions.clone() {
        Some(recorded) => {
            cx.note(format!(
                "the objects to delete were fixed by this run before the interruption: {}",
                describe(&recorded).join("; ")
            ))?;
            Some(recorded)
        }
        None => select(cx)?,
    };
    if cx.facts.messaging_deleted {
        if let Some(restore) = restore_of_this_run(cx)? {
            // The restore recreates what the deletions removed: they are not checked again.
            cx.note(format!(
                "the deletions were done and confirmed by this run before the interruption, and its Velero restore {restore} recreates the objects; not checked again"
            ))?;
        } else {
            cx.note("the deletions were done by this run before the interruption; checking they are still gone")?;
            confirm_gone(cx, deletions.as_ref(), true)?;
        }
    } else {
        let deleted = delete(cx, deletions.as_ref())?;
        confirm_gone(cx, deletions.as_ref(), deleted)?;
        if deleted {
            cx.facts.messaging_deleted = true;
            cx.checkpoint()?;
        }
    }
    super::velero_restore::perform(cx, VeleroComponent::Messaging)?;
    waits::app_ready(cx)
}

/// The messaging restore this run created: recorded, or (on resume) found in Velero's list of
/// restores from the backup, created after the run began, and then recorded.
fn restore_of_this_run(cx: &mut Context<'_>) -> Result<Option<ObjectName>> {
    if let Some(name) = cx.facts.restores.get(&VeleroComponent::Messaging) {
        return Ok(Some(name.clone()));
    }
    let Some(backup) = cx.options.backups.messaging.clone() else {
        return Ok(None);
    };
    let found = super::velero_restore::find_restore_of_this_run(cx, &backup)?;
    if let Some(name) = &found {
        cx.facts
            .restores
            .insert(VeleroComponent::Messaging, name.clone());
        cx.checkpoint()?;
    }
    Ok(found)
}

fn lowercase_contains_messaging(name: &str) -> bool {
    name.to_ascii_lowercase().contains("messaging")
}

fn listed<T: AsRef<str>>(names: &[T]) -> String {
    if names.is_empty() {
        "none".to_string()
    } else {
        names
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A name read from a listing, checked before it can go into an argv (a refusal when it is not
/// an object name: a real API server would not have it, and the tool does not depend on that).
fn listed_name(name: &str, listing: &Cmd, output: &str) -> Result<ObjectName> {
    ObjectName::new(name).map_err(|problem| {
        let mut error = ParseError::unsafe_value(problem, name);
        if let Some(line) = output
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
        {
            error = error.on_line(line);
        }
        error.for_command(listing)
    })
}

/// The two StatefulSets the runbook names.
fn messaging_statefulsets() -> Vec<ObjectName> {
    fixed::MESSAGING_STATEFULSETS.map(fixed::object).to_vec()
}

/// Lists StatefulSets, PVCs and PVs and fixes the exact objects to delete; asks before any.
/// `None` when the listings were not run (an offline plan).
fn select(cx: &mut Context<'_>) -> Result<Option<MessagingDeletions>> {
    let mut shown = Vec::new();
    let statefulsets = select_statefulsets(cx, &mut shown)?;
    let claims = select_claims(cx, &mut shown)?;
    let volumes = select_volumes(cx, claims.as_deref(), &mut shown)?;
    let (Some(statefulsets), Some(pvcs), Some(pvs)) = (statefulsets, claims, volumes) else {
        cx.exec.confirm(&Confirmation {
            gate: "delete-messaging",
            details: vec![
                "the exact list of StatefulSets, PVCs and PVs selected above is shown".into(),
            ],
            question: "Delete them?".into(),
            words: delete_words(cx),
        })?;
        return Ok(None);
    };
    let deletions = MessagingDeletions {
        statefulsets,
        pvcs,
        pvs,
    };
    ask_to_delete(cx, &deletions, &shown)?;
    Ok(Some(deletions))
}

/// One object of the deletion gate: kind, name, status, and what it is bound to (a PVC's
/// volume, a PV's claim and reclaim policy).
type GateRow = [String; 5];

/// The runbook's `kubectl get sts | grep -i messaging`: exactly the two named StatefulSets, or a
/// refusal before anything is deleted.
fn select_statefulsets(
    cx: &mut Context<'_>,
    shown: &mut Vec<GateRow>,
) -> Result<Option<Vec<ObjectName>>> {
    let get_sts = cx.commands.get_statefulsets();
    let Some(out) = cx.read(&get_sts)? else {
        cx.note("selected (grep -i messaging): must be exactly messaging and messaging-cp-zookeeper, else refuse")?;
        return Ok(None);
    };
    let listed: Vec<(String, String)> = parsed(&get_sts, kube::statefulsets(&out.stdout))?
        .into_iter()
        .filter(|(name, _)| lowercase_contains_messaging(name))
        .collect();
    let found: Vec<String> = listed.iter().map(|(name, _)| name.clone()).collect();
    for (name, ready) in &listed {
        shown.push([
            // kubectl's short name, so that a row fits 120 columns.
            "sts".into(),
            name.clone(),
            format!("ready {ready}"),
            String::new(),
            String::new(),
        ]);
    }
    cx.note(format!("selected (grep -i messaging): {}", found.join(" ")))?;
    let wanted: BTreeSet<&str> = fixed::MESSAGING_STATEFULSETS.into_iter().collect();
    let have: BTreeSet<&str> = found.iter().map(String::as_str).collect();
    if have != wanted {
        return Err(Error::refused(format!(
            "the runbook expects exactly two messaging StatefulSets, messaging and messaging-cp-zookeeper, in namespace `{}`; `{get_sts}` shows: {}. Nothing was deleted. If the platform is still installing, wait for it; if a StatefulSet is already gone from an earlier attempt, finish the deletions by hand and restart from the Velero restore",
            cx.options.namespace,
            if found.is_empty() {
                "none".to_string()
            } else {
                found.join(", ")
            }
        )));
    }
    Ok(Some(messaging_statefulsets()))
}

/// The runbook's `kubectl get pvc -n NS | grep -i messaging`: names checked before they can
/// reach an argv.
fn select_claims(
    cx: &mut Context<'_>,
    shown: &mut Vec<GateRow>,
) -> Result<Option<Vec<ObjectName>>> {
    let get_pvc = cx.commands.get_pvcs();
    let Some(out) = cx.read(&get_pvc)? else {
        cx.note(format!(
            "selected (grep -i messaging): the PVCs of namespace {} whose names contain messaging",
            cx.options.namespace
        ))?;
        return Ok(None);
    };
    let selected: Vec<kube::Claim> = parsed(&get_pvc, kube::pvcs(&out.stdout))?
        .into_iter()
        .filter(|claim| lowercase_contains_messaging(&claim.name))
        .collect();
    let claims: Vec<ObjectName> = selected
        .iter()
        .map(|claim| listed_name(&claim.name, &get_pvc, &out.stdout))
        .collect::<Result<_>>()?;
    for claim in &selected {
        shown.push([
            "pvc".into(),
            claim.name.clone(),
            claim.status.clone(),
            if claim.volume.is_empty() {
                "no volume".into()
            } else {
                format!("volume {}", claim.volume)
            },
            String::new(),
        ]);
    }
    let names: Vec<&str> = claims.iter().map(|c| c.as_str()).collect();
    cx.note(format!("selected (grep -i messaging): {}", names.join(" ")))?;
    Ok(Some(claims))
}

/// The PVs whose claim is one of the selected PVCs (never by name alone: PVs are cluster-scoped).
fn select_volumes(
    cx: &mut Context<'_>,
    claims: Option<&[ObjectName]>,
    shown: &mut Vec<GateRow>,
) -> Result<Option<Vec<ObjectName>>> {
    let namespace = cx.options.namespace.clone();
    let get_pv = cx.commands.get_pvs();
    let (Some(out), Some(claims)) = (cx.read(&get_pv)?, claims) else {
        cx.note(format!("selected by claim, not by name: the PVs whose CLAIM is {namespace}/<one of the PVCs above> (PVs are cluster-scoped; another namespace's messaging volumes are left alone)"))?;
        return Ok(None);
    };
    let all = parsed(&get_pv, kube::pvs(&out.stdout))?;
    let claim_refs: BTreeSet<String> = claims.iter().map(|c| format!("{namespace}/{c}")).collect();
    let (ours, others): (Vec<kube::Volume>, Vec<kube::Volume>) =
        all.into_iter().partition(|v| claim_refs.contains(&v.claim));
    let spared: Vec<String> = others
        .iter()
        .filter(|v| lowercase_contains_messaging(&v.claim) || lowercase_contains_messaging(&v.name))
        .map(|v| format!("{} (claim {})", v.name, v.claim))
        .collect();
    let names: Vec<&str> = ours.iter().map(|v| v.name.as_str()).collect();
    let mut note = format!(
        "selected by claim ({namespace}/<one of the PVCs above>), not by name: {}",
        listed(&names)
    );
    if !spared.is_empty() {
        note.push_str(&format!(
            "\nleft alone (another claim): {}",
            spared.join(", ")
        ));
    }
    // The claims are all in the Arthur namespace, which the gate names: `claim NAME`, so that a
    // row fits 120 columns.
    let in_namespace = format!("{}/", cx.options.namespace);
    for volume in &ours {
        shown.push([
            "pv".into(),
            volume.name.clone(),
            volume.status.clone(),
            format!(
                "claim {}",
                volume
                    .claim
                    .strip_prefix(&in_namespace)
                    .unwrap_or(&volume.claim)
            ),
            format!("reclaim {}", volume.reclaim_policy),
        ]);
    }
    let ours = ours
        .iter()
        .map(|v| listed_name(&v.name, &get_pv, &out.stdout))
        .collect::<Result<Vec<_>>>()?;
    cx.note(note)?;
    Ok(Some(ours))
}

/// The deletion fence (SPEC section 5, rule 8): the exact list, confirmed; saved once confirmed.
fn ask_to_delete(
    cx: &mut Context<'_>,
    deletions: &MessagingDeletions,
    shown: &[GateRow],
) -> Result<()> {
    let mut details = vec![format!(
        "About to delete, in namespace {} ({} StatefulSets, {} PVCs; {} PVs, deleted only if they outlive their claims):",
        cx.options.namespace,
        deletions.statefulsets.len(),
        deletions.pvcs.len(),
        deletions.pvs.len()
    )];
    details.extend(aligned(shown));
    details.push("Velero then restores them from the messaging backup.".into());
    let outcome = cx.exec.confirm(&Confirmation {
        gate: "delete-messaging",
        details: details.clone(),
        question: "Delete exactly these objects?".into(),
        words: delete_words(cx),
    })?;
    if outcome == GateOutcome::Passed {
        super::approval::require(cx, "delete-messaging", details)?;
        cx.facts.messaging_deletions = Some(deletions.clone());
        cx.checkpoint()?;
    }
    Ok(())
}

/// The gate's objects, one per line, in columns.
fn aligned(shown: &[GateRow]) -> Vec<String> {
    // A column is as wide as its widest cell among the rows that go on after it: the last cell
    // of a row is never padded, so a long PVC volume does not push the PVs' reclaim policy out.
    let widths: Vec<usize> = (0..5)
        .map(|i| {
            shown
                .iter()
                .filter(|row| row[i + 1..].iter().any(|cell| !cell.is_empty()))
                .map(|row| row[i].len())
                .max()
                .unwrap_or(0)
        })
        .collect();
    shown
        .iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            format!("  {}", cells.join("  ").trim_end())
        })
        .collect()
}

/// What confirms the deletions at the prompt: the word `delete`, or the namespace's name.
fn delete_words(cx: &Context<'_>) -> Vec<String> {
    vec!["delete".into(), cx.options.namespace.to_string()]
}

fn describe(deletions: &MessagingDeletions) -> Vec<String> {
    let list = |items: &[ObjectName]| listed(items);
    vec![
        format!("StatefulSets: {}", list(&deletions.statefulsets)),
        format!("PVCs ({}): {}", deletions.pvcs.len(), list(&deletions.pvcs)),
        format!(
            "PVs bound to them, deleted only if they outlive their claims ({}): {}",
            deletions.pvs.len(),
            list(&deletions.pvs)
        ),
    ]
}

/// Deletes the StatefulSets and PVCs, then waits for the PVs. True when the deletions ran (a
/// plan only shows them).
fn delete(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<bool> {
    let remaining = match deletions {
        Some(d) if cx.resuming => Some(still_present(cx, d)?),
        other => other.cloned(),
    };
    let deletions = remaining.as_ref();
    let statefulsets: Vec<ObjectName> = match deletions {
        Some(d) => d.statefulsets.clone(),
        None => messaging_statefulsets(),
    };
    let mut ran = false;
    for name in &statefulsets {
        let cmd = cx.commands.delete_statefulset(name);
        let Some(out) = cx.exec.change(&cmd)? else {
            continue;
        };
        ran = true;
        check_deleted(cx, &cmd, &out, std::slice::from_ref(name))?;
    }
    delete_claims(cx, deletions)?;
    wait_for_volumes(cx, deletions)?;
    Ok(ran)
}

/// Success is kubectl saying, for each object, `KIND "NAME" deleted` (SPEC section 5, rule 7:
/// never the exit status alone). An object kubectl says is not found is gone too (say so); an
/// answer that says neither about an object is a failure, before anything else is deleted.
fn check_deleted(
    cx: &mut Context<'_>,
    cmd: &Cmd,
    out: &Output,
    names: &[ObjectName],
) -> Result<()> {
    let deleted = |name: &str| {
        out.stdout
            .lines()
            .any(|l| l.contains(&format!("\"{name}\" deleted")))
    };
    let not_found = |name: &str| {
        out.stderr
            .lines()
            .any(|l| l.contains("(NotFound)") && l.contains(&format!("\"{name}\" not found")))
    };
    let gone: Vec<&str> = names
        .iter()
        .map(|n| n.as_str())
        .filter(|n| !deleted(n) && not_found(n))
        .collect();
    let unsaid: Vec<&str> = names
        .iter()
        .map(|n| n.as_str())
        .filter(|n| !deleted(n) && !not_found(n))
        .collect();
    if !unsaid.is_empty() {
        let mut error = command_failed(cmd, out);
        if let Error::CommandFailed { reason, .. } = &mut error {
            reason.push_str(&format!(
                " (kubectl did not say that {} {} deleted; nothing else was deleted after it. Look with `{}`)",
                unsaid.join(", "),
                if unsaid.len() == 1 { "was" } else { "were" },
                cx.commands.get_statefulsets_and_pvcs()
            ));
        }
        return Err(error);
    }
    if !gone.is_empty() {
        cx.note(format!("already gone (NotFound): {}", gone.join(" ")))?;
    }
    Ok(())
}

/// On resume, the recorded deletions less what is already gone (deleted before the
/// interruption, whose answer may not have been seen): nothing is deleted twice.
fn still_present(cx: &mut Context<'_>, d: &MessagingDeletions) -> Result<MessagingDeletions> {
    let get_sts = cx.commands.get_statefulsets();
    let get_pvc = cx.commands.get_pvcs();
    let (Some(sts_out), Some(pvc_out)) = (cx.read(&get_sts)?, cx.read(&get_pvc)?) else {
        return Ok(d.clone());
    };
    let statefulsets: Vec<String> = parsed(&get_sts, kube::names(&sts_out.stdout))?;
    let claims: Vec<String> = parsed(&get_pvc, kube::pvcs(&pvc_out.stdout))?
        .into_iter()
        .map(|c| c.name)
        .collect();
    let present = MessagingDeletions {
        statefulsets: d
            .statefulsets
            .iter()
            .filter(|s| statefulsets.iter().any(|n| n == s.as_str()))
            .cloned()
            .collect(),
        pvcs: d
            .pvcs
            .iter()
            .filter(|p| claims.iter().any(|n| n == p.as_str()))
            .cloned()
            .collect(),
        pvs: d.pvs.clone(),
    };
    let gone: Vec<&str> = d
        .statefulsets
        .iter()
        .chain(&d.pvcs)
        .filter(|name| !present.statefulsets.contains(name) && !present.pvcs.contains(name))
        .map(|n| n.as_str())
        .collect();
    if !gone.is_empty() {
        cx.note(format!(
            "already gone (deleted by this run before the interruption), not deleted again: {}",
            gone.join(" ")
        ))?;
    }
    Ok(present)
}

fn delete_claims(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<()> {
    match deletions {
        Some(d) if !d.pvcs.is_empty() => {
            let cmd = cx.commands.delete_pvcs(&d.pvcs);
            if let Some(out) = cx.exec.change(&cmd)? {
                check_deleted(cx, &cmd, &out, &d.pvcs)?;
            }
            Ok(())
        }
        Some(_) => cx.note("no messaging PVCs to delete"),
        None => {
            let cmd = cx
                .commands
                .delete_pvcs(&[ObjectName::placeholder("<the PVCs selected above>")]);
            cx.exec.change(&cmd)?;
            cx.note("(the runbook's `… | awk '{print $1}' | xargs kubectl delete pvc`, done with the list above)")
        }
    }
}

/// Waits for the PVs of the deleted claims to go (reclaim policy Delete), deletes the ones that
/// outlive the grace period, and waits for those too.
fn wait_for_volumes(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<()> {
    let grace = PV_GRACE.min(cx.options.timing.timeout);
    let pvs: Vec<ObjectName> = deletions.map(|d| d.pvs.clone()).unwrap_or_default();
    let end = cx.exec.wait_or_time_out(volumes_gone(cx, &pvs, grace))?;
    match end {
        WaitEnd::Ready => Ok(()),
        WaitEnd::NotRun => cx.note(format!(
            "if PVs remain after {}: delete them (the runbook's `kubectl get pv | grep -i messaging | awk '{{print $1}}' | xargs kubectl delete pv`, limited to the PVs selected by claim)",
            format_duration(grace)
        )),
        WaitEnd::TimedOut { pending } => {
            let left: Vec<(&ObjectName, bool)> = pvs
                .iter()
                .filter_map(|pv| {
                    let line = pending.iter().find(|p| p.starts_with(&format!("PV {pv} ")))?;
                    Some((pv, line.starts_with(&format!("PV {pv} Bound "))))
                })
                .collect();
            let held: Vec<&ObjectName> = left
                .iter()
                .filter(|(_, bound)| *bound)
                .map(|(pv, _)| *pv)
                .collect();
            if !held.is_empty() {
                return Err(claims_held(cx, deletions, &held, grace));
            }
            let leftovers: Vec<ObjectName> = left.into_iter().map(|(pv, _)| pv.clone()).collect();
            delete_leftover_volumes(cx, &leftovers)
        }
    }
}

/// PVs still Bound after the grace period: their claims have not gone (a PVC is held by its
/// `kubernetes.io/pvc-protection` finalizer while a pod uses it). Deleting the PVs then would
/// pull the storage from under a running pod: the run stops and says what to look at.
fn claims_held(
    cx: &Context<'_>,
    deletions: Option<&MessagingDeletions>,
    held: &[&ObjectName],
    waited: Duration,
) -> Error {
    let claims: Vec<ObjectName> = deletions.map(|d| d.pvcs.clone()).unwrap_or_default();
    let look: Vec<String> = claims
        .iter()
        .take(3)
        .map(|c| format!("`{}`", cx.commands.describe_pvc(c)))
        .collect();
    Error::Timeout {
        what: "the deleted PVCs to go and release their PVs".into(),
        probe: cx.commands.get_pvs().to_string(),
        waited: format_duration(waited),
        still: format!(
            "  PVs still Bound: {}\n  their PVCs are still Terminating, held by the kubernetes.io/pvc-protection finalizer while a pod uses them; the PVs were not deleted. Look with {} and stop what uses them, then resume",
            held.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(" "),
            look.join(", ")
        ),
    }
}

fn delete_leftover_volumes(cx: &mut Context<'_>, leftovers: &[ObjectName]) -> Result<()> {
    cx.note(format!(
        "PVs left after their claims were deleted: {}; deleting them by hand, as the runbook says (\"if the PersistentVolumes still do not get deleted automatically\"), selected by claim",
        listed(leftovers)
    ))?;
    let cmd = cx.commands.delete_pvs(leftovers);
    if let Some(out) = cx.exec.change(&cmd)? {
        check_deleted(cx, &cmd, &out, leftovers)?;
    }
    let timeout = cx.options.timing.timeout;
    cx.exec.wait(volumes_gone(cx, leftovers, timeout))?;
    Ok(())
}

fn volume_line(v: &kube::Volume) -> String {
    format!(
        "PV {} {} (reclaim policy {})",
        v.name, v.status, v.reclaim_policy
    )
}

fn volumes_gone<'a>(cx: &Context<'_>, pvs: &'a [ObjectName], timeout: Duration) -> Wait<'a> {
    let probe = cx.commands.get_pvs();
    let for_errors = probe.clone();
    Wait {
        what: "the PVs of the deleted PVCs to be gone (the runbook's `| wc -l` should return 0)"
            .into(),
        probe,
        timeout,
        check: Box::new(move |out| {
            // A listing that failed says nothing of what is gone.
            if !out.success() {
                return Err(command_failed(&for_errors, out));
            }
            let present: Vec<kube::Volume> = parsed(&for_errors, kube::pvs(&out.stdout))?
                .into_iter()
                .filter(|v| pvs.iter().any(|pv| pv == v.name.as_str()))
                .collect();
            let pending: Vec<String> = present.iter().map(volume_line).collect();
            Ok(if present.is_empty() {
                Poll::Ready("0 of the selected PVs remain".into())
            } else if present
                .iter()
                .all(|v| v.reclaim_policy == "Retain" && v.status != "Bound")
            {
                Poll::Stop {
                    progress: format!(
                        "{} PV(s) with reclaim policy Retain, which Kubernetes never deletes by itself",
                        present.len()
                    ),
                    pending,
                }
            } else {
                Poll::NotYet {
                    progress: format!("{} of {} PVs remain", present.len(), pvs.len()),
                    pending,
                }
            })
        }),
    }
}

/// "Do not proceed until the above deletion commands have fully completed." `deleted` is false
/// when the deletions were only shown (a plan): the listings then prove nothing.
fn confirm_gone(
    cx: &mut Context<'_>,
    deletions: Option<&MessagingDeletions>,
    deleted: bool,
) -> Result<()> {
    let get_sts = cx.commands.get_statefulsets();
    let sts_out = cx.read(&get_sts)?;
    let get_pvc = cx.commands.get_pvcs();
    let pvc_out = cx.read(&get_pvc)?;
    let (Some(d), Some(sts_out), Some(pvc_out), true) = (deletions, sts_out, pvc_out, deleted)
    else {
        return cx.note("requires: none of the deleted StatefulSets, PVCs or PVs is listed any more, else refuse before the Velero restore");
    };
    let mut remaining: Vec<String> = parsed(&get_sts, kube::names(&sts_out.stdout))?
        .into_iter()
        .filter(|name| d.statefulsets.iter().any(|s| s == name.as_str()))
        .map(|name| format!("StatefulSet {name}"))
        .collect();
    remaining.extend(
        parsed(&get_pvc, kube::pvcs(&pvc_out.stdout))?
            .into_iter()
            .filter(|c| d.pvcs.iter().any(|p| p == c.name.as_str()))
            .map(|c| format!("PVC {} ({})", c.name, c.status)),
    );
    if !remaining.is_empty() {
        return Err(Error::refused(format!(
            "the deletions have not completed; still present: {}. The Velero restore was not created. Wait for them to go (`{}`), then `arthur-restore run --resume DIR`",
            remaining.join(", "),
            cx.commands.get_statefulsets_and_pvcs()
        )));
    }
    cx.note("confirmed: the deleted StatefulSets, PVCs and PVs are all gone")
}
