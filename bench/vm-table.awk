# bench/vm-table.awk: the Markdown tables of bench/run-vm.sh from its raw results
# (tab-separated: configuration, run, key, value; see bench/vm-workload.sh for the keys).
# Variables (-v): set (the workload set: all, the default, meta, files or dax), cfgs (configurations,
# space-separated, in column order), labels (their headings, each followed by |), vref/rref (the
# vfsd and Rust columns the daemon CPU table compares), ratios (the ratio columns,
# "A:B:HEADING|...": A's figure against B's), files, cfiles, tarf (sizes for the row labels).
# With several runs per configuration each cell comes from the median run for that row (of an
# even number, the better of the middle two: of 2 runs, the better one); the daemon tables use
# the same run as the first table.

function num(x) { return x != "" && x ~ /^-?[0-9.]+$/ }

function fmt(x,   s) {
	if (x < 10) return sprintf("%.2f", x)
	if (x < 100) return sprintf("%.1f", x)
	s = sprintf("%d", x + 0.5)
	while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s)
	return s
}

# row KEY LABEL KIND BETTER PICK: KIND mibs, iops, files, secs (KEY_mibs, ... as in
# vm-workload.sh), raw (KEY itself) or int (KEY, a count), info (KEY of every run); BETTER "hi"
# (bigger is better) or "lo"; PICK "max" or "min": which run a cell shows when there are several
function row(k, label, kd, better, pick) {
	n++; key[n] = k; lab[n] = label; kind[n] = kd; hi[n] = better == "hi"; pmax[n] = pick == "max"
}

# the figure row r compares, for configuration c, run p
function value(c, p, r,   s) {
	if (kind[r] == "mibs") return v[c, p, key[r] "_mibs"]
	if (kind[r] == "iops") return v[c, p, key[r] "_iops"]
	if (kind[r] == "files") {
		s = v[c, p, key[r] "_s"]
		if (!num(s) || s == 0) return ""
		return v[c, p, key[r] "_n"] / s
	}
	if (kind[r] == "secs") return v[c, p, key[r] "_s"]
	return v[c, p, key[r]]
}

function failed(c, r,   p) {
	for (p = 1; p <= nrep; p++)
		if ((c, p, key[r] "_error") in v) return 1
	return 0
}

# the run shown for row r of configuration c ("" when none has a figure): the median, ranking
# the runs from the best (PICK max: the largest figure first)
function shown(c, r,   p, k, i, x, P, X) {
	k = 0
	for (p = 1; p <= nrep; p++) {
		x = value(c, p, r)
		if (!num(x)) continue
		for (i = ++k; i > 1 && (pmax[r] ? X[i - 1] + 0 < x + 0 : X[i - 1] + 0 > x + 0); i--) {
			X[i] = X[i - 1]; P[i] = P[i - 1]
		}
		X[i] = x; P[i] = p
	}
	return k ? P[int((k + 1) / 2)] : ""
}

function cell(c, r,   p, x, s) {
	if (kind[r] == "info") {
		for (p = 1; p <= nrep; p++) if (num(v[c, p, key[r]])) s = s (s == "" ? "" : " / ") v[c, p, key[r]]
		return s == "" ? "–" : s
	}
	p = shown(c, r)
	if (p == "") return failed(c, r) ? "failed" : "–"
	x = value(c, p, r)
	if (kind[r] == "iops") return fmt(x) " (" fmt(v[c, p, key[r] "_mibs"]) ")"
	if (kind[r] == "int") return x < 1000 ? sprintf("%d", x) : fmt(x)
	if (kind[r] == "files") return fmt(x) " (" fmt(v[c, p, key[r] "_s"]) " s)"
	return fmt(x)
}

# > 1: a is better than b
function ratio(a, b, r,   pa, pb, x, y) {
	if (!(a in have) || !(b in have) || kind[r] == "info" || kind[r] == "int") return "–"
	pa = shown(a, r); pb = shown(b, r)
	if (pa == "" || pb == "") return "–"
	x = value(a, pa, r); y = value(b, pb, r)
	if (x == 0 || y == 0) return "–"
	return sprintf("%.2f", hi[r] ? x / y : y / x)
}

