#!/usr/bin/env bash
# The speed benchmark (issue 8, README "Benchmark"): builds revertwatch,
# generates the corpus once (1M CloudTrail events in 16 gzip S3 files and
# 200k Azure Storage records, with revertwatch emulate), then measures on
# the same files, interleaved, RUNS times each:
#
#   floor     decompress-only pass, same gzip library, same workers (bench/floor)
#   hunt      revertwatch hunt
#   explain   revertwatch hunt --explain=json (the findings' investigation
#             bundles: a second read of only the files they can need)
#   query     revertwatch query --builtin t1578.004-sumo
#   floor-nf  the floor over the same corpus generated newest first
#   hunt-nf   hunt over it (the order of lookup-events and activity-log list)
#   floor-hc  the floor over the high-cardinality corpus: as many records,
#             naming many more callers and resources (emulate --cardinality
#             high: 4,096 session names per role, 65,536 instances and
#             volumes per account and region, 2,000 Azure resource groups),
#             where memory that grows with groups and resources shows
#   hunt-hc   hunt over it
#   query-hc  query --builtin over it (tens of thousands of groups)
#   hunt-rules  hunt --rules: the SigmaHQ cloud rules of the shared corpus
#             (when ../shared/corpus is there) and our rules exported as
#             Sigma, besides the built-in detections
#   duckdb    the seed's SQL in DuckDB (read_json_objects), with DUCKDB=1
#
# With SCALE90=N (e.g. 3000000) it then generates N CloudTrail events over
# 90 days, newest first, and hunts them twice: with --memory-budget 64MiB
# (spilling) and without a budget; it prints both rows and checks that the
# findings are identical.
#
# and prints wall time, CPU time (user+sys), events/s, MB/s of JSON, peak
# RSS and the ratio to the floor, medians of the runs.
#
# With LOAD=1 it ends with the daemon's rows (bench/load.sh, about a minute
# on a quiet machine, more on a busy one): `serve` taking 1,000-record gzip
# bodies from 4 clients flat out (events/s) and paced at 75k events/s (p99
# from POST to finding), with each target said to hold or not.
#
# Settings (environment): RUNS (3), JOBS (number of CPUs), SCALE (1000000),
# AZURE_SCALE (200000), BENCH_DIR (a directory kept between runs, so the
# corpus is generated once), DUCKDB=1 to add DuckDB (builds the cgo driver:
# slow the first time), PROFILE=1 to write CPU profiles of hunt and query.
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${RUNS:-3}
JOBS=${JOBS:-$(nproc)}
SCALE=${SCALE:-1000000}
AZURE_SCALE=${AZURE_SCALE:-200000}
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/revertwatch-bench}
CORPUS=$WORK/corpus-$SCALE-$AZURE_SCALE
CORPUS_NF=$WORK/corpus-$SCALE-$AZURE_SCALE-newest-first
CORPUS_HC=$WORK/corpus-$SCALE-$AZURE_SCALE-high
TIME=/usr/bin/time
if [ ! -x "$TIME" ]; then
	echo "bench: $TIME is missing (Debian: apt-get install time)" >&2
	exit 2
fi
mkdir -p "$WORK"

echo "bench: building into $WORK" >&2
go build -o "$WORK/revertwatch" ./cmd/revertwatch
go build -o "$WORK/floor" ./bench/floor
names="floor hunt explain query floor-nf hunt-nf floor-hc hunt-hc query-hc hunt-rules"
# hunt-rules' rule set: the exported rules, and the SigmaHQ cloud rules
# when the shared corpus is beside the repository.
rm -rf "$WORK/rules" && mkdir -p "$WORK/rules"
"$WORK/revertwatch" rules export --format sigma -o "$WORK/rules/revertwatch.yml"
if [ -d ../shared/corpus/sigmahq-cloud-rules/rules ]; then
	cp -r ../shared/corpus/sigmahq-cloud-rules/rules "$WORK/rules/sigmahq"
else
	echo "bench: ../shared/corpus/sigmahq-cloud-rules not found: hunt-rules runs the exported rules only" >&2
fi
if [ "${DUCKDB:-0}" = 1 ]; then
	CGO_ENABLED=1 go build -tags duckdb -o "$WORK/duckdb-seed" ./bench/duckdb
	names="$names duckdb"
fi

if [ ! -f "$CORPUS/truth.json" ]; then
	echo "bench: generating the corpus in $CORPUS" >&2
	rm -rf "$CORPUS"
	"$WORK/revertwatch" emulate -o "$CORPUS" --scale "$SCALE" --azure-scale "$AZURE_SCALE"
