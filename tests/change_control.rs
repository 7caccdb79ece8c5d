//! Issue 22: a restore under change control. `run --textfile`: the metrics of SPEC section 8,
//! written atomically at the end and on failure, parsed by Prometheus's own client library; the
//! ending says them in words; a file that cannot be written is refused before any command.

use crate::support::{Argv, BACKUPS, Replay, SESSION_RDS, explain, prometheus_samples, stdout};

/// `run --yes` of a recorded session with `--textfile FILE` (and `extra`).
fn run_with_textfile(
    session: &str,
    file: &std::path::Path,
    extra: &[&str],
) -> (Replay, std::process::Output) {
    let replay = Replay::new();
    let argv = Argv::arthur("run")
        .with(&["--yes", "--textfile", &file.display().to_string()])
        .fast(&replay.run_dir())
        .pairs(&BACKUPS, extra)
        .pairs(&SESSION_RDS, extra)
        .with(extra);
    let output = replay.run(session, &argv.words());
    (replay, output)
}

/// The value of the one sample of `name` (whose labels include `labels`).
fn value(samples: &[String], name: &str, labels: &str) -> f64 {
    let line = samples
        .iter()
        .find(|s| s.starts_with(&format!("gauge {name} ")) && s.contains(labels))
        .unwrap_or_else(|| panic!("no {name} {labels} in {samples:#?}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[test]
fn a_completed_run_writes_its_metrics_and_says_them() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("arthur_restore_run.prom");
    let (replay, output) = run_with_textfile("happy.session", &file, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    // Only the file is left in its folder: written beside it, then renamed.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    let samples = prometheus_samples(&file);
    let labels = "('cluster', '5b2c6a0e-8f3d-4c1b-9a7e-2d4f6b8c0e13'), ('namespace', 'arthur')";
    assert_eq!(value(&samples, "arthur_restore_run_success", labels), 1.0);
    assert!(value(&samples, "arthur_restore_run_duration_seconds", labels) > 0.0);
    let ended = value(&samples, "arthur_restore_run_end_timestamp_seconds", labels);
    assert!(ended > 1.7e9, "{ended}");
    assert!(value(&samples, "arthur_restore_people_wait_seconds", labels) >= 0.0);
    // The oldest restored backup (the ClickHouse one, 2023-05-11T00:00:07Z), as the run began.
    let age = value(&samples, "arthur_restore_restore_point_age_seconds", labels);
    assert!(age > 3.0 * 365.0 * 86400.0, "{age}");
    for step in arthur_restore::runbook::StepId::ALL.map(|s| s.id()) {
        let spent = value(
            &samples,
            "arthur_restore_step_duration_seconds",
            &format!("('step', '{step}')"),
        );
        assert!(spent >= 0.0, "{step}");
    }
    let shown = stdout(&output);
    assert!(shown.contains("time to restore: "), "{shown}");
    assert!(
        shown.contains("the restored data is from 2023-05-11T00:00:07Z, age when the run began: "),
        "{shown}"
    );
    assert!(replay.transcript().contains("of it waiting for people: "));
}

#[test]
fn a_failed_run_writes_its_metrics_too() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("run.prom");
    let (_, output) = run_with_textfile(
        "messaging-partially-failed.session",
        &file,
        &["--only", "messaging"],
    );
    assert_eq!(output.status.code(), Some(1), "{}", explain(&output));
    let samples = prometheus_samples(&file);
    let success = samples
        .iter()
        .find(|s| s.starts_with("gauge arthur_restore_run_success "))
        .expect("run_success");
    assert!(success.ends_with(" 0.0"), "{success}");
    assert!(
        samples.iter().any(
            |s| s.contains("arthur_restore_step_duration_seconds") && s.contains("'messaging'")
        ),
        "{samples:#?}"
    );
}

#[test]
fn a_textfile_that_cannot_be_written_is_refused_before_any_command() {
    let file = std::path::Path::new("/nonexistent-folder/run.prom");
    let (replay, output) = run_with_textfile("happy.session", file, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let said = crate::support::stderr(&output);
    assert!(
        said.contains("--textfile /nonexistent-folder/run.prom: cannot be written"),
        "{said}"
    );
    assert!(replay.calls().is_empty(), "nothing ran");
    assert!(!replay.run_dir().exists(), "no run directory either");
}

/// A webhook on 127.0.0.1: what it was sent (path, body), answering `status`, or never.
struct Webhook {
    url: String,
    received: std::sync::Arc<std::sync::Mutex<Vec<(String, serde_json::Value)>>>,
}

impl Webhook {
    /// `status`: `Some(code)` answers every request so; `None` never answers the first
    /// request (a webhook that hangs), then answers 200.
    fn start(status: Option<u16>) -> Webhook {
        use std::io::{BufRead, BufReader, Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!(
            "http://{}/hooks/T0/B0/SECRET-TOKEN",
            listener.local_addr().unwrap()
        );
        let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = received.clone();
        std::thread::spawn(move || {
            for (index, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut length = 0;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let path = first.split(' ').nth(1).unwrap_or("").to_string();
                let value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                kept.lock().unwrap().push((path, value));
                let code = match status {
                    None if index == 0 => {
                        std::thread::sleep(std::time::Duration::from_secs(30));
                        continue;
                    }
                    None => 200,
                    Some(code) => code,
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {code} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                );
            }
        });
        Webhook { url, received }
    }

    fn received(&self) -> Vec<(String, serde_json::Value)> {
        self.received.lock().unwrap().clone()
    }
}

/// A full restore against the simulated cluster, its notifications sent by the real curl.
fn notified_restore(
    urls: &[&str],
    extra: &[&str],
) -> (crate::support::sim::Sim, std::process::Output) {
    let sim = crate::support::sim::Sim::new();
    let mut argv = Argv::arthur("run")
        .fast_with(&sim.run_dir(), "20s")
        .pairs(&SESSION_RDS[1..], &[])
        .with(extra);
    for url in urls {
        argv = argv.with(&["--notify", url]);
    }
    let curl = crate::support::external(&["curl"], "curl");
    let output = sim
        .command()
        .env("ARTHUR_SIM_REAL_CURL", curl)
        .args(argv.words())
        .output()
        .unwrap();
    (sim, output)
}

/// Nothing the tool wrote or said holds the webhook's path (its token).
fn assert_token_kept(sim: &crate::support::sim::Sim, output: &std::process::Output) {
    let mut places = vec![
        ("stdout".to_string(), stdout(output)),
        ("stderr".to_string(), crate::support::stderr(output)),
    ];
    for entry in std::fs::read_dir(sim.run_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            places.push((
                path.display().to_string(),
                String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned(),
            ));
        }
    }
    for (place, text) in places {
        assert!(
            !text.contains("SECRET-TOKEN"),
            "the webhook's token in {place}"
        );
        assert!(!text.contains("/hooks/T0"), "the webhook's path in {place}");
    }
}

#[test]
fn notifications_reach_the_webhook_and_failing_ones_never_stop_the_run() {
    let good = Webhook::start(Some(200));
    let failing = Webhook::start(Some(500));
    // A port with nothing behind it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!(
            "http://{}/hooks/T0/B0/SECRET-TOKEN",
            listener.local_addr().unwrap()
        )
    };
    let (sim, output) = notified_restore(
        &[&good.url, &failing.url, &closed],
        &["--yes", "--notify-after", "1ms"],
    );
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let received = good.received();
    let events: Vec<&str> = received
        .iter()
        .map(|(_, body)| body["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(events.first(), Some(&"started"), "{events:?}");
    assert_eq!(events.last(), Some(&"ended"), "{events:?}");
    assert!(events.contains(&"wait-ended"), "{events:?}");
    assert!(
        !events.contains(&"needs-a-person"),
        "--yes answers the gates: {events:?}"
    );
    assert!(
        received
            .iter()
            .all(|(path, _)| path == "/hooks/T0/B0/SECRET-TOKEN")
    );
    let (_, ended) = received.last().unwrap();
    assert_eq!(ended["status"], "completed");
    assert_eq!(ended["namespace"], "arthur");
    assert!(
        ended["text"]
            .as_str()
            .unwrap()
            .starts_with("arthur-restore: run completed")
    );
    let anchor = ended["final_hash"].as_str().unwrap();
    assert!(stdout(&output).contains(anchor), "the hash the run printed");
    assert_eq!(
        failing.received().len(),
        received.len(),
        "the failing one was tried each time"
    );
    let transcript = crate::support::sim::transcript(&sim);
    assert!(transcript.contains(&format!(
        "# notified {} (started): HTTP 200",
        good.url.trim_end_matches("/hooks/T0/B0/SECRET-TOKEN")
    )));
    assert!(
        transcript.contains("(started) failed, the run goes on: curl exited 0, HTTP status 500"),
        "{transcript}"
    );
    assert!(
        transcript.contains("(started) failed, the run goes on: curl exited 7"),
        "{transcript}"
    );
    let at_the_end =
        std::fs::read_to_string(sim.run_dir().join("notified-at-the-end.txt")).unwrap();
    assert!(at_the_end.contains("(ended): HTTP 200"), "{at_the_end}");
    assert!(at_the_end.contains("WARNING: notifying"), "{at_the_end}");
    assert_token_kept(&sim, &output);
    let audit = crate::support::tool()
        .args(["audit", "--expect", anchor])
        .arg(sim.run_dir())
        .output()
        .unwrap();
    assert_eq!(audit.status.code(), Some(0), "{}", explain(&audit));
}

#[test]
fn a_webhook_that_hangs_delays_the_run_by_its_limit_at_most() {
    let hanging = Webhook::start(None);
    let started = std::time::Instant::now();
    let (sim, output) = notified_restore(&[&hanging.url], &["--yes"]);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    let transcript = crate::support::sim::transcript(&sim);
    assert!(
        transcript.contains("(started) failed, the run goes on: curl exited 28"),
        "{transcript}"
    );
    assert_token_kept(&sim, &output);
}

#[test]
fn a_person_needed_is_told() {
    let good = Webhook::start(Some(200));
    // No --yes and no terminal: the first gate needs a person, and the run stops there.
    let (_, output) = notified_restore(&[&good.url], &[]);
    assert_eq!(output.status.code(), Some(3), "{}", explain(&output));
    let received = good.received();
    let events: Vec<&str> = received
        .iter()
        .map(|(_, body)| body["event"].as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        events,
        ["started", "needs-a-person", "ended"],
        "{received:?}"
    );
    assert!(
        received[1].1["text"]
            .as_str()
            .unwrap()
            .starts_with("arthur-restore needs you: ")
    );
    assert_eq!(received[2].1["status"], "refused");
}

#[test]
fn a_notify_url_that_is_not_one_is_refused_without_showing_it() {
    let replay = Replay::new();
    let output = replay.run(
        "happy.session",
        &[
            "-n",
            "arthur",
            "run",
            "--yes",
            "--notify",
            "ftp://hooks.example.com/SECRET-TOKEN",
        ],
    );
    assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
    let said = crate::support::stderr(&output);
    assert!(said.contains("--notify: not a webhook URL"), "{said}");
    assert!(!said.contains("SECRET-TOKEN"), "{said}");
    assert!(replay.calls().is_empty());
}

/// An ed25519 key made by the real ssh-keygen: (private key, its public line).
fn key(dir: &std::path::Path, name: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(name);
    let made =
        std::process::Command::new(crate::support::external(&["ssh-keygen"], "openssh-client"))
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .status()
            .unwrap();
    assert!(made.success());
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    (path, public.trim().to_string())
}

/// Signs a copy of `request` (changed by `edit`) with `key`, and puts the signature where the
/// run looks for it, as an approval carried from another host would be.
fn carry_signature(
    request: &std::path::Path,
    key: &std::path::Path,
    edit: &str,
    scratch: &std::path::Path,
) {
    let copy = scratch.join("request.json");
    let mut text = std::fs::read_to_string(request).unwrap();
    text.push_str(edit);
    std::fs::write(&copy, text).unwrap();
    let _ = std::fs::remove_file(scratch.join("request.json.sig"));
    let signed = std::process::Command::new("ssh-keygen")
        .args(["-q", "-Y", "sign", "-n", "arthur-restore-approval", "-f"])
        .arg(key)
        .arg(&copy)
        .output()
        .unwrap();
    assert!(signed.status.success(), "{}", explain(&signed));
    let mut sig = request.as_os_str().to_owned();
    sig.push(".sig");
    std::fs::copy(scratch.join("request.json.sig"), sig).unwrap();
}

/// Waits until `path` holds `text` `times` times (at most 30 s).
fn await_text(path: &std::path::Path, text: &str, times: usize) {
    let started = std::time::Instant::now();
    loop {
        let held = std::fs::read_to_string(path).unwrap_or_default();
        if held.matches(text).count() >= times {
            return;
        }
        assert!(
            started.elapsed().as_secs() < 30,
            "{} never held {text:?} x{times}:\n{held}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// `approve RUN_DIR --sign-key KEY` in a pseudo-terminal, answered `approve`.
fn approve_at_the_terminal(
    run_dir: &std::path::Path,
    key: &std::path::Path,
) -> (std::process::ExitStatus, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_arthur-restore"));
    command
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .arg("approve")
        .arg(run_dir)
        .arg("--sign-key")
        .arg(key);
    let mut pty = crate::screen::Pty::spawn(command);
    pty.expect("Type `approve` to approve");
    pty.type_line("approve");
    pty.finish()
}

/// The tool against the simulated cluster, in the background, its screen in `screen.log`.
fn spawn_in(sim: &crate::support::sim::Sim, argv: &[&str]) -> std::process::Child {
    let log = std::fs::File::create(sim.dir.path().join("screen.log")).unwrap();
    std::process::Command::new(env!("CARGO_BIN_EXE_arthur-restore"))
        .env_clear()
        .env("TZ", "UTC")
        .env("ARTHUR_RESTORE_NOW", "2023-05-14T14:05:00Z")
        .envs(sim.env())
        .current_dir(sim.dir.path())
        .args(argv)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .unwrap()
}

/// `audit --approvers` checks the approvals again, and the page shows them; an edited request
/// is a finding.
fn assert_audited_approvals(sim: &crate::support::sim::Sim, approvers: &std::path::Path) {
    let run_dir = sim.run_dir();
    let page = sim.dir.path().join("report.html");
    let audit = |html: bool| {
        let mut command = crate::support::tool();
        command.arg("audit").arg("--approvers").arg(approvers);
        if html {
            command.arg("--html").arg(&page);
        }
        command.arg(&run_dir).output().unwrap()
    };
    let output = audit(true);
    assert_eq!(output.status.code(), Some(0), "{}", explain(&output));
    let said = stdout(&output);
    assert!(
        said.contains("approval: the delete-messaging gate by approver@example.com (key SHA256:"),
        "{said}"
    );
    assert!(said.contains(", its signature verified again"), "{said}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<h2>Approvals</h2>"), "the page shows them");
    let request = run_dir.join("approvals/restore-point.json");
    let text = std::fs::read_to_string(&request).unwrap();
    std::fs::write(
        &request,
        text.replace("arthur-restored-db", "arthur-other-db"),
    )
    .unwrap();
    let output = audit(false);
    assert_eq!(output.status.code(), Some(4), "{}", explain(&output));
    assert!(stdout(&output).contains(
        "the approval of the restore-point gate by approver@example.com does not verify"
    ));
}

/// Both gates approved by the approver, on record; nothing pending any more.
fn assert_approved_twice(sim: &crate::support::sim::Sim, approver: &std::path::Path) {
    let run_dir = sim.run_dir();
    let text = std::fs::read_to_string(run_dir.join("events.jsonl")).unwrap();
    let approvals: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("\"event\":\"approved\""))
        .collect();
    assert_eq!(approvals.len(), 2, "{approvals:#?}");
    assert!(
        approvals
            .iter()
            .all(|l| l.contains("\"principal\":\"approver@example.com\""))
    );
    let transcript = crate::support::sim::transcript(sim);
    assert!(
        transcript
            .contains("# approved: the restore-point gate, by approver@example.com (key SHA256:")
    );
    assert!(transcript.contains("# approved: the delete-messaging gate, by approver@example.com"));
    let nothing = crate::support::tool()
        .arg("approve")
        .arg(&run_dir)
        .args(["--sign-key", &approver.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(nothing.status.code(), Some(3), "{}", explain(&nothing));
    assert!(crate::support::stderr(&nothing).contains("nothing is pending"));
}

#[test]
fn two_people_restore_one_runs_and_one_approves() {
    let keys = tempfile::tempdir().unwrap();
    let (operator, operator_public) = key(keys.path(), "operator");
    let (approver, approver_public) = key(keys.path(), "approver");
    let (stranger, _) = key(keys.path(), "stranger");
    let approvers = keys.path().join("approvers");
    // The operator is an approver too, of other people's runs: never of their own.
    std::fs::write(
        &approvers,
        format!("approver@example.com {approver_public}\noperator@example.com {operator_public}\n"),
    )
    .unwrap();
    let sim = crate::support::sim::Sim::new();
    let run_dir = sim.run_dir();
    let argv = Argv::arthur("run")
        .with(&["--yes", "--approvers", &approvers.display().to_string()])
        .with(&["--sign-key", &operator.display().to_string()])
        .fast_with(&run_dir, "60s")
        .pairs(&SESSION_RDS[1..], &[]);
    let spawn = |argv: &[&str]| spawn_in(&sim, argv);
    let mut run = spawn(&argv.words());
    let request = run_dir.join("approvals/restore-point.json");
    let events = run_dir.join("events.jsonl");
    await_text(&events, "\"event\":\"approval-requested\"", 1);
    let request_text = std::fs::read_to_string(&request).unwrap();
    assert!(
        request_text.contains("arthur-backup-2023-05-11t15.22.37-04.00-messaging"),
        "{request_text}"
    );
    assert!(
        request_text.contains("RDS target:         arthur-restored-db"),
        "{request_text}"
    );

    // Refused, recorded, and waited past: the operator's own key, a key not among the
    // approvers, and an approver's signature of a request edited after signing.
    carry_signature(&request, &operator, "", keys.path());
    await_text(&events, "signed with the run's own key", 1);
    carry_signature(&request, &stranger, "", keys.path());
    await_text(&events, "not among the approvers", 1);
    carry_signature(&request, &approver, " ", keys.path());
    await_text(&events, "does not verify for this request", 1);
    assert!(run.try_wait().unwrap().is_none(), "the run waits on");

    let (approved, screen) = approve_at_the_terminal(&run_dir, &approver);
    assert!(approved.success(), "{screen}");
    assert!(
        screen.contains("approval request: the restore-point gate"),
        "{screen}"
    );
    await_text(&events, "\"event\":\"approved\"", 1);

    // At the deletion gate the run waits again; interrupted there, it resumes waiting, and an
    // approval given while it was stopped counts.
    let deletions = run_dir.join("approvals/delete-messaging.json");
    let transcript_path = run_dir.join("transcript.log");
    await_text(
        &transcript_path,
        "# four eyes: the delete-messaging gate",
        1,
    );
    assert!(
        std::fs::read_to_string(&deletions)
            .unwrap()
            .contains("messaging-cp-zookeeper")
    );
    // The approver's good signature of the other gate's request is no approval of this one.
    std::fs::copy(
        run_dir.join("approvals/restore-point.json.sig"),
        run_dir.join("approvals/delete-messaging.json.sig"),
    )
    .unwrap();
    await_text(&events, "does not verify for this request", 2);
    // SAFETY: kill(2) sends a signal; no memory effects.
    unsafe {
        libc::kill(run.id() as libc::pid_t, libc::SIGINT);
    }
    assert_eq!(
        run.wait().unwrap().code(),
        Some(130),
        "{}",
        std::fs::read_to_string(sim.dir.path().join("screen.log")).unwrap()
    );
    // No terminal this time: `--yes` approves without asking.
    let approved = crate::support::tool()
        .arg("approve")
        .arg(&run_dir)
        .args(["--sign-key", &approver.display().to_string(), "--yes"])
        .output()
        .unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", explain(&approved));
    let run_dir_text = run_dir.display().to_string();
    let operator_text = operator.display().to_string();
    let mut resumed = spawn(&[
        "run",
        "--resume",
        &run_dir_text,
        "--yes",
        "--sign-key",
        &operator_text,
    ]);
    let status = resumed.wait().unwrap();
    let screen = std::fs::read_to_string(sim.dir.path().join("screen.log")).unwrap();
    assert_eq!(status.code(), Some(0), "{screen}");

    assert_approved_twice(&sim, &approver);
    assert_audited_approvals(&sim, &approvers);
}

#[test]
fn approvers_that_cannot_be_read_are_refused_before_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("key");
    std::fs::write(&key, "").unwrap();
    let malformed = dir.path().join("approvers");
    std::fs::write(&malformed, "approver@example.com not-a-key\n").unwrap();
    for (approvers, said) in [
        (dir.path().join("missing"), "cannot be read"),
        (malformed, "line 1 is not an allowed signer"),
    ] {
        let replay = Replay::new();
        let output = replay.run(
            "happy.session",
            &[
                "-n",
                "arthur",
                "run",
                "--yes",
                "--only",
                "messaging",
                "--messaging-backup",
                "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
                "--approvers",
                &approvers.display().to_string(),
                "--sign-key",
                &key.display().to_string(),
            ],
        );
        assert_eq!(output.status.code(), Some(2), "{}", explain(&output));
        assert!(
            crate::support::stderr(&output).contains(said),
            "{}",
            explain(&output)
        );
        assert!(replay.calls().is_empty());
    }
}
