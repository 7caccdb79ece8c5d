//! The command catalogue: every argv the tool runs is built here, from the runbook's commands
//! (see ../shared/runbook/COMMANDS.md) and the few reads SPEC adds.
//!
//! Global flags are applied in exactly one place, `Connection::finish`: `--kubeconfig` and
//! `--context` on every kubectl argv (after a plugin's name, and before `--` of `exec`), the same
//! for velero (which spells the context flag `--kubecontext`), and `--profile`, `--region`,
//! `--endpoint-url` on every aws argv.

use std::path::Path;

use serde::Serialize;

use super::fixed;
use crate::names::{
    ArgValue, AwsProfile, AwsRegion, CliPath, EndpointUrl, InstanceClass, KubeContext, Namespace,
    ObjectName, PortNumber, RdsIdentifier, S3Uri, SecurityGroupId, SnapshotId, SubnetGroupName,
    VeleroBackupName,
};
use crate::process::{Cmd, Effect, Tool};

/// How the CLIs reach the cluster and the cloud account (the global options).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Connection {
    pub kubeconfig: Option<CliPath>,
    pub context: Option<KubeContext>,
    pub aws_profile: Option<AwsProfile>,
    pub aws_region: Option<AwsRegion>,
    pub aws_endpoint_url: Option<EndpointUrl>,
}

impl Connection {
    /// Adds the global flags to a command. Arguments after a `--` belong to a remote program
    /// (`kubectl exec … -- clickhouse-backup list`), so the flags go before it.
    fn finish(&self, mut cmd: Cmd) -> Cmd {
        let mut flags: Vec<String> = Vec::new();
        let mut push = |flag: &str, value: Option<&str>| {
            if let Some(value) = value {
                flags.push(flag.to_string());
                flags.push(value.to_string());
            }
        };
        let kubeconfig = self.kubeconfig.as_deref();
        match cmd.tool {
            Tool::Kubectl => {
                push("--kubeconfig", kubeconfig);
                push("--context", self.context.as_deref());
            }
            Tool::Velero => {
                push("--kubeconfig", kubeconfig);
                push("--kubecontext", self.context.as_deref());
            }
            Tool::Aws => {
                push("--profile", self.aws_profile.as_deref());
                push("--region", self.aws_region.as_deref());
                push("--endpoint-url", self.aws_endpoint_url.as_deref());
            }
            Tool::Curl | Tool::SshKeygen => {}
        }
        let at = cmd
            .args
            .iter()
            .position(|arg| arg == "--")
            .unwrap_or(cmd.args.len());
        cmd.args.splice(at..at, flags);
        cmd
    }
}

pub(super) fn path_text(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// Builds the commands of one restore: the namespaces and the connection are fixed for a run.
/// Every value a method puts into an argv is of a checked type (`crate::names`); a command built
/// with a placeholder (`shown`) is marked, and the runner refuses to start it.
#[derive(Debug, Clone)]
pub struct Commands {
    pub namespace: Namespace,
    pub velero_namespace: Namespace,
    pub clickhouse_pod: ObjectName,
    pub connection: Connection,
}

/// The RDS settings a restored instance must share with its source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct RdsSettings {
    pub port: PortNumber,
    pub security_groups: Vec<SecurityGroupId>,
    pub subnet_group: SubnetGroupName,
    pub instance_class: InstanceClass,
}

/// Whether any of the values is a placeholder.
fn any_shown(values: &[&dyn ArgValue]) -> bool {
    values.iter().any(|v| v.is_placeholder())
}

impl Commands {
    /// Whether the command uses a placeholder of the catalogue's own (a template's namespace,
    /// or `backups` without one, whose S3 listing needs none).
    fn own(&self, args: &[&str]) -> bool {
        let fields: [&dyn ArgValue; 3] = [
            &self.namespace,
            &self.velero_namespace,
            &self.clickhouse_pod,
        ];
        fields
            .iter()
            .any(|field| field.is_placeholder() && args.contains(&field.arg()))
    }

