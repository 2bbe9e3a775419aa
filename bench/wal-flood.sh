#!/usr/bin/env bash
# The WAL under the worst write load: every request counts a new ~2 KiB
# URL (bench/wal-flood.lua), so each flush adds thousands of new rows.
# Samples the size of the database's -wal file every 100 ms while wrk runs
# and reports its largest size, the database's growth and the request rate.
#
# Usage: bench/wal-flood.sh [--duration S] [--connections N] [--hitcounter PATH]
# Builds the release binary unless --hitcounter is given.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DURATION=20
CONNECTIONS=32
HC=""
while (($#)); do
	case $1 in
	--duration) DURATION=$2; shift 2 ;;
	--connections) CONNECTIONS=$2; shift 2 ;;
	--hitcounter) HC=$2; shift 2 ;;
	-h | --help) sed -n '2,8p' "$0"; exit 0 ;;
	*) echo "wal-flood.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
command -v wrk >/dev/null || { echo "wal-flood.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
if [[ -z $HC ]]; then
	(cd "$ROOT" && cargo build --release --bin hitcounter >&2)
	HC="$ROOT/target/release/hitcounter"
fi
TMP=$(mktemp -d)
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
"$HC" serve --listen 127.0.0.1:0 --db "$TMP/h.db" --quiet --dedup off --count-bots --rate-limit 0 --new-counters-per-hour 0 2>"$TMP/log" &
PID=$!
for _ in $(seq 100); do
	ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$TMP/log")
	[[ -n $ADDR ]] && break
	sleep 0.05
done
[[ -n ${ADDR:-} ]] || { cat "$TMP/log" >&2; exit 1; }
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/wal-flood.lua" "http://$ADDR" >"$TMP/wrk" 2>&1 &
WRK=$!
MAX=0
while kill -0 "$WRK" 2>/dev/null; do
	W=$(stat -c %s "$TMP/h.db-wal" 2>/dev/null || echo 0)
	((W > MAX)) && MAX=$W
	sleep 0.1
done
kill -TERM "$PID"
wait "$PID" || true
RPS=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk")
DB=$(stat -c %s "$TMP/h.db")
echo "wal-flood: $DURATION s, $CONNECTIONS connections, ~2 KiB new URL per request"
echo "requests/s: $RPS"
echo "largest WAL: $((MAX / 1024 / 1024)) MiB ($MAX bytes)"
echo "database after the run: $((DB / 1024 / 1024)) MiB"
grep -E "warning|error" "$TMP/log" | head -5 || true
