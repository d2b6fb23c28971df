#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Turn the raw results of bench/run-load.sh (LOAD_RAW=file) into a Markdown table of ranges.

run-load.sh prints the best of LOAD_REPEAT repetitions per cell; this prints every cell as the
range (min-max) over the interleaved repetitions instead, so a reader sees the spread. The
vfsd/Rust ratio is taken per repetition (repetition k of vfsd against repetition k of Rust, which
ran next to each other) and its range printed; native µs/op is the syscall loop's p50 latency; "CPUs busy" is req/s times CPU s/req, how many CPUs
the daemon kept busy on average (above 1: more than one of its threads ran at once).

usage: bench/load-ranges.py RAW.tsv [--rows op:depth,...] [--pool] [--versus LABEL]
  --rows   only these rows, in this order (e.g. getattr:1,getattr:64,write-1m:64)
  --pool   also the "64, pool N" rows (labels vfsd-pool / rust-pool)
  --versus the same-run comparison of vfsd with another vfsd binary measured beside it under
           LABEL (run-load.sh VFSD_BASE_BIN: vfsd-base), the ratio taken per repetition
"""
import argparse
import collections
import sys

NAMES = {
    "lookup-hit": "lookup (hit)",
    "lookup-miss": "lookup (miss)",
    "open-release": "open+release",
    "read-4k": "read 4 KiB",
    "read-1m": "read 1 MiB",
    "write-4k": "write 4 KiB",
    "write-1m": "write 1 MiB",
    "create-unlink": "create+release+unlink",
    "readdirplus-10k": "readdirplus, 10,000 entries",
}


def load(path):
    """{(label, op, depth): [(ops/s, daemon CPU µs/op, p50 µs), ...]} in repetition order."""
    res = collections.defaultdict(list)
    order = []
    with open(path) as f:
        for line in f:
            c = line.rstrip("\n").split("\t")
            if len(c) < 9 or c[2] == "FAILED":
                continue
            key = (c[0], c[1], c[2])
            res[key].append((float(c[5]), float(c[8]), float(c[6])))
            if c[1] not in order:
                order.append(c[1])
    return res, order


def rate(x):
    return f"{x:,.0f}"


def us(x):
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:,.0f}"


def rng(vals, fmt):
    if not vals:
        return "–"
    lo, hi = min(vals), max(vals)
    return fmt(lo) if fmt(lo) == fmt(hi) else f"{fmt(lo)}–{fmt(hi)}"


def versus(res, order, base):
    """vfsd against `base` row by row: both ranges, the per-repetition ratio, CPU per request."""
    print(f"| op | depth | {base} req/s | vfsd req/s | vfsd/{base} | {base} CPU µs/req "
          "| vfsd CPU µs/req |")
    print("|---|---|--:|--:|--:|--:|--:|")
    n_rep = 0
    for op in order:
        for d in ("1", "64"):
            b = res.get((base, op, d), [])
            v = res.get(("vfsd", op, d), [])
            if not b and not v:
                continue
            n_rep = max(n_rep, len(b), len(v))
            ratios = [vv[0] / bb[0] for vv, bb in zip(v, b) if bb[0] > 0]
            cells = [rng([x[0] for x in b], rate), rng([x[0] for x in v], rate),
                     rng(ratios, lambda x: f"{x:.2f}"), rng([x[1] for x in b], us),
                     rng([x[1] for x in v], us)]
            print(f"| {NAMES.get(op, op)} | {d} | " + " | ".join(cells) + " |")
    print(f"\n(ranges over {n_rep} interleaved repetitions)", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("raw")
    ap.add_argument("--rows")
    ap.add_argument("--pool", action="store_true")
    ap.add_argument("--versus")
    a = ap.parse_args()
    res, order = load(a.raw)
    if a.versus:
        versus(res, order, a.versus)
        return

    rows = []
    if a.rows:
        for r in a.rows.split(","):
            op, d = r.split(":")
            rows.append((op, d, d == "64p"))
    else:
        for op in order:
            rows += [(op, "1", False), (op, "64", False)]
            if a.pool:
                rows.append((op, "64p", True))

    print("| op | depth | vfsd req/s | vfsd CPU µs/req | Rust req/s | Rust CPU µs/req "
          "| vfsd/Rust | CPUs busy vfsd | CPUs busy Rust | native µs/op p50 | vfsd/native time per op |")
    print("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    n_rep = 0
    for op, d, pool in rows:
        depth = "64" if pool else d
        v = res.get(("vfsd-pool" if pool else "vfsd", op, depth), [])
        r = res.get(("rust-pool" if pool else "rust", op, depth), [])
        n = res.get(("native", op, depth), [])
        n_rep = max(n_rep, len(v), len(r))
        ratios = [vv[0] / rr[0] for vv, rr in zip(v, r) if rr[0] > 0]
        # vfsd's time per operation against the syscall loop's (from throughput, at both depths),
        # per repetition.
        slow = [nn[0] / vv[0] for vv, nn in zip(v, n) if vv[0] > 0]
        cells = [
            rng([x[0] for x in v], rate), rng([x[1] for x in v], us),
            rng([x[0] for x in r], rate), rng([x[1] for x in r], us),
            rng(ratios, lambda x: f"{x:.2f}"),
            rng([x[0] * x[1] / 1e6 for x in v], lambda x: f"{x:.2f}"),
            rng([x[0] * x[1] / 1e6 for x in r], lambda x: f"{x:.2f}"),
            rng([x[2] for x in n], us),
            rng(slow, lambda x: f"{x:.1f}×"),
        ]
        label = "64, pool" if pool else d
        print(f"| {NAMES.get(op, op)} | {label} | " + " | ".join(cells) + " |")
    print(f"\n(ranges over {n_rep} interleaved repetitions)", file=sys.stderr)


if __name__ == "__main__":
    main()
