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
//!   `ARTHUR_SIM_FAULT=N:KIND`  at the N-th command received (1-based), one of:
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
//!
//! Every command received is appended to `calls` in the world, with whether it changed something
//! and which object, so that tests can count what was done twice.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

const UID: &str = "5b2c6a0e-8f3d-4c1b-9a7e-2d4f6b8c0e13";
const NS: &str = "arthur";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Pvc {
    name: String,
    volume: String,
    terminating: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Pv {
    name: String,
    claim: String,
    policy: String,
    status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Restore {
    name: String,
    backup: String,
    phase: String,
    polls_left: u32,
    created: String,
    stuck: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Job {
    backup_name: String,
    polls_left: u32,
    created: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Instance {
    snapshot: String,
    status: String,
    polls_left: u32,
    created: String,
}

/// One command received.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Call {
    pub n: u64,
    pub argv: Vec<String>,
    /// The object a change was made to (`sts/messaging`, `restore-of/BACKUP`), if any.
    pub changed: Option<String>,
    /// A change asked of an object that was not there (a delete of something gone).
    pub missing: bool,
    /// The process that answered (to check that none outlives the tool).
    #[serde(default)]
    pub pid: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct World {
    statefulsets: Vec<String>,
    pvcs: Vec<Pvc>,
    pvs: Vec<Pv>,
    restores: Vec<Restore>,
    jobs: BTreeMap<String, Job>,
    instances: BTreeMap<String, Instance>,
    recovered: u32,
    calls: Vec<Call>,
    restore_sequence: u64,
    /// The secrets planted in outputs (`ARTHUR_SIM_SECRETS`), for the test to look for.
    #[serde(default)]
    planted: Vec<String>,
}

fn messaging_claims() -> Vec<String> {
    let mut claims: Vec<String> = (0..3).map(|i| format!("datadir-0-messaging-{i}")).collect();
    claims.extend((0..3).map(|i| format!("datadir-messaging-cp-zookeeper-{i}")));
    claims
}

impl World {
    fn new() -> World {
        let mut world = World {
            statefulsets: [
                "cache-master",
                "chi-olap-installation-arthur-0-0",
                "database-primary",
            ]
            .map(String::from)
            .to_vec(),
            pvcs: Vec::new(),
            pvs: Vec::new(),
            restores: Vec::new(),
            jobs: BTreeMap::new(),
            instances: BTreeMap::new(),
            recovered: 0,
            calls: Vec::new(),
            restore_sequence: 0,
            planted: Vec::new(),
        };
        world.add_claim(
            "data-volume-template-chi-olap-installation-arthur-0-0-0",
            "0",
        );
        world.restore_messaging("0");
        // A volume under a name a real API server would refuse, bound to a messaging claim:
        // the tool must not depend on the server to keep such names out of its argv.
        if let Ok(name) = std::env::var("ARTHUR_SIM_EXTRA_PV") {
            world.pvs.push(Pv {
                name,
                claim: format!("{NS}/datadir-0-messaging-0"),
                policy: "Delete".into(),
                status: "Bound".into(),
            });
        }
        // Another namespace's messaging volume: never to be touched.
        world.pvs.push(Pv {
            name: "pvc-staging-messaging-0".into(),
            claim: "arthur-staging/datadir-0-messaging-0".into(),
            policy: "Delete".into(),
            status: "Bound".into(),
        });
        world
    }

    fn add_claim(&mut self, claim: &str, generation: &str) {
        let volume = format!("pvc-{generation}-{claim}");
        self.pvcs.push(Pvc {
            name: claim.into(),
            volume: volume.clone(),
            terminating: false,
        });
        self.pvs.push(Pv {
            name: volume,
            claim: format!("{NS}/{claim}"),
            policy: "Delete".into(),
            status: "Bound".into(),
        });
    }

    /// What the messaging backup holds: the two StatefulSets and their volumes.
    fn restore_messaging(&mut self, generation: &str) {
        for sts in ["messaging", "messaging-cp-zookeeper"] {
            if !self.statefulsets.iter().any(|s| s == sts) {
                self.statefulsets.push(sts.into());
            }
        }
        for claim in messaging_claims() {
            if !self.pvcs.iter().any(|p| p.name == claim) {
                self.add_claim(&claim, generation);
            }
        }
    }
}

struct Answer {
    stdout: String,
    stderr: String,
    status: i32,
    changed: Option<String>,
    missing: bool,
}

impl Answer {
    fn out(text: impl Into<String>) -> Answer {
        Answer {
            stdout: text.into(),
            stderr: String::new(),
            status: 0,
            changed: None,
            missing: false,
        }
    }

    fn err(text: impl Into<String>, status: i32) -> Answer {
        Answer {
            stdout: String::new(),
            stderr: text.into(),
            status,
            changed: None,
            missing: false,
        }
    }

    fn changed(mut self, object: impl Into<String>) -> Answer {
        self.changed = Some(object.into());
        self
    }
}

fn fixture(name: &str) -> String {
    let dir = std::env::var_os("ARTHUR_SIM_FIXTURES").expect("ARTHUR_SIM_FIXTURES is set");
    let path = Path::new(&dir).join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn now() -> String {
    jiff::Timestamp::now().to_string()
}

/// The words after the program name, without the connection flags (they vary by host).
fn words(args: &[String]) -> Vec<String> {
    let mut kept = Vec::new();
    let mut skip = false;
    for arg in args {
        if skip {
            skip = false;
        } else if [
            "--kubeconfig",
            "--context",
            "--kubecontext",
            "--profile",
            "--region",
            "--endpoint-url",
        ]
        .contains(&arg.as_str())
        {
            skip = true;
        } else {
            kept.push(arg.clone());
        }
    }
    kept
}

fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        format!("{}\n", padded.join("   ").trim_end())
    };
    let mut text = line(header.iter().map(|h| h.to_string()).collect());
    for row in rows {
        text.push_str(&line(row.clone()));
    }
    text
}

fn kubectl(world: &mut World, w: &[&str]) -> Option<Answer> {
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
fn kubectl_jobs(world: &mut World, w: &[&str]) -> Option<Answer> {
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
fn kubectl_storage(world: &mut World, w: &[&str]) -> Option<Answer> {
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
fn kubectl_volumes(world: &mut World, w: &[&str]) -> Option<Answer> {
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
fn cluster_identity() -> Answer {
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
fn pods_table() -> String {
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

fn apply(world: &mut World, path: &str) -> Answer {
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

fn delete_pvcs(world: &mut World, names: &[&str]) -> Answer {
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

fn velero(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["version", "--client-only"] => Answer::out(
            "Client:\n\tVersion: v1.11.0\n\tGit commit: 0da2baa908c88ec3c45da15001f6a4b0bda64ae2\n",
        ),
        ["backup", "get", "-n", "velero", "-o", "json"] => {
            Answer::out(fixture("sessions/data/velero-backups.json"))
        }
        ["backup", "get", "-n", "velero"] => {
            Answer::out(fixture("sessions/data/velero-backup-get.txt"))
        }
        ["backup", "get", name, "-n", "velero", "-o", "json"] => {
            let list: Value =
                serde_json::from_str(&fixture("sessions/data/velero-backups.json")).expect("JSON");
            let found = list["items"]
                .as_array()
                .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == *name));
            match found {
                Some(item) => {
                    let mut item = item.clone();
                    item["kind"] = json!("Backup");
                    Answer::out(serde_json::to_string_pretty(&item).expect("JSON"))
                }
                None => Answer::err(
                    format!("An error occurred: backups.velero.io \"{name}\" not found\n"),
                    1,
                ),
            }
        }
        [
            "restore",
            "create",
            "--from-backup",
            backup,
            "--namespace",
            "velero",
        ] => {
            world.restore_sequence += 1;
            let name = format!("{backup}-2023051410{:04}", world.restore_sequence);
            let stuck = fault_kind().as_deref() == Some("blocking") && fault_now(world);
            world.restores.push(Restore {
                name: name.clone(),
                backup: backup.to_string(),
                phase: "InProgress".into(),
                polls_left: 1,
                created: now(),
                stuck,
            });
            Answer::out(format!(
                "Restore request \"{name}\" submitted successfully.\nRun `velero restore describe {name}` or `velero restore logs {name}` for more details.\n"
            ))
            .changed(format!("restore-of/{backup}"))
        }
        ["restore", "get", name, "-n", "velero", "-o", "json"] => {
            let Some(index) = world.restores.iter().position(|r| r.name == *name) else {
                return Some(Answer::err(
                    format!("An error occurred: restores.velero.io \"{name}\" not found\n"),
                    1,
                ));
            };
            observe_restore(world, index);
            Answer::out(
                serde_json::to_string_pretty(&restore_json(&world.restores[index])).expect("JSON"),
            )
        }
        ["restore", "get", "-n", "velero", "-o", "json"] => {
            let items: Vec<Value> = world.restores.iter().map(restore_json).collect();
            Answer::out(
                serde_json::to_string_pretty(
                    &json!({"kind": "RestoreList", "apiVersion": "velero.io/v1", "items": items}),
                )
                .expect("JSON"),
            )
        }
        _ => return None,
    })
}

/// A restore moves on each time it is looked at; a completed messaging restore recreates the
/// StatefulSets and volumes it holds.
fn observe_restore(world: &mut World, index: usize) {
    let restore = &mut world.restores[index];
    if restore.phase != "InProgress" || restore.stuck {
        return;
    }
    restore.polls_left = restore.polls_left.saturating_sub(1);
    if restore.polls_left > 0 {
        return;
    }
    restore.phase = "Completed".into();
    if restore.backup.ends_with("-messaging") {
        let generation = format!("r{}", world.restore_sequence);
        world.restore_messaging(&generation);
    }
}

fn restore_json(restore: &Restore) -> Value {
    json!({
        "kind": "Restore",
        "apiVersion": "velero.io/v1",
        "metadata": {"name": restore.name, "namespace": "velero", "creationTimestamp": restore.created},
        "spec": {"backupName": restore.backup},
        "status": {"phase": restore.phase, "errors": 0, "warnings": 0},
    })
}

fn aws(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["--version"] => Answer::out(
            "aws-cli/2.15.30 Python/3.11.8 Linux/6.1.0-18-amd64 exe/x86_64.debian.12 prompt/off\n",
        ),
        ["sts", "get-caller-identity"] => Answer::out(
            "{\"UserId\": \"AIDA4EXAMPLEOPERATOR1\", \"Account\": \"123456789012\", \"Arn\": \"arn:aws:iam::123456789012:user/restore-operator\"}\n",
        ),
        [
            "rds",
            "describe-db-snapshots",
            "--db-instance-identifier",
            "arthur-prod-db",
        ] => Answer::out(fixture("reference/aws-rds-describe-db-snapshots.json")),
        [
            "rds",
            "describe-db-snapshots",
            "--db-snapshot-identifier",
            id,
        ] => {
            let all: Value =
                serde_json::from_str(&fixture("reference/aws-rds-describe-db-snapshots.json"))
                    .expect("JSON");
            let found: Vec<Value> = all["DBSnapshots"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|s| s["DBSnapshotIdentifier"] == *id)
                .cloned()
                .collect();
            if found.is_empty() {
                Answer::err(
                    format!(
                        "\nAn error occurred (DBSnapshotNotFound) when calling the DescribeDBSnapshots operation: DBSnapshot {id} not found.\n"
                    ),
                    254,
                )
            } else {
                Answer::out(json!({"DBSnapshots": found}).to_string())
            }
        }
        _ => return aws_instances(world, w),
    })
}

/// The source instance, the restored one and its restore.
fn aws_instances(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        [
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            "arthur-prod-db",
        ] => Answer::out(fixture("reference/aws-rds-describe-db-instances.json")),
        [
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            id,
        ] => match world.instances.get_mut(*id) {
            Some(instance) => {
                if instance.status == "creating" {
                    instance.polls_left = instance.polls_left.saturating_sub(1);
                    if instance.polls_left == 0 {
                        instance.status = "available".into();
                    }
                }
                let mut answer: Value = serde_json::from_str(&fixture(
                    "reference/aws-rds-describe-db-instances-restored.json",
                ))
                .expect("JSON");
                let item = &mut answer["DBInstances"][0];
                item["DBInstanceIdentifier"] = json!(id);
                item["DBInstanceStatus"] = json!(instance.status);
                item["InstanceCreateTime"] = json!(instance.created);
                if instance.status != "available" {
                    // While RDS creates an instance it has neither an endpoint nor a create time.
                    let object = item.as_object_mut().expect("an object");
                    object.remove("Endpoint");
                    object.remove("InstanceCreateTime");
                }
                Answer::out(serde_json::to_string_pretty(&answer).expect("JSON"))
            }
            None => Answer::err(
                format!(
                    "\nAn error occurred (DBInstanceNotFound) when calling the DescribeDBInstances operation: DBInstance {id} not found.\n"
                ),
                254,
            ),
        },
        [
            "rds",
            "restore-db-instance-from-db-snapshot",
            "--db-instance-identifier",
            id,
            "--db-snapshot-identifier",
            snapshot,
            ..,
        ] => {
            if world.instances.contains_key(*id) {
                let mut answer = Answer::err(
                    "\nAn error occurred (DBInstanceAlreadyExists) when calling the RestoreDBInstanceFromDBSnapshot operation: DB instance already exists\n",
                    254,
                );
                answer.changed = Some(format!("rds/{id}"));
                answer.missing = true;
                return Some(answer);
            }
            world.instances.insert(
                id.to_string(),
                Instance {
                    snapshot: snapshot.to_string(),
                    status: "creating".into(),
                    polls_left: 1,
                    created: now(),
                },
            );
            Answer::out(fixture(
                "reference/aws-rds-restore-db-instance-from-db-snapshot.json",
            ))
            .changed(format!("rds/{id}"))
        }
        _ => return None,
    })
}

fn curl(world: &mut World, w: &[&str]) -> Option<Answer> {
    Some(match w {
        ["--version"] => Answer::out("curl 7.88.1 (x86_64-pc-linux-gnu) libcurl/7.88.1\n"),
        ["-k", "-XPOST", url] if url.ends_with("/api/v1/workflows/batch/recover") => {
            world.recovered += 1;
            Answer::out("{\"message\":\"success\"}").changed("recover")
        }
        _ => return None,
    })
}

fn fault() -> Option<(u64, String)> {
    let spec = std::env::var("ARTHUR_SIM_FAULT").ok()?;
    let (n, kind) = spec.split_once(':')?;
    Some((n.parse().ok()?, kind.to_string()))
}

fn fault_kind() -> Option<String> {
    fault().map(|(_, kind)| kind)
}

/// The fault applies to the command being answered.
fn fault_now(world: &World) -> bool {
    fault().is_some_and(|(n, _)| n == world.calls.len() as u64 + 1)
}

/// The realistic error of each CLI for a fault kind.
fn failure(tool: &str, kind: &str) -> Answer {
    let text = match (tool, kind) {
        ("kubectl", "notfound") => {
            "Error from server (NotFound): the server could not find the requested resource\n"
        }
        ("kubectl", "forbidden") => {
            "Error from server (Forbidden): statefulsets.apps is forbidden: User \"operator\" cannot list resource \"statefulsets\" in API group \"apps\" in the namespace \"arthur\"\n"
        }
        ("kubectl", "refused") => {
            "The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\n"
        }
        ("kubectl", _) => {
            "Error from server (TooManyRequests): the server has received too many requests and has asked us to try again later\n"
        }
        ("velero", "notfound") => {
            "An error occurred: the server could not find the requested resource\n"
        }
        ("velero", "forbidden") => {
            "An error occurred: restores.velero.io is forbidden: User \"operator\" cannot create resource \"restores\"\n"
        }
        ("velero", "refused") => {
            "An error occurred: Get \"https://127.0.0.1:6443/api\": dial tcp 127.0.0.1:6443: connect: connection refused\n"
        }
        ("velero", _) => {
            "An error occurred: the server has received too many requests and has asked us to try again later\n"
        }
        ("aws", "notfound") => {
            "\nAn error occurred (DBInstanceNotFound) when calling the DescribeDBInstances operation: DBInstance x not found.\n"
        }
        ("aws", "forbidden") => {
            "\nAn error occurred (AccessDenied) when calling the operation: User: arn:aws:iam::123456789012:user/operator is not authorized to perform this operation\n"
        }
        ("aws", "refused") => {
            "\nCould not connect to the endpoint URL: \"https://rds.us-east-1.amazonaws.com/\"\n"
        }
        ("aws", _) => {
            "\nAn error occurred (Throttling) when calling the operation (reached max retries: 2): Rate exceeded\n"
        }
        (_, "refused") => {
            "curl: (7) Failed to connect to localhost port 7899 after 0 ms: Connection refused\n"
        }
        _ => "curl: (22) The requested URL returned error: 503\n",
    };
    let status = match tool {
        "aws" => 254,
        "curl" => 7,
        _ => 1,
    };
    Answer::err(text, status)
}

/// A generated secret: letters and digits from a seed and an index (deterministic).
fn secret(seed: u64, index: u64, length: usize, upper: bool) -> String {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(index.wrapping_mul(1442695040888963407))
        | 1;
    let alphabet: &[u8] = if upper {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    } else {
        b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    };
    (0..length)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            alphabet[(state % alphabet.len() as u64) as usize] as char
        })
        .collect()
}

/// Secrets in every form a CLI may print them (`ARTHUR_SIM_SECRETS=SEED`): YAML keys, nested
/// values, block scalars, flow mappings, PEM blocks, bearer tokens, AWS credentials, JSON and
/// JSON-escaped text. Returns the text and the secret values planted in it.
fn planted_secrets(seed: u64, call: u64) -> (String, Vec<String>) {
    let v: Vec<String> = (0..30)
        .map(|i| secret(seed, call * 100 + i, 24, false))
        .collect();
    let key_id = format!("AKIA{}", secret(seed, call * 100 + 50, 16, true));
    let mut text = format!(
        "meta_db_password:\n  value: {}\napi_key: {}\nvaluePlaintext: {}\ndb_password: {{value: '{}'}}\ntls_key: |\n  {}\n-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\nAuthorization: Bearer {}\naws_access_key_id = {key_id}\naws_secret_access_key = {}\naws_session_token = {}\n{{\"SecretAccessKey\": \"{}\", \"SessionToken\": \"{}\"}}\n{{\"message\": \"config:\\n  password: {}\\n\"}}\ntoken: \"{}\"\n",
        v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10], v[11], v[12]
    );
    // The forms of issue 17: URL userinfo, an env list, keys ending _pass/_pw/passphrase, a
    // cookie and an API key header, shaped tokens, a value on the next line, broken YAML.
    text.push_str(&format!(
        "url: postgres://arthur:{}@db.internal:5432/arthur\ncache: redis://:{}@cache:6379\nsee https://user:{}@host/x\nenv:\n  - name: POSTGRES_PASSWORD\n    value: {}\ndb_pass: {}\nuser_pw={}\nssh_passphrase: {}\nDB_PASS={}\nCookie: session={}\nx-api-key: {}\nghp_{}\nxoxb-{}\npassword:\n  {}\nmeta_db_password: {{value: 'Pa55-{}\n",
        v[14], v[15], v[16], v[17], v[18], v[19], v[20], v[21], v[22], v[23], v[24], v[25], v[26], v[27]
    ));
    let mut values = v[..13].to_vec();
    values.extend(v[14..28].iter().cloned());
    values.push(key_id);
    (text, values)
}

