#!/usr/bin/env bash
# The PostgreSQL benchmark (run as `bench/run.sh --postgres`): the counted
# badge (/count/tag.svg, wrk with bench/urls.lua over 1000 URLs, 2 threads,
# 32 connections in all) against
#   sqlite       one instance on a SQLite file,
#   pg-1         one instance on PostgreSQL,
#   pg-2         two instances on one PostgreSQL database (wrk split: one
#                thread and 16 connections each),
# PostgreSQL being a private cluster on this machine (initdb into a
# temporary directory; fsync on, synchronous_commit off, which is what
# SQLite's WAL with synchronous=NORMAL gives: no fsync per commit). All on
# one machine, so the figures are a ratio per core, not a scale-out claim.
# Per scenario: req/s, p50 and p99, CPU per response of hitcounter and of
# PostgreSQL (its backends), the flushes, the counter rows written per
# flush and the mean flush time (from /metrics), and after a clean shutdown
# the database's total against the 2xx responses.
# Then the flush of 1,000 counters on each store, end to end as the
# flusher times it (/metrics): one hit on each of 1,000 new URLs, sent in
# well under one --flush-interval of 5 s, then the same URLs again
# (existing rows); the PostgreSQL backend's CPU for those flushes too.
#
# Usage: bench/run.sh --postgres [--duration S] [--no-build]
#                                [--hitcounter PATH]
#   --duration S   wrk run length (default 10)
#   --no-build     use target/release/hitcounter as it is (it must have the
#                  postgres feature)
#   --hitcounter   benchmark another binary (with the postgres feature)
# Exit status: 0 when no counted hit was lost; 1 otherwise.

set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
COMMAND_LINE="bench/run.sh --postgres${*:+ $*}"
DURATION=10
BUILD=1
HC=""
KEYS=1000
CONNECTIONS=32

die() {
	printf 'postgres.sh: %s\n' "$*" >&2
	exit 1
}

while (($# > 0)); do
	case $1 in
	--duration)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--duration needs whole seconds"
		DURATION=$2
		shift
		;;
	--no-build) BUILD=0 ;;
	--hitcounter)
		[[ -n ${2:-} ]] || die "--hitcounter needs a path"
		HC=$2
		BUILD=0
		shift
		;;
	*) die "unknown argument $1 (see the head of bench/postgres.sh)" ;;
	esac
	shift
done

if ((BUILD)); then
	echo "building: cargo build --release --features postgres --bin hitcounter" >&2
	(cd "$ROOT" && cargo build --release --features postgres --bin hitcounter >&2)
fi
HC=${HC:-$ROOT/target/release/hitcounter}
"$HC" --version | grep -q postgres || die "$HC has no postgres feature (drop --no-build)"
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"

PG_BIN=$(find /usr/lib/postgresql -maxdepth 3 -name initdb -path '*/bin/*' 2>/dev/null | sort -V | tail -n 1)
[[ -n $PG_BIN ]] || die "PostgreSQL is missing (apt-get install -y postgresql)"
PG_BIN=$(dirname "$PG_BIN")

TMP=$(mktemp -d /tmp/hcpg.XXXXXX)
PIDS=()
PG_PID=""
# shellcheck disable=SC2329 # run by the trap
cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	if [[ -n $PG_PID ]]; then
		kill -INT "$PG_PID" 2>/dev/null || true
		wait "$PG_PID" 2>/dev/null || true
	fi
	rm -rf -- "$TMP"
}
trap cleanup EXIT

# ------------------------------------------------------------ PostgreSQL

AS_PG=()
if ((EUID == 0)); then
	chown postgres:postgres "$TMP"
	AS_PG=(setpriv --reuid=postgres --regid=postgres --init-groups --)
fi
PG_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$TMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 -N >"$TMP/initdb.log" 2>&1 ||
	die "initdb failed: $(cat "$TMP/initdb.log")"
"${AS_PG[@]}" "$PG_BIN/postgres" -D "$TMP/data" -k "$TMP" -p "$PG_PORT" -h 127.0.0.1 \
	-c synchronous_commit=off -c max_connections=200 >"$TMP/pg.log" 2>&1 &
PG_PID=$!
for _ in $(seq 200); do
	pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
	sleep 0.05
done
pg_isready -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL did not start: $(cat "$TMP/pg.log")"
PG_VERSION=$(psql -X -At -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c 'SHOW server_version')

# database NAME: a fresh database, its URL on stdout.
database() {
	psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $1" >&2
	printf 'postgres://postgres@127.0.0.1:%s/%s\n' "$PG_PORT" "$1"
}

# ------------------------------------------------------------ measuring

