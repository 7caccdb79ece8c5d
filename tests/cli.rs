//! Usage errors exit 2 and name the option; nothing runs.

use crate::support::{stderr, tool};

fn usage_error(args: &[&str], must_mention: &str) {
    let output = tool().args(args).output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(2),
        "{args:?}: {}",
        stderr(&output)
    );
    let message = stderr(&output);
    assert!(
        message.contains(must_mention),
        "{args:?}: expected `{must_mention}` in:\n{message}"
    );
}

#[test]
fn hostile_namespaces_are_refused_and_never_run() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("pwned");
    usage_error(&["-n", "arthur;rm", "steps"], "--namespace");
    usage_error(
        &["-n", "$(touch pwned)", "plan", "--offline"],
        "--namespace",
    );
    let output = tool()
        .current_dir(dir.path())
        .args(["-n", "$(touch pwned)", "plan", "--offline"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!marker.exists());
}

#[test]
fn bad_values_name_their_option() {
    usage_error(
        &["--velero-namespace", "Velero", "steps"],
        "--velero-namespace",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--messaging-backup",
            "bad;name",
        ],
        "--messaging-backup",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--clickhouse-backup",
            "chi-olap-installation-arthur-0-0-arthur-clickhouse-backup-2023-05-11-00-00-07",
        ],
        "node prefix",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-instance", "arthur--db"],
        "--rds-instance",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-snapshot", "snap.1"],
        "--rds-snapshot",
    );
    usage_error(
        &["-n", "arthur", "plan", "--rds-security-group", "sg-nothex"],
        "--rds-security-group",
    );
    usage_error(&["-n", "arthur", "plan", "--rds-port", "80"], "--rds-port");
    usage_error(&["-n", "arthur", "plan", "--timeout", "30"], "--timeout");
    usage_error(
        &["-n", "arthur", "plan", "--poll-interval", "1.5x"],
        "--poll-interval",
    );
    usage_error(&["-n", "arthur", "plan", "--only", "kafka"], "--only");
    usage_error(&["-n", "arthur", "plan", "--from", "everything"], "--from");
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--clickhouse-s3-uri",
            "https://bucket/x",
        ],
        "--clickhouse-s3-uri",
    );
    usage_error(&["--aws-region", "Mars", "steps"], "--aws-region");
    usage_error(&["--context=--oops", "steps"], "--context");
    usage_error(&["-n", "arthur", "plan", "--at", "last tuesday"], "--at");
}

#[test]
fn offline_plan_names_what_is_missing() {
    usage_error(&["-n", "arthur", "plan", "--offline"], "--messaging-backup");
    usage_error(
        &["-n", "arthur", "plan", "--offline", "--only", "clickhouse"],
        "--clickhouse-backup",
    );
    usage_error(&["plan", "--offline", "--only", "smoke"], "--namespace");
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--rds-snapshot",
            "snap",
        ],
        "--rds-instance",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--rds-snapshot",
            "snap",
            "--rds-instance",
            "new-db",
            "--rds-port",
            "5432",
        ],
        "--rds-security-group",
    );
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--skip",
            "rds",
        ],
        "no step",
    );
}

#[test]
fn steps_lists_the_seven_steps() {
    let output = tool().arg("steps").output().unwrap();
    assert!(output.status.success());
    let text = String::from_utf8(output.stdout).unwrap();
    for (id, title) in [
        ("rds", "Restore RDS Postgres"),
        ("platform", "Install the Arthur Platform"),
        ("clickhouse", "Restore ClickHouse Data"),
        ("messaging", "Restore Messaging Infrastructure"),
        ("enrichments", "Restore Enrichments Infrastructure"),
        ("workflows", "Restore Enrichments Workflows"),
        ("smoke", "Smoke Tests and Validation"),
    ] {
        assert!(
            text.contains(&format!("\n{id:<12} {title}\n")),
            "{id} missing:\n{text}"
        );
    }
    assert!(text.contains("$ kubectl get sts -n $arthur_namespace"));
    let json = tool().args(["--output", "json", "steps"]).output().unwrap();
    let steps: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(steps.as_array().unwrap().len(), 7);
    assert_eq!(
        steps[3]["commands"][1]["argv"],
        serde_json::json!([
            "kubectl",
            "delete",
            "sts",
            "messaging",
            "-n",
            "$arthur_namespace"
        ])
    );
    assert_eq!(steps[3]["commands"][1]["effect"], "changes");
}

