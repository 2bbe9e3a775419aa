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
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
hc_binary
TMP=$(mktemp -d)
PID=""
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT
hc_start "$TMP/h.db" "$TMP/log"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$ROOT/bench/wal-flood.lua" "http://$ADDR" >"$TMP/wrk" 2>&1 &
MAX=$(wal_peak "$TMP/h.db-wal" $!)
kill -TERM "$PID"
wait "$PID" || true
RPS=$(awk '/Requests\/sec/ {print $2}' "$TMP/wrk")
DB=$(stat -c %s "$TMP/h.db")
echo "wal-flood: $DURATION s, $CONNECTIONS connections, ~2 KiB new URL per request"
echo "requests/s: $RPS"
echo "largest WAL: $((MAX / 1024 / 1024)) MiB ($MAX bytes)"
echo "database after the run: $((DB / 1024 / 1024)) MiB"
grep -E "warning|error" "$TMP/log" | head -5 || true
