#!/usr/bin/env bash
# The memory of the table of clients behind --new-counters-per-hour at its
# cap (MAX_CLIENTS, 100,000). A server with --trust-proxy gets CLIENTS
# requests, every one from a new address (X-Forwarded-For, 10.x.y.z) for a
# new URL: the table fills to its cap and the rest share the overflow
# budget. A second server, with the limit off (no table), gets as many new
# clients as the first stored counters. The difference of their resident
# memory afterwards is the table.
#
# Usage: bench/clients-memory.sh [--clients N] [--hitcounter PATH]
# Builds the release binary unless --hitcounter is given. Needs python3.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLIENTS=120000
HC=""
while (($#)); do
	case $1 in
	--clients) CLIENTS=$2; shift 2 ;;
	--hitcounter) HC=$2; shift 2 ;;
	-h | --help) sed -n '2,13p' "$0"; exit 0 ;;
	*) echo "clients-memory.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
hc_binary
TMP=$(mktemp -d)
PID=""
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$TMP"' EXIT

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

# flood ADDR: CLIENTS requests pipelined in batches of 100 on 4 keep-alive
# connections, each from a new address, each for a new URL; prints how
# many were answered 200.
flood() {
	python3 - "$1" "$CLIENTS" <<'PY'
import socket, sys, threading
addr, total = sys.argv[1], int(sys.argv[2])
host, port = addr.rsplit(":", 1)
ok = [0] * 4
def run(t):
    s = socket.create_connection((host, int(port)), timeout=60)
    mine = list(range(t, total, 4))
    for b in range(0, len(mine), 100):
        batch = mine[b:b + 100]
        req = b"".join(
            f"GET /count?url=clients.example/{i} HTTP/1.1\r\nHost: {addr}\r\n"
            f"X-Forwarded-For: 10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}\r\n\r\n".encode()
            for i in batch)
        s.sendall(req)
        got = b""
        while got.count(b"HTTP/1.1 ") < len(batch):
            chunk = s.recv(65536)
            if not chunk:
                raise SystemExit("connection closed")
            got += chunk
        ok[t] += got.count(b"HTTP/1.1 200")
threads = [threading.Thread(target=run, args=(t,)) for t in range(4)]
[t.start() for t in threads]
[t.join() for t in threads]
print(sum(ok))
PY
}

# measure PER_HOUR N: starts a server, sends it N new clients, prints
# "RSS_BEFORE RSS_AFTER ANSWERED REFUSED" (REFUSED: new counters refused).
measure() {
	rm -f "$TMP"/h.db*
	hc_start "$TMP/h.db" "$TMP/log" --trust-proxy --new-counters-per-hour "$1" --metrics
	local before after answered refused
	before=$(rss_kib "$PID")
	answered=$(CLIENTS=$2 flood "$ADDR")
	after=$(rss_kib "$PID")
	refused=$(curl -s "http://$ADDR/metrics" | sed -n 's/.*reason="new_counters"} //p')
	kill -TERM "$PID"
	wait "$PID" || true
	echo "$before $after $answered ${refused:-0}"
}

# The same counters in both: the run without the table gets as many new
# clients as the run with it stored counters.
read -r ON_BEFORE ON_AFTER ON_OK ON_REFUSED < <(measure 1000 "$CLIENTS")
read -r OFF_BEFORE OFF_AFTER OFF_OK _ < <(measure 0 $((CLIENTS - ON_REFUSED)))
echo "clients-memory: $CLIENTS new clients, each creating one counter"
echo "limit on  (--new-counters-per-hour 1000): RSS $ON_BEFORE KiB -> $ON_AFTER KiB ($ON_OK answered 200, $((CLIENTS - ON_REFUSED)) counters stored, $ON_REFUSED refused)"
echo "limit off (--new-counters-per-hour 0, $((CLIENTS - ON_REFUSED)) clients): RSS $OFF_BEFORE KiB -> $OFF_AFTER KiB ($OFF_OK answered 200)"
echo "the client table at its cap: $(((ON_AFTER - OFF_AFTER) / 1024)) MiB ($((ON_AFTER - OFF_AFTER)) KiB)"
