//! The command line as clap parses it: raw flags, validated one by one (`names`). `settings`
//! turns them into what the engine uses (`RestoreOptions`), checking how the flags go together:
//! two stages, parsing and meaning apart. Clap's types stop here.

pub mod settings;

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::names::{
    self, AwsProfile, AwsRegion, CliPath, ClickhouseBackupName, EndpointUrl, InstanceClass,
    KubeContext, Namespace, ObjectName, RdsIdentifier, S3Uri, SecurityGroupId, SnapshotId,
    SubnetGroupName, VeleroBackupName,
};
use crate::runbook::StepId;
use crate::units;

const ABOUT: &str = "Performs the vendor runbook \"Restoring the Arthur Platform\" with kubectl, velero, aws and curl, and writes a transcript an auditor can hold against the runbook.";

const LONG_ABOUT: &str = "\
Performs the vendor runbook \"Restoring the Arthur Platform\" with kubectl, velero, aws and curl,
and writes a transcript an auditor can hold against the runbook.

The runbook's steps, in order (see `arthur-restore steps`):
  rds          restore the RDS snapshot into a new instance, wait until available
  platform     gate: point the Admin Console at the restored database; wait for pods and jobs
  clickhouse   create and apply the ClickHouse restore Job for the chosen backup
  messaging    delete the messaging StatefulSets and volumes, restore them with Velero
  enrichments  restore the enrichments infrastructure with Velero
  workflows    restore the workflows with Velero, call the batch-recover endpoint
  smoke        check pods, jobs, the KOTS app, the ClickHouse job and the restores

Nothing is changed before every check that can be made has passed (the preflight), deletions are
exact and confirmed, and an interrupted run continues with `run --resume DIR`.";

const AFTER_HELP: &str = "\
Examples:
  Print the whole restore without a cluster:
    arthur-restore -n arthur plan --offline \\
      --messaging-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging \\
      --enrichments-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments \\
      --workflows-backup arthur-backup-2023-05-11t15.23.25-04.00-workflows \\
      --clickhouse-backup arthur-clickhouse-backup-2023-05-11-00-00-07 \\
      --rds-snapshot arthur-snap --rds-instance arthur-restored --rds-like arthur-prod
  List the runbook's steps and commands:
    arthur-restore steps

Exit status:
  0    success
  1    a command or step failed
  2    usage error
  3    a safety check refused to go on (nothing destructive ran after it)
  4    verify found the platform unhealthy, or audit found deviations
  130  interrupted (state saved; continue with `run --resume DIR`)";

/// A subcommand's help with a paragraph under its one-line summary (clap's `before_help`, moved
/// below the summary): one form for `-h` and `--help`, each option on one line.
const DESCRIBED: &str =
    "{about-with-newline}\n{before-help}{usage-heading} {usage}\n\n{all-args}{after-help}";

const PLAN_ABOUT: &str = "\
Without --offline, the read-only commands (listings, describes) run so that the plan shows what
`run` would select and change; with --offline nothing runs at all and explicit backup names are
needed.";

const RUN_ABOUT: &str = "\
Records which programs and which cluster, chooses (or checks) the backups of one backup operation,
runs the preflight, then each step; writes transcript.log, events.jsonl, state.json and artefacts
into the run directory. Three gates ask on the terminal: the restore point chosen, the Admin
Console changes after the RDS restore, and the exact list of messaging objects before they are
deleted (--yes answers them). Interrupted or refused runs continue with --resume DIR.";

const RUN_EXAMPLES: &str = "\
Examples:
  The newest complete restore point, restoring RDS next to the current instance:
    arthur-restore -n arthur run --rds-like arthur-prod-db --rds-instance arthur-restored-db
  Explicit backups of one backup operation:
    arthur-restore -n arthur run --rds-like arthur-prod-db --rds-instance arthur-restored-db \\
      --rds-snapshot arthur-backup-2023-05-11t15-21-50-04-00 \\
      --clickhouse-backup arthur-clickhouse-backup-2023-05-11-00-00-07 \\
      --messaging-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging \\
      --enrichments-backup arthur-backup-2023-05-11t15.25.24-04.00-enrichments \\
      --workflows-backup arthur-backup-2023-05-11t15.23.25-04.00-workflows
  The database was restored and the platform installed already:
    arthur-restore -n arthur run --from clickhouse --at 2023-05-11
  Continue after Ctrl-C, a timeout or a refusal whose cause was fixed:
    arthur-restore run --resume arthur-restore-runs/20261125T180000Z";

