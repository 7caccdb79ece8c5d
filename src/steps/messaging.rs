//! Restore Messaging Infrastructure: the only step that deletes. Deletions are exact (SPEC
//! section 5, rules 2 and 8): the two named StatefulSets; the PVCs of the Arthur namespace whose
//! names contain `messaging`; PVs only by their claim, never by name (another namespace's
//! `…messaging…` volume must survive). The list is fixed and confirmed before the first delete,
//! saved in state.json, and the objects' absence is confirmed before the Velero restore.

use std::collections::BTreeSet;
use std::time::Duration;

use super::{Context, only_not_found, parsed, required};
use crate::error::{Error, Result};
use crate::executor::{Confirmation, Poll, Wait, WaitEnd};
use crate::facts::MessagingDeletions;
use crate::names::format_duration;
use crate::parse::{kots, kube};
use crate::runbook::{StepId, VeleroComponent, fixed};

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
        cx.note("the deletions were done by this run before the interruption; checking they are still gone")?;
        confirm_gone(cx, deletions.as_ref())?;
    } else {
        delete(cx, deletions.as_ref())?;
        if cx.exec.is_live() {
            cx.facts.messaging_deleted = true;
            cx.checkpoint()?;
        }
    }
    super::velero_restore::perform(cx, VeleroComponent::Messaging)?;
    wait_for_app_ready(cx)
}

fn lowercase_contains_messaging(name: &str) -> bool {
    name.to_ascii_lowercase().contains("messaging")
}

/// Lists StatefulSets, PVCs and PVs and fixes the exact objects to delete; asks before any.
fn select(cx: &mut Context<'_>) -> Result<Option<MessagingDeletions>> {
    let namespace = cx.options.namespace.clone();
    let get_sts = cx.commands.get_statefulsets();
    let statefulsets = match cx.read(&get_sts)? {
        Some(out) => {
            let found: Vec<String> = parsed(&get_sts, kube::names(&out.stdout))?
                .into_iter()
                .filter(|name| lowercase_contains_messaging(name))
                .collect();
            cx.note(format!("selected (grep -i messaging): {}", found.join(" ")))?;
            let wanted: BTreeSet<&str> = fixed::MESSAGING_STATEFULSETS.into_iter().collect();
            let have: BTreeSet<&str> = found.iter().map(String::as_str).collect();
            if have != wanted {
                return Err(Error::refused(format!(
                    "the runbook expects exactly two messaging StatefulSets, messaging and messaging-cp-zookeeper, in namespace `{namespace}`; `{get_sts}` shows: {}. Nothing was deleted. If the platform is still installing, wait for it; if a StatefulSet is already gone from an earlier attempt, finish the deletions by hand and restart from the Velero restore",
                    if found.is_empty() {
                        "none".to_string()
                    } else {
                        found.join(", ")
                    }
                )));
            }
            Some(fixed::MESSAGING_STATEFULSETS.map(String::from).to_vec())
        }
        None => {
            cx.note("selected (grep -i messaging): must be exactly messaging and messaging-cp-zookeeper, else refuse")?;
            None
        }
    };
    let get_pvc = cx.commands.get_pvcs();
    let claims = match cx.read(&get_pvc)? {
        Some(out) => {
            let claims: Vec<kube::Claim> = parsed(&get_pvc, kube::pvcs(&out.stdout))?
                .into_iter()
                .filter(|claim| lowercase_contains_messaging(&claim.name))
                .collect();
            for claim in &claims {
                crate::names::object_name(&claim.name).map_err(|problem| {
                    crate::parse::ParseError::at(problem, &claim.name).for_command(&get_pvc)
                })?;
            }
            cx.note(format!(
                "selected (grep -i messaging): {}",
                claims
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ))?;
            Some(claims)
        }
        None => {
            cx.note(format!("selected (grep -i messaging): the PVCs of namespace {namespace} whose names contain messaging"))?;
            None
        }
    };
    let get_pv = cx.commands.get_pvs();
    let volumes = match (cx.read(&get_pv)?, &claims) {
        (Some(out), Some(claims)) => {
            let all = parsed(&get_pv, kube::pvs(&out.stdout))?;
            let claim_refs: BTreeSet<String> = claims
                .iter()
                .map(|c| format!("{namespace}/{}", c.name))
                .collect();
            let (ours, others): (Vec<kube::Volume>, Vec<kube::Volume>) =
                all.into_iter().partition(|v| claim_refs.contains(&v.claim));
            let spared: Vec<String> = others
                .iter()
                .filter(|v| {
                    lowercase_contains_messaging(&v.claim) || lowercase_contains_messaging(&v.name)
                })
                .map(|v| format!("{} (claim {})", v.name, v.claim))
                .collect();
            let mut note = format!(
                "selected by claim ({namespace}/<one of the PVCs above>), not by name: {}",
                if ours.is_empty() {
                    "none".to_string()
                } else {
                    ours.iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(" ")
                }
            );
            if !spared.is_empty() {
                note.push_str(&format!(
                    "\nleft alone (another claim): {}",
                    spared.join(", ")
                ));
            }
            cx.note(note)?;
            Some(ours.into_iter().map(|v| v.name).collect::<Vec<_>>())
        }
        _ => {
            cx.note(format!("selected by claim, not by name: the PVs whose CLAIM is {namespace}/<one of the PVCs above> (PVs are cluster-scoped; another namespace's messaging volumes are left alone)"))?;
            None
        }
    };
    let (Some(statefulsets), Some(claims), Some(pvs)) = (statefulsets, claims, volumes) else {
        cx.exec.confirm(&Confirmation {
            gate: "delete-messaging",
            details: vec![
                "the exact list of StatefulSets, PVCs and PVs selected above is shown".into(),
            ],
            question: "Delete them?".into(),
        })?;
        return Ok(None);
    };
    let deletions = MessagingDeletions {
        statefulsets,
        pvcs: claims.into_iter().map(|c| c.name).collect(),
        pvs,
    };
    let mut details = vec![format!("About to delete, in namespace {namespace}:")];
    details.extend(
        describe(&deletions)
            .into_iter()
            .map(|line| format!("  {line}")),
    );
    details.push("Velero then restores them from the messaging backup.".into());
    cx.exec.confirm(&Confirmation {
        gate: "delete-messaging",
        details,
        question: "Delete exactly these objects?".into(),
    })?;
    if cx.exec.is_live() {
        cx.facts.messaging_deletions = Some(deletions.clone());
        cx.checkpoint()?;
    }
    Ok(Some(deletions))
}