#[test]
fn help_teaches_and_completions_print() {
    let help = tool().arg("--help").output().unwrap();
    assert!(help.status.success());
    let text = String::from_utf8(help.stdout).unwrap();
    assert!(text.contains("Exit status:") && text.contains("130"));
    let run_help = tool().args(["run", "--help"]).output().unwrap();
    assert!(
        String::from_utf8(run_help.stdout)
            .unwrap()
            .contains("--resume <DIR>")
    );
    for shell in ["bash", "zsh", "fish"] {
        let output = tool().args(["completions", shell]).output().unwrap();
        assert!(
            output.status.success() && !output.stdout.is_empty(),
            "{shell}"
        );
    }
}

/// What bash offers after `arthur-restore WORDS...` (the last word is the one being completed),
/// by sourcing the generated script and calling its function as bash's `complete -F` would.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("arthur-restore.bash");
    let output = tool().args(["completions", "bash"]).output().unwrap();
    assert!(output.status.success());
    std::fs::write(&script, &output.stdout).unwrap();
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'\nCOMP_WORDS=(arthur-restore {})\nCOMP_CWORD={}\n_arthur__restore arthur-restore '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        script.display(),
        quoted.join(" "),
        words.len(),
        words.last().unwrap(),
        if words.len() > 1 {
            words[words.len() - 2]
        } else {
            "arthur-restore"
        },
    );
    let output = std::process::Command::new("bash")
        .args(["--norc", "-c", &program])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn bash_completion_offers_options_and_step_ids_after_the_subcommand() {
    let offered = bash_completes(&["run", "--"]);
    for option in ["--resume", "--yes", "--timeout", "--only", "--sign-key"] {
        assert!(offered.iter().any(|o| o == option), "{option}: {offered:?}");
    }
    let offered = bash_completes(&["run", "--only", ""]);
    assert_eq!(
        offered,
        [
            "rds",
            "platform",
            "clickhouse",
            "messaging",
            "enrichments",
            "workflows",
            "smoke"
        ]
    );
    let offered = bash_completes(&["ver"]);
    assert_eq!(offered, ["verify"]);
}

/// `kubectl arthur-restore ...` through real kubectl's plugin lookup: the binary installed as
/// `kubectl-arthur_restore` answers, and its usage names itself as kubectl shows it.
#[test]
fn the_tool_runs_as_a_kubectl_plugin() {
    let kubectl = crate::support::external(&["kubectl"], "Debian's kubernetes-client");
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_arthur-restore"),
        dir.path().join("kubectl-arthur_restore"),
    )
    .unwrap();
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let run = |args: &[&str]| {
        std::process::Command::new(&kubectl)
            .args(args)
            .env("PATH", &path)
            .output()
            .unwrap()
    };
    let version = run(&["arthur-restore", "--version"]);
    assert!(version.status.success(), "{}", stderr(&version));
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("arthur-restore "));
    let help = run(&["arthur-restore", "--help"]);
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("Usage: kubectl arthur-restore [OPTIONS]"),
        "{}",
        String::from_utf8_lossy(&help.stdout)
    );
    let steps = run(&["arthur-restore", "-o", "json", "steps"]);
    assert!(steps.status.success(), "{}", stderr(&steps));
    let json: serde_json::Value = serde_json::from_slice(&steps.stdout).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 7);
}

/// Durations as Go writes them, as kubectl and velero accept them.
#[test]
fn durations_are_written_as_go_writes_them() {
    for good in ["1h30m", "1.5h", "90s", "250ms", "2m30s"] {
        let output = tool()
            .args([
                "-n",
                "arthur",
                "plan",
                "--offline",
                "--only",
                "messaging",
                "--messaging-backup",
                "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
                "--timeout",
                good,
            ])
            .output()
            .unwrap();
        assert!(output.status.success(), "{good}: {}", stderr(&output));
    }
    usage_error(
        &["-n", "arthur", "plan", "--offline", "--timeout", "1h30"],
        "1h30m, 1.5h",
    );
}

/// The man pages come from the clap definition (`scripts/man`).
#[test]
fn the_man_page_is_generated_from_the_definition() {
    use clap::CommandFactory;
    let mut page = Vec::new();
    clap_mangen::Man::new(arthur_restore::cli::Cli::command())
        .render(&mut page)
        .unwrap();
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH arthur-restore"),
        "{page}"
    );
    assert!(page.contains("run"), "{page}");
    assert!(page.contains("Exit status"), "{page}");
}