const BACKUPS_EXAMPLES: &str = "\
Examples:
  The restore points, newest first, and which one a run would choose:
    arthur-restore -n arthur backups --rds-source arthur-prod-db
  The newest complete one at or before a time, as JSON:
    arthur-restore -n arthur -o json backups --at 2023-05-11T18:00:00Z
  For cron: exit 4 when no complete restore point is younger than 26h, with metrics:
    arthur-restore -n arthur backups --check --max-age 26h --textfile /var/lib/node_exporter/arthur.prom";

const VERIFY_EXAMPLES: &str = "\
Examples:
  The platform's health now:
    arthur-restore -n arthur verify
  After a restore, with its Velero restores, waiting for what is on its way:
    arthur-restore verify --run-dir arthur-restore-runs/20261125T180000Z --wait --timeout 20m";

const AUDIT_EXAMPLES: &str = "\
Examples:
  A run directory, against the final hash from the change ticket:
    arthur-restore audit --expect 3f5c…e21a arthur-restore-runs/20261125T180000Z
  With its signature, and a page for the auditor:
    arthur-restore audit --allowed-signers allowed_signers --html report.html arthur-restore-runs/20261125T180000Z
  A terminal log kept by hand, as JSON:
    arthur-restore -o json audit my-terminal-session.log";

const APPROVE_EXAMPLES: &str = "\
Examples:
  As one of the approvers, on the run's host (or with the run directory's approvals/ carried over):
    arthur-restore approve arthur-restore-runs/20261125T180000Z --sign-key ~/.ssh/id_ed25519";

const STEPS_EXAMPLES: &str = "\
Examples:
  The seven steps and the runbook's commands of each:
    arthur-restore steps
  As JSON, with every argv:
    arthur-restore -o json steps";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  Bash, for this shell:   source <(arthur-restore completions bash)
  Zsh, installed:         arthur-restore completions zsh > \"${fpath[1]}/_arthur-restore\"
  Fish, installed:        arthur-restore completions fish > ~/.config/fish/completions/arthur-restore.fish";

const PLAN_EXAMPLES: &str = "\
Examples:
  What run would do, reading the cluster but changing nothing:
    arthur-restore -n arthur plan --rds-like arthur-prod-db --rds-instance arthur-restored-db
  Without a cluster (every name given):
    arthur-restore -n arthur plan --offline --only messaging \\
      --messaging-backup arthur-backup-2023-05-11t15.22.37-04.00-messaging";

