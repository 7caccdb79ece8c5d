//! `kubectl`: namespaces, StatefulSets, PVCs and PVs, Jobs, pods, the KOTS plugin.

use std::fs;

use serde_json::json;

use crate::*;

pub(crate) fn kubectl(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["version", "--client"] => {
            Answer::out("Client Version: v1.29.4\nKustomize Version: v5.0.4\n")
        }
        ["kots", "version"] => Answer::out(fixture("reference/kots-version.txt")),
        ["config", "current-context"] => Answer::out("arthur-prod\n"),
        [
            "get",
            "namespace",
            "kube-system",
            "-o",
            "jsonpath={.metadata.uid}",
        ] => cluster_identity(),
        ["get", "namespace", ns] if *ns == NS || *ns == "velero" => Answer::out(table(
            &["NAME", "STATUS", "AGE"],
            &[vec![ns.to_string(), "Active".into(), "41d".into()]],
        )),
        ["get", "namespace", ns] => Answer::err(
            format!("Error from server (NotFound): namespaces \"{ns}\" not found\n"),
            1,
        ),
        [
            "exec",
            _,
            "-n",
            NS,
            "-c",
            "backup",
            "--",
            "clickhouse-backup",
            "list",
        ] => Answer::out(fixture("reference/clickhouse-backup-list-v2.txt")),
        ["kots", "get", "config", "-n", NS, "--appslug", "arthur"] => {
            Answer::out(fixture("reference/kots-get-config.yaml"))
        }
        ["kots", "get", "apps", "-n", NS] => {
            Answer::out("SLUG      STATUS    VERSION\narthur    ready     3.4.0\n")
        }
        ["get", "pods", "-n", NS] => Answer::out(pods_table()),
        ["get", "jobs", "-n", NS] => Answer::out(fixture("sessions/data/jobs-complete.txt")),
        ["get", "cronjob", "-n", NS] => Answer::out(fixture("reference/kubectl-get-cronjob.txt")),
        [
            "create",
            "job",
            "--from=cronjob/clickhouse-restore-cronjob",
            "-n",
            NS,
            "-o",
            "yaml",
            "clickhouse-restore",
            "--dry-run=client",
            "--save-config",
        ] => Answer::out(fixture("reference/kubectl-create-job-dry-run.yaml")),
        _ => return kubectl_jobs(world, w),
    })
}

/// The ClickHouse restore Job.
pub(crate) fn kubectl_jobs(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["get", "job", name, "-n", NS] => match world.jobs.get(*name) {
            Some(job) => Answer::out(table(
                &["NAME", "COMPLETIONS", "DURATION", "AGE"],
                &[vec![
                    name.to_string(),
                    if job.polls_left == 0 { "1/1" } else { "0/1" }.into(),
                    "1s".into(),
                    "1s".into(),
                ]],
            )),
            None => Answer::err(
                format!("Error from server (NotFound): jobs.batch \"{name}\" not found\n"),
                1,
            ),
        },
        ["get", "job", name, "-n", NS, "-o", "json"] => match world.jobs.get_mut(*name) {
            Some(job) => {
                job.polls_left = job.polls_left.saturating_sub(1);
                let conditions = if job.polls_left == 0 {
                    json!([{"type": "Complete", "status": "True"}])
                } else {
                    json!([])
                };
                Answer::out(json!({
                    "kind": "Job",
                    "metadata": {"name": name, "namespace": NS, "creationTimestamp": job.created},
                    "spec": {"template": {"spec": {"containers": [{"name": "restore", "env": [{"name": "BACKUP_NAME", "value": job.backup_name}]}]}}},
                    "status": {"conditions": conditions, "active": if job.polls_left == 0 { 0 } else { 1 }},
                }).to_string())
            }
            None => Answer::err(
                format!("Error from server (NotFound): jobs.batch \"{name}\" not found\n"),
                1,
            ),
        },
        ["apply", "-f", path, "-n", NS] => apply(world, path),
        _ => return kubectl_storage(world, w),
    })
}

/// StatefulSets and PVCs.
pub(crate) fn kubectl_storage(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["get", "sts", "-n", NS] => Answer::out(table(
            &["NAME", "READY", "AGE"],
            &world
                .statefulsets
                .iter()
                .map(|s| vec![s.clone(), "1/1".into(), "12h".into()])
                .collect::<Vec<_>>(),
        )),
        ["delete", "sts", name, "-n", NS] => {
            let before = world.statefulsets.len();
            world.statefulsets.retain(|s| s != name);
            if world.statefulsets.len() < before {
                Answer::out(format!("statefulset.apps \"{name}\" deleted\n"))
                    .changed(format!("sts/{name}"))
            } else {
                let mut answer = Answer::err(
                    format!(
                        "Error from server (NotFound): statefulsets.apps \"{name}\" not found\n"
                    ),
                    1,
                );
                answer.missing = true;
                answer.changed = Some(format!("sts/{name}"));
                answer
            }
        }
        ["get", "pvc", "-n", NS] => Answer::out(table(
            &[
                "NAME",
                "STATUS",
                "VOLUME",
                "CAPACITY",
                "ACCESS MODES",
                "STORAGECLASS",
                "AGE",
            ],
            &world
                .pvcs
                .iter()
                .map(|p| {
                    vec![
                        p.name.clone(),
                        if p.terminating {
                            "Terminating"
                        } else {
                            "Bound"
                        }
                        .into(),
                        p.volume.clone(),
                        "5Gi".into(),
                        "RWO".into(),
                        "gp2".into(),
                        "17h".into(),
                    ]
                })
                .collect::<Vec<_>>(),
        )),
        ["delete", "pvc", rest @ ..] if rest.len() >= 3 && rest[rest.len() - 2] == "-n" => {
            delete_pvcs(world, &rest[..rest.len() - 2])
        }
        _ => return kubectl_volumes(world, w),
    })
}

