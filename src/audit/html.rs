//! `audit --html FILE`: the report as one self-contained page (no network, no scripts): the
//! verdict, the identity of the run, the anchoring hash and its check, per-step status, the
//! findings linked to their transcript lines, a timeline of steps, waits and gates with their
//! durations, the deletions as a table, and the transcript itself with numbered lines.

use std::fmt::Write as _;

use super::log::read_log;
use super::report::Report;
use crate::process::escape_controls;
use crate::record::RunStatus;
use crate::record::{Event, EventRecord, events};

/// What the page is made from: the report, the log's text and the events beside it.
pub struct Evidence<'a> {
    pub report: &'a Report,
    pub log_text: &'a str,
    pub events_text: Option<&'a str>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;max-width:80em;color:#222}\
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}\
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;\
text-align:left;vertical-align:top}th{background:#f3f3f3}code,pre{font-family:monospace}\
pre{background:#fafafa;border:1px solid #ddd;padding:.5em;overflow-x:auto;font-size:.85em}\
.ok{color:#176317;font-weight:bold}.bad{color:#a31515;font-weight:bold}.warn{color:#8a5a00}\
.finding{background:#ffe9e9}a.ln{color:#999;text-decoration:none;display:inline-block;\
width:4em}";

/// The whole page.
pub fn page(evidence: &Evidence) -> String {
    let records: Vec<EventRecord> = evidence
        .events_text
        .map(|text| {
            events::read(text)
                .into_iter()
                .flatten()
                .map(|(_, r)| r)
                .collect()
        })
        .unwrap_or_default();
    let report = evidence.report;
    let mut html = String::new();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <title>Audit of {name}</title><style>{STYLE}</style></head><body>\n\
         <h1>Audit of {name}</h1>\n<p>Held against the runbook \"Restoring the Arthur Platform\": {verdict}</p>\n{ending}<p>{assurance}</p>\n",
        name = escape(&report.transcript),
        verdict = verdict(report),
        ending = report
            .ending
            .as_ref()
            .map(|e| format!(
                "<p class=\"{}\">Run ended: {}</p>\n",
                if e.status == "completed" { "ok" } else { "bad" },
                escape(&e.describe())
            ))
            .unwrap_or_default(),
        assurance = escape(&report.assurance),
    );
    html.push_str(&identity(&records));
    html.push_str(&anchoring(report));
    html.push_str(&steps(report));
    html.push_str(&findings(report));
    html.push_str(&timeline(&records));
    html.push_str(&gates(&records));
    html.push_str(&approvals(&records));
    html.push_str(&deletions(evidence.log_text, &records));
    html.push_str(&transcript(evidence.log_text, report));
    html.push_str("</body></html>\n");
    html
}

fn verdict(report: &Report) -> String {
    if report.conforms {
        "<span class=\"ok\">conforms</span>".into()
    } else {
        let n = report.findings.len();
        format!(
            "<span class=\"bad\">{n} finding{}</span>",
            if n == 1 { "" } else { "s" }
        )
    }
}

/// Text made safe for HTML (and free of control characters).
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in escape_controls(text).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn row(cells: &[String]) -> String {
    let mut out = String::from("<tr>");
    for cell in cells {
        let _ = write!(out, "<td>{cell}</td>");
    }
    out.push_str("</tr>\n");
    out
}

fn table(headings: &[&str], rows: &[String]) -> String {
    let mut out = String::from("<table>");
    if headings.iter().any(|h| !h.is_empty()) {
        out.push_str("<tr>");
        for heading in headings {
            let _ = write!(out, "<th>{heading}</th>");
        }
        out.push_str("</tr>\n");
    }
    rows.iter().for_each(|r| out.push_str(r));
    out.push_str("</table>\n");
    out
}