fn describe(deletions: &MessagingDeletions) -> Vec<String> {
    let list = |items: &[String]| {
        if items.is_empty() {
            "none".to_string()
        } else {
            items.join(" ")
        }
    };
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

fn delete(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<()> {
    let statefulsets: Vec<String> = match deletions {
        Some(d) => d.statefulsets.clone(),
        None => fixed::MESSAGING_STATEFULSETS.map(String::from).to_vec(),
    };
    for name in &statefulsets {
        let cmd = cx.commands.delete_statefulset(name);
        if let Some(out) = cx.exec.change(&cmd)?
            && !out.success()
        {
            if cx.resuming && only_not_found(&out) {
                cx.note(format!(
                    "StatefulSet {name} is already gone (deleted before the interruption)"
                ))?;
            } else {
                return Err(Error::command_failed(&cmd, &out));
            }
        }
    }
    match deletions {
        Some(d) if !d.pvcs.is_empty() => {
            let cmd = cx.commands.delete_pvcs(&d.pvcs);
            if let Some(out) = cx.exec.change(&cmd)?
                && !out.success()
            {
                if only_not_found(&out) {
                    cx.note("some PVCs were already gone (NotFound); the others were deleted")?;
                } else {
                    return Err(Error::command_failed(&cmd, &out));
                }
            }
        }
        Some(_) => cx.note("no messaging PVCs to delete")?,
        None => {
            cx.exec.change(
                &cx.commands
                    .delete_pvcs(&["<the PVCs selected above>".to_string()]),
            )?;
            cx.note("(the runbook's `… | awk '{print $1}' | xargs kubectl delete pvc`, done with the list above)")?;
        }
    }
    wait_for_volumes(cx, deletions)?;
    confirm_gone(cx, deletions)
}

/// Waits for the PVs of the deleted claims to go (reclaim policy Delete), deletes the ones that
/// outlive the grace period, and waits for those too.
fn wait_for_volumes(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<()> {
    let grace = PV_GRACE.min(cx.options.timing.timeout);
    let pvs: Vec<String> = deletions.map(|d| d.pvs.clone()).unwrap_or_default();
    let end = cx.exec.wait_or_time_out(volumes_gone(cx, &pvs, grace))?;
    match end {
        WaitEnd::Ready => Ok(()),
        WaitEnd::NotRun => cx.note(format!(
            "if PVs remain after {}: delete them (the runbook's `kubectl get pv | grep -i messaging | awk '{{print $1}}' | xargs kubectl delete pv`, limited to the PVs selected by claim)",
            format_duration(grace)
        )),
        WaitEnd::TimedOut { pending } => {
            let leftovers: Vec<String> = pvs.iter().filter(|pv| pending.iter().any(|p| p.starts_with(&format!("PV {pv} ")))).cloned().collect();
            cx.note(format!(
                "PVs left after their claims were deleted: {}; deleting them by hand, as the runbook says (\"if the PersistentVolumes still do not get deleted automatically\"), selected by claim",
                leftovers.join(" ")
            ))?;
            let cmd = cx.commands.delete_pvs(&leftovers);
            if let Some(out) = cx.exec.change(&cmd)?
                && !out.success()
                && !only_not_found(&out)
            {
                return Err(Error::command_failed(&cmd, &out));
            }
            let timeout = cx.options.timing.timeout;
            cx.exec.wait(volumes_gone(cx, &leftovers, timeout))?;
            Ok(())
        }
    }
}

fn volumes_gone<'a>(cx: &Context<'_>, pvs: &'a [String], timeout: Duration) -> Wait<'a> {
    let probe = cx.commands.get_pvs();
    let for_errors = probe.clone();
    Wait {
        what: "the PVs of the deleted PVCs to be gone (the runbook's `| wc -l` should return 0)"
            .into(),
        probe,
        timeout,
        check: Box::new(move |out| {
            let present: Vec<kube::Volume> = parsed(&for_errors, kube::pvs(&out.stdout))?
                .into_iter()
                .filter(|v| pvs.contains(&v.name))
                .collect();
            let pending: Vec<String> = present
                .iter()
                .map(|v| {
                    format!(
                        "PV {} {} (reclaim policy {})",
                        v.name, v.status, v.reclaim_policy
                    )
                })
                .collect();
            Ok(if present.is_empty() {
                Poll::Ready("0 of the selected PVs remain".into())
            } else if present.iter().all(|v| v.reclaim_policy == "Retain") {
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
                    pending: present
                        .iter()
                        .map(|v| {
                            format!(
                                "PV {} {} (reclaim policy {})",
                                v.name, v.status, v.reclaim_policy
                            )
                        })
                        .collect(),
                }
            })
        }),
    }
}

/// "Do not proceed until the above deletion commands have fully completed."
fn confirm_gone(cx: &mut Context<'_>, deletions: Option<&MessagingDeletions>) -> Result<()> {
    let get_sts = cx.commands.get_statefulsets();
    let sts_out = cx.read(&get_sts)?;
    let get_pvc = cx.commands.get_pvcs();
    let pvc_out = cx.read(&get_pvc)?;
    // A plan deleted nothing: the listings still show everything, which proves nothing.
    let live = cx.exec.is_live();
    let (Some(d), Some(sts_out), Some(pvc_out), true) = (deletions, sts_out, pvc_out, live) else {
        return cx.note("requires: none of the deleted StatefulSets, PVCs or PVs is listed any more, else refuse before the Velero restore");
    };
    let mut remaining: Vec<String> = parsed(&get_sts, kube::names(&sts_out.stdout))?
        .into_iter()
        .filter(|name| d.statefulsets.contains(name))
        .map(|name| format!("StatefulSet {name}"))
        .collect();
    remaining.extend(
        parsed(&get_pvc, kube::pvcs(&pvc_out.stdout))?
            .into_iter()
            .filter(|c| d.pvcs.contains(&c.name))
            .map(|c| format!("PVC {} ({})", c.name, c.status)),
    );
    if !remaining.is_empty() {
        return Err(Error::refused(format!(
            "the deletions have not completed; still present: {}. The Velero restore was not created. Wait for them to go (`kubectl get sts,pvc -n {}`), then `arthur-restore run --resume DIR`",
            remaining.join(", "),
            cx.options.namespace
        )));
    }
    cx.note("confirmed: the deleted StatefulSets, PVCs and PVs are all gone")
}

/// `kubectl kots get apps` until the app's STATUS is `ready`.
pub(super) fn wait_for_app_ready(cx: &mut Context<'_>) -> Result<()> {
    let probe = cx.commands.kots_get_apps();
    let for_errors = probe.clone();
    cx.exec.wait(Wait {
        what: format!("the KOTS app {} to be ready", fixed::KOTS_APP_SLUG),
        probe,
        timeout: cx.options.timing.timeout,
        check: Box::new(move |out| {
            let apps = parsed(&for_errors, kots::apps(&out.stdout))?;
            // Arthur's slug, or the only app installed (a renamed install).
            let app = apps
                .iter()
                .find(|a| a.slug == fixed::KOTS_APP_SLUG)
                .or(if apps.len() == 1 { apps.first() } else { None });
            Ok(match app {
                Some(app) if app.status == "ready" => {
                    Poll::Ready(format!("{} is ready ({})", app.slug, app.version))
                }
                Some(app) => {
                    let status = if app.status.is_empty() {
                        "no status reported"
                    } else {
                        app.status.as_str()
                    };
                    Poll::NotYet {
                        progress: format!("{} is {status}", app.slug),
                        pending: vec![format!("app {}: {status}", app.slug)],
                    }
                }
                None => Poll::NotYet {
                    progress: "app not listed".into(),
                    pending: vec![format!("app {} not listed", fixed::KOTS_APP_SLUG)],
                },
            })
        }),
    })?;
    Ok(())
}