/// Hostile bytes in the answer of call N (`ARTHUR_SIM_NOISE=N`): escape sequences, an OSC 8
/// link, BEL, CR, NUL, a right-to-left override and a line of 2 MiB, somewhere in stdout.
fn add_noise(answer: &mut Answer, n: u64) {
    if std::env::var("ARTHUR_SIM_NOISE")
        .ok()
        .and_then(|t| t.parse::<u64>().ok())
        != Some(n)
    {
        return;
    }
    let noise = format!(
        "\u{1b}[2J\u{1b}]8;;http://evil.example/\u{7}link\u{1b}]8;;\u{7}\u{7}\r\0\u{202e}evil\u{9b}31m\n{}\n",
        "x".repeat(2 << 20)
    );
    let mut at = (n as usize * 7919) % (answer.stdout.len() + 1);
    while !answer.stdout.is_char_boundary(at) {
        at -= 1;
    }
    answer.stdout.insert_str(at, &noise);
    answer.stderr.push_str("\u{1b}[31mwarning\u{7}\r\u{2066}\n");
}

fn hang() -> ! {
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
    }
}

fn signal_caller(kind: &str) {
    let signal = match kind {
        "interrupt" | "interrupt-twice" => libc::SIGINT,
        "terminate" => libc::SIGTERM,
        _ => libc::SIGKILL,
    };
    let caller = std::os::unix::process::parent_id() as libc::pid_t;
    // SAFETY: kill(2) with a process id and a signal number has no memory effects.
    unsafe {
        libc::kill(caller, signal);
    }
}