/// Who ran it, where, with what: the run's first event and its identity note.
fn identity(records: &[EventRecord]) -> String {
    let mut rows = Vec::new();
    let mut add = |key: &str, value: String| rows.push(row(&[key.into(), value]));
    for record in records {
        match &record.event {
            Event::RunStarted(id) | Event::RunResumed(id) => {
                let started = matches!(record.event, Event::RunStarted(_));
                add(
                    if started {
                        "run started"
                    } else {
                        "run resumed"
                    },
                    escape(&clock(&record.time)),
                );
                add("tool", escape(&format!("arthur-restore {}", id.version)));
                add(
                    "commit",
                    escape(id.commit.as_deref().unwrap_or("not recorded")),
                );
                add("user", escape(&id.user));
                add("host", escape(&id.host));
                add("run directory", escape(&id.run_dir.display().to_string()));
                add("namespace", escape(id.options.namespace.as_str()));
                add("programs", escape(&id.programs.join(" ")));
                if let Some(reached) = &id.reached {
                    add("kube context", escape(&reached.kube_context));
                    add(
                        "cluster (kube-system UID)",
                        escape(
                            reached
                                .cluster_uid
                                .as_deref()
                                .unwrap_or("unknown: it could not be read"),
                        ),
                    );
                    add("AWS account", escape(&reached.aws_account));
                    add("CLI versions", escape(&reached.cli_versions.join("; ")));
                }
            }
            // The identity of a run whose first event lacks it (0.1.0, or interrupted among
            // the identity reads).
            Event::Note { text }
                if text.starts_with("identity:") && !records.iter().any(has_reached) =>
            {
                add("identity", format!("<code>{}</code>", escape(text)));
            }
            _ => {}
        }
    }
    if rows.is_empty() {
        return "<h2>Identity</h2>\n<p class=\"warn\">No events.jsonl beside the log: who ran it, where and with which tool is not on record.</p>\n".into();
    }
    format!("<h2>Identity</h2>\n{}", table(&["", ""], &rows))
}

fn has_reached(record: &EventRecord) -> bool {
    matches!(&record.event, Event::RunStarted(id) | Event::RunResumed(id) if id.reached.is_some())
}

/// The final hash of events.jsonl, how the chain checked out, the expected hash and the signature.
fn anchoring(report: &Report) -> String {
    let mut out = String::from("<h2>Anchoring</h2>\n");
    // The audit's own anchor: the final hash it computed and held to the expected one.
    let Some(anchor) = &report.anchor else {
        out.push_str("<p class=\"bad\">Integrity not checked: no events.jsonl beside the log (the log could have been edited).</p>\n");
        return out;
    };
    let mut rows = vec![
        row(&[
            "final hash".into(),
            format!("<code>{}</code>", anchor.final_hash),
        ]),
        row(&[
            "event log".into(),
            escape(report.events.as_deref().unwrap_or("")),
        ]),
    ];
    rows.push(row(&[
        "expected hash".into(),
        match (&anchor.expected, anchor.matches) {
            (None, _) => {
                "<span class=\"warn\">not given (audit --expect HASH from the change ticket)</span>"
                    .into()
            }
            (Some(expected), Some(true)) => {
                format!(
                    "<code>{}</code> <span class=\"ok\">matches</span>",
                    escape(expected)
                )
            }
            (Some(expected), _) => format!(
                "<code>{}</code> <span class=\"bad\">does not match</span>",
                escape(expected)
            ),
        },
    ]));
    rows.push(row(&[
        "signature".into(),
        match &report.signature {
            Some(signature) if signature.verified => format!(
                "<span class=\"ok\">verified: {} ({})</span>",
                escape(&signature.signer),
                escape(&signature.said)
            ),
            Some(signature) => format!(
                "<span class=\"bad\">not verified: {}</span>",
                escape(&signature.signer)
            ),
            None => "<span class=\"warn\">not checked (audit --allowed-signers FILE)</span>".into(),
        },
    ]));
    out.push_str(&table(&["", ""], &rows));
    out
}

fn steps(report: &Report) -> String {
    let rows: Vec<String> = report
        .steps
        .iter()
        .map(|step| {
            let class = match step.status.word() {
                "done" => "ok",
                "partly done" | "not done" => "bad",
                _ => "warn",
            };
            row(&[
                format!("<code>{}</code>", step.id.id()),
                escape(step.title),
                format!("<span class=\"{class}\">{}</span>", step.status.word()),
                step.commands_found.to_string(),
            ])
        })
        .collect();
    format!(
        "<h2>Steps</h2>\n{}",
        table(&["step", "title", "status", "commands"], &rows)
    )
}

fn findings(report: &Report) -> String {
    if report.findings.is_empty() {
        return "<h2>Findings</h2>\n<p class=\"ok\">None: every command is the runbook's, in its order.</p>\n".into();
    }
    let rows: Vec<String> = report
        .findings
        .iter()
        .map(|finding| {
            let at = finding
                .line
                .map(|l| format!("<a href=\"#L{l}\">line {l}</a>"))
                .unwrap_or_else(|| "-".into());
            row(&[
                at,
                format!("<span class=\"bad\">{}</span>", finding.kind.word()),
                escape(&finding.message),
            ])
        })
        .collect();
    format!(
        "<h2>Findings</h2>\n{}",
        table(&["where", "kind", "what"], &rows)
    )
}

