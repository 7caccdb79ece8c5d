"""The figures of scripts/bench: speed and peak memory of `backups` and `verify` at several sizes,
each against a floor measured in the same run on the same listing:

- `jq` reading the listing (`jq '.items|length'`): the cost of reading it at all;
- the runbook's own shell pipeline where there is one: `velero backup get | grep messaging`,
  `kubectl get pods | grep -v Running | wc -l` (the fake CLI answering the table).

Targets (printed with pass/fail): `backups` no slower than jq from 10k operations on (the
listing is pretty-printed, as `velero backup get -o json` prints it); peak memory within 3x of
the listing; time growing near linearly from one size to the next (per-item growth at most 1.5).
`verify`'s floor that matters is its slowest read, not a one-table pipeline: that target is the
latency table's (scripts/latency.py, printed after this one), with the fake CLIs answering after
an API server's delay.

The fake CLIs are the replay program, which streams each listing from a file. Times are the best
of three runs (machines here are shared and noisy); memory is the largest resident set of the
tool's process tree (the replay program streams, so it is the tool's).
"""

import copy
import json
import latency
import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

REPO, BIN = sys.argv[1], sys.argv[2]
WORK = sys.argv[3]
QUICK = "--quick" in sys.argv[4:]
TOOL = os.path.join(REPO, "target/release/arthur-restore")
# The static release's binary (scripts/bench builds it as scripts/release does).
STATIC = os.path.join(REPO, "target/x86_64-unknown-linux-musl/release/arthur-restore")
OPERATIONS = [1000, 10000] if QUICK else [1000, 10000, 20000, 50000]
PODS = [1000, 10000]
RUNS = 3


def env(folder, session):
    os.makedirs(os.path.join(folder, "state-" + session), exist_ok=True)
    return dict(
        os.environ,
        PATH=BIN + ":" + os.environ["PATH"],
        ARTHUR_REPLAY_SESSION=os.path.join(folder, session),
        ARTHUR_REPLAY_STATE=os.path.join(folder, "state-" + session),
        ARTHUR_RESTORE_NOW="2020-01-01T00:00:00Z",
        TZ="UTC",
    )


def measure(argv, environment=None, shell=False, state=None, runs=RUNS):
    """The best wall time of `runs` runs, and the output of the last."""
    best, out = None, b""
    for _ in range(runs):
        if state and os.path.isdir(state):
            for name in os.listdir(state):
                os.remove(os.path.join(state, name))
        began = time.monotonic()
        child = subprocess.run(argv, env=environment, capture_output=True, shell=shell)
        elapsed = time.monotonic() - began
        if child.returncode not in (0, 4):
            sys.exit(f"bench: {argv} exited {child.returncode}: {child.stderr.decode()[:2000]}")
        best = elapsed if best is None else min(best, elapsed)
        out = child.stdout
    return best, out