#[derive(Debug, Parser)]
#[command(
    name = "arthur-restore",
    version = crate::version::LONG_VERSION,
    about = ABOUT,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    propagate_version = true,
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// Arthur namespace.
    #[arg(short = 'n', long, global = true, env = "ARTHUR_NAMESPACE", value_name = "NS", value_parser = Namespace::new)]
    pub namespace: Option<Namespace>,

    /// Velero namespace (Velero's own, where its Backup and Restore objects live).
    #[arg(long, global = true, env = "VELERO_NAMESPACE", value_name = "NS", default_value = "velero", value_parser = Namespace::new)]
    pub velero_namespace: Namespace,

    /// Passed to kubectl (--kubeconfig) and velero (--kubeconfig).
    #[arg(long, global = true, value_name = "PATH", value_parser = CliPath::new)]
    pub kubeconfig: Option<CliPath>,

    /// Passed to kubectl (--context) and velero (--kubecontext).
    #[arg(long, global = true, value_name = "NAME", value_parser = KubeContext::new)]
    pub context: Option<KubeContext>,

    /// Passed to aws (--profile).
    #[arg(long, global = true, env = "AWS_PROFILE", value_name = "NAME", value_parser = AwsProfile::new)]
    pub aws_profile: Option<AwsProfile>,

    /// Passed to aws (--region).
    #[arg(long, global = true, env = "AWS_REGION", value_name = "NAME", value_parser = AwsRegion::new)]
    pub aws_region: Option<AwsRegion>,

    /// Passed to aws (--endpoint-url), for S3-compatible stores and tests.
    #[arg(long, global = true, value_name = "URL", value_parser = EndpointUrl::new)]
    pub aws_endpoint_url: Option<EndpointUrl>,

    /// Output format of plan, backups, verify, audit and steps (`-o json`, as kubectl spells it).
    #[arg(short = 'o', long, global = true, value_enum, default_value = "text")]
    pub output: OutputFormat,

    /// run: show every command's full output on the terminal (it is always in transcript.log).
    #[arg(short = 'v', long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,

    /// run: show only gates, warnings, errors and the ending.
    #[arg(short = 'q', long, global = true)]
    pub quiet: bool,

    /// Colour on the terminal (never in the transcript); `auto` honours NO_COLOR.
    #[arg(
        long,
        global = true,
        value_enum,
        value_name = "WHEN",
        default_value = "auto"
    )]
    pub color: ColorWhen,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl GlobalArgs {
    /// What the terminal shows of a run (`-q`, `-v`).
    pub fn verbosity(&self) -> crate::terminal::Verbosity {
        use crate::terminal::Verbosity;
        match (self.quiet, self.verbose) {
            (true, _) => Verbosity::Quiet,
            (false, true) => Verbosity::Verbose,
            (false, false) => Verbosity::Normal,
        }
    }

    pub fn colour(&self) -> crate::terminal::Colour {
        use crate::terminal::Colour;
        match self.color {
            ColorWhen::Auto => Colour::Auto,
            ColorWhen::Always => Colour::Always,
            ColorWhen::Never => Colour::Never,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print every command the restore would run, in order, as a transcript; changes nothing.
    #[command(before_help = PLAN_ABOUT, help_template = DESCRIBED, after_help = PLAN_EXAMPLES)]
    Plan(Box<PlanArgs>),

    /// Perform the restore.
    #[command(before_help = RUN_ABOUT, help_template = DESCRIBED, after_help = RUN_EXAMPLES)]
    Run(Box<RunArgs>),

    /// List restore points: velero backups grouped by time, with the matching ClickHouse backup.
    #[command(after_help = BACKUPS_EXAMPLES)]
    Backups(Box<BackupsArgs>),

    /// Check platform health (the smoke step on its own).
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(Box<VerifyArgs>),

    /// Compare a transcript file with the runbook.
    #[command(after_help = AUDIT_EXAMPLES)]
    Audit(AuditArgs),

    /// Approve what a run waits for (four eyes: `run --approvers`), signing its request.
    #[command(after_help = APPROVE_EXAMPLES)]
    Approve(ApproveArgs),

    /// List the runbook steps and their documented commands.
    #[command(after_help = STEPS_EXAMPLES)]
    Steps,

    /// Print a completion script (bash, zsh, fish).
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions {
        #[arg(value_enum)]
        shell: CompletionShell,
    },
}

/// Step ids as values of --only, --skip and --from (the runbook model knows nothing of clap).
impl ValueEnum for StepId {
    fn value_variants<'a>() -> &'a [Self] {
        &StepId::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.id()))
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    Bash,
    Zsh,
    Fish,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Restore point")]
pub struct RestorePointArgs {
    /// Newest complete restore point at or before TIME (RFC 3339 or YYYY-MM-DD).
    #[arg(long, value_name = "TIME")]
    pub at: Option<String>,

    /// Velero backup of Kafka and ZooKeeper (overrides the restore point).
    #[arg(long, value_name = "NAME", value_parser = VeleroBackupName::new)]
    pub messaging_backup: Option<VeleroBackupName>,

    /// Velero backup of the enrichments infrastructure.
    #[arg(long, value_name = "NAME", value_parser = VeleroBackupName::new)]
    pub enrichments_backup: Option<VeleroBackupName>,

    /// Velero backup of the enrichments workflows.
    #[arg(long, value_name = "NAME", value_parser = VeleroBackupName::new)]
    pub workflows_backup: Option<VeleroBackupName>,

    /// Arthur ClickHouse backup name without the node prefix
    /// (e.g. arthur-clickhouse-backup-2023-05-11-00-00-07).
    #[arg(long, value_name = "NAME", value_parser = ClickhouseBackupName::new)]
    pub clickhouse_backup: Option<ClickhouseBackupName>,

    /// ClickHouse pod whose backup container lists the backups.
    #[arg(long, value_name = "NAME", default_value = crate::runbook::fixed::DEFAULT_CLICKHOUSE_POD, value_parser = ObjectName::new)]
    pub clickhouse_pod: ObjectName,

    /// List ClickHouse backups with `aws s3 ls URI` instead of kubectl exec.
    #[arg(long, value_name = "URI", value_parser = S3Uri::new)]
    pub clickhouse_s3_uri: Option<S3Uri>,

    /// Accept explicit names from different backup operations (said loudly in the transcript).
    #[arg(long)]
    pub allow_mixed: bool,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "RDS")]
pub struct RdsArgs {
    /// Snapshot to restore.
    #[arg(long, value_name = "ID", value_parser = SnapshotId::new)]
    pub rds_snapshot: Option<SnapshotId>,

    /// Identifier of the new instance.
    #[arg(long, value_name = "ID", value_parser = RdsIdentifier::new)]
    pub rds_instance: Option<RdsIdentifier>,

    /// Copy port, security groups, subnet group and class from this instance.
    #[arg(long, value_name = "ID", value_parser = RdsIdentifier::new)]
    pub rds_like: Option<RdsIdentifier>,

    /// The instance whose snapshots belong to the restore points [default: the --rds-like instance].
    #[arg(long, value_name = "ID", value_parser = RdsIdentifier::new)]
    pub rds_source: Option<RdsIdentifier>,

    /// Port of the new instance (overrides --rds-like).
    #[arg(long, value_name = "N", value_parser = names::rds_port)]
    pub rds_port: Option<u16>,

    /// VPC security group of the new instance; repeat for several (overrides --rds-like).
    #[arg(long = "rds-security-group", value_name = "ID", value_parser = SecurityGroupId::new)]
    pub rds_security_groups: Vec<SecurityGroupId>,

    /// DB subnet group of the new instance (overrides --rds-like).
    #[arg(long, value_name = "NAME", value_parser = SubnetGroupName::new)]
    pub rds_subnet_group: Option<SubnetGroupName>,

    /// Instance class of the new instance (overrides --rds-like).
    #[arg(long, value_name = "CLASS", value_parser = InstanceClass::new)]
    pub rds_instance_class: Option<InstanceClass>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Steps")]
pub struct StepArgs {
    /// Run only these steps (comma-separated step ids).
    #[arg(long, value_name = "STEP[,STEP]", value_enum, value_delimiter = ',')]
    pub only: Vec<StepId>,

    /// Leave out these steps (comma-separated step ids).
    #[arg(long, value_name = "STEP[,STEP]", value_enum, value_delimiter = ',')]
    pub skip: Vec<StepId>,

    /// Start at this step; the ones before it are left out.
    #[arg(long, value_name = "STEP", value_enum)]
    pub from: Option<StepId>,
}

#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Waiting")]
pub struct TimingArgs {
    /// Limit of each wait.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "30m", value_parser = units::duration)]
    pub timeout: Duration,

    /// Time between two polls of a wait.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "5s", value_parser = units::duration)]
    pub poll_interval: Duration,

    /// Limit of any one subprocess.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "10m", value_parser = units::duration)]
    pub command_timeout: Duration,
}

/// What a restore is, shared by `plan` and `run`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    #[command(flatten)]
    pub point: RestorePointArgs,
    #[command(flatten)]
    pub rds: RdsArgs,
    #[command(flatten)]
    pub steps: StepArgs,
    #[command(flatten)]
    pub timing: TimingArgs,

    /// Local port of the port-forward to the dataset service.
    #[arg(long, value_name = "N", default_value = "7899", value_parser = names::local_port, help_heading = "Steps")]
    pub local_port: u16,

    /// Do not require the KOTS config to name the restored endpoint (only when the database
    /// pointer was checked another way).
    #[arg(long, help_heading = "Steps")]
    pub skip_db_pointer_check: bool,

    /// Cap on what one command may print (stdout and stderr together); past it the command is
    /// stopped and the run fails.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, default_value = "64Mi", value_parser = units::size, help_heading = "Waiting")]
    pub max_output: u64,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub restore: RestoreArgs,

    /// Run nothing at all; needs explicit backup names and RDS settings.
    #[arg(long, help_heading = "Plan")]
    pub offline: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub restore: RestoreArgs,

    /// Answer the confirmation prompts (non-interactive use).
    #[arg(long, help_heading = "Run")]
    pub yes: bool,

    /// Where transcript.log, events.jsonl, state.json and artefacts go
    /// [default: ./arthur-restore-runs/<UTC timestamp>].
    #[arg(long, value_name = "DIR", help_heading = "Run")]
    pub run_dir: Option<PathBuf>,

    /// Continue the run recorded in DIR (its parameters come from DIR/state.json).
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "run_dir",
        help_heading = "Run"
    )]
    pub resume: Option<PathBuf>,

    /// With --resume: go on when the cluster's identity cannot be read (recorded in the log).
    #[arg(long, requires = "resume", help_heading = "Run")]
    pub allow_unknown_cluster: bool,

    /// Keep outputs over 1 MiB whole in RUN_DIR/outputs/ (the transcript shows their first
    /// lines, size and SHA-256).
    #[arg(long, help_heading = "Run")]
    pub keep_output: bool,

    /// Sign the run's events.jsonl at its end with this ssh key (`ssh-keygen -Y sign -n
    /// arthur-restore`), writing events.jsonl.sig: it proves who ran it.
    #[arg(long, value_name = "FILE", value_parser = CliPath::new, help_heading = "Run")]
    pub sign_key: Option<CliPath>,

    /// Write the run's metrics (success, time to restore, per step, waiting for people, age of
    /// the restored data) to FILE in the node_exporter textfile format, at the end and on failure.
    #[arg(long, value_name = "FILE", help_heading = "Run")]
    pub textfile: Option<PathBuf>,

    /// POST the run's news as JSON to this webhook (Slack, Mattermost): its start, each person
    /// needed, a long wait's end, its end. Repeat for several; shown by scheme and host only.
    #[arg(
        long,
        value_name = "URL",
        env = "ARTHUR_RESTORE_NOTIFY",
        hide_env_values = true,
        value_delimiter = ' ',
        help_heading = "Run"
    )]
    pub notify: Vec<String>,

    /// Four eyes: the restore point and the deletions each wait for the signature of one of the
    /// approvers in FILE (ssh allowed signers; `arthur-restore approve`), never the --sign-key's.
    #[arg(long, value_name = "FILE", value_parser = CliPath::new, help_heading = "Run")]
    pub approvers: Option<CliPath>,

    /// With --notify: tell when a wait that lasted at least this long ends.
    #[arg(long, value_name = "DURATION", default_value = "1m", value_parser = units::duration, help_heading = "Run")]
    pub notify_after: Duration,
}