/// Milliseconds between two event times, when both read.
fn millis_between(from: &str, to: &str) -> Option<i64> {
    let from: jiff::Timestamp = from.parse().ok()?;
    let to: jiff::Timestamp = to.parse().ok()?;
    Some(to.as_millisecond() - from.as_millisecond())
}

fn duration(millis: Option<i64>) -> String {
    let Some(ms) = millis else {
        return String::new();
    };
    let s = ms / 1000;
    match s {
        3600.. => format!("{}h {:02}m {:02}s", s / 3600, s % 3600 / 60, s % 60),
        60.. => format!("{}m {:02}s", s / 60, s % 60),
        _ => format!("{}.{:01}s", s, ms % 1000 / 100),
    }
}

/// An event's time as people read it (to the second, UTC).
fn clock(time: &str) -> String {
    time.parse::<jiff::Timestamp>()
        .map(|t| t.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| time.to_string())
}

/// What ends a wait, and how it ended.
fn wait_end(event: &Event) -> Option<(&str, String)> {
    match event {
        Event::WaitEnded { what, result, .. } => Some((what, format!("done: {result}"))),
        Event::WaitStopped { what, reason, .. } => Some((what, format!("stopped: {reason}"))),
        Event::WaitTimedOut { what, pending, .. } => {
            Some((what, format!("timed out; pending: {}", pending.join(", "))))
        }
        Event::WaitFailed { what, error, .. } => Some((what, format!("failed: {error}"))),
        _ => None,
    }
}

/// Steps (sections), waits and gates in the order they happened, with durations.
fn timeline(records: &[EventRecord]) -> String {
    if records.is_empty() {
        return "<h2>Timeline</h2>\n<p class=\"warn\">No events.jsonl: no times on record.</p>\n"
            .into();
    }
    let end_of_run = records.last().map(|r| r.time.as_str()).unwrap_or("");
    let mut rows = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let later = &records[index + 1..];
        let (kind, what, took, outcome) = match &record.event {
            Event::Section { title } => {
                let until = later
                    .iter()
                    .find(|r| matches!(r.event, Event::Section { .. } | Event::RunEnded { .. }))
                    .map_or(end_of_run, |r| r.time.as_str());
                (
                    "step",
                    title.clone(),
                    millis_between(&record.time, until),
                    String::new(),
                )
            }
            Event::WaitStarted { what, .. } => {
                let end = later.iter().find_map(|r| {
                    wait_end(&r.event)
                        .filter(|(w, _)| w == what)
                        .map(|(_, o)| (r, o))
                });
                let took = end
                    .as_ref()
                    .and_then(|(r, _)| millis_between(&record.time, &r.time));
                let outcome = end.map_or_else(|| "no end on record".into(), |(_, o)| o);
                ("wait", what.clone(), took, outcome)
            }
            Event::Gate { gate, answer, .. } => {
                ("gate", gate.clone(), None, format!("answer: {answer}"))
            }
            Event::RunEnded { status, error, .. } => (
                "end",
                format!("run ended: {status:?}"),
                None,
                error.clone().unwrap_or_default(),
            ),
            _ => continue,
        };
        rows.push(row(&[
            escape(&clock(&record.time)),
            kind.into(),
            escape(&what),
            duration(took),
            escape(&outcome),
        ]));
    }
    format!(
        "<h2>Timeline</h2>\n{}{}",
        picture(records),
        table(&["time", "kind", "what", "took", "outcome"], &rows)
    )
}

