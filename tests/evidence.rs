//! Evidence an auditor can rely on: the run's final hash (the anchor for the change ticket),
//! checked by `audit --expect`; the event log signed with an ssh key and verified by
//! `audit --allowed-signers`.

use std::path::Path;
use std::process::Command;

use crate::support::{Replay, explain, stdout, tool};

fn audit(transcript: &Path, extra: &[&str]) -> (Option<i32>, String) {
    let output = tool()
        .arg("audit")
        .args(extra)
        .arg(transcript)
        .output()
        .unwrap();
    (
        output.status.code(),
        format!("{}{}", stdout(&output), crate::support::stderr(&output)),
    )
}

fn line_hash(line: &str) -> String {
    arthur_restore::record::events::line_hash(line)
}

/// Re-chains a log after an edit, as someone who knows the format would (ten lines of Python).
fn rechain(text: &str) -> String {
    let mut previous = "0".repeat(64);
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let mut value: serde_json::Value = serde_json::from_str(line).unwrap();
        value["prev"] = previous.clone().into();
        let line = serde_json::to_string(&value).unwrap();
        previous = line_hash(&line);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

#[test]
fn the_final_hash_anchors_the_event_log() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let events_path = replay.run_dir().join("events.jsonl");
    let events = std::fs::read_to_string(&events_path).unwrap();
    let anchor = line_hash(events.lines().last().unwrap());
    // Printed on the screen, in the transcript and in state.json.
    assert!(
        stdout(&output).contains("final hash ("),
        "{}",
        stdout(&output)
    );
    assert!(stdout(&output).trim_end().ends_with(&anchor));
    assert!(replay.transcript().trim_end().ends_with(&anchor));
    assert_eq!(replay.state()["final_hash"], anchor);

    let transcript = replay.run_dir().join("transcript.log");
    let (code, text) = audit(&transcript, &["--expect", &anchor]);
    assert_eq!(code, Some(0), "{text}");

    // A gate answer edited and the chain computed again: the chain holds, but the transcript
    // shows another answer.
    let edited = rechain(&events.replacen("yes (--yes)", "yes (at the prompt)", 1));
    std::fs::write(&events_path, &edited).unwrap();
    let (code, text) = audit(&transcript, &[]);
    assert!(text.contains("hash chain intact"), "{text}");
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("one of the two was edited"), "{text}");

    // What only the event log holds (how long a command took), edited and chained again: the
    // transcript's last line names the final hash the run printed, which is no longer the
    // last line's; and the anchor sees it too.
    let duration = regex::Regex::new(r#""duration_ms":\d+"#).unwrap();
    let edited = rechain(&duration.replace(&events, r#""duration_ms":999999"#));
    assert_ne!(edited, events);
    std::fs::write(&events_path, &edited).unwrap();
    let (code, text) = audit(&transcript, &[]);
    assert!(text.contains("hash chain intact"), "{text}");
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("bound to none"), "{text}");
    let (code, text) = audit(&transcript, &["--expect", &anchor]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("no line of"), "{text}");

    // Lines added after the end: named from the first one that was not anchored.
    let added = rechain(&format!(
        "{events}{}\n",
        events.lines().last().unwrap().replace("run-ended", "note")
    ));
    std::fs::write(&events_path, &added).unwrap();
    let last = events.lines().count();
    let (code, text) = audit(&transcript, &["--expect", &anchor]);
    assert_eq!(code, Some(4), "{text}");
    assert!(
        text.contains(&format!("goes on after line {last}")),
        "{text}"
    );
}

#[test]
fn a_transcript_alone_says_its_integrity_was_not_checked() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let alone = replay.dir.path().join("alone.log");
    std::fs::copy(replay.run_dir().join("transcript.log"), &alone).unwrap();
    let (code, text) = audit(&alone, &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("integrity not checked"), "{text}");
    let json = tool()
        .args(["--output", "json", "audit"])
        .arg(&alone)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["integrity_checked"], false);
}

fn ssh_keygen(args: &[&str]) {
    let status = Command::new(crate::support::external(
        &["ssh-keygen"],
        "apt-get install openssh-client",
    ))
    .args(args)
    .status()
    .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen {args:?}");
}