    fn build(&self, tool: Tool, effect: Effect, args: &[&str], values: &[&dyn ArgValue]) -> Cmd {
        self.connection.finish(
            Cmd::new(tool, effect)
                .args(args.iter().copied())
                .placeholder_if(self.own(args) || any_shown(values)),
        )
    }

    fn kubectl(&self, effect: Effect, args: &[&str]) -> Cmd {
        self.build(Tool::Kubectl, effect, args, &[])
    }

    fn velero(&self, effect: Effect, args: &[&str]) -> Cmd {
        self.build(Tool::Velero, effect, args, &[])
    }

    fn aws(&self, effect: Effect, args: &[&str]) -> Cmd {
        self.build(Tool::Aws, effect, args, &[])
    }

    /// A kubectl command with values of checked types.
    fn kubectl_with(&self, effect: Effect, args: &[&str], values: &[&dyn ArgValue]) -> Cmd {
        self.build(Tool::Kubectl, effect, args, values)
    }

    fn velero_with(&self, effect: Effect, args: &[&str], values: &[&dyn ArgValue]) -> Cmd {
        self.build(Tool::Velero, effect, args, values)
    }

    fn aws_with(&self, effect: Effect, args: &[&str], values: &[&dyn ArgValue]) -> Cmd {
        self.build(Tool::Aws, effect, args, values)
    }

    fn ns(&self) -> &str {
        &self.namespace
    }

    fn vns(&self) -> &str {
        &self.velero_namespace
    }

    // Preflight and identity (SPEC section 2 and section 5 rule 9).

    pub fn version(&self, tool: Tool) -> Cmd {
        match tool {
            Tool::Kubectl => self.kubectl(Effect::Reads, &["version", "--client"]),
            Tool::Velero => self.velero(Effect::Reads, &["version", "--client-only"]),
            Tool::Aws => self.aws(Effect::Reads, &["--version"]),
            Tool::Curl => Cmd::reads(Tool::Curl).arg("--version"),
            Tool::SshKeygen => Cmd::reads(Tool::SshKeygen).arg("-V"),
        }
    }

