#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Live migration time and downtime, vfsd against the Rust virtiofsd (bench/RESULTS-migration.md):
# tests/vm/run-vm-migrate.sh (the vm-migrate test: QEMU 11.1, bookworm guest, -smp 1, 256 MiB,
# a "share" and a --cache=never "never" daemon per QEMU, the guest writing, re-reading and
# listing on both all along) migrates the same guest there and back with each daemon; QEMU's
# query-migrate gives each migration's total time and downtime (the guest paused: the last RAM
# pages, the device state of both daemons, the switch-over).
#
#   bench/run-migration.sh [--reps N] [--configs "vfsd-fh rust-fh vfsd-fp rust-fp"] [--vfsd PATH]
#
# Configurations: vfsd-fh / rust-fh: --migration-mode=file-handles (the Rust virtiofsd also
# --modcaps=+dac_read_search), the guest holds a deleted file open; vfsd-fp / rust-fp: the
# default find-paths, no deleted file (find-paths cannot move it). Each repetition runs every
# configuration once, in an order rotated by one per repetition (interleaved), under one
# flock /tmp/vfsd-vm.lock; the host's load average (uptime) is recorded before each run. The
# cancelled and the refused migration of the test are not measured. Prints a Markdown table
# (median and range over the 2 x N migrations of each configuration) and the raw rows.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
reps=3
configs="vfsd-fh rust-fh vfsd-fp rust-fp"
bench_opts "$@"
out=$(mktemp -d "${TMPDIR:-/tmp}/vfsd-mig-bench.XXXXXX")
rust="$repo/tests/tools/rust-virtiofsd.sh run"
read -r -a cfg <<<"$configs"
# run CONFIG REP: one vm-migrate run; its migrations appended to $out/raw.jsonl.
run() {
	local c=$1 r=$2 env=(VFSD_MIG_CANCEL=0 VFSD_MIG_JSON="$out/$1-$2.jsonl") load
	case "$c" in
	vfsd-fh) env+=(VFSD_MIG_FLAGS=--migration-mode=file-handles) ;;
	rust-fh) env+=(VFSD_DAEMON_CMD="$rust"
		"VFSD_MIG_FLAGS=--migration-mode=file-handles --modcaps=+dac_read_search") ;;
	vfsd-fp) env+=(VFSD_MIG_FLAGS= VFSD_MIG_DELETED=0) ;;
	rust-fp) env+=(VFSD_DAEMON_CMD="$rust" VFSD_MIG_FLAGS= VFSD_MIG_DELETED=0) ;;
	*) echo "unknown configuration $c" >&2 && exit 2 ;;
	esac
	load=$(uptime | sed 's/.*load average: //')
	echo "[run-migration] rep $r: $c (load $load)" >&2
	if env "${env[@]}" "$repo/tests/vm/run-vm-migrate.sh" migrate "$vfsd" >"$out/$c-$r.tap" 2>&1; then
		python3 -c 'import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l); d.update(config=sys.argv[2], rep=int(sys.argv[3]), load=sys.argv[4])
    print(json.dumps(d))' "$out/$c-$r.jsonl" "$c" "$r" "$load" >>"$out/raw.jsonl"
	else
		echo "[run-migration] $c rep $r: the run failed (see $out/$c-$r.tap)" >&2
		echo "{\"config\":\"$c\",\"rep\":$r,\"failed\":true,\"load\":\"$load\"}" >>"$out/raw.jsonl"
	fi
}
for ((r = 1; r <= reps; r++)); do
	order=()
	for ((i = 0; i < ${#cfg[@]}; i++)); do order+=("${cfg[$(((i + r - 1) % ${#cfg[@]}))]}"); done
	export -f run
	export out rust vfsd repo
	# shellcheck disable=SC2016 # $@ expands in the inner shell
	flock /tmp/vfsd-vm.lock bash -c 'for c in "$@"; do run "$c" '"$r"'; done' _ "${order[@]}"
done
# shellcheck disable=SC2086 # a list of names
python3 - "$out/raw.jsonl" $configs <<'EOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = {"vfsd-fh": "vfsd, file-handles", "rust-fh": "Rust virtiofsd 1.13.2, file-handles",
         "vfsd-fp": "vfsd, find-paths", "rust-fp": "Rust virtiofsd 1.13.2, find-paths"}
def cell(v):
    return f"{statistics.median(v):.0f} ({min(v)}-{max(v)})" if v else "-"
print("| daemon, --migration-mode | migrations | total time, ms: median (range) | downtime, ms: median (range) | RAM sent, MB: median | failed runs |")
print("|---|---|---|---|---|---|")
for c in sys.argv[2:]:
    ok = [r["data"] for r in rows if r.get("config") == c and not r.get("failed")]
    bad = sum(1 for r in rows if r.get("config") == c and r.get("failed"))
    tot = [d["total-ms"] for d in ok if d.get("status") == "completed"]
    down = [d["downtime-ms"] for d in ok if d.get("status") == "completed"]
    ram = [d["ram-mb"] for d in ok if d.get("status") == "completed"]
    print(f"| {names.get(c, c)} | {len(tot)} | {cell(tot)} | {cell(down)} | "
          f"{round(statistics.median(ram), 1) if ram else '-'} | {bad} |")
print()
print("Raw (config, rep, migration, total ms, downtime ms, RAM MB, load average before the run):")
print()
for r in rows:
    if r.get("failed"):
        print(f"    {r['config']} rep {r['rep']}: run failed; load {r['load']}")
        continue
    d = r["data"]
    print(f"    {r['config']} rep {r['rep']} {r['from']}->{r['to']}: {d.get('total-ms')} "
          f"{d.get('downtime-ms')} {d.get('ram-mb')}; load {r['load']}")
EOF
echo "[run-migration] raw results: $out" >&2