#[test]
fn a_signed_event_log_names_its_signer() {
    let replay = Replay::new();
    let key = replay.dir.path().join("operator_key");
    let key_text = key.display().to_string();
    ssh_keygen(&[
        "-q",
        "-t",
        "ed25519",
        "-N",
        "",
        "-C",
        "operator@example.com",
        "-f",
        &key_text,
    ]);
    let output = replay.restore("happy.session", &["--sign-key", &key_text]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let signature = replay.run_dir().join("events.jsonl.sig");
    assert!(signature.exists());
    assert!(replay.transcript().contains("$ ssh-keygen -Y sign -f"));
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    let allowed = replay.dir.path().join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("operator@example.com namespaces=\"arthur-restore\" {public}"),
    )
    .unwrap();
    let allowed_text = allowed.display().to_string();
    let transcript = replay.run_dir().join("transcript.log");
    let (code, text) = audit(&transcript, &["--allowed-signers", &allowed_text]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("signature: verified by operator@example.com"),
        "{text}"
    );
    // The signature is the operator's alone, like every file of the run directory.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&signature).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "events.jsonl.sig");
    // The events changed after signing: the signature no longer matches.
    let events_path = replay.run_dir().join("events.jsonl");
    let events = std::fs::read_to_string(&events_path).unwrap();
    std::fs::write(
        &events_path,
        rechain(&events.replacen("yes (--yes)", "no", 1)),
    )
    .unwrap();
    let (code, text) = audit(&transcript, &["--allowed-signers", &allowed_text]);
    assert_eq!(code, Some(4), "{text}");
    assert!(text.contains("does not match"), "{text}");
}

/// The transcript and the event log agree both ways: a `$ ` line removed from the transcript
/// (with its output) is caught, not only one added.
#[test]
fn a_command_removed_from_the_transcript_is_caught() {
    for removed in [
        "$ kubectl delete sts messaging -n arthur",
        "$ kubectl get pv",
    ] {
        let replay = Replay::new();
        let output = replay.restore("happy.session", &[]);
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        let path = replay.run_dir().join("transcript.log");
        let text = std::fs::read_to_string(&path).unwrap();
        let mut kept = Vec::new();
        let mut skipping = false;
        let mut done = false;
        for line in text.lines() {
            if !done && line == removed {
                skipping = true;
                done = true;
                continue;
            }
            if skipping && (line.starts_with("$ ") || line.starts_with('#')) {
                skipping = false;
            }
            if !skipping {
                kept.push(line);
            }
        }
        assert!(done, "{removed} is in the transcript");
        std::fs::write(&path, kept.join("\n") + "\n").unwrap();
        let (code, text) = audit(&path, &[]);
        assert_eq!(code, Some(4), "{removed}: {text}");
        assert!(
            text.contains("is not, in this order, in the transcript"),
            "{text}"
        );
    }
}

/// A file that is no log of a restore is said to be so, not audited as four steps not done.
#[test]
fn a_file_that_is_not_a_restore_log_is_said_to_be_so() {
    let (code, text) = audit(Path::new("/etc/passwd"), &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("is not a log of a restore"), "{text}");
}

/// The run records who ran it without $USER, and who called sudo.
#[test]
fn the_run_records_who_ran_it() {
    let me = String::from_utf8(Command::new("id").arg("-un").output().unwrap().stdout).unwrap();
    let me = me.trim();
    for (sudo, expected) in [
        (None, format!("user={me} ")),
        (Some("alice"), format!("user=alice(sudo:{me}) ")),
    ] {
        let replay = Replay::new();
        let argv = crate::support::Argv::arthur("run")
            .with(&["--yes"])
            .fast(&replay.run_dir())
            .pairs(&crate::support::SESSION_RDS[1..], &[]);
        let mut command = tool();
        command.envs(replay.env("happy.session")).args(argv.words());
        if let Some(sudo) = sudo {
            command.env("SUDO_USER", sudo);
        }
        let output = command.output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        assert!(
            replay.transcript().contains(&expected),
            "{}",
            replay.transcript().lines().nth(1).unwrap_or("")
        );
    }
}

