#!/usr/bin/env python3
"""The SBOM of a release: every crate compiled into arthur-restore, as CycloneDX 1.5 JSON.

Written from `cargo metadata` (the resolved graph, for the release's target) and Cargo.lock (each
registry crate's checksum) rather than with cargo-cyclonedx: these few lines need no tool to be
installed on the release machine and give the same bytes for the same commit.

  scripts/sbom.py TARGET SOURCE_DATE_EPOCH > arthur-restore-VERSION.cdx.json
"""
import hashlib
import json
import subprocess
import sys
import tomllib
import uuid
from datetime import datetime, timezone

target, epoch = sys.argv[1], int(sys.argv[2])
meta = json.loads(subprocess.run(
    ["cargo", "metadata", "--format-version", "1", "--locked", "--filter-platform", target],
    check=True, capture_output=True, text=True).stdout)
with open("Cargo.lock", "rb") as lock:
    checksums = {(p["name"], p["version"]): p.get("checksum")
                 for p in tomllib.load(lock)["package"]}
packages = {p["id"]: p for p in meta["packages"]}
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
root = meta["resolve"]["root"]

# What is compiled into the binary: the product's normal dependencies, and theirs (build
# scripts' and tests' dependencies are not linked in).
seen, todo = set(), [root]
while todo:
    node = nodes[todo.pop()]
    for dep in node["deps"]:
        if any(k["kind"] is None for k in dep["dep_kinds"]) and dep["pkg"] not in seen:
            seen.add(dep["pkg"])
            todo.append(dep["pkg"])

def purl(p):
    return f"pkg:cargo/{p['name']}@{p['version']}"

def component(p):
    c = {"type": "library", "bom-ref": purl(p), "name": p["name"], "version": p["version"],
         "purl": purl(p)}
    if p.get("license"):
        c["licenses"] = [{"expression": p["license"]}]
    checksum = checksums.get((p["name"], p["version"]))
    if checksum:
        c["hashes"] = [{"alg": "SHA-256", "content": checksum}]
    return c

product = packages[root]
components = sorted((component(packages[i]) for i in seen), key=lambda c: (c["name"], c["version"]))
graph = [{"ref": purl(packages[i]),
          "dependsOn": sorted(purl(packages[d["pkg"]]) for d in nodes[i]["deps"]
                              if any(k["kind"] is None for k in d["dep_kinds"]))}
         for i in sorted(seen | {root}, key=lambda i: purl(packages[i]))]
body = json.dumps(components, sort_keys=True).encode()
bom = {
    "bomFormat": "CycloneDX",
    "specVersion": "1.5",
    # The same commit, the same serial number: derived from what the SBOM lists.
    "serialNumber": f"urn:uuid:{uuid.UUID(hashlib.sha256(body).hexdigest()[:32])}",
    "version": 1,
    "metadata": {
        "timestamp": datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "component": component(product) | {"type": "application"},
    },
    "components": components,
    "dependencies": graph,
}
json.dump(bom, sys.stdout, indent=2, sort_keys=True)
print()