def rss_of(argv, environment, state):
    """Peak RSS of one run of argv's tree alone (a fresh interpreter, so that RUSAGE_CHILDREN is
    this run's)."""
    code = (
        "import resource,subprocess,sys,json;"
        "r=subprocess.run(json.loads(sys.argv[1]),env=json.loads(sys.argv[2]),capture_output=True);"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    if os.path.isdir(state):
        for name in os.listdir(state):
            os.remove(os.path.join(state, name))
    out = subprocess.run([sys.executable, "-c", code, json.dumps(argv), json.dumps(environment)], capture_output=True, check=True)
    return int(out.stdout)


def write_backups(folder, operations):
    os.makedirs(folder, exist_ok=True)
    start = datetime(2000, 1, 1, 19, 22, 37, tzinfo=timezone.utc)
    z = lambda x: x.strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(os.path.join(folder, "velero.json"), "w") as listing, open(os.path.join(folder, "velero.txt"), "w") as table, open(
        os.path.join(folder, "clickhouse.txt"), "w"
    ) as clickhouse:
        listing.write('{\n  "kind": "BackupList",\n  "apiVersion": "velero.io/v1",\n  "metadata": {},\n  "items": [\n')
        table.write("NAME                                                   STATUS      ERRORS   WARNINGS   CREATED                         EXPIRES   STORAGE LOCATION   SELECTOR\n")
        first = True
        for r in range(operations):
            t = start + timedelta(hours=7 * r)
            for comp, gap in (("messaging", 0), ("workflows", 48), ("enrichments", 167)):
                b = t + timedelta(seconds=gap)
                local = b.astimezone(timezone(timedelta(hours=-4)))
                name = "arthur-backup-{}-04.00-{}".format(local.strftime("%Y-%m-%dt%H.%M.%S"), comp)
                item = {
                    "kind": "Backup",
                    "apiVersion": "velero.io/v1",
                    "metadata": {
                        "name": name,
                        "namespace": "velero",
                        "uid": "6b5dd997-bcbc-41ff-a3d3-%012d" % r,
                        "resourceVersion": str(47390212 + r),
                        "generation": 5,
                        "creationTimestamp": z(b),
                        "labels": {"velero.io/storage-location": "default"},
                    },
                    "spec": {
                        "includedNamespaces": ["arthur"],
                        "ttl": "720h0m0s",
                        "storageLocation": "default",
                        "volumeSnapshotLocations": ["default"],
                    },
                    "status": {
                        "version": 1,
                        "phase": "Completed",
                        "startTimestamp": z(b),
                        "completionTimestamp": z(b + timedelta(seconds=43)),
                        "expiration": z(b + timedelta(days=36500)),
                        "progress": {"totalItems": 61, "itemsBackedUp": 61},
                    },
                }
                text = json.dumps(item, indent=2)
                listing.write(("" if first else ",\n") + "    " + text.replace("\n", "\n    "))
                first = False
                table.write(f"{name:<54} Completed   0        0          {b.strftime('%Y-%m-%d %H:%M:%S')} +0000 UTC   99y       default            <none>\n")
            for node in range(3):
                clickhouse.write(
                    "chi-olap-installation-arthur-0-{}-arthur-clickhouse-backup-{}   10.33MiB   {}   remote   tar, regular\n".format(
                        node, t.strftime("%Y-%m-%d-%H-%M-%S"), t.strftime("%d/%m/%Y %H:%M:%S")
                    )
                )
        listing.write("\n  ]\n}\n")
    with open(os.path.join(folder, "tool.session"), "w") as session:
        session.write(
            "$ velero backup get -n velero -o json\n#> stdout-file: velero.json\n"
            "$ kubectl exec chi-olap-installation-arthur-0-0-0 -n arthur -c backup -- clickhouse-backup list\n#> stdout-file: clickhouse.txt\n"
        )
    with open(os.path.join(folder, "pipeline.session"), "w") as session:
        session.write("$ velero backup get -n velero\n#> stdout-file: velero.txt\n")
    return os.path.getsize(os.path.join(folder, "velero.json")), os.path.getsize(os.path.join(folder, "clickhouse.txt"))


def write_pods(folder, pods):
    os.makedirs(folder, exist_ok=True)
    sample = json.load(open(os.path.join(REPO, "fixtures/sessions/data/verify-pods-healthy.json")))
    template = sample["items"][0]
    with open(os.path.join(folder, "pods.json"), "w") as listing, open(os.path.join(folder, "pods.txt"), "w") as table:
        listing.write('{\n    "apiVersion": "v1",\n    "items": [\n')
        table.write("NAME                                   READY   STATUS    RESTARTS   AGE\n")
        for i in range(pods):
            item = copy.deepcopy(template)
            name = f"arthurai-service-{i:06d}-7fc58f4958-trcvg"
            item["metadata"]["name"] = name
            item["metadata"]["uid"] = "0e7a91c2-5a0e-4d3c-9f8b-%012d" % i
            text = json.dumps(item, indent=4)
            listing.write(("" if i == 0 else ",\n") + "        " + text.replace("\n", "\n        "))
            table.write(f"{name:<38} 2/2     Running   0          3d\n")
        listing.write('\n    ],\n    "kind": "List",\n    "metadata": {\n        "resourceVersion": ""\n    }\n}\n')
    with open(os.path.join(folder, "tool.session"), "w") as session:
        session.write(
            "$ kubectl get pods -n arthur -o json\n#> stdout-file: pods.json\n"
            "$ kubectl get jobs -n arthur -o json\n#> stdout-file: {}\n"
            "$ kubectl kots get apps -n arthur\n#> stdout-file: {}\n".format(
                os.path.join(REPO, "fixtures/sessions/data/verify-jobs-complete.json"),
                os.path.join(REPO, "fixtures/reference/kots-get-apps.txt"),
            )
        )
    with open(os.path.join(folder, "pipeline.session"), "w") as session:
        session.write("$ kubectl get pods -n arthur\n#> stdout-file: pods.txt\n")
    return os.path.getsize(os.path.join(folder, "pods.json"))


def baseline(folder, argv):
    """The tool's resident set on an empty listing: the program itself, not the listing."""
    tool_env = env(folder, "tool.session")
    return rss_of(argv, tool_env, tool_env["ARTHUR_REPLAY_STATE"])


def verdict(ok):
    return "pass" if ok else "FAIL"


def size_row(size, previous, folder, argv, jq_listing, pipeline, listing_bytes, base_kb):
    """One size of one table: the tool's best time, its output, its peak memory above its own
    base, the floors (jq on the listing, the runbook's pipeline) and the growth per item since
    the previous size."""
    tool_env = env(folder, "tool.session")
    tool_s, out = measure(argv, tool_env, state=tool_env["ARTHUR_REPLAY_STATE"])
    tool_kb = rss_of(argv, tool_env, tool_env["ARTHUR_REPLAY_STATE"])
    jq_s, _ = measure(["jq", ".items|length", jq_listing])
    pipe_env = env(folder, "pipeline.session")
    pipe_s, _ = measure(pipeline, pipe_env, shell=True, state=pipe_env["ARTHUR_REPLAY_STATE"])
    growth = None
    if previous:
        growth = (tool_s / previous["tool_s"]) / (size / previous["size"])
    return {
        "size": size,
        "out": out,
        "listing_mb": listing_bytes / 1e6,
        "tool_s": tool_s,
        "tool_mb": tool_kb / 1024,
        "mem_ratio": (tool_kb - base_kb) * 1024 / listing_bytes,
        "jq_s": jq_s,
        "pipe_s": pipe_s,
        "growth": growth,
    }


def judge(row, previous, what, unit, failed):
    """The targets every size meets: memory within 3x of the listing, near-linear growth."""
    if row["mem_ratio"] > 3:
        failed.append(f"{what} at {row['size']} {unit}: peak memory {row['mem_ratio']:.2f}x the listing (target 3x)")
    if row["growth"] is not None and row["growth"] > 1.5:
        failed.append(f"{what} from {previous['size']} to {row['size']} {unit}: time grew {row['growth']:.2f}x per item (target 1.5)")


def growth_text(row):
    return str(row["growth"] if row["growth"] is None else round(row["growth"], 2))


def main():
    failed = []
    print("backups: restore points of N backup operations (3 Velero backups and a 3-node ClickHouse backup each)")
    write_backups(os.path.join(WORK, "ops-0"), 0)
    base_kb = baseline(os.path.join(WORK, "ops-0"), [TOOL, "-n", "arthur", "-o", "json", "backups"])
    print(f"(memory: the tool's peak resident set; mem/list is what it holds above its {base_kb / 1024:.1f} MB on an empty listing, over the listing's size)")
    print(f"{'ops':>7} {'listing MB':>10} {'tool s':>8} {'jq s':>8} {'tool/jq':>8} {'pipe s':>8} {'tool MB':>8} {'mem/list':>8} {'growth':>7}")
    previous = None
    for ops in OPERATIONS:
        folder = os.path.join(WORK, f"ops-{ops}")
        velero_bytes, clickhouse_bytes = write_backups(folder, ops)
        row = size_row(
            ops,
            previous,
            folder,
            [TOOL, "-n", "arthur", "-o", "json", "backups", "--max-output", "1GiB"],
            os.path.join(folder, "velero.json"),
            "velero backup get -n velero | grep messaging > /dev/null",
            max(velero_bytes, clickhouse_bytes),
            base_kb,
        )
        points = json.loads(row["out"])["restore_points"]
        if len(points) != ops or not all(p["complete"] for p in points):
            sys.exit(f"bench: backups grouped {len(points)} points of {ops} wrongly")
        print(
            f"{ops:>7} {row['listing_mb']:>10.1f} {row['tool_s']:>8.3f} {row['jq_s']:>8.3f} {row['tool_s'] / row['jq_s']:>8.2f} {row['pipe_s']:>8.3f} {row['tool_mb']:>8.1f} {row['mem_ratio']:>8.2f} {growth_text(row):>7}"
        )
        judge(row, previous, "backups", "operations", failed)
        if ops >= 10000 and row["tool_s"] > row["jq_s"]:
            failed.append(f"backups at {ops} operations: {row['tool_s']:.3f}s, slower than jq's {row['jq_s']:.3f}s")
        previous = row

    if os.path.exists(STATIC):
        ops = OPERATIONS[-1]
        folder = os.path.join(WORK, f"ops-{ops}")
        argv = ["-n", "arthur", "-o", "json", "backups", "--max-output", "1GiB"]
        tool_env = env(folder, "tool.session")
        # In turns, best of five each: a busy moment of the machine falls on both binaries.
        glibc_s = static_s = None
        for _ in range(5):
            g, _ = measure([TOOL] + argv, tool_env, state=tool_env["ARTHUR_REPLAY_STATE"], runs=1)
            s, _ = measure([STATIC] + argv, tool_env, state=tool_env["ARTHUR_REPLAY_STATE"], runs=1)
            glibc_s, static_s = min(glibc_s or g, g), min(static_s or s, s)
        print(f"static release binary (musl): backups at {ops} operations {static_s:.3f}s against {glibc_s:.3f}s, {static_s / glibc_s:.2f}x (target 1.2x)")
        if static_s > 1.2 * glibc_s:
            failed.append(f"the static binary at {ops} operations: {static_s / glibc_s:.2f}x the glibc build's time")

    print()
    print("verify: health of N pods (kubectl get pods -o json, about 3.6 kB a pod)")
    write_pods(os.path.join(WORK, "pods-0"), 0)
    base_kb = baseline(os.path.join(WORK, "pods-0"), [TOOL, "-n", "arthur", "verify"])
    print(f"(mem/list: above the tool's {base_kb / 1024:.1f} MB on an empty listing, over the listing's size)")
    print(f"{'pods':>7} {'listing MB':>10} {'tool s':>8} {'jq s':>8} {'pipe s':>8} {'tool/pipe':>9} {'tool MB':>8} {'mem/list':>8} {'growth':>7}")
    previous = None
    for pods in PODS:
        folder = os.path.join(WORK, f"pods-{pods}")
        listing = write_pods(folder, pods)
        row = size_row(
            pods,
            previous,
            folder,
            [TOOL, "-n", "arthur", "verify", "--max-output", "1GiB"],
            os.path.join(folder, "pods.json"),
            "kubectl get pods -n arthur | grep -v Running | wc -l > /dev/null",
            listing,
            base_kb,
        )
        print(
            f"{pods:>7} {row['listing_mb']:>10.1f} {row['tool_s']:>8.3f} {row['jq_s']:>8.3f} {row['pipe_s']:>8.3f} {row['tool_s'] / row['pipe_s']:>9.2f} {row['tool_mb']:>8.1f} {row['mem_ratio']:>8.2f} {growth_text(row):>7}"
        )
        judge(row, previous, "verify", "pods", failed)
        previous = row

    print()
    print("targets: backups <= jq from 10k operations on; peak memory <= 3x the listing; per-item growth <= 1.5; the static binary <= 1.2x the glibc build")
    if QUICK:
        print("(--quick: 20k and 50k operations left out)")
    print()
    failed.extend(latency.main(REPO, BIN, WORK))
    for failure in failed:
        print(f"FAIL: {failure}")
    print("targets: " + verdict(not failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
