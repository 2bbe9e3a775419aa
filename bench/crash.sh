#!/usr/bin/env bash
# The crash window under the slowest writes: every request counts a new
# short URL (bench/crash.lua) while /metrics is read every 0.2 s; after
# --after seconds the server gets `kill -9`. Reports the hits counted that
# the database does not hold (lost), and how much time of the flood they
# are (lost / counted per second), beside the largest `pending_hits` seen
# and the mean write.
#
# Usage: bench/crash.sh [--after S] [--connections N] [--hitcounter PATH]
# Builds the release binary unless --hitcounter is given.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
AFTER=10
CONNECTIONS=32
HC=""
while (($#)); do
	case $1 in
	--after) AFTER=$2; shift 2 ;;
	--connections) CONNECTIONS=$2; shift 2 ;;
	--hitcounter) HC=$2; shift 2 ;;
	-h | --help) sed -n '2,10p' "$0"; exit 0 ;;
	*) echo "crash.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
command -v wrk >/dev/null || { echo "crash.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
hc_binary
TMP=$(mktemp -d)
PID=""
trap 'kill -9 "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
hc_start "$TMP/h.db" "$TMP/log" --metrics

# metric NAME: its value in the last /metrics read.
metric() { awk -v n="hitcounter_$1" '$1 == n { print $2 }' "$TMP/metrics"; }

wrk -t2 -c"$CONNECTIONS" -d"$((AFTER + 5))s" -s "$ROOT/bench/crash.lua" "http://$ADDR" >"$TMP/wrk" 2>&1 &
WRK=$!
START=$EPOCHREALTIME
PEAK=0
while :; do
	curl -s "http://$ADDR/metrics" >"$TMP/metrics" || true
	P=$(metric pending_hits)
	((${P:-0} > PEAK)) && PEAK=$P
	awk -v s="$START" -v n="$EPOCHREALTIME" -v a="$AFTER" 'BEGIN { exit !(n - s >= a) }' && break
	sleep 0.2
done
# The last read, then at once the crash.
curl -s "http://$ADDR/metrics" >"$TMP/metrics"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
ELAPSED=$(awk -v s="$START" -v n="$EPOCHREALTIME" 'BEGIN { printf "%.2f", n - s }')
wait "$WRK" || true
COUNTED=$(metric hits_counted_total)
PENDING=$(metric pending_hits)
FLUSHES=$(metric flushes_total)
FLUSH_S=$(metric flush_duration_seconds_total)
OK=$(sed -n 's/^CRASH ok=\([0-9]*\).*/\1/p' "$TMP/wrk")
# Opening the database after the crash folds what the hit log holds.
STORED=$("$HC" export --format csv --db "$TMP/h.db" | awk -F, 'NR > 1 { s += $NF } END { printf "%d\n", s }')
LOST=$((COUNTED - STORED))
awk -v c="$COUNTED" -v e="$ELAPSED" -v l="$LOST" -v ok="$OK" -v st="$STORED" -v p="$PENDING" -v peak="$PEAK" \
	-v f="$FLUSHES" -v fs="$FLUSH_S" 'BEGIN {
	rate = c / e
	printf "crash: kill -9 after %s s of new URLs (one per request)\n", e
	printf "counted %d (%.0f/s), answered 200 by the end %d, stored %d\n", c, rate, ok, st
	printf "lost: %d counted hits = %.2f s of the flood (answered 200, not stored: %d); pending_hits at the last read %d, largest %d\n", l, l / rate, ok - st, p, peak
	printf "writes: %d, mean %.1f ms\n", f, (f > 0) ? fs * 1000 / f : 0
}'
