"""The latency table of scripts/bench: the tool against fake CLIs that answer after a fixed delay
per call, as an API server does (300 ms; 2 s for `clickhouse-backup list` and
`aws rds describe-db-snapshots`), for `backups`, `verify`, `plan` and `run --yes`.

For each: the wall time; the sum of the delays of the calls it made (the floor of making them one
after another); and the critical path, the longest chain of reads that need each other's answers.
The reads of a section whose reads need no other's answer (the identity, the restore point's
listings, the preflight; all of `backups` and `verify`) count once, by the slowest of them; every
other call counts whole. Which calls a section made is read from the tool's own transcript, in
order, against the calls the fake CLIs received.

Targets: `backups` and `verify` within 1.2x their slowest read + 0.1 s; `plan`, and `run`'s
identity and preflight (from the identity's section to `preflight passed`, by the times in
events.jsonl), within 1.3x their critical path.

Usage: latency.py REPO BIN WORK (BIN holds the replay program as kubectl, velero, aws and curl).
"""

import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime

DELAY_MS, SLOW_MS = 300, 2000
# The sections whose reads are read ahead, side by side: each counts by its slowest read.
SIDE_BY_SIDE = ("Identity", "Restore point", "Preflight")
RUN_ARGS = [
    "--rds-snapshot", "arthur-backup-2023-05-11t15-21-50-04-00",
    "--rds-instance", "arthur-restored-db", "--rds-like", "arthur-prod-db",
    "--clickhouse-backup", "arthur-clickhouse-backup-2023-05-11-00-00-07",
    "--messaging-backup", "arthur-backup-2023-05-11t15.22.37-04.00-messaging",
    "--enrichments-backup", "arthur-backup-2023-05-11t15.25.24-04.00-enrichments",
    "--workflows-backup", "arthur-backup-2023-05-11t15.23.25-04.00-workflows",
]


def delay(line):
    slow = line.endswith("clickhouse-backup list") or " describe-db-snapshots" in line
    return (SLOW_MS if slow else DELAY_MS) / 1000


def run_tool(repo, bin_dir, work, session, argv):
    """Runs the tool once against a fresh replay; its output, wall time and the calls made."""
    state = os.path.join(work, "latency-state")
    shutil.rmtree(state, ignore_errors=True)
    os.makedirs(state)
    environment = dict(
        os.environ,
        PATH=bin_dir + ":" + os.environ["PATH"],
        ARTHUR_REPLAY_SESSION=session,
        ARTHUR_REPLAY_STATE=state,
        ARTHUR_REPLAY_DELAY_MS=str(DELAY_MS),
        ARTHUR_REPLAY_SLOW_MS=str(SLOW_MS),
        ARTHUR_RESTORE_NOW="2023-05-14T14:05:00Z",
        TZ="UTC",
    )
    began = time.monotonic()
    child = subprocess.run([os.path.join(repo, "target/release/arthur-restore")] + argv,
                           env=environment, capture_output=True, cwd=work)
    wall = time.monotonic() - began
    if child.returncode != 0:
        sys.exit(f"latency: {argv} exited {child.returncode}: {child.stderr.decode()[-2000:]}")
    with open(os.path.join(state, "calls.log")) as log:
        calls = [line.rstrip("\n") for line in log if line.strip()]
    if any(c.startswith("UNEXPECTED") for c in calls):
        sys.exit(f"latency: the replay refused a call of {argv}: {calls}")
    return child.stdout.decode(), wall, calls


def sections(transcript, calls, only=None):
    """The calls each section of a transcript made, in order: [(title, [line, ...])]."""
    left = Counter(calls)
    found, title = [], None
    for line in transcript.splitlines():
        if line.startswith("## "):
            title = line[3:]
            found.append((title, []))
        elif line.startswith("$ ") and found and left[line[2:]] > 0:
            left[line[2:]] -= 1
            found[-1][1].append(line[2:])
    return [(t, lines) for t, lines in found if only is None or only(t)]


