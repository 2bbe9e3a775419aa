#!/usr/bin/env bash
# A full disk under load: hitcounter's database on a small tmpfs that a
# filler file has filled, wrk counting hits on up to 1,000,000 URLs (most
# of them new) for a while, then the filler deleted and the server stopped.
# Reports how many hits were answered 200, how many /metrics says were not
# counted for the pending cap, what the database holds after the stop, and
# the largest WAL. Needs root (mount) and wrk.
#
# Usage: bench/disk-full.sh [--size 32m] [--duration S] [--hitcounter PATH]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIZE=32m
DURATION=10
HC=""
while (($#)); do
	case $1 in
	--size) SIZE=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--hitcounter) HC=$2; shift 2 ;;
	-h | --help) sed -n '2,9p' "$0"; exit 0 ;;
	*) echo "disk-full.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
command -v wrk >/dev/null || { echo "disk-full.sh: needs wrk (apt-get install wrk)" >&2; exit 2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
hc_binary
TMP=$(mktemp -d)
PID=""
FS="$TMP/fs"
mkdir "$FS"
mount -t tmpfs -o "size=$SIZE" tmpfs "$FS" || { echo "disk-full.sh: cannot mount a tmpfs (needs root)" >&2; exit 2; }
trap 'kill "$PID" 2>/dev/null || true; umount -l "$FS"; rm -rf "$TMP"' EXIT
hc_start "$FS/h.db" "$TMP/log" --metrics
sleep 1.5 # the reserve is made
dd if=/dev/zero of="$FS/filler" bs=64k status=none 2>/dev/null || true
sleep 1.5
echo "disk-full: tmpfs $SIZE filled ($(df -h --output=avail "$FS" | tail -1 | tr -d ' ') left); /healthz: $(curl -s "http://$ADDR/healthz")"
wrk -t2 -c32 -d"${DURATION}s" -s "$ROOT/bench/urls.lua" "http://$ADDR" -- /count/tag.svg 1000000 random >"$TMP/wrk" 2>&1 &
MAX=$(wal_peak "$FS/h.db-wal" $!)
OK=$(sed -n 's/.*ok2xx=\([0-9]*\).*/\1/p' "$TMP/wrk")
metric() { curl -s "http://$ADDR/metrics" | awk -v m="$1" '$1 == m {print $2}'; }
CAP=$(metric 'hitcounter_hits_not_counted_total{reason="pending_cap"}')
PENDING=$(metric hitcounter_pending_hits)
echo "while full: $OK hits answered 200 in $DURATION s; pending in memory $PENDING; not counted (pending cap) $CAP; largest WAL $((MAX / 1024)) KiB"
rm -f "$FS/filler"
T0=$(date +%s.%N)
until [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$ADDR/healthz") == 200 ]]; do sleep 0.1; done
echo "space freed: /healthz 200 after $(echo "$(date +%s.%N) - $T0" | bc) s; pending $(metric hitcounter_pending_hits)"
kill -TERM "$PID"
set +e
wait "$PID"
STATUS=$?
set -e
STORED=$("$HC" export --db "$FS/h.db" --format csv | awk -F, 'NR > 1 {s += $NF} END {print s + 0}')
echo "stopped: exit $STATUS; database holds $STORED hits; answered 200 minus not counted: $((OK - CAP))"
grep -E "warning|error|released|recovered" "$TMP/log" | cut -c1-200