/// The timeline as a picture (inline SVG: no script, nothing loaded): a bar a step on a time
/// axis, the waits on it in amber, the time a gate waited for people in blue, and the failure
/// marked red.
fn picture(records: &[EventRecord]) -> String {
    let at = |r: &EventRecord| {
        r.time
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| t.as_millisecond())
    };
    let (Some(start), Some(end)) = (
        records.first().and_then(at),
        records.iter().rev().find_map(at),
    ) else {
        return String::new();
    };
    let span = (end - start).max(1) as f64;
    let (label, width, row_height) = (300.0, 600.0, 24.0);
    let x = |ms: i64| label + (ms - start) as f64 / span * width;
    let mut rows: Vec<(String, i64, i64)> = Vec::new();
    let mut marks = String::new();
    for (index, record) in records.iter().enumerate() {
        let Some(time) = at(record) else { continue };
        let row = rows.len().saturating_sub(1) as f64;
        let y = 30.0 + row * row_height;
        match &record.event {
            Event::Section { title } => {
                if let Some(last) = rows.last_mut() {
                    last.2 = time;
                }
                rows.push((title.clone(), time, end));
            }
            Event::WaitStarted { what, .. } => {
                let until = records[index + 1..]
                    .iter()
                    .find(|r| wait_end(&r.event).is_some_and(|(w, _)| w == what))
                    .and_then(at)
                    .unwrap_or(end);
                let _ = write!(
                    marks,
                    "<rect class=\"wait\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" fill=\"#d9a400\"><title>wait: {}</title></rect>",
                    x(time),
                    y + 12.0,
                    (x(until) - x(time)).max(1.0),
                    escape(what)
                );
            }
            Event::Gate { gate, answer, .. } => {
                let asked = index
                    .checked_sub(1)
                    .and_then(|i| at(&records[i]))
                    .unwrap_or(time);
                let _ = write!(
                    marks,
                    "<rect class=\"gate\" x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"8\" fill=\"#2f6fd0\"><title>gate {}: {}</title></rect>",
                    x(asked),
                    y + 12.0,
                    (x(time) - x(asked)).max(2.0),
                    escape(gate),
                    escape(answer)
                );
            }
            Event::RunEnded { status, error, .. }
                if matches!(status, RunStatus::Failed | RunStatus::Refused) =>
            {
                let _ = write!(
                    marks,
                    "<circle class=\"failure\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"7\" fill=\"#c0392b\"><title>run {status}: {}</title></circle>",
                    x(time),
                    y + 10.0,
                    escape(error.as_deref().unwrap_or(""))
                );
            }
            _ => {}
        }
    }
    let height = 40.0 + rows.len() as f64 * row_height;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"{:.0}\" height=\"{height:.0}\" role=\"img\" aria-label=\"timeline of the run\">",
        label + width + 20.0
    );
    let _ = write!(
        svg,
        "<text x=\"{label:.0}\" y=\"16\" font-size=\"12\">{}</text><text x=\"{:.0}\" y=\"16\" font-size=\"12\" text-anchor=\"end\">{}</text>",
        escape(&clock(&records[0].time)),
        label + width,
        duration(Some(end - start))
    );
    for (index, (title, from, to)) in rows.iter().enumerate() {
        let y = 30.0 + index as f64 * row_height;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{:.1}\" font-size=\"12\">{}</text><rect class=\"step\" x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"20\" fill=\"#9ccc9c\"><title>{}: {}</title></rect>",
            y + 14.0,
            escape(&title.chars().take(44).collect::<String>()),
            x(*from),
            (x(*to) - x(*from)).max(1.0),
            escape(title),
            duration(Some(to - from))
        );
    }
    svg.push_str(&marks);
    svg.push_str("</svg>\n<p class=\"legend\">green: a step; amber: waiting for the cluster or AWS; blue: waiting for people at a gate; red: where the run failed or was refused.</p>\n");
    svg
}

/// The gates and their answers: what each showed and how it was answered (the Admin Console's
/// instructions in their own place, the deletion gate's objects in the Deletions table).
fn gates(records: &[EventRecord]) -> String {
    let mut out = String::from("<h2>Gates</h2>\n");
    let mut rows = Vec::new();
    for record in records {
        if let Event::Gate {
            gate,
            answer,
            details,
        } = &record.event
        {
            let shown = match details {
                Some(lines) if gate != "delete-messaging" => lines
                    .iter()
                    .map(|l| escape(l))
                    .collect::<Vec<_>>()
                    .join("<br>"),
                Some(_) => "the objects in <a href=\"#deletions\">Deletions</a>".into(),
                None => String::new(),
            };
            rows.push(row(&[
                escape(&clock(&record.time)),
                format!("<code>{}</code>", escape(gate)),
                escape(answer),
                shown,
            ]));
        }
    }
    if rows.is_empty() {
        out.push_str("<p>No gate on record.</p>\n");
    } else {
        out.push_str(&table(&["time", "gate", "answer", "what it showed"], &rows));
    }
    out
}

/// Four eyes: each approval on record (who, with which key, when) and each signature refused.
fn approvals(records: &[EventRecord]) -> String {
    let mut rows = Vec::new();
    for record in records {
        let (gate, who, outcome) = match &record.event {
            Event::Approved {
                gate,
                principal,
                fingerprint,
            } => (gate, format!("{principal} (key {fingerprint})"), "approved"),
            Event::ApprovalRefused { gate, why } => (gate, why.clone(), "refused"),
            _ => continue,
        };
        rows.push(row(&[
            escape(&clock(&record.time)),
            format!("<code>{}</code>", escape(gate)),
            outcome.into(),
            escape(&who),
        ]));
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2>Approvals</h2>\n{}",
        table(
            &[
                "time",
                "gate",
                "outcome",
                "approver, or why it did not count"
            ],
            &rows
        )
    )
}