#[derive(Debug, Args)]
pub struct BackupsArgs {
    #[command(flatten)]
    pub point: RestorePointArgs,

    /// The instance whose snapshots belong to the restore points.
    #[arg(long, value_name = "ID", value_parser = RdsIdentifier::new)]
    pub rds_source: Option<RdsIdentifier>,

    /// Same as --rds-source, for symmetry with plan and run.
    #[arg(long, value_name = "ID", value_parser = RdsIdentifier::new)]
    pub rds_like: Option<RdsIdentifier>,

    /// Every backup name in full (the default table shortens them to what differs).
    #[arg(long)]
    pub wide: bool,

    /// For cron and monitoring: exit 0 when the newest complete restore point is younger than
    /// --max-age, 4 when it is older or none is complete (saying why), 1 when a listing failed.
    #[arg(long)]
    pub check: bool,

    /// With --check or --textfile: how old the newest complete restore point may be.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "26h", value_parser = units::duration)]
    pub max_age: Duration,

    /// Write Prometheus metrics to FILE in node_exporter's textfile format (atomically: a
    /// temporary file, then a rename).
    #[arg(long, value_name = "FILE")]
    pub textfile: Option<PathBuf>,

    /// Cap on what one listing may print (a listing of 50,000 backup operations is about
    /// 150 MB); past it the listing is stopped and the command fails.
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, default_value = "64Mi", value_parser = units::size)]
    pub max_output: u64,

    /// Limit of any one subprocess.
    #[arg(long, value_name = "DURATION", allow_hyphen_values = true, default_value = "10m", value_parser = units::duration)]
    pub command_timeout: Duration,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Also check the Velero restores recorded in this run directory (as `audit RUN_DIR` takes
    /// it; `--run-dir DIR` says the same).
    #[arg(value_name = "RUN_DIR", conflicts_with = "run_dir")]
    pub run_dir_arg: Option<PathBuf>,

    /// Also check the Velero restores recorded in this run directory.
    #[arg(long, value_name = "DIR")]
    pub run_dir: Option<PathBuf>,

    /// Wait for jobs still running, up to --timeout.
    #[arg(long)]
    pub wait: bool,

    /// With a run directory: go on when the cluster's identity cannot be read.
    #[arg(long)]
    pub allow_unknown_cluster: bool,

    /// Cap on what one listing may print (10,000 pods are about 36 MB as JSON).
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, default_value = "64Mi", value_parser = units::size)]
    pub max_output: u64,

    #[command(flatten)]
    pub timing: TimingArgs,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// A run directory (its transcript.log is audited, with the events beside it), a transcript
    /// of this tool, or a terminal log in the same `$ command` style.
    #[arg(value_name = "TRANSCRIPT|RUN_DIR")]
    pub transcript: PathBuf,

    /// The final hash the run printed at its end (from the change ticket): events.jsonl must end
    /// with the line it anchors.
    #[arg(long, value_name = "HASH", value_parser = units::sha256_hex)]
    pub expect: Option<String>,

    /// Verify events.jsonl.sig with `ssh-keygen -Y verify` against these allowed signers
    /// (namespace arthur-restore), and name the signer.
    #[arg(long, value_name = "FILE", value_parser = CliPath::new)]
    pub allowed_signers: Option<CliPath>,

    /// Check the run's approvals (four eyes) again against these allowed signers: each signed
    /// request in RUN_DIR/approvals/ must verify for the approver the run recorded.
    #[arg(long, value_name = "FILE", value_parser = CliPath::new)]
    pub approvers: Option<CliPath>,

    /// Also write the report as one self-contained HTML page (no network, no scripts): steps,
    /// findings linked to their lines, a timeline with durations, the deletions, the identity
    /// and the anchoring hash. Never a file of the run directory (refused, exit 2).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ApproveArgs {
    /// The run directory whose pending approval request is shown, asked for and signed.
    #[arg(value_name = "RUN_DIR")]
    pub run_dir: PathBuf,

    /// The approver's ssh key (`ssh-keygen -Y sign -n arthur-restore-approval`).
    #[arg(long, value_name = "FILE", value_parser = CliPath::new)]
    pub sign_key: CliPath,

    /// Approve without asking on the terminal (the request is still shown).
    #[arg(long)]
    pub yes: bool,
}

impl VerifyArgs {
    /// The run directory, given as `verify RUN_DIR` or `verify --run-dir RUN_DIR`.
    pub fn run_dir(&self) -> Option<&std::path::Path> {
        self.run_dir_arg.as_deref().or(self.run_dir.as_deref())
    }
}