CLK_TCK=$(getconf CLK_TCK)
# ticks PID...: CPU time (user + system, clock ticks) the processes used.
ticks() {
	local pid line f sum=0
	for pid in "$@"; do
		read -r line <"/proc/$pid/stat" || continue
		read -ra f <<<"${line##*) }"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}
# PostgreSQL's processes: the postmaster and its children (backends).
pg_ticks() {
	local children
	mapfile -t children < <(pgrep -P "$PG_PID" || true)
	ticks "$PG_PID" "${children[@]}"
}

# metric ADDR NAME: one value from /metrics.
metric() {
	curl -s "http://$1/metrics" | awk -v n="hitcounter_$2" '$1 == n { print $2 }'
}

# db_total DB: the sum of all counts, through the product's own export.
db_total() {
	"$HC" export --format csv --db "$1" | awk -F, 'NR > 1 { s += $NF } END { printf "%d\n", s }'
}

ROWS="$TMP/rows.md"
LOADS=()
: >"$ROWS"
FAILED=0

# scenario LABEL DB N: N instances on DB, wrk split over them.
scenario() {
	local label=$1 db=$2 n=$3 i addrs=() pids=() fl0=0 rows0=0 secs0=0 fl1=0 rows1=0 secs1=0
	local hc0 pg0 hc1 pg1 rps=0 ok=0 requests=0 unanswered=0 p50=0 p99=0 line kv before after
	for ((i = 0; i < n; i++)); do
		hc_start "$db" "$TMP/$label-$i.log" --metrics --workers 16
		# shellcheck disable=SC2153 # set by hc_start
		PIDS+=("$PID")
		pids+=("$PID")
		addrs+=("$ADDR")
	done
	before=$(db_total "$db")
	for a in "${addrs[@]}"; do
		fl0=$(awk -v a="$fl0" -v b="$(metric "$a" flushes_total)" 'BEGIN { print a + b }')
		rows0=$(awk -v a="$rows0" -v b="$(metric "$a" flushed_counters_total)" 'BEGIN { print a + b }')
		secs0=$(awk -v a="$secs0" -v b="$(metric "$a" flush_duration_seconds_total)" 'BEGIN { print a + b }')
	done
	hc0=$(ticks "${pids[@]}")
	pg0=$(pg_ticks)
	echo "  $label: $n instance(s), ${DURATION} s ..." >&2
	local wrks=()
	for ((i = 0; i < n; i++)); do
		timeout $((DURATION + 60)) wrk -t$((2 / n)) -c$((CONNECTIONS / n)) -d"${DURATION}s" --latency \
			-s "$ROOT/bench/urls.lua" "http://${addrs[i]}" -- /count/tag.svg "$KEYS" cycle >"$TMP/$label-wrk-$i.txt" 2>&1 &
		wrks+=("$!")
	done
	for pid in "${wrks[@]}"; do
		wait "$pid" || die "wrk failed: $(cat "$TMP/$label"-wrk-*.txt)"
	done
	hc1=$(ticks "${pids[@]}")
	pg1=$(pg_ticks)
	for a in "${addrs[@]}"; do
		fl1=$(awk -v a="$fl1" -v b="$(metric "$a" flushes_total)" 'BEGIN { print a + b }')
		rows1=$(awk -v a="$rows1" -v b="$(metric "$a" flushed_counters_total)" 'BEGIN { print a + b }')
		secs1=$(awk -v a="$secs1" -v b="$(metric "$a" flush_duration_seconds_total)" 'BEGIN { print a + b }')
	done
	for ((i = 0; i < n; i++)); do
		line=$(sed -n 's/^BENCH //p' "$TMP/$label-wrk-$i.txt")
		[[ -n $line ]] || die "no result from wrk: $(cat "$TMP/$label-wrk-$i.txt")"
		declare -A r=()
		for kv in $line; do r[${kv%%=*}]=${kv#*=}; done
		rps=$((rps + ${r[rps]%.*}))
		ok=$((ok + r[ok2xx]))
		requests=$((requests + r[requests]))
		unanswered=$((unanswered + r[unanswered]))
		((r[p50_us] > p50)) && p50=${r[p50_us]}
		((r[p99_us] > p99)) && p99=${r[p99_us]}
		unset r
	done
	for pid in "${pids[@]}"; do
		kill -TERM "$pid"
		wait "$pid" || die "$label: hitcounter exited non-zero on SIGTERM"
	done
	after=$(db_total "$db")
	local added=$((after - before)) lost=0
	((added < ok)) && lost=$((ok - added)) && FAILED=1
	LOADS+=("$label $(cut -d' ' -f1 /proc/loadavg)")
	awk -v l="$label" -v n="$n" -v rps="$rps" -v p50="$p50" -v p99="$p99" -v hc=$((hc1 - hc0)) -v pg=$((pg1 - pg0)) \
		-v tck="$CLK_TCK" -v rq="$requests" -v fl=$((fl1 - fl0)) -v rows=$((rows1 - rows0)) \
		-v secs="$(awk -v a="$secs1" -v b="$secs0" 'BEGIN { print a - b }')" -v ok="$ok" -v added="$added" \
		-v un="$unanswered" -v lost="$lost" 'BEGIN {
		printf "| %-6s | %d | %6d | %6.2f | %6.2f | %7.1f | %7.1f | %5d | %6.1f | %6.2f | %7d | %7d | %d | %d |\n", \
			l, n, rps, p50 / 1000, p99 / 1000, hc * 1e6 / tck / rq, pg * 1e6 / tck / rq, fl, \
			(fl > 0) ? rows / fl : 0, (fl > 0) ? secs * 1000 / fl : 0, ok, added, un, lost
	}' >>"$ROWS"
}