/// One object of the deletion gate's list (`  sts  NAME  STATUS  BOUND  RECLAIM`), in columns.
fn gate_object(line: &str) -> Option<Vec<String>> {
    let cells: Vec<String> = line
        .trim()
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(String::from)
        .collect();
    let kind = cells.first()?;
    ["sts", "statefulset", "pvc", "pv"]
        .contains(&kind.as_str())
        .then_some(cells)
}

/// Every delete the log shows: what the deletion gate listed (one object a row, in columns),
/// and the commands with their status.
fn deletions(log_text: &str, records: &[EventRecord]) -> String {
    let mut out = String::from("<h2 id=\"deletions\">Deletions</h2>\n");
    for record in records {
        if let Event::Gate {
            gate,
            answer,
            details: Some(details),
        } = &record.event
            && gate == "delete-messaging"
        {
            let _ = writeln!(
                out,
                "<p>The deletion gate (<code>{}</code>, answered {}) listed:</p>",
                escape(gate),
                escape(answer)
            );
            let mut rows = Vec::new();
            for line in details {
                match gate_object(line) {
                    Some(mut cells) => {
                        cells.resize(5, String::new());
                        rows.push(row(&cells.iter().map(|c| escape(c)).collect::<Vec<_>>()));
                    }
                    None => {
                        let _ = writeln!(out, "<p>{}</p>", escape(line.trim()));
                    }
                }
            }
            out.push_str(&table(
                &["kind", "name", "status", "bound to", "reclaim policy"],
                &rows,
            ));
        }
    }
    let log = read_log(log_text);
    let rows: Vec<String> = log
        .commands
        .iter()
        .filter(|c| {
            c.pipeline.iter().any(|argv| {
                argv.iter()
                    .any(|w| w == "delete" || w.starts_with("delete-"))
            })
        })
        .map(|c| {
            row(&[
                format!("<a href=\"#L{0}\">line {0}</a>", c.line),
                format!("<code>{}</code>", escape(&c.text)),
                c.status.map_or_else(|| "0".into(), |s| s.to_string()),
            ])
        })
        .collect();
    if rows.is_empty() {
        out.push_str("<p>No delete command in the log.</p>\n");
    } else {
        out.push_str(&table(&["where", "command", "exit status"], &rows));
    }
    out
}

/// The log with numbered lines; lines with a finding are marked.
fn transcript(log_text: &str, report: &Report) -> String {
    let marked: std::collections::HashSet<usize> =
        report.findings.iter().filter_map(|f| f.line).collect();
    let mut out = String::from("<h2>Transcript</h2>\n<pre>");
    for (index, line) in log_text.lines().enumerate() {
        let n = index + 1;
        let class = if marked.contains(&n) {
            " class=\"finding\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<span id=\"L{n}\"{class}><a class=\"ln\" href=\"#L{n}\">{n}</a>{}</span>",
            escape(line)
        );
    }
    out.push_str("</pre>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped() {
        assert_eq!(
            escape("<script>alert('x')</script> & \"y\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;y&quot;"
        );
    }

    /// A hand-typed log has no events: the page says what is not on record, and a line of the log
    /// cannot become markup.
    #[test]
    fn a_hand_typed_log_without_events() {
        let log =
            "$ kubectl get sts -n arthur\n$ kubectl delete sts messaging -n arthur # <img src=x>\n";
        let report = Report {
            transcript: "terminal.log".into(),
            conforms: true,
            steps: Vec::new(),
            findings: Vec::new(),
            commands: 2,
            events: None,
            chain: None,
            integrity_checked: false,
            signature: None,
            approvals: Vec::new(),
            run: None,
            ending: None,
            binding: None,
            anchor: None,
            assurance: String::new(),
        };
        let html = page(&Evidence {
            report: &report,
            log_text: log,
            events_text: None,
        });
        assert!(html.contains("Integrity not checked: no events.jsonl"));
        assert!(html.contains("who ran it, where and with which tool is not on record"));
        assert!(!html.contains("<img"));
        assert!(
            html.contains("<a href=\"#L2\">line 2</a>"),
            "the delete, in the deletions table"
        );
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration(Some(5_250)), "5.2s");
        assert_eq!(duration(Some(65_000)), "1m 05s");
        assert_eq!(duration(Some(3_725_000)), "1h 02m 05s");
        assert_eq!(
            millis_between("2026-12-01T05:00:00Z", "2026-12-01T05:01:30.5Z"),
            Some(90_500)
        );
        assert_eq!(clock("2026-12-01T05:00:00.123456Z"), "2026-12-01 05:00:00");
    }
}