/// The world, read under an exclusive lock (a port-forward and the call beside it run at once).
/// The lock is a file of its own: the world itself is replaced whole (`save_state`), so that a
/// process killed while writing leaves the world as it was.
fn open_state() -> (File, World) {
    let path =
        PathBuf::from(std::env::var_os("ARTHUR_SIM_STATE").expect("ARTHUR_SIM_STATE is set"));
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path.with_extension("lock"))
        .expect("the lock file opens");
    lock.lock().expect("the state locks");
    let text = fs::read_to_string(&path).unwrap_or_default();
    let world = if text.trim().is_empty() {
        World::new()
    } else {
        serde_json::from_str(&text).expect("the state is JSON")
    };
    (lock, world)
}

fn save_state(_lock: &mut File, world: &World) {
    let path =
        PathBuf::from(std::env::var_os("ARTHUR_SIM_STATE").expect("ARTHUR_SIM_STATE is set"));
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let text = serde_json::to_string_pretty(world).expect("JSON");
    fs::write(&temporary, text).expect("the state file writes");
    fs::rename(&temporary, &path).expect("the state file is replaced");
}

fn clear_blocking(world: &mut World) {
    for restore in &mut world.restores {
        restore.stuck = false;
    }
    let held: Vec<String> = world
        .pvcs
        .iter()
        .filter(|p| p.terminating)
        .map(|p| p.name.clone())
        .collect();
    for name in held {
        let volume = world
            .pvcs
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.volume.clone())
            .unwrap_or_default();
        world.pvcs.retain(|p| p.name != name);
        for pv in world.pvs.iter_mut().filter(|p| p.name == volume) {
            pv.status = "Released".into();
        }
    }
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
    if std::env::var_os("ARTHUR_SIM_CLEAR").is_some() {
        clear_blocking(&mut world);
    }
    let n = world.calls.len() as u64 + 1;
    let planned = fault().filter(|(at, _)| *at == n).map(|(_, kind)| kind);
    let early = planned.as_deref().filter(|k| {
        [
            "notfound",
            "forbidden",
            "refused",
            "throttled",
            "hang",
            "garbage",
            "signal",
        ]
        .contains(k)
    });
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