/// `--version` and the run's first event name the commit the binary was built from.
#[test]
fn the_version_and_the_first_event_name_the_commit() {
    let head = Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8(output.stdout).unwrap().trim().to_string())
        .unwrap_or_else(|| "unknown".to_string());
    let version = tool().arg("--version").output().unwrap();
    assert_eq!(
        stdout(&version).trim(),
        format!(
            "arthur-restore {} (commit {head})",
            env!("CARGO_PKG_VERSION")
        )
    );

    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let events = std::fs::read_to_string(replay.run_dir().join("events.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(events.lines().next().unwrap()).unwrap();
    assert_eq!(first["commit"], head.as_str(), "{first}");
    // The first event also names the cluster, the AWS account and the CLI versions: the
    // identity reads (read-only) run before it is written, and their events follow it.
    assert_eq!(first["event"], "run-started", "{first}");
    let reached = &first["reached"];
    assert_eq!(reached["kube_context"], "arthur-prod", "{first}");
    assert_eq!(
        reached["cluster_uid"], "5b2c6a0e-8f3d-4c1b-9a7e-2d4f6b8c0e13",
        "{first}"
    );
    assert_eq!(
        reached["aws_account"], "123456789012 as arn:aws:iam::123456789012:user/restore-operator",
        "{first}"
    );
    let versions = reached["cli_versions"].as_array().expect("cli_versions");
    assert!(
        versions
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("kubectl: ")),
        "{first}"
    );
    // Then the held record in order: the facts the state starts from, the identity section.
    let second: serde_json::Value = serde_json::from_str(events.lines().nth(1).unwrap()).unwrap();
    assert_eq!(second["event"], "facts-saved", "{second}");
    let third: serde_json::Value = serde_json::from_str(events.lines().nth(2).unwrap()).unwrap();
    assert_eq!(third["event"], "section", "{third}");
    assert!(replay.transcript().contains(&format!(" commit={head} ")));

    // The audit report says who ran it, with which commit, on which cluster and AWS account.
    let (code, text) = audit(&replay.run_dir().join("transcript.log"), &[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains(&format!("(commit {head})")), "{text}");
    assert!(
        text.contains("cluster (kube-system namespace UID) "),
        "{text}"
    );
    assert!(text.contains("AWS account "), "{text}");
}

/// Chromium, headless, as Debian packages it (`scripts/test` installs it when missing).
fn chromium() -> std::path::PathBuf {
    crate::support::external(
        &["chromium", "chromium-browser"],
        "apt-get install chromium",
    )
}

/// Opens a page in headless Chromium: its DOM, and the console messages it logged.
/// Headless Chromium with a profile of its own (kept alive by the returned folder).
fn headless() -> (Command, tempfile::TempDir) {
    let profile = tempfile::tempdir().unwrap();
    let mut command = Command::new(chromium());
    command
        .args(["--headless", "--no-sandbox", "--disable-gpu"])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    (command, profile)
}

fn open_in_chromium(page: &Path) -> (String, Vec<String>) {
    let (mut command, _profile) = headless();
    let output = command
        .args(["--enable-logging=stderr", "--log-level=0"])
        .arg("--dump-dom")
        .arg(page)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", explain(&output));
    let console = crate::support::stderr(&output)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    (stdout(&output), console)
}

/// `audit --html` writes one page that Chromium shows without a console message (no script, no
/// network: its Content-Security-Policy would log any attempt), with the expected headings, the
/// findings linked to their lines, and the anchoring hash checked.
#[test]
fn the_html_report_opens_in_chromium_without_errors() {
    let replay = Replay::new();
    let output = replay.restore("happy.session", &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let events = std::fs::read_to_string(replay.run_dir().join("events.jsonl")).unwrap();
    let anchor = line_hash(events.lines().last().unwrap());
    // A finding to link: a command the runbook does not have, added by hand (the chain check
    // then also says the transcript and the events disagree).
    let transcript = replay.run_dir().join("transcript.log");
    let mut text = std::fs::read_to_string(&transcript).unwrap();
    text.push_str("$ kubectl delete namespace arthur\n");
    std::fs::write(&transcript, text).unwrap();

    let page = replay.dir.path().join("report.html");
    let page_arg = page.display().to_string();
    let (code, said) = audit(&transcript, &["--expect", &anchor, "--html", &page_arg]);
    assert_eq!(code, Some(4), "{said}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(!html.contains("<script"), "the page needs no script");
    for link in ["src=\"http", "href=\"http", "url(", "@import"] {
        assert!(!html.contains(link), "the page loads nothing: {link}");
    }

    let (dom, console) = open_in_chromium(&page);
    assert!(console.is_empty(), "console messages: {console:#?}");
    for heading in [
        "Identity",
        "Anchoring",
        "Steps",
        "Findings",
        "Timeline",
        "Deletions",
        "Transcript",
    ] {
        assert!(
            dom.contains(&format!("<h2>{heading}</h2>"))
                || dom.contains(&format!("\">{heading}</h2>")),
            "{heading}"
        );
    }
    let line = std::fs::read_to_string(&transcript)
        .unwrap()
        .lines()
        .count();
    assert!(dom.contains(&format!("<a href=\"#L{line}\">line {line}</a>")));
    assert!(dom.contains(&format!("id=\"L{line}\"")));
    assert!(dom.contains(&format!(
        "<code>{anchor}</code> <span class=\"ok\">matches</span>"
    )));
    assert!(dom.contains("destructive-not-in-runbook"));
    assert!(dom.contains("delete-messaging"), "the deletion gate's list");
    // The deletion gate's objects in columns, the Admin Console gate in the gates' own place.
    let deletions = dom
        .split("id=\"deletions\"")
        .nth(1)
        .and_then(|rest| rest.split("<h2").next())
        .expect("a Deletions section");
    assert!(deletions.contains("<th>reclaim policy</th>"), "{deletions}");
    assert!(
        deletions.contains("<td>pv</td>"),
        "one object a row: {deletions}"
    );
    assert!(
        !deletions.contains("WILL CAUSE DATA CORRUPTION"),
        "no other gate in Deletions"
    );
    assert!(dom.contains("<h2>Gates</h2>"));
    // The timeline's picture: a bar a step.
    let sections = events.matches("\"event\":\"section\"").count();
    assert_eq!(
        dom.matches("class=\"step\"").count(),
        sections,
        "a bar a step"
    );
    assert!(
        dom.contains("class=\"gate\""),
        "the gates' waits for people"
    );
    screenshot_is_not_blank(&html, replay.dir.path());

    // The check can fail: a page that loads from the network or runs a script is caught.
    let bad = replay.dir.path().join("bad.html");
    let head = html.split("</head>").next().unwrap();
    std::fs::write(
        &bad,
        format!("{head}</head><body><img src=\"http://example.invalid/x.png\"></body></html>"),
    )
    .unwrap();
    let (_, console) = open_in_chromium(&bad);
    assert!(!console.is_empty(), "a blocked load is logged");
}

/// The timeline's picture, rendered by Chromium on its own, is not blank: its screenshot holds
/// much more than one of an empty page of the same size (which compresses to almost nothing).
fn screenshot_is_not_blank(html: &str, dir: &Path) {
    let head = html.split("<body>").next().unwrap();
    let svg_start = html.find("<svg").expect("an SVG timeline");
    let svg_end = html[svg_start..].find("</svg>").unwrap() + svg_start + "</svg>".len();
    let shoot = |name: &str, body: &str| -> u64 {
        let page = dir.join(format!("{name}.html"));
        std::fs::write(&page, format!("{head}<body>{body}</body></html>")).unwrap();
        let png = dir.join(format!("{name}.png"));
        let (mut command, _profile) = headless();
        let output = command
            .arg("--hide-scrollbars")
            .arg(format!("--screenshot={}", png.display()))
            .arg("--window-size=1000,400")
            .arg(&page)
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", explain(&output));
        std::fs::metadata(&png).map(|m| m.len()).unwrap_or(0)
    };
    let picture = shoot("timeline", &html[svg_start..svg_end]);
    let blank = shoot("blank", "");
    assert!(
        blank > 0 && picture > blank * 2,
        "the picture's screenshot ({picture} bytes) is no more than a blank page's ({blank} bytes)"
    );
}

/// An edit of a run's record: (events.jsonl, transcript) to what they become.
type Edit = fn(&str, &str) -> (String, String);

/// Gate answers and wait outcomes agree both ways: an answer edited in events.jsonl (chain
/// rebuilt), an answer edited in the transcript, a wait outcome removed from the transcript, are
/// each caught.
#[test]
fn gate_answers_and_wait_outcomes_agree_both_ways() {
    let edits: [(&str, Edit); 3] = [
        (
            "a gate answer edited in events.jsonl",
            |events, transcript| {
                (
                    rechain(&events.replacen(
                        "\"answer\":\"yes (--yes)\"",
                        "\"answer\":\"yes (at the prompt)\"",
                        1,
                    )),
                    transcript.to_string(),
                )
            },
        ),
        (
            "a gate answer edited in the transcript",
            |events, transcript| {
                (
                    events.to_string(),
                    transcript.replacen(
                        "# gate delete-messaging: yes (--yes)",
                        "# gate delete-messaging: yes (at the prompt)",
                        1,
                    ),
                )
            },
        ),
        (
            "a wait outcome removed from the transcript",
            |events, transcript| {
                let kept: Vec<&str> = transcript
                    .lines()
                    .filter(|l| !l.starts_with("# waited ") || !l.contains("PVs remain"))
                    .collect();
                (events.to_string(), kept.join("\n") + "\n")
            },
        ),
    ];
    for (what, edit) in edits {
        let replay = Replay::new();
        let output = replay.restore("happy.session", &[]);
        assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
        let transcript_path = replay.run_dir().join("transcript.log");
        let events_path = replay.run_dir().join("events.jsonl");
        let (code, text) = audit(&transcript_path, &[]);
        assert_eq!(code, Some(0), "before the edit: {text}");

        let events = std::fs::read_to_string(&events_path).unwrap();
        let transcript = std::fs::read_to_string(&transcript_path).unwrap();
        let (new_events, new_transcript) = edit(&events, &transcript);
        assert_edit_caught(&replay.run_dir(), what, &new_events, &new_transcript);
    }
}

/// Writes an edited events.jsonl and transcript into the run directory, and expects the audit
/// to find that one of the two was edited (exit 4); puts the originals back.
fn assert_edit_caught(run_dir: &Path, what: &str, new_events: &str, new_transcript: &str) {
    let transcript_path = run_dir.join("transcript.log");
    let events_path = run_dir.join("events.jsonl");
    let events = std::fs::read_to_string(&events_path).unwrap();
    let transcript = std::fs::read_to_string(&transcript_path).unwrap();
    assert!(
        new_events != events || new_transcript != transcript,
        "{what}: the edit changed nothing"
    );
    std::fs::write(&events_path, new_events).unwrap();
    std::fs::write(&transcript_path, new_transcript).unwrap();
    let (code, text) = audit(&transcript_path, &[]);
    assert_eq!(code, Some(4), "{what}: {text}");
    assert!(text.contains("one of the two was edited"), "{what}: {text}");
    std::fs::write(&events_path, events).unwrap();
    std::fs::write(&transcript_path, transcript).unwrap();
}

/// A wait that stops (a PV kept by its reclaim policy) has its line in the transcript and its
/// event, and the audit holds each against the other.
#[test]
fn a_wait_that_stopped_agrees_both_ways() {
    let replay = Replay::new();
    let output = replay.restore(
        "messaging-manual-pv.session",
        &[
            "--only",
            "messaging",
            "--messaging-backup",
            "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let transcript_path = replay.run_dir().join("transcript.log");
    let events_path = replay.run_dir().join("events.jsonl");
    let transcript = std::fs::read_to_string(&transcript_path).unwrap();
    let events = std::fs::read_to_string(&events_path).unwrap();
    let line = transcript
        .lines()
        .find(|l| l.starts_with("# stopped waiting: ") || l.starts_with("# still not done after "))
        .unwrap_or_else(|| panic!("no line for a wait that stopped:\n{transcript}"))
        .to_string();
    let (code, text) = audit(&transcript_path, &[]);
    assert_eq!(code, Some(0), "{text}");

    let edits: [(&str, String, String); 2] = [
        (
            "the line removed from the transcript",
            events.clone(),
            transcript.replacen(&format!("{line}\n"), "", 1),
        ),
        (
            "the event's line edited, the chain rebuilt",
            rechain(&events.replacen("\"said\":\"", "\"said\":\"edited ", 1)),
            transcript.clone(),
        ),
    ];
    for (what, new_events, new_transcript) in edits {
        assert_edit_caught(&replay.run_dir(), what, &new_events, &new_transcript);
    }
}