/// PVs, and the port-forward.
pub(crate) fn kubectl_volumes(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["get", "pv"] => {
            let text = table(
                &[
                    "NAME",
                    "CAPACITY",
                    "ACCESS MODES",
                    "RECLAIM POLICY",
                    "STATUS",
                    "CLAIM",
                    "STORAGECLASS",
                    "REASON",
                    "AGE",
                ],
                &world
                    .pvs
                    .iter()
                    .map(|p| {
                        vec![
                            p.name.clone(),
                            "5Gi".into(),
                            "RWO".into(),
                            p.policy.clone(),
                            p.status.clone(),
                            p.claim.clone(),
                            "gp2".into(),
                            String::new(),
                            "17h".into(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            // Released volumes of reclaim policy Delete go once they have been seen.
            world
                .pvs
                .retain(|p| !(p.status == "Released" && p.policy == "Delete"));
            Answer::out(text)
        }
        ["delete", "pv", names @ ..] => {
            let mut out = String::new();
            let mut err = String::new();
            for name in names {
                if world.pvs.iter().any(|p| p.name == *name) {
                    world.pvs.retain(|p| p.name != *name);
                    out.push_str(&format!("persistentvolume \"{name}\" deleted\n"));
                } else {
                    err.push_str(&format!(
                        "Error from server (NotFound): persistentvolumes \"{name}\" not found\n"
                    ));
                }
            }
            let mut answer = Answer::out(out).changed(format!("pv/{}", names.join(",")));
            if !err.is_empty() {
                answer.stderr = err;
                answer.status = 1;
                answer.missing = true;
            }
            answer
        }
        [
            "port-forward",
            "-n",
            NS,
            "svc/arthurai-dataset-service",
            ports,
        ] => {
            let port = ports.split(':').next().unwrap_or("7899").to_string();
            return Some(Answer {
                stdout: format!(
                    "Forwarding from 127.0.0.1:{port} -> 8080\nForwarding from [::1]:{port} -> 8080\n"
                ),
                stderr: String::new(),
                status: -1, // stays running
                changed: None,
                missing: false,
            });
        }
        _ => return None,
    })
}

/// The kube-system namespace UID; `ARTHUR_SIM_CLUSTER=other` reaches another cluster,
/// `=forbidden` one whose identity the operator may not read.
pub(crate) fn cluster_identity() -> Answer {
    match std::env::var("ARTHUR_SIM_CLUSTER").as_deref() {
        Ok("other") => Answer::out("0f9e8d7c-6b5a-4321-9876-fedcba987654"),
        Ok("forbidden") => Answer::err(
            "Error from server (Forbidden): namespaces \"kube-system\" is forbidden: User \"operator\" cannot get resource \"namespaces\" in API group \"\" in the namespace \"kube-system\"\n",
            1,
        ),
        _ => Answer::out(UID),
    }
}

/// `kubectl get pods`: the recorded listing, with `ARTHUR_SIM_EXTRA_PODS=N` more running pods (a
/// large cluster, or a listing without end).
pub(crate) fn pods_table() -> String {
    let mut text = fixture("reference/kubectl-get-pods.txt");
    let extra: usize = std::env::var("ARTHUR_SIM_EXTRA_PODS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    for i in 0..extra {
        text.push_str(&format!(
            "model-worker-{i:08}-5f7d8c9b6d-x2kqz                 1/1     Running   0          4h58m\n"
        ));
    }
    text
}

pub(crate) fn apply(world: &mut World, path: &str) -> Answer {
    let yaml = match fs::read_to_string(path) {
        Ok(yaml) => yaml,
        Err(_) => return Answer::err(format!("error: the path \"{path}\" does not exist\n"), 1),
    };
    let backup = yaml
        .lines()
        .skip_while(|l| !l.contains("name: BACKUP_NAME"))
        .nth(1)
        .and_then(|l| l.trim().strip_prefix("value: "))
        .unwrap_or("")
        .to_string();
    let verb = if world.jobs.contains_key("clickhouse-restore") {
        "configured"
    } else {
        "created"
    };
    world.jobs.insert(
        "clickhouse-restore".into(),
        Job {
            backup_name: backup,
            polls_left: 1,
            created: now(),
        },
    );
    Answer::out(format!("job.batch/clickhouse-restore {verb}\n")).changed("job/clickhouse-restore")
}

pub(crate) fn delete_pvcs(world: &mut World, names: &[&str]) -> Answer {
    let blocking = fault_kind().as_deref() == Some("blocking") && fault_now(world);
    let mut out = String::new();
    let mut err = String::new();
    for name in names {
        let Some(pvc) = world.pvcs.iter_mut().find(|p| p.name == *name) else {
            err.push_str(&format!(
                "Error from server (NotFound): persistentvolumeclaims \"{name}\" not found\n"
            ));
            continue;
        };
        out.push_str(&format!("persistentvolumeclaim \"{name}\" deleted\n"));
        if blocking {
            // kubernetes.io/pvc-protection: the claim stays Terminating while a pod uses it.
            pvc.terminating = true;
            continue;
        }
        let volume = pvc.volume.clone();
        world.pvcs.retain(|p| p.name != *name);
        for pv in world.pvs.iter_mut().filter(|p| p.name == volume) {
            pv.status = "Released".into();
        }
    }
    let mut answer = Answer::out(out).changed(format!("pvc/{}", names.join(",")));
    if !err.is_empty() {
        answer.stderr = err;
        answer.status = 1;
        answer.missing = names
            .iter()
            .all(|n| !world.pvcs.iter().any(|p| p.name == *n));
    }
    answer
}