fi
if [ ! -f "$CORPUS_NF/truth.json" ]; then
	echo "bench: generating the newest-first corpus in $CORPUS_NF" >&2
	rm -rf "$CORPUS_NF"
	"$WORK/revertwatch" emulate -o "$CORPUS_NF" --scale "$SCALE" --azure-scale "$AZURE_SCALE" --order newest-first
fi
if [ ! -f "$CORPUS_HC/truth.json" ]; then
	echo "bench: generating the high-cardinality corpus in $CORPUS_HC" >&2
	rm -rf "$CORPUS_HC"
	"$WORK/revertwatch" emulate -o "$CORPUS_HC" --scale "$SCALE" --azure-scale "$AZURE_SCALE" --cardinality high
fi

# One run of one command: /usr/bin/time's "wall user sys maxrss-KB" line
# is appended to $WORK/time.NAME, the output goes to $WORK/out.NAME.
run() {
	local name=$1
	local cmd
	case $name in
	floor) cmd=("$WORK/floor" -j "$JOBS" "$CORPUS") ;;
	hunt) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson "$CORPUS") ;;
	explain) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --explain=json "$CORPUS") ;;
	query) cmd=("$WORK/revertwatch" query -q --jobs "$JOBS" --builtin t1578.004-sumo "$CORPUS") ;;
	floor-nf) cmd=("$WORK/floor" -j "$JOBS" "$CORPUS_NF") ;;
	hunt-nf) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson "$CORPUS_NF") ;;
	floor-hc) cmd=("$WORK/floor" -j "$JOBS" "$CORPUS_HC") ;;
	hunt-hc) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson "$CORPUS_HC") ;;
	query-hc) cmd=("$WORK/revertwatch" query -q --jobs "$JOBS" --builtin t1578.004-sumo "$CORPUS_HC") ;;
	hunt-rules) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson --rules "$WORK/rules" "$CORPUS") ;;
	hunt90-64m) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson --memory-budget 64MiB --spill-dir "$WORK" "$CORPUS90") ;;
	hunt90) cmd=("$WORK/revertwatch" hunt -q --jobs "$JOBS" --format ndjson --memory-budget 64GiB "$CORPUS90") ;;
	duckdb) cmd=("$WORK/duckdb-seed" -threads "$JOBS" "$CORPUS") ;;
	esac
	if ! env ${PROFILE_ENV:-} "$TIME" -f '%e %U %S %M' -a -o "$WORK/time.$name" "${cmd[@]}" >"$WORK/out.$name" 2>"$WORK/err.$name"; then
		echo "bench: $name failed:" >&2
		tail -5 "$WORK/err.$name" >&2
		exit 1
	fi
}

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
for name in $names; do rm -f "$WORK/time.$name"; done
for i in $(seq "$RUNS"); do
	for name in $names; do
		echo "bench: run $i/$RUNS: $name" >&2
		run "$name"
	done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

if [ "${PROFILE:-0}" = 1 ]; then
	for name in hunt query; do
		PROFILE_ENV=REVERTWATCH_CPUPROFILE=$WORK/$name.prof run "$name"
		sed -i '$d' "$WORK/time.$name" # a profiled run is not one of the measured
	done
	echo "bench: profiles: go tool pprof -top $WORK/revertwatch $WORK/hunt.prof (and query.prof)" >&2
fi

# The corpus as the floor and hunt counted it.
bytes=$(sed -n 's/^floor: [0-9]* files, \([0-9]*\) bytes.*/\1/p' "$WORK/out.floor")
files=$(sed -n 's/^floor: \([0-9]*\) files.*/\1/p' "$WORK/out.floor")
events=$(sed -n 's/^hunt: [0-9]* files, \([0-9]*\) events.*/\1/p' "$WORK/err.hunt")
disk=$(du -sm "$CORPUS" | cut -f1)

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
declare -A wall cpu rss
for name in $names; do
	wall[$name]=$(awk '{print $1}' "$WORK/time.$name" | median)
	cpu[$name]=$(awk '{print $2+$3}' "$WORK/time.$name" | median)
	rss[$name]=$(awk '{print $4/1024}' "$WORK/time.$name" | median)
done

# The floor a row is measured against: the -nf and -hc rows' own corpus.
floor_of() {
	case $1 in
	*-nf) echo floor-nf ;;
	*-hc) echo floor-hc ;;
	*) echo floor ;;
	esac
}