    pub fn kots_version(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["kots", "version"])
    }

    pub fn current_context(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["config", "current-context"])
    }

    /// The AWS account and principal the aws CLI acts as (a read).
    pub fn aws_caller_identity(&self) -> Cmd {
        self.aws(Effect::Reads, &["sts", "get-caller-identity"])
    }

    /// The `kube-system` namespace UID: the cluster's identity.
    pub fn cluster_identity(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &[
                "get",
                "namespace",
                "kube-system",
                "-o",
                "jsonpath={.metadata.uid}",
            ],
        )
    }

    pub fn get_namespace(&self, namespace: &Namespace) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["get", "namespace", namespace],
            &[namespace],
        )
    }

    pub fn get_cronjobs(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "cronjob", "-n", self.ns()])
    }

    pub fn get_restore_job(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &["get", "job", fixed::CLICKHOUSE_JOB, "-n", self.ns()],
        )
    }

    // RDS (the AWS documentation's commands; the runbook names none).

    pub fn describe_db_instance(&self, instance: &RdsIdentifier) -> Cmd {
        self.aws_with(
            Effect::Reads,
            &[
                "rds",
                "describe-db-instances",
                "--db-instance-identifier",
                instance,
            ],
            &[instance],
        )
    }

    pub fn describe_db_snapshot(&self, snapshot: &SnapshotId) -> Cmd {
        self.aws_with(
            Effect::Reads,
            &[
                "rds",
                "describe-db-snapshots",
                "--db-snapshot-identifier",
                snapshot,
            ],
            &[snapshot],
        )
    }

    pub fn describe_db_snapshots_of(&self, instance: &RdsIdentifier) -> Cmd {
        self.aws_with(
            Effect::Reads,
            &[
                "rds",
                "describe-db-snapshots",
                "--db-instance-identifier",
                instance,
            ],
            &[instance],
        )
    }

    pub fn restore_db_instance(
        &self,
        instance: &RdsIdentifier,
        snapshot: &SnapshotId,
        settings: &RdsSettings,
    ) -> Cmd {
        let mut args: Vec<&str> = vec![
            "rds",
            "restore-db-instance-from-db-snapshot",
            "--db-instance-identifier",
            instance,
            "--db-snapshot-identifier",
            snapshot,
            "--db-instance-class",
            &settings.instance_class,
            "--port",
            &settings.port,
            "--db-subnet-group-name",
            &settings.subnet_group,
            "--vpc-security-group-ids",
        ];
        args.extend(settings.security_groups.iter().map(|g| g.as_str()));
        let mut values: Vec<&dyn ArgValue> = vec![
            instance,
            snapshot,
            &settings.instance_class,
            &settings.port,
            &settings.subnet_group,
        ];
        values.extend(settings.security_groups.iter().map(|g| g as &dyn ArgValue));
        self.aws_with(Effect::Changes, &args, &values)
    }

    // Install the Arthur Platform.

    pub fn kots_get_config(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &[
                "kots",
                "get",
                "config",
                "-n",
                self.ns(),
                "--appslug",
                fixed::KOTS_APP_SLUG,
            ],
        )
    }

    pub fn get_pods(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "pods", "-n", self.ns()])
    }

    pub fn get_jobs(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "jobs", "-n", self.ns()])
    }

    pub fn get_pods_json(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &["get", "pods", "-n", self.ns(), "-o", "json"],
        )
    }

    pub fn get_jobs_json(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &["get", "jobs", "-n", self.ns(), "-o", "json"],
        )
    }

    // Restore ClickHouse Data.

    pub fn clickhouse_backup_list(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &[
                "exec",
                &self.clickhouse_pod,
                "-n",
                self.ns(),
                "-c",
                "backup",
                "--",
                "clickhouse-backup",
                "list",
            ],
        )
    }

    pub fn s3_list(&self, uri: &S3Uri) -> Cmd {
        self.aws_with(Effect::Reads, &["s3", "ls", uri], &[uri])
    }

    /// `--dry-run=client` only prints the Job; nothing is created.
    pub fn create_restore_job_yaml(&self) -> Cmd {
        let from = format!("--from=cronjob/{}", fixed::CLICKHOUSE_CRONJOB);
        self.kubectl(
            Effect::Reads,
            &[
                "create",
                "job",
                &from,
                "-n",
                self.ns(),
                "-o",
                "yaml",
                fixed::CLICKHOUSE_JOB,
                "--dry-run=client",
                "--save-config",
            ],
        )
    }

    pub fn apply(&self, file: &Path) -> Cmd {
        self.kubectl(
            Effect::Changes,
            &["apply", "-f", &path_text(file), "-n", self.ns()],
        )
    }

    pub fn get_restore_job_json(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &[
                "get",
                "job",
                fixed::CLICKHOUSE_JOB,
                "-n",
                self.ns(),
                "-o",
                "json",
            ],
        )
    }

    // Restore Messaging Infrastructure.

    pub fn get_statefulsets(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "sts", "-n", self.ns()])
    }

    pub fn delete_statefulset(&self, name: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Changes,
            &["delete", "sts", name, "-n", self.ns()],
            &[name],
        )
    }

    pub fn get_pvcs(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "pvc", "-n", self.ns()])
    }

    /// One `kubectl delete pvc` with every name, as `… | xargs kubectl delete pvc -n NS` runs.
    pub fn delete_pvcs(&self, names: &[ObjectName]) -> Cmd {
        let mut args = vec!["delete", "pvc"];
        args.extend(names.iter().map(|n| n.as_str()));
        args.extend(["-n", self.ns()]);
        let values: Vec<&dyn ArgValue> = names.iter().map(|n| n as &dyn ArgValue).collect();
        self.kubectl_with(Effect::Changes, &args, &values)
    }

    /// PVs are cluster-scoped: the runbook's `-n` does nothing for them, so it is left out.
    pub fn get_pvs(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "pv"])
    }

    pub fn delete_pvs(&self, names: &[ObjectName]) -> Cmd {
        let mut args = vec!["delete", "pv"];
        args.extend(names.iter().map(|n| n.as_str()));
        let values: Vec<&dyn ArgValue> = names.iter().map(|n| n as &dyn ArgValue).collect();
        self.kubectl_with(Effect::Changes, &args, &values)
    }

    pub fn velero_backup_list(&self) -> Cmd {
        self.velero(Effect::Reads, &["backup", "get", "-n", self.vns()])
    }

    pub fn velero_backup_json(&self, backup: &VeleroBackupName) -> Cmd {
        self.velero_with(
            Effect::Reads,
            &["backup", "get", backup, "-n", self.vns(), "-o", "json"],
            &[backup],
        )
    }

    pub fn velero_backups_json(&self) -> Cmd {
        self.velero(
            Effect::Reads,
            &["backup", "get", "-n", self.vns(), "-o", "json"],
        )
    }

    pub fn velero_restore_create(&self, backup: &VeleroBackupName) -> Cmd {
        self.velero_with(
            Effect::Changes,
            &[
                "restore",
                "create",
                "--from-backup",
                backup,
                "--namespace",
                self.vns(),
            ],
            &[backup],
        )
    }

    pub fn velero_restore_json(&self, restore: &ObjectName) -> Cmd {
        self.velero_with(
            Effect::Reads,
            &["restore", "get", restore, "-n", self.vns(), "-o", "json"],
            &[restore],
        )
    }

    pub fn velero_restores_json(&self) -> Cmd {
        self.velero(
            Effect::Reads,
            &["restore", "get", "-n", self.vns(), "-o", "json"],
        )
    }

    /// Named in failure messages, for the operator to look closer; not run by the tool.
    pub fn velero_restore_describe(&self, restore: &ObjectName) -> Cmd {
        self.velero_with(
            Effect::Reads,
            &["restore", "describe", restore, "-n", self.vns()],
            &[restore],
        )
    }

    pub fn velero_restore_logs(&self, restore: &ObjectName) -> Cmd {
        self.velero_with(
            Effect::Reads,
            &["restore", "logs", restore, "-n", self.vns()],
            &[restore],
        )
    }

    pub fn kots_get_apps(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["kots", "get", "apps", "-n", self.ns()])
    }

    // Restore Enrichments Workflows.

    /// Opens a tunnel for the recover call. It changes nothing, but it is never run by `plan`:
    /// it only serves the call that follows.
    pub fn port_forward(&self, local_port: u16) -> Cmd {
        let ports = format!("{local_port}:80");
        self.kubectl(
            Effect::Changes,
            &[
                "port-forward",
                "-n",
                self.ns(),
                fixed::DATASET_SERVICE,
                &ports,
            ],
        )
    }

    pub fn recover_workflows(&self, local_port: u16) -> Cmd {
        Cmd::changes(Tool::Curl).args([
            "-k".to_string(),
            "-XPOST".to_string(),
            format!("http://localhost:{local_port}{}", fixed::RECOVER_PATH),
        ])
    }

    pub fn describe_pod(&self, pod: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["describe", "pod", pod, "-n", self.ns()],
            &[pod],
        )
    }

    pub fn job_logs(&self, job: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["logs", &format!("job/{job}"), "-n", self.ns()],
            &[job],
        )
    }

    // Named for the operator to look closer or to act; never run by the tool. They carry the
    // connection flags like every other command, so that pasting one reaches the same cluster.

    pub fn describe_job(&self, job: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["describe", "job", job, "-n", self.ns()],
            &[job],
        )
    }

    pub fn get_job(&self, job: &ObjectName) -> Cmd {
        self.kubectl_with(Effect::Reads, &["get", "job", job, "-n", self.ns()], &[job])
    }

    pub fn pod_logs(&self, pod: &ObjectName) -> Cmd {
        self.kubectl_with(Effect::Reads, &["logs", pod, "-n", self.ns()], &[pod])
    }

    /// The logs of a container's previous run (a container in CrashLoopBackOff).
    pub fn previous_container_logs(&self, pod: &ObjectName, container: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["logs", pod, "-n", self.ns(), "-c", container, "--previous"],
            &[pod, container],
        )
    }

    /// The logs of the dataset service (a fixed name).
    pub fn dataset_service_logs(&self) -> Cmd {
        self.kubectl(
            Effect::Reads,
            &["logs", fixed::DATASET_SERVICE, "-n", self.ns()],
        )
    }

    pub fn describe_pvc(&self, pvc: &ObjectName) -> Cmd {
        self.kubectl_with(
            Effect::Reads,
            &["describe", "pvc", pvc, "-n", self.ns()],
            &[pvc],
        )
    }

    pub fn get_statefulsets_and_pvcs(&self) -> Cmd {
        self.kubectl(Effect::Reads, &["get", "sts,pvc", "-n", self.ns()])
    }

    pub fn delete_restore_job(&self) -> Cmd {
        self.kubectl(
            Effect::Changes,
            &["delete", "job", fixed::CLICKHOUSE_JOB, "-n", self.ns()],
        )
    }

    pub fn describe_rds_events(&self, instance: &RdsIdentifier) -> Cmd {
        self.aws_with(
            Effect::Reads,
            &[
                "rds",
                "describe-events",
                "--source-identifier",
                instance,
                "--source-type",
                "db-instance",
            ],
            &[instance],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commands(connection: Connection) -> Commands {
        Commands {
            namespace: "arthur".into(),
            velero_namespace: "velero".into(),
            clickhouse_pod: fixed::DEFAULT_CLICKHOUSE_POD.into(),
            connection,
        }
    }

    fn everything() -> Connection {
        Connection {
            kubeconfig: Some("/k/config".into()),
            context: Some("prod".into()),
            aws_profile: Some("arthur-prod".into()),
            aws_region: Some("us-east-1".into()),
            aws_endpoint_url: Some("http://127.0.0.1:5000".into()),
        }
    }

    #[test]
    fn plugin_flags_come_after_the_plugin_name() {
        let line = commands(everything()).kots_get_apps().to_string();
        assert_eq!(
            line,
            "kubectl kots get apps -n arthur --kubeconfig /k/config --context prod"
        );
    }

    #[test]
    fn exec_flags_come_before_the_remote_command() {
        let line = commands(everything()).clickhouse_backup_list().to_string();
        assert_eq!(
            line,
            "kubectl exec chi-olap-installation-arthur-0-0-0 -n arthur -c backup --kubeconfig /k/config --context prod -- clickhouse-backup list"
        );
    }

    #[test]
    fn velero_spells_the_context_flag_kubecontext() {
        let line = commands(everything())
            .velero_restore_create(&"b".into())
            .to_string();
        assert_eq!(
            line,
            "velero restore create --from-backup b --namespace velero --kubeconfig /k/config --kubecontext prod"
        );
    }

    #[test]
    fn aws_gets_profile_region_and_endpoint() {
        let line = commands(everything())
            .s3_list(&"s3://arthur-prod-backups/clickhouse/".into())
            .to_string();
        assert_eq!(
            line,
            "aws s3 ls s3://arthur-prod-backups/clickhouse/ --profile arthur-prod --region us-east-1 --endpoint-url http://127.0.0.1:5000"
        );
        assert_eq!(
            commands(everything()).recover_workflows(7899).to_string(),
            "curl -k -XPOST http://localhost:7899/api/v1/workflows/batch/recover"
        );
    }

    #[test]
    fn commands_named_for_the_operator_carry_the_connection_flags() {
        let commands = commands(everything());
        for cmd in [
            commands.describe_job(&"j".into()),
            commands.get_job(&"j".into()),
            commands.pod_logs(&"p".into()),
            commands.previous_container_logs(&"p".into(), &"c".into()),
            commands.dataset_service_logs(),
            commands.get_statefulsets_and_pvcs(),
            commands.delete_restore_job(),
            commands.describe_pod(&"p".into()),
            commands.job_logs(&"j".into()),
            commands.velero_restore_logs(&"r".into()),
            commands.velero_restore_describe(&"r".into()),
            commands.describe_rds_events(&"db".into()),
        ] {
            let line = cmd.to_string();
            let connected = line.contains("--context prod")
                || line.contains("--kubecontext prod")
                || line.contains("--profile arthur-prod");
            assert!(connected, "{line}");
        }
    }

    #[test]
    fn no_global_flags_without_options() {
        assert_eq!(
            commands(Connection::default()).get_pvs().to_string(),
            "kubectl get pv"
        );
    }
}
