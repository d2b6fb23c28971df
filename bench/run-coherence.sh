#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-guest latency (bench/RESULTS-coherence.md): two bookworm guests (QEMU 11.1, -smp 1, 512
# MiB each) on one host directory, each with its own daemon; guest A (then a host process)
# renames a file whose name guest B has cached (B polls stat() until the old name is gone and
# the new one is there), then chmods a file whose attributes B has cached (B polls for the new
# mode); the latency (median / p99 in the table) is the host's
# CLOCK_MONOTONIC from A's "done" (or the host's rename returning) to B's "seen" arriving over
# the virtio-serial control channel (tests/vm/run-vm-coherence.sh, VFSD_COH_MODE=measure).
#
#   bench/run-coherence.sh [--reps N] [--configs "table auto always never rust adaptive"]
#                          [--vfsd PATH]
#
# Configurations: table (patched fuse.ko/virtiofs.ko, vfsd --coherence=table, default slots,
# QEMU's vhost-user-test-device-pci), auto / always / never (Debian's modules, vfsd
# --cache=..., vhost-user-fs-pci), rust (Debian's modules, the Rust virtiofsd --cache=auto),
# adaptive (Debian's modules, vhost-user-fs-pci, vfsd --cache=auto --coherence=table
# --adaptive-timeout=$VFSD_COH_ADAPT, default 20:5000). Then, per configuration, A's chmods of
# files unchanged for 10 and 60 s (VFSD_COH_QUIET_REPS each, default 10), and the requests B's
# vfsd receives while B stats 20 unchanged files every 10 ms for VFSD_COH_IDLE_SECS (20) s
# (second table).
# A rename not seen within 5 s counts as missed; after 3 misses in a row and no sighting the
# configuration stops trying (--cache=always keeps names for a day). Each configuration is one
# boot pair under flock /tmp/vfsd-vm.lock. Prints a Markdown table.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
reps=50
configs="table auto always never rust"
bench_opts "$@"
out=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-coh-bench.XXXXXX")
for c in $configs; do
	echo "[run-coherence] $c ($reps renames each way)" >&2
	flock /tmp/vfsd-vm.lock env VFSD_COH_MODE=measure VFSD_COH_CONFIG="$c" VFSD_COH_REPS="$reps" \
		VFSD_COH_JSON="$out/$c.json" "$repo/tests/vm/run-vm-coherence.sh" "$vfsd" >"$out/$c.tap" ||
		echo "[run-coherence] $c: the run failed (see $out/$c.tap)" >&2
done
# shellcheck disable=SC2086 # a list of names
python3 - "$out" $configs <<'EOF'
import json, sys
out, configs = sys.argv[1], sys.argv[2:]
names = {"table": "vfsd --coherence=table (patched modules)", "auto": "vfsd --cache=auto",
         "adaptive": "vfsd --cache=auto --adaptive-timeout (stock modules)",
         "always": "vfsd --cache=always", "never": "vfsd --cache=never",
         "rust": "Rust virtiofsd --cache=auto"}
def cell(st):
    if not st:
        return "run failed"
    if not st.get("n"):
        return "not seen within 5 s"
    s = f"{st['median']:.0f} / {st['p99']:.0f} ms"
    if st["missed"]:
        s += f" ({st['missed']} of {st['n'] + st['missed']} not seen within 5 s)"
    return s
def load(c):
    try:
        return json.load(open(f"{out}/{c}.json"))
    except (OSError, ValueError):
        return {}
res = {c: load(c) for c in configs}
def row(c, keys, extra=""):
    print(f"| {names.get(c, c)} | " + " | ".join(cell(res[c].get(k)) for k in keys) + extra + " |")
print("| daemon | rename: guest A -> guest B | rename: host -> guest B | chmod: guest A -> guest B | chmod: host -> guest B |")
print("|---|---|---|---|---|")
for c in configs:
    row(c, ("g2g-rename", "h2g-rename", "g2g-chmod", "h2g-chmod"))
print()
print("| daemon | chmod by A of a file changed again and again | ... unchanged for >= 10 s | ... unchanged for >= 60 s | requests B sends for 20 unchanged files statted every 10 ms |")
print("|---|---|---|---|---|")
for c in configs:
    idle = res[c].get("idle") or {}
    req = "n/a" if idle.get("requests", -1) < 0 else (
        f"{idle['requests']} in {idle['secs']:.0f} s ({idle['requests'] / idle['secs']:.1f}/s; "
        f"files unchanged for {idle['age_s']:.0f} s at the start)")
    row(c, ("g2g-chmod", "g2g-chmod-quiet10", "g2g-chmod-quiet60"), f" | {req}")
EOF
echo "[run-coherence] raw results: $out" >&2