echo
echo "corpus: $files files, $events events, $(awk -v b="$bytes" 'BEGIN{printf "%.1f", b/1e6}') MB of JSON ($disk MB on disk); jobs $JOBS, $(nproc) CPUs; median of $RUNS runs"
echo "load average: $load_start at the start, $load_end at the end"
echo
printf '%-7s %8s %8s %12s %9s %9s %9s %9s\n' command "wall s" "CPU s" "events/s" "MB/s" "RSS MB" "x floor" "CPU x"
for name in $names; do
	awk -v n="$name" -v w="${wall[$name]}" -v c="${cpu[$name]}" -v r="${rss[$name]}" -v e="$events" -v b="$bytes" \
		-v fw="${wall[$(floor_of "$name")]}" -v fc="${cpu[$(floor_of "$name")]}" \
		'BEGIN{printf "%-7s %8.2f %8.2f %12.0f %9.1f %9.1f %9.2f %9.2f\n", n, w, c, e/w, b/1e6/w, r, w/fw, c/fc}'
done
echo
echo "x floor: wall time over the floor's; CPU x: CPU time (user+sys) over the floor's (the -nf rows over floor-nf's, the -hc rows over floor-hc's)."
awk -v q="${rss[query]}" -v h="${rss[query-hc]}" 'BEGIN{printf "query: peak RSS %.0f MB, %.0f MB on the high-cardinality corpus (the target is 100 MB or less on both)\n", q, h}'
awk -v ew="${wall[explain]}" -v hw="${wall[hunt]}" -v er="${rss[explain]}" -v hr="${rss[hunt]}" \
	'BEGIN{printf "explain: %.2fx hunt'"'"'s wall time, %.2fx its peak RSS (the target is 2x or less)\n", ew/hw, er/hr}'
# The newest-first corpus holds the same records in other files and
# lines: the findings must be the same but for where their evidence is.
positionless() { sed -E 's/"file":"[^"]*","line":[0-9]+,"offset":[0-9]+,//g' "$1"; }
if ! cmp -s <(positionless "$WORK/out.hunt") <(positionless "$WORK/out.hunt-nf"); then
	echo "bench: hunt found different findings oldest-first and newest-first" >&2
	exit 1
fi
echo "hunt: identical findings oldest-first and newest-first ($(wc -l <"$WORK/out.hunt") findings; evidence positions aside)."

if [ -n "${SCALE90:-}" ]; then
	CORPUS90=$WORK/corpus90-$SCALE90-newest-first
	if [ ! -f "$CORPUS90/truth.json" ]; then
		echo "bench: generating $SCALE90 events over 90 days, newest first, in $CORPUS90" >&2
		rm -rf "$CORPUS90"
		"$WORK/revertwatch" emulate -o "$CORPUS90" --scale "$SCALE90" --span 90d --order newest-first
	fi
	for name in hunt90-64m hunt90; do rm -f "$WORK/time.$name"; run "$name"; done
	spilled=$(sed -n 's/.*events held past the memory budget: \([0-9]*\) sorted runs, \(.*\) spilled.*/\1 runs, \2/p' "$WORK/err.hunt90-64m")
	events90=$(sed -n 's/^hunt: [0-9]* files, \([0-9]*\) events.*/\1/p' "$WORK/err.hunt90")
	echo
	echo "90 days newest first: $events90 events; with --memory-budget 64MiB: ${spilled:-nothing} spilled"
	printf '%-11s %8s %8s %12s %9s\n' command "wall s" "CPU s" "events/s" "RSS MB"
	for name in hunt90-64m hunt90; do
		awk -v n="$name" -v e="$events90" '{printf "%-11s %8.2f %8.2f %12.0f %9.1f\n", n, $1, $2+$3, e/$1, $4/1024}' "$WORK/time.$name"
	done
	if ! cmp -s "$WORK/out.hunt90-64m" "$WORK/out.hunt90"; then
		echo "bench: the memory budget changed the findings" >&2
		exit 1
	fi
	echo "identical findings with and without the budget ($(wc -l <"$WORK/out.hunt90") findings)."
fi
if [ "${LOAD:-0}" = 1 ]; then
	echo "bench: the daemon's load benchmark (bench/load.sh)" >&2
	bench/load.sh
fi
echo "Outputs in $WORK/out.*; rerun with RUNS=5 on a quiet machine for steadier numbers."