/// Options are never ignored nor misread (issue 19): `run -o json` is refused, a negative
/// duration is named as such, sizes are Kubernetes quantities with a sensible minimum, a
/// mistyped command or flag gets the nearest name, and every missing RDS option is named at once.
#[test]
fn options_are_never_ignored_or_misread() {
    usage_error(
        &["-o", "json", "-n", "arthur", "run", "--yes"],
        "-o json is for plan",
    );
    usage_error(&["-n", "arthur", "run", "--timeout", "-5m"], "is negative");
    usage_error(
        &["-n", "arthur", "run", "--max-output", "5"],
        "at least 64Ki",
    );
    usage_error(
        &["-n", "arthur", "run", "--max-output", "64m"],
        "Ki, Mi or Gi",
    );
    usage_error(&["rnu"], "did you mean `run`?");
    usage_error(&["-n", "arthur", "run", "--yse"], "did you mean `--yes`?");
    usage_error(
        &[
            "-n",
            "arthur",
            "plan",
            "--offline",
            "--only",
            "rds",
            "--rds-snapshot",
            "snap",
        ],
        "--rds-instance ID (the identifier of the new instance); and --rds-like ID",
    );
    // Kubernetes quantities are read: the value reaches the offline plan's checks.
    let output = tool()
        .args(["-n", "arthur", "verify", "--max-output", "64Mi", "--help"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// A CLI that is missing is exit 3 everywhere (found before anything runs), `backups --check`
/// included, with the program named.
#[test]
fn a_missing_cli_is_exit_3_everywhere() {
    let empty = tempfile::tempdir().unwrap();
    let path = empty.path().display().to_string();
    for args in [
        vec!["-n", "arthur", "backups"],
        vec!["-n", "arthur", "backups", "--check"],
        vec!["-n", "arthur", "verify"],
    ] {
        let output = tool().env("PATH", &path).args(&args).output().unwrap();
        assert_eq!(
            output.status.code(),
            Some(3),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("was not found on PATH"),
            "{args:?}: {}",
            stderr(&output)
        );
    }
}

/// Help like kubectl's (issue 19): every subcommand's help ends with examples, and what it says
/// is true (three gates ask on the terminal).
#[test]
fn every_subcommand_has_examples() {
    for command in [
        "plan",
        "run",
        "backups",
        "verify",
        "audit",
        "approve",
        "steps",
        "completions",
    ] {
        let output = tool().args([command, "--help"]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{command}");
        let help = crate::support::stdout(&output);
        assert!(help.contains("\nExamples:\n"), "{command}:\n{help}");
        assert!(
            help.contains("    arthur-restore ") || help.contains(": arthur-restore "),
            "{command}:\n{help}"
        );
    }
    let output = tool().args(["run", "--help"]).output().unwrap();
    assert!(crate::support::stdout(&output).contains("Three gates ask on the terminal"));
}

/// Issue 19, item 7: the global options are described once, in the tool's own help; a
/// subcommand's help points there (as `kubectl options`), and `plan`/`run` help is under 100
/// lines, `-h` and `--help` alike. The options stay accepted on either side of the subcommand.
#[test]
fn global_options_are_described_once() {
    let root = crate::support::stdout(&tool().arg("--help").output().unwrap());
    assert!(root.contains("--aws-endpoint-url <URL>"), "{root}");
    for command in ["plan", "run", "backups", "verify", "audit", "steps"] {
        for flag in ["-h", "--help"] {
            let help = crate::support::stdout(&tool().args([command, flag]).output().unwrap());
            assert!(
                !help.contains("Global options:"),
                "{command} {flag}:\n{help}"
            );
            assert!(
                !help.contains("--aws-endpoint-url <URL>"),
                "{command} {flag}:\n{help}"
            );
            assert!(
                help.contains(
                    "--aws-endpoint-url, -o, -v, -q, --color): see `arthur-restore --help`."
                ),
                "{command} {flag}:\n{help}"
            );
            assert!(
                help.lines().count() < 100,
                "{command} {flag}: {} lines",
                help.lines().count()
            );
        }
    }
    for argv in [
        &["-n", "arthur", "-o", "json", "steps"][..],
        &["steps", "-n", "arthur", "-o", "json"][..],
    ] {
        let output = tool().args(argv).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{argv:?}");
        serde_json::from_slice::<serde_json::Value>(&output.stdout).expect("steps as JSON");
    }
}