def critical_path(per_section):
    total = 0.0
    for title, lines in per_section:
        if not lines:
            continue
        if title.startswith(SIDE_BY_SIDE):
            total += max(delay(line) for line in lines)
        else:
            total += sum(delay(line) for line in lines)
    return total


def moment(text):
    """An events.jsonl time (RFC 3339, UTC, up to nanoseconds) as a datetime."""
    whole, _, fraction = text.rstrip("Z").partition(".")
    return datetime.fromisoformat(whole + "+00:00").replace(microsecond=int((fraction + "000000")[:6]))


def preflight_span(run_dir):
    """Seconds from the identity's section to `preflight passed`, by events.jsonl's times."""
    began = ended = None
    with open(os.path.join(run_dir, "events.jsonl")) as events:
        for line in events:
            event = json.loads(line)
            at = moment(event["time"])
            if event["event"] == "section" and event["title"].startswith("Identity"):
                began = at
            if event["event"] == "note" and event["text"].startswith("preflight passed"):
                ended = at
                break
    return (ended - began).total_seconds()


def row(name, wall, calls, critical, target, failed):
    floor = sum(delay(line) for line in calls)
    ok = wall <= target
    print(f"{name:<28} {len(calls):>5} {wall:>8.2f} {floor:>8.2f} {critical:>9.2f} {wall / floor:>8.2f} {wall / critical:>8.2f} {target:>8.2f}  {'pass' if ok else 'FAIL'}")
    if not ok:
        failed.append(f"{name}: {wall:.2f}s, over its target {target:.2f}s")


def main(repo, bin_dir, work):
    sessions = os.path.join(repo, "fixtures/sessions")
    failed = []
    print(f"latency: fake CLIs answering after {DELAY_MS} ms a call ({SLOW_MS / 1000:.0f} s for clickhouse-backup list and describe-db-snapshots)")
    print(f"{'command':<28} {'calls':>5} {'wall s':>8} {'sum s':>8} {'critical':>9} {'wall/sum':>8} {'wall/crit':>8} {'target':>8}")

    _, wall, calls = run_tool(repo, bin_dir, work, os.path.join(repo, "fixtures/environments/tidy/session"),
                              ["-n", "arthur", "backups"])
    slowest = max(delay(c) for c in calls)
    row("backups", wall, calls, slowest, 1.2 * slowest + 0.1, failed)

    _, wall, calls = run_tool(repo, bin_dir, work, os.path.join(sessions, "verify-healthy.session"),
                              ["-n", "arthur", "verify"])
    slowest = max(delay(c) for c in calls)
    row("verify", wall, calls, slowest, 1.2 * slowest + 0.1, failed)

    out, wall, calls = run_tool(repo, bin_dir, work, os.path.join(sessions, "plan-rds-discovered.session"),
                                ["-n", "arthur", "plan", "--only", "rds", "--rds-like", "arthur-prod-db",
                                 "--rds-instance", "arthur-restored-db"])
    critical = critical_path(sections(out, calls))
    row("plan --only rds", wall, calls, critical, 1.3 * critical, failed)

    run_dir = os.path.join(work, "latency-run")
    shutil.rmtree(run_dir, ignore_errors=True)
    _, _, calls = run_tool(repo, bin_dir, work, os.path.join(sessions, "happy.session"),
                           ["-n", "arthur", "run", "--yes", "--run-dir", run_dir, "--poll-interval", "10ms",
                            "--timeout", "60s"] + RUN_ARGS)
    with open(os.path.join(run_dir, "transcript.log")) as log:
        transcript = log.read()
    first = sections(transcript, calls, only=lambda t: t.startswith(SIDE_BY_SIDE))
    made = [line for _, lines in first for line in lines]
    critical = critical_path(first)
    row("run: identity + preflight", preflight_span(run_dir), made, critical, 1.3 * critical, failed)

    print("targets: backups and verify <= 1.2x their slowest read + 0.1 s; plan and run's identity + preflight <= 1.3x their critical path")
    return failed


if __name__ == "__main__":
    failures = main(*sys.argv[1:4])
    for failure in failures:
        print(f"FAIL: {failure}")
    sys.exit(1 if failures else 0)