# the daemon during row r's phase, from the run the first table shows: sets cpu_s (CPU seconds),
# wait_s (run-queue wait), wakes (times scheduled in) and ops (I/Os or files, 1 for the others)
function phase(c, r,   p) {
	p = shown(c, r)
	cpu_s = p == "" ? "" : v[c, p, key[r] "_cpu_s"]
	wait_s = v[c, p, key[r] "_wait_s"]
	wakes = v[c, p, key[r] "_wakes"]
	ops = kind[r] == "files" ? v[c, p, key[r] "_n"] : v[c, p, key[r] "_ios"]
	if (!num(ops) || ops == 0) ops = 1
	return num(cpu_s)
}

function cpu_cell(c, r) {
	if (!phase(c, r)) return "–"
	if (ops > 1) return sprintf("%.2f (%s)", cpu_s, fmt(cpu_s * 1e6 / ops))
	return sprintf("%.2f", cpu_s)
}

function sched_cell(c, r) {
	if (!phase(c, r) || !num(wakes)) return "–"
	if (ops > 1) return sprintf("%.2f / %s", wakes / ops, fmt(wait_s * 1e6 / ops))
	return sprintf("%s / %.2f", fmt(wakes), wait_s)
}

# a table of the daemon columns D[1..m], one row per workload: "cpu" (with the ratio of the CPU
# per operation, Rust against vfsd) or "sched"
function daemon_table(what,   r, i, x, y) {
	header(m, DL, what == "cpu" ? "Rust/vfsd CPU" : "")
	for (r = 1; r <= nwork; r++) {
		printf "| %s |", lab[r]
		for (i = 1; i <= m; i++) printf " %s |", what == "cpu" ? cpu_cell(D[i], r) : sched_cell(D[i], r)
		if (what != "cpu") {
			print ""
			continue
		}
		x = phase(vref, r) ? cpu_s / ops : 0
		y = phase(rref, r) ? cpu_s / ops : 0
		print " " (x > 0 && y > 0 ? sprintf("%.2f", y / x) : "–") " |"
	}
}

# the heading of a table: the columns NAMES[1..NN], then those in EXTRA ("a|b")
function header(nn, names, extra,   i, k, X) {
	printf "| workload |"
	for (i = 1; i <= nn; i++) printf " %s |", names[i]
	k = split(extra, X, "|")
	for (i = 1; i <= k; i++) printf " %s |", X[i]
	printf "\n|---|"
	for (i = 1; i <= nn + k; i++) printf "--:|"
	print ""
}

# the rows of the dax set (bench/run-vm.sh --dax)
function dax_rows(   k, i, K, T) {
	row("seqwrite", "fio seq write 1 MiB, new file: MiB/s", "mibs", "hi", "max")
	split("seqread mmapread randread mmaprand", K, " ")
	split("fio seq read 1 MiB|fio mmap seq read 1 MiB|fio rand read 4 KiB|fio mmap rand read 4 KiB", T, "|")
	for (i = 1; i <= 4; i++) {
		k = i <= 2 ? "mibs" : "iops"
		row(K[i] "_cold", T[i] ", cold: " (k == "mibs" ? "MiB/s" : "IOPS (MiB/s)"), k, "hi", "max")
		row(K[i] "_warm", T[i] ", warm: " (k == "mibs" ? "MiB/s" : "IOPS (MiB/s)"), k, "hi", "max")
	}
	nwork = n
	for (i = 1; i <= 4; i++)
		row(K[i] "_cold_cache_mib", "guest page cache growth, " T[i] ", cold: MiB", "int", "lo", "max")
	row("dax_maps", "daemon: DAX maps (FUSE_SETUPMAPPING)", "int", "hi", "max")
	row("dax_unmaps", "daemon: DAX unmaps", "int", "hi", "max")
	row("dax_refused", "daemon: DAX maps refused by QEMU", "int", "lo", "max")
}

