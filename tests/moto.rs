//! The `rds` step with the real aws CLI against a real local AWS API (moto_server, SPEC section
//! 7). The test creates the source instance (on a non-default port, so that a restore that did
//! not copy the settings would be caught), its subnet group, security group and snapshot, runs
//! `run --only rds`, and checks the new instance has the source's settings.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::{Replay, explain, fixtures};

struct MotoServer {
    child: Child,
    url: String,
}

impl MotoServer {
    fn start() -> MotoServer {
        let moto = crate::support::external(&["moto_server"], "pip install 'moto[server]'");
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(moto)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let server = MotoServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "moto_server did not listen on {port} within 60s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn real_aws() -> PathBuf {
    crate::support::external(&["aws"], "pip install awscli")
}

/// Credentials and config for moto only; the operator's own files are never read.
fn aws_env(command: &mut Command, home: &std::path::Path) {
    command
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_CONFIG_FILE", home.join("aws-config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("aws-credentials"))
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .env_remove("AWS_DEFAULT_REGION");
}

fn aws(moto: &MotoServer, home: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let mut command = Command::new(real_aws());
    aws_env(&mut command, home);
    let output = command
        .args(args)
        .args([
            "--endpoint-url",
            &moto.url,
            "--region",
            "us-east-1",
            "--output",
            "json",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "aws {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or(serde_json::Value::Null)
}

/// A VPC with two subnets and a security group: what the source instance sits in. Returns the
/// subnets and the group.
fn create_network(moto: &MotoServer, home: &std::path::Path) -> (String, String, String) {
    let id = |value: serde_json::Value, path: [&str; 2]| {
        value[path[0]][path[1]].as_str().unwrap().to_string()
    };
    let vpc = id(
        aws(
            moto,
            home,
            &["ec2", "create-vpc", "--cidr-block", "10.0.0.0/16"],
        ),
        ["Vpc", "VpcId"],
    );
    let subnet = |cidr: &str, zone: &str| {
        let args = [
            "ec2",
            "create-subnet",
            "--vpc-id",
            &vpc,
            "--cidr-block",
            cidr,
            "--availability-zone",
            zone,
        ];
        id(aws(moto, home, &args), ["Subnet", "SubnetId"])
    };
    let (a, b) = (
        subnet("10.0.1.0/24", "us-east-1a"),
        subnet("10.0.2.0/24", "us-east-1b"),
    );
    let group = aws(
        moto,
        home,
        &[
            "ec2",
            "create-security-group",
            "--group-name",
            "arthur-db",
            "--description",
            "arthur db",
            "--vpc-id",
            &vpc,
        ],
    )["GroupId"]
        .as_str()
        .unwrap()
        .to_string();
    (a, b, group)
}

/// The source instance `arthur-prod-db` (port 5433), its groups and the snapshot `arthur-snap`.
fn create_source(moto: &MotoServer, home: &std::path::Path) -> String {
    let (a, b, group) = create_network(moto, home);
    aws(
        moto,
        home,
        &[
            "rds",
            "create-db-subnet-group",
            "--db-subnet-group-name",
            "arthur-db-subnet-group",
            "--db-subnet-group-description",
            "arthur",
            "--subnet-ids",
            &a,
            &b,
        ],
    );
    aws(
        moto,
        home,
        &[
            "rds",
            "create-db-instance",
            "--db-instance-identifier",
            "arthur-prod-db",
            "--db-instance-class",
            "db.m5.large",
            "--engine",
            "postgres",
            "--master-username",
            "arthur",
            "--master-user-password",
            "not-a-secret-1",
            "--allocated-storage",
            "20",
            "--port",
            "5433",
            "--vpc-security-group-ids",
            &group,
            "--db-subnet-group-name",
            "arthur-db-subnet-group",
        ],
    );
    aws(
        moto,
        home,
        &[
            "rds",
            "create-db-snapshot",
            "--db-instance-identifier",
            "arthur-prod-db",
            "--db-snapshot-identifier",
            "arthur-snap",
        ],
    );
    group
}

/// The tool with the real aws CLI pointed at moto, and the replay program (this fake's `bin`) as
/// kubectl, velero and curl answering from `session`.
fn tool_with_moto(moto: &MotoServer, home: &std::path::Path, session: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_arthur-restore"));
    aws_env(&mut command, home);
    let path = format!(
        "{}:{}",
        home.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    command
        .env("PATH", path)
        .env("ARTHUR_RESTORE_AWS", real_aws())
        .env("ARTHUR_REPLAY_SESSION", session)
        .env("ARTHUR_REPLAY_STATE", home.join("state"))
        .env_remove("ARTHUR_NAMESPACE")
        .env_remove("ARTHUR_RESTORE_NOW")
        .args([
            "-n",
            "arthur",
            "--aws-endpoint-url",
            &moto.url,
            "--aws-region",
            "us-east-1",
        ]);
    command
}

#[test]
fn rds_restore_copies_the_source_settings() {
    let moto = MotoServer::start();
    let replay = Replay::new();
    let home = replay.dir.path();
    let group = create_source(&moto, home);

    let run = |run_dir: &str| {
        tool_with_moto(&moto, home, &fixtures().join("sessions/rds-moto.session"))
            .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z")
            .args([
                "run",
                "--only",
                "rds",
                "--yes",
                "--poll-interval",
                "10ms",
                "--timeout",
                "30s",
                "--run-dir",
            ])
            .arg(replay.dir.path().join(run_dir))
            .args([
                "--rds-snapshot",
                "arthur-snap",
                "--rds-instance",
                "arthur-restored-db",
                "--rds-like",
                "arthur-prod-db",
            ])
            .output()
            .unwrap()
    };
    let output = run("first");
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));

    let restored = &aws(
        &moto,
        home,
        &[
            "rds",
            "describe-db-instances",
            "--db-instance-identifier",
            "arthur-restored-db",
        ],
    )["DBInstances"][0];
    assert_eq!(restored["Endpoint"]["Port"], 5433);
    assert_eq!(restored["DBInstanceClass"], "db.m5.large");
    assert_eq!(
        restored["DBSubnetGroup"]["DBSubnetGroupName"],
        "arthur-db-subnet-group"
    );
    assert_eq!(
        restored["VpcSecurityGroups"][0]["VpcSecurityGroupId"],
        group.as_str()
    );
    let transcript =
        std::fs::read_to_string(replay.dir.path().join("first/transcript.log")).unwrap();
    let endpoint = format!(
        "# restored endpoint: {}:5433",
        restored["Endpoint"]["Address"].as_str().unwrap()
    );
    assert!(transcript.contains(&endpoint), "{transcript}");
    assert!(transcript.contains("--port 5433"));

    // The identifier is taken now: a second run is refused before anything changes.
    replay.restart_session();
    let output = run("second");
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
}

/// An environment where the newest backup operation has no RDS snapshot: `backups --rds-source`
/// reads the snapshots from moto with the real aws CLI, and the Velero and ClickHouse listings
/// (made here around the moment moto takes its snapshot) from the replay program.
#[test]
fn backups_flags_a_run_without_its_rds_snapshot() {
    let moto = MotoServer::start();
    let replay = Replay::new();
    let home = replay.dir.path();
    create_source(&moto, home);

    let now = jiff::Timestamp::now();
    let older = now - jiff::SignedDuration::from_mins(10);
    let newest = now + jiff::SignedDuration::from_hours(2);
    let offset = jiff::tz::Offset::from_hours(-4).unwrap();
    let stamp = |t: jiff::Timestamp| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string();
    let mut items = Vec::new();
    for run in [older, newest] {
        for (component, seconds) in [("messaging", 0), ("workflows", 48), ("enrichments", 167)] {
            let t = run + jiff::SignedDuration::from_secs(seconds);
            let local = offset
                .to_datetime(t)
                .strftime("%Y-%m-%dt%H.%M.%S")
                .to_string();
            items.push(serde_json::json!({
                "kind": "Backup", "apiVersion": "velero.io/v1",
                "metadata": {"name": format!("arthur-backup-{local}-04.00-{component}"), "namespace": "velero"},
                "spec": {"storageLocation": "default"},
                "status": {"phase": "Completed", "startTimestamp": stamp(t),
                           "expiration": stamp(t + jiff::SignedDuration::from_hours(720))}
            }));
        }
    }
    let velero = serde_json::json!({"kind": "BackupList", "apiVersion": "velero.io/v1", "metadata": {}, "items": items});
    std::fs::write(
        home.join("velero.json"),
        serde_json::to_string_pretty(&velero).unwrap(),
    )
    .unwrap();
    let clickhouse: String = (0..3)
        .map(|node| {
            format!(
                "chi-olap-installation-arthur-0-{node}-arthur-clickhouse-backup-{}   10.33MiB   {}   remote   tar, regular\n",
                now.strftime("%Y-%m-%d-%H-%M-%S"),
                now.strftime("%d/%m/%Y %H:%M:%S")
            )
        })
        .collect();
    std::fs::write(home.join("clickhouse.txt"), clickhouse).unwrap();
    std::fs::write(
        home.join("session"),
        "$ velero backup get -n velero -o json\n#> stdout-file: velero.json\n$ kubectl exec chi-olap-installation-arthur-0-0-0 -n arthur -c backup -- clickhouse-backup list\n#> stdout-file: clickhouse.txt\n",
    )
    .unwrap();

    let output = tool_with_moto(&moto, home, &home.join("session"))
        .args(["--output", "json"])
        .args(["backups", "--rds-source", "arthur-prod-db"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let points = json["restore_points"].as_array().unwrap();
    assert_eq!(points.len(), 2);
    assert_eq!(points[0]["complete"], false);
    assert_eq!(
        points[0]["reasons"],
        serde_json::json!(["no RDS snapshot within 60m"])
    );
    assert_eq!(points[1]["complete"], true, "{}", points[1]);
    // moto also takes an automated snapshot when the instance is created; either is the
    // snapshot nearest to the older run.
    let snapshot = points[1]["rds_snapshot"]["name"].as_str().unwrap();
    assert!(
        snapshot == "arthur-snap" || snapshot.starts_with("rds:arthur-prod-db-"),
        "{snapshot}"
    );
    assert_eq!(json["chosen"], points[1]["time"]);
}