# flush1000 LABEL DB: one instance on DB with a 5 s flush interval; per
# round (new counters, then the same again), 1,000 hits on distinct URLs
# over one keep-alive connection, then the flusher's time for them.
FLUSHES="$TMP/flushes.md"
: >"$FLUSHES"
flush1000() {
	local label=$1 db=$2 round i n0 n1 s0 s1 c0 c1 pg0 pg1 waited
	hc_start "$db" "$TMP/flush-$label.log" --metrics --flush-interval 5000
	PIDS+=("$PID")
	for ((i = 0; i < 1000; i++)); do
		printf 'url = "http://%s/count/tag.svg?url=flush.example/%s/%d"\noutput = /dev/null\n' "$ADDR" "$label" "$i"
	done >"$TMP/flush-$label.curl"
	for round in new existing; do
		n0=$(metric "$ADDR" flushes_total)
		c0=$(metric "$ADDR" flushed_counters_total)
		s0=$(metric "$ADDR" flush_duration_seconds_total)
		pg0=$(pg_ticks)
		curl -s -K "$TMP/flush-$label.curl"
		waited=0
		while c1=$(metric "$ADDR" flushed_counters_total) && ((c1 - c0 < 1000 && waited < 200)); do
			sleep 0.05
			waited=$((waited + 1))
		done
		n1=$(metric "$ADDR" flushes_total)
		s1=$(metric "$ADDR" flush_duration_seconds_total)
		pg1=$(pg_ticks)
		awk -v l="$label" -v r="$round" -v f=$((n1 - n0)) -v c=$((c1 - c0)) -v s0="$s0" -v s1="$s1" \
			-v pg=$((pg1 - pg0)) -v tck="$CLK_TCK" 'BEGIN {
			printf "| %-6s | %-8s | %d | %d | %.1f | %.1f |\n", l, r, f, c, (s1 - s0) * 1000, pg * 1000 / tck
		}' >>"$FLUSHES"
	done
	kill -TERM "$PID"
	wait "$PID" || die "flush $label: hitcounter exited non-zero on SIGTERM"
}

echo "PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT; hitcounter $("$HC" --version)" >&2
scenario sqlite "$TMP/bench.db" 1
scenario pg-1 "$(database bench1)" 1
scenario pg-2 "$(database bench2)" 2
flush1000 sqlite "$TMP/flush.db"
flush1000 pg "$(database flush1000)"

cat <<EOF
## PostgreSQL store: \`$COMMAND_LINE\`

$(date -u +%Y-%m-%d), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)),
PostgreSQL $PG_VERSION on the same machine (fsync on, synchronous_commit off),
wrk ${DURATION} s, 32 connections in all, counted badge over $KEYS URLs.
CPU columns: microseconds of CPU per response, of hitcounter and of
PostgreSQL's processes. Flushes, rows per flush (counters written, each
with its per-day row) and mean flush time are summed over the instances.

1-minute load average at the end of each run (2 cores; the benchmark's
own threads count too, so compare runs of one invocation): ${LOADS[*]}.

| run    | n | req/s  | p50 ms | p99 ms | hc CPU  | pg CPU  | flush | rows/f | ms/f   | 2xx     | db +    | unans. | lost |
|--------|---|--------|--------|--------|---------|---------|-------|--------|--------|---------|---------|--------|------|
$(cat "$ROWS")

The flush of 1,000 counters (one hit each; \`--flush-interval 5000\`), as
the flusher times it (\`flush_duration_seconds_total\`), and PostgreSQL's
CPU (all its processes, ms) meanwhile:

| store  | counters | flushes | counters flushed | flush ms | pg CPU ms |
|--------|----------|---------|------------------|----------|-----------|
$(cat "$FLUSHES")
EOF
exit "$FAILED"