BEGIN {
	nc = split(cfgs, C, " ")
	split(labels, L, "|")
	for (i = 1; i <= nc; i++) have[C[i]] = 1
	nratio = split(ratios, R, "|")
	for (i = 1; i <= nratio; i++) {
		split(R[i], X, ":")
		RA[i] = X[1]; RB[i] = X[2]; RH[i] = X[3]
	}
	if (set == "dax") {
		dax_rows()
	} else {
		all_rows()
	}
	row("total_s", "all of the above, wall time: s", "raw", "lo", "min")
	row("daemon_hwm_mib", "daemon peak RSS (VmHWM): MiB", "raw", "lo", "max")
	row("daemon_own_mib", "daemon RssAnon+RssFile at the end: MiB", "raw", "lo", "max")
	row("daemon_cpu_s", "daemon CPU time (user+sys): s", "raw", "lo", "min")
	row("others_pct", "host CPU used by other processes meanwhile: % (each run)", "info", "lo", "min")
}

# the rows of the full set
function all_rows() {
	if (set == "all") {
		row("seqread", "fio seq read 1 MiB, cold: MiB/s", "mibs", "hi", "max")
		row("seqwrite", "fio seq write 1 MiB: MiB/s", "mibs", "hi", "max")
		row("randread", "fio rand read 4 KiB, cold: IOPS (MiB/s)", "iops", "hi", "max")
		row("randwrite", "fio rand write 4 KiB: IOPS (MiB/s)", "iops", "hi", "max")
		row("randread4", "fio rand read 4 KiB, 4 jobs, cold: IOPS (MiB/s)", "iops", "hi", "max")
	}
	row("files_create", "create " files " files: files/s (s)", "files", "hi", "max")
	row("files_stat", "stat " files " files, cold: files/s (s)", "files", "hi", "max")
	row("files_read", "read " files " files, cold: files/s (s)", "files", "hi", "max")
	row("files_unlink", "unlink " files " files, cold: files/s (s)", "files", "hi", "max")
	if (set == "files") {
		nwork = n
		return
	}
	row("untar", "untar " tarf " files: s", "secs", "lo", "min")
	row("git_commit", "git init+add+commit: s", "secs", "lo", "min")
	row("git_status", "git status, cold: s", "secs", "lo", "min")
	row("grep", "grep -r, cold: s", "secs", "lo", "min")
	row("make", "make -j2, " cfiles " C files: s", "secs", "lo", "min")
	row("rm", "rm -rf the tree: s", "secs", "lo", "min")
	nwork = n
}

{
	v[$1, $2, $3] = $4
	if ($2 + 0 > nrep) nrep = $2 + 0
	if ($3 == "daemon_cpu_s") daemon[$1] = 1
}

END {
	extra = ""
	for (i = 1; i <= nratio; i++) extra = extra (i > 1 ? "|" : "") RH[i]
	header(nc, L, extra)
	for (r = 1; r <= n; r++) {
		printf "| %s |", lab[r]
		for (i = 1; i <= nc; i++) printf " %s |", cell(C[i], r)
		for (i = 1; i <= nratio; i++) printf " %s |", ratio(RA[i], RB[i], r)
		print ""
	}
	print ""
	printf "Ratios:"
	for (i = 1; i <= nratio; i++) printf " %s is %s against %s%s", RH[i], RA[i], RB[i], i < nratio ? ";" : ""
	print "; > 1 means the first is faster"
	print "(or uses less). Daemon figures are the serving process's (the sandboxed child of the supervisor),"
	print "sampled by the host when the guest has finished; VmHWM counts the guest RAM pages the"
	print "daemon touched (RssShmem), RssAnon+RssFile is the daemon's own memory. The last row is"
	print "the interference: the share of the host's CPUs that processes other than this benchmark's"
	print "used while the column ran (/proc/stat against the script's children)."

	m = 0
	for (i = 1; i <= nc; i++)
		if (C[i] in daemon) { D[++m] = C[i]; DL[m] = L[i] }
	if (m == 0) exit
	print ""
	print "Daemon CPU time per phase (user+sys, 10 ms ticks): seconds (µs per I/O or per file):"
	print ""
	daemon_table("cpu")
	print ""
	print "Daemon scheduling per phase (/proc/PID/task/*/schedstat of the serving process): times"
	print "scheduled in per I/O or file / run-queue wait in µs per I/O or file (for the build rows:"
	print "in all / seconds). A wait means a request sat in the daemon while the guest's vCPU"
	print "threads held both host CPUs."
	print ""
	daemon_table("sched")
}
