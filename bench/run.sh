#!/usr/bin/env bash
# Benchmark of hitcounter's write path against bare tiny_http servers.
#
# Builds release, starts hitcounter (temporary database, --quiet) and three
# baselines on free loopback ports, each answering a fixed badge and
# counting nothing:
#   baseline    examples/bare.rs, on our tiny_http fork (hitcounter-http), with
#               the bytes of hitcounter's counted badge, answering on each
#               connection's thread under hitcounter's default limits, as
#               hitcounter does: the ratio is the cost of counting;
#   stock-same  bench/bare (`bare-stock --same-bytes`), the same server and
#               bytes on stock tiny_http 0.12.0 from crates.io, unpatched;
#   stock-min   bench/bare (`bare-stock --minimal`), stock tiny_http with a
#               593-byte SVG and only a Content-Type header.
# A fourth, the ceiling, for the main run: nginx (2 workers, no access log,
# keep-alive without a request cap) sending hitcounter's counted badge from
# memory (`return 200`), its status, headers and body captured from the
# running hitcounter (123 counted requests for a URL of its own, so its
# count has as many digits as examples/bare's; check_totals counts them).
# It drives wrk (2 threads, 32 connections, bench/urls.lua spreading
# requests over 1000 URLs) against /count/tag.svg (no cookies),
# /nocount/tag.svg and /count, interleaving baseline runs so machine noise
# hits all. Each round runs: baseline, nocount-svg, baseline, count-text,
# baseline, stock-same, stock-min, nginx, count-svg, nginx, stock-min,
# stock-same (and one baseline after the last round), so the counted badge
# sits between runs of each baseline. A test run's ratio to a baseline is against the mean of
# that baseline's nearest runs before and after it. Each stock run is
# preceded by a priming: 40 keep-alive connections opened one after
# another, each answered, then closed, so that stock tiny_http's pool has a
# thread for each of wrk's connections. Without it, its pool bug (fixed in
# our fork: crates/hitcounter-http/CHANGELOG.md, "Thread pool") leaves some of
# wrk's connections unserved for a whole run whenever the pool's extra
# threads have died (5 s idle): measured 5,000-7,000 req/s instead of
# 25,000-30,000, which would flatter hitcounter (see --no-prime).
# After a clean shutdown (SIGTERM) it checks that the database total equals
# the number of 2xx counted responses. A scale run repeats the counted badge
# over a database pre-filled with 1,000,000 counters (rounds of baseline,
# stock-same, count-svg, stock-same). Last, one CGI hit (process start to
# exit, default policy, a browser's User-Agent) 200 times, interleaved with
# /bin/true and `hitcounter --version` spawned the same way: their medians
# and the hit's difference to each. Three target blocks end the report:
# the original ones, those against the stock baselines (medians over the
# rounds; use --rounds 3 or more for those) and the ratio to nginx (each
# round's and the median; use --rounds 5).
#
# With --postgres, bench/postgres.sh runs instead: one instance on SQLite
# against one and two on PostgreSQL (see its head for its options).
#
# Usage: bench/run.sh [--quick] [--duration S] [--rounds N]
#                     [--scale | --no-scale] [--workers N]
#                     [--flush-interval MS] [--no-build] [--hitcounter PATH]
#                     [--hc-args "ARGS"] [--no-prime] [--cgi-only]
#   --quick        3 s runs (a smoke run); default 10 s (--duration S)
#   --rounds N     repeat the rounds N times (default 1); the targets use
#                  the median ratio and p99 over the rounds (the stock
#                  baseline targets want N >= 3)
#   --scale        only the 1,000,000-counter run; --no-scale: skip it
#   --cgi-only     only the CGI hits (builds only hitcounter; no wrk)
#   --hitcounter   benchmark another hitcounter binary (still builds the
#                  baselines)
#   --no-build     use the binaries already built: target/release/hitcounter,
#                  target/release/examples/bare and
#                  target/bench-bare/release/bare-stock
#   --hc-args      more hitcounter serve options; default "--dedup off
#                  --count-bots --rate-limit 0 --new-counters-per-hour 0"
#                  (wrk is one client: with the default policy and limits
#                  nearly every request would be a repeat or over a limit).
#                  With any other policy the database is not compared with
#                  the responses (many are deliberately not counted).
#   --no-prime     stock runs without the priming (stock tiny_http as a
#                  fresh client burst finds it: bimodal throughput)
# Exit status: 0 when no hit was lost or added; 1 otherwise or on failure
# (then the servers' warning lines are printed and the temporary directory
# is kept).
# It is a measurement, not a test: the throughput targets are reported as
# met or not met but do not change the exit status.

set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
LUA="$ROOT/bench/urls.lua"
COMMAND_LINE="bench/run.sh${*:+ $*}"

DURATION=10
WORKERS=16
FLUSH_ARGS=()
HC_ARGS=(--dedup off --count-bots --rate-limit 0 --new-counters-per-hour 0)
PART=all # all | main | scale | cgi
BUILD=1
HC_OVERRIDE=""
ROUNDS=1
STARTS=5
THREADS=2
CONNECTIONS=32
KEYS=1000
SCALE_KEYS=1000000
SCALE_START_COUNT=1000
PRIME=1
PRIME_CONNECTIONS=40

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
	exit "${1:-0}"
}

die() {
	printf 'run.sh: %s\n' "$*" >&2
	exit 1
}

while (($# > 0)); do
	case $1 in
	--quick) DURATION=3 ;;
	--duration)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--duration needs whole seconds"
		DURATION=$2
		shift
		;;
	--rounds)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--rounds needs a number"
		ROUNDS=$2
		shift
		;;
	--workers)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "--workers needs a number"
		WORKERS=$2
		shift
		;;
	--flush-interval)
		[[ ${2:-} =~ ^[0-9]+$ ]] || die "--flush-interval needs milliseconds"
		FLUSH_ARGS=(--flush-interval "$2")
		shift
		;;
	--postgres)
		# PostgreSQL against SQLite: a script of its own (see its head).
		shift
		exec "$ROOT/bench/postgres.sh" "$@"
		;;
	--scale) PART=scale ;;
	--cgi-only) PART=cgi ;;
	--no-scale) PART=main ;;
	--no-build) BUILD=0 ;;
	--no-prime) PRIME=0 ;;
	--hc-args)
		read -r -a HC_ARGS <<<"${2:-}"
		shift
		;;
	--hitcounter)
		[[ -n ${2:-} ]] || die "--hitcounter needs a path"
		HC_OVERRIDE=$2
		shift
		;;
	-h | --help) usage 0 ;;
	*) printf 'run.sh: unknown argument %s\n' "$1" >&2 && usage 2 ;;
	esac
	shift
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
HC=${HC_OVERRIDE:-$TARGET_DIR/release/hitcounter}
BARE="$TARGET_DIR/release/examples/bare"
# The stock baselines: a project of their own (bench/bare), own target dir.
STOCK_TARGET_DIR="$TARGET_DIR/bench-bare"
STOCK="$STOCK_TARGET_DIR/release/bare-stock"

# ---------------------------------------------------------------- helpers

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hitcounter-bench.XXXXXX")
PIDS=()

cleanup() {
	local pid
	for pid in "${PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
		fi
	done
	if [[ -n ${KEEP_TMP:-} ]]; then echo "kept $TMP" >&2; else rm -rf -- "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A 1 ms pause without forking: a read with a timeout on a FIFO nobody writes.
mkfifo "$TMP/pause"
exec {PAUSE_FD}<>"$TMP/pause"
pause() { read -r -t 0.001 -u "$PAUSE_FD" _ || true; }

# Microseconds since the epoch, in $NOW, without forking.
now() { NOW=${EPOCHREALTIME//[!0-9]/}; }

# One HTTP/1.1 GET over bash's /dev/tcp; succeeds on a 200 status line.
probe() {
	local addr=$1 path=$2 fd line=""
	exec {fd}<>"/dev/tcp/${addr%:*}/${addr##*:}" || return 1
	printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$addr" >&"$fd" || true
	IFS= read -r -t 2 -u "$fd" line || true
	exec {fd}>&-
	[[ $line == "HTTP/1.1 200"* ]]
}

# The address from a "... listening on http://ADDR ..." line, in $ADDR.
read_addr() {
	local line
	ADDR=""
	while IFS= read -r line; do
		if [[ $line =~ listening\ on\ http://([^ ]+) ]]; then
			ADDR=${BASH_REMATCH[1]}
			return 0
		fi
	done <"$1"
	return 1
}

# start_server LOG PROBE_PATH CMD...: starts CMD in the background and polls
# (every ~1 ms, at most 10 s) until PROBE_PATH answers 200. Sets SRV_PID,
# SRV_ADDR and SRV_START_US (process start to first served request).
start_server() {
	local log=$1 path=$2 t0 deadline
	shift 2
	: >"$log"
	now
	t0=$NOW
	deadline=$((t0 + 10000000))
	"$@" 2>"$log" &
	SRV_PID=$!
	PIDS+=("$SRV_PID")
	ADDR=""
	while :; do
		if [[ -n $ADDR ]] || read_addr "$log"; then
			if probe "$ADDR" "$path" 2>/dev/null; then
				break
			fi
		fi
		kill -0 "$SRV_PID" 2>/dev/null || die "server exited at start: $(cat "$log")"
		now
		((NOW < deadline)) || die "server did not answer within 10 s: $(cat "$log")"
		pause
	done
	now
	SRV_START_US=$((NOW - t0))
	SRV_ADDR=$ADDR
}

# stop_server PID: SIGTERM, wait at most 60 s, return the exit status.
stop_server() {
	local pid=$1 i rc=0
	kill -TERM "$pid"
	for ((i = 0; i < 60000; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		pause
	done
	kill -0 "$pid" 2>/dev/null && die "server $pid still running 60 s after SIGTERM"
	wait "$pid" || rc=$?
	return "$rc"
}

# Peak resident set (VmHWM) of PID in KiB.
peak_rss_kib() {
	local key value _unit
	while read -r key value _unit; do
		if [[ $key == VmHWM: ]]; then
			printf '%s\n' "$value"
			return
		fi
	done <"/proc/$1/status"
}

# Sum of all counts, read through the product's own export.
db_total() {
	"$HC" export --format csv --db "$1" | awk -F, 'NR > 1 { s += $NF } END { printf "%d\n", s }'
}

load1() {
	local l _rest
	read -r l _rest </proc/loadavg
	printf '%s\n' "$l"
}

ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }

RESULTS="$TMP/results.tsv"
: >"$RESULTS"
RUN=0

CLK_TCK=$(getconf CLK_TCK)

# CPU time (user + system, in clock ticks) used so far by PID, in $TICKS;
# PID may be a comma-separated list (nginx's workers), whose times add up.
cpu_ticks() {
	local line f pid
	TICKS=0
	for pid in ${1//,/ }; do
		read -r line <"/proc/$pid/stat"
		read -ra f <<<"${line##*) }"
		TICKS=$((TICKS + f[11] + f[12]))
	done
}

# bench PART KIND LABEL PID ADDR PATH NKEYS MODE: one wrk run against the
# server PID at ADDR (KIND: test, or the baseline's: base = examples/bare,
# stock = bare-stock --same-bytes, min = bare-stock --minimal); appends a
# row to $RESULTS and sets OK2XX and
# UNANSWERED for the caller. Also records the server's CPU time per
# response, which other load on the machine disturbs less than req/s.
bench() {
	local part=$1 kind=$2 label=$3 pid=$4 addr=$5 path=$6 nkeys=$7 mode=$8 out line kv t0 cpu_us
	local -A r=()
	RUN=$((RUN + 1))
	out="$TMP/wrk-$RUN-$label.txt"
	printf '  run %2d: %-12s %s%s (%s s) ...' "$RUN" "$label" "$path" \
		"$([[ $kind != test ]] && printf ' [%s]' "${BASE_NAME[$kind]}")" "$DURATION" >&2
	cpu_ticks "$pid"
	t0=$TICKS
	timeout $((DURATION + 60)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
		-s "$LUA" "http://$addr" -- "$path" "$nkeys" "$mode" >"$out" 2>&1 ||
		die "wrk failed: $(cat "$out")"
	cpu_ticks "$pid"
	line=$(sed -n 's/^BENCH //p' "$out")
	[[ -n $line ]] || die "no result from wrk: $(cat "$out")"
	for kv in $line; do
		r[${kv%%=*}]=${kv#*=}
	done
	cpu_us=$(((TICKS - t0) * 1000000 / CLK_TCK))
	printf ' %s req/s\n' "${r[rps]}" >&2
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$part" "$RUN" "$kind" "$label" "$nkeys" \
		"${r[rps]}" "${r[p50_us]}" "${r[p99_us]}" "${r[ok2xx]}" "${r[non2xx]}" \
		"$((r[socket_errors]))" "${r[unanswered]}" "$(load1)" \
		"$(awk -v c="$cpu_us" -v n="${r[requests]}" 'BEGIN { printf "%.1f", (n > 0) ? c / n : 0 }')" >>"$RESULTS"
	OK2XX=${r[ok2xx]}
	UNANSWERED=${r[unanswered]}
}

# The baselines: their names in the progress lines, and one run of each.
declare -A BASE_NAME=([base]="examples/bare" [stock]="bare-stock --same-bytes" [min]="bare-stock --minimal" [nginx]="nginx return 200")
base_run() { bench "$1" base baseline "$BARE_PID" "$BARE_ADDR" /count/tag.svg "$2" "$3"; }
stock_run() {
	prime "$STOCK_ADDR"
	bench "$1" stock stock-same "$STOCK_PID" "$STOCK_ADDR" /count/tag.svg "$2" "$3"
}
min_run() {
	prime "$MIN_ADDR"
	bench "$1" min stock-min "$MIN_PID" "$MIN_ADDR" /count/tag.svg "$2" "$3"
}
nginx_run() { bench "$1" nginx nginx "$NGINX_WORKERS" "$NGINX_ADDR" /count/tag.svg "$2" "$3"; }

# The ceiling: nginx answering hitcounter's counted badge from memory.
# capture_badge ADDR OUT: sends CAPTURE_HITS counted requests for one URL
# of its own to hitcounter on one keep-alive connection and writes the last
# response (count CAPTURE_HITS, as many digits as examples/bare's 123) to
# OUT, byte for byte. Those hits are in the database: check_totals is told.
CAPTURE_HITS=123
capture_badge() {
	python3 -c "$HTTP_PY"$'\n'"$(
		cat <<'PY'
addr, out, hits = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = addr.rsplit(":", 1)
s = socket.create_connection((host, int(port)), timeout=5)
ua = b"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
buf = b""
for i in range(hits):
    s.sendall(b"GET /count/tag.svg?url=bench.example/nginx HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\n\r\n" % (addr.encode(), ua))
    head, body, buf = read_response(s, buf)
    if not head.startswith(b"HTTP/1.1 200 "):
        sys.exit("not a 200: %r" % head[:40])
open(out, "wb").write(head + b"\r\n\r\n" + body)
PY
	)" "$1" "$2" "$CAPTURE_HITS" || die "capturing hitcounter's badge from $1 failed"
}

# nginx_conf RESPONSE DIR: nginx.conf in DIR answering every request with
# the captured RESPONSE's status, headers and body from memory (`return
# 200`, default_type and add_header; nginx writes Server, Date,
# Content-Length and Connection itself), 2 workers, no access log,
# keep-alive without a request cap; prints the port it listens on.
nginx_conf() {
	python3 - "$1" "$2" <<'PY' || die "writing nginx.conf failed"
import os, socket, sys
raw, d = open(sys.argv[1], "rb").read(), sys.argv[2]
head, body = raw.split(b"\r\n\r\n", 1)
lines = head.decode("ascii").split("\r\n")
assert lines[0].startswith("HTTP/1.1 200 "), lines[0]
def q(v):
    # A quoted nginx string: backslash and quote escaped; "$" would start
    # a variable, and no badge has one.
    if "$" in v:
        sys.exit("a $ in the response: %r" % v[:60])
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
ctype, adds = None, []
for line in lines[1:]:
    name, value = line.split(":", 1)
    value = value.strip()
    low = name.lower()
    if low == "content-type":
        ctype = value
    elif low not in ("server", "date", "content-length", "connection"):
        adds.append("            add_header %s %s always;" % (name, q(value)))
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
conf = """worker_processes 2;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000000;
    keepalive_timeout 3600s;
    tcp_nodelay on;
    client_body_temp_path %(d)s/tmp;
    proxy_temp_path %(d)s/tmp;
    fastcgi_temp_path %(d)s/tmp;
    uwsgi_temp_path %(d)s/tmp;
    scgi_temp_path %(d)s/tmp;
    server {
        listen 127.0.0.1:%(port)d;
        location / {
            default_type %(ctype)s;
%(adds)s
            return 200 %(body)s;
        }
    }
}
""" % {"d": d, "port": port, "ctype": q(ctype), "adds": "\n".join(adds), "body": q(body.decode("utf-8"))}
open(os.path.join(d, "nginx.conf"), "w").write(conf)
print(port)
PY
}

# start_nginx RESPONSE: nginx (master in the foreground, 2 workers) serving
# RESPONSE; sets NGINX_PID (the master), NGINX_WORKERS (the workers' pids,
# comma-separated, whose CPU time bench adds up) and NGINX_ADDR.
start_nginx() {
	local dir="$TMP/nginx" port i
	mkdir -p "$dir/tmp"
	port=$(nginx_conf "$1" "$dir")
	nginx -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>"$dir/test.log" ||
		die "nginx rejects its configuration: $(cat "$dir/test.log")"
	nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" -g 'daemon off;' 2>"$dir/stderr.log" &
	NGINX_PID=$!
	PIDS+=("$NGINX_PID")
	NGINX_ADDR=127.0.0.1:$port
	for ((i = 0; i < 10000; i++)); do
		probe "$NGINX_ADDR" /count/tag.svg 2>/dev/null && break
		kill -0 "$NGINX_PID" 2>/dev/null || die "nginx exited at start: $(cat "$dir/stderr.log" "$dir/error.log")"
		pause
	done
	probe "$NGINX_ADDR" /count/tag.svg 2>/dev/null || die "nginx did not answer within 10 s"
	NGINX_WORKERS=$(pgrep -d, -P "$NGINX_PID") || die "no nginx workers under $NGINX_PID"
}

# Python for the two clients below: read_response(sock, buf) reads one
# HTTP/1.1 response with a Content-Length from sock (buf: bytes already
# read); (head, body, the bytes read past it).
HTTP_PY=$(
	cat <<'PY'
import socket, sys
def read_response(s, buf=b""):
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            sys.exit("closed before the response")
        buf += d
    head, rest = buf.split(b"\r\n\r\n", 1)
    length = [int(l.split(b":", 1)[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0]
    while len(rest) < length:
        d = s.recv(65536)
        if not d:
            sys.exit("closed in the body")
        rest += d
    return head, rest[:length], rest[length:]
PY
)

# prime ADDR: gives a stock server's pool a thread per wrk connection (and
# some): $PRIME_CONNECTIONS keep-alive connections, opened one after
# another, each kept open once its request is answered (so that the next
# finds no idle thread and gets a new one), then all closed. The threads
# then wait 5 s for work before the extra ones exit; wrk starts at once.
prime() {
	((PRIME)) || return 0
	python3 -c "$HTTP_PY"$'\n'"$(
		cat <<'PY'
host, port = sys.argv[1].rsplit(":", 1)
held = []
for i in range(int(sys.argv[2])):
    s = socket.create_connection((host, int(port)), timeout=5)
    s.sendall(b"GET /nocount/tag.svg HTTP/1.1\r\nHost: %s\r\n\r\n" % sys.argv[1].encode())
    read_response(s)
    held.append(s)
for s in held:
    s.close()
PY
	)" "$1" "$PRIME_CONNECTIONS" || die "priming $1 failed"
}

# Warm-up that counts nothing (/nocount), 1 s.
warm() {
	timeout 30 wrk -t"$THREADS" -c"$CONNECTIONS" -d1s -s "$LUA" "http://$1" -- /nocount/tag.svg "$2" "$3" \
		>/dev/null 2>&1 || die "warm-up against $1 failed"
}

# table PART: the runs of one part, each test run with its ratio to each
# baseline: to the mean of that baseline's nearest runs before and after
# it ("-" when the part has no run of it); then, per scenario, the medians
# over the rounds. Writes "label<TAB>median ratio to baseline<TAB>median
# p99 ms<TAB>median ratio to stock-same<TAB>median ratio to stock-min"
# lines to $TMP/summary-PART.tsv for the target lines.
table() {
	awk -F'\t' -v part="$1" -v summary="$TMP/summary-$1.tsv" '
	function median(list,    v, k, i, j, t) {
		k = split(list, v, " ")
		if (k == 0) return "-"
		for (i = 2; i <= k; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
		return (k % 2) ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	}
	# rel(I, KIND): rps of run I over the mean of the nearest KIND runs
	# before and after it, or "-".
	function rel(i, k,    j, s, c) {
		s = 0; c = 0
		for (j = i - 1; j >= 1; j--) if (kind[j] == k) { s += rps[j]; c++; break }
		for (j = i + 1; j <= n; j++) if (kind[j] == k) { s += rps[j]; c++; break }
		return (c > 0 && s > 0) ? sprintf("%.2f", rps[i] / (s / c)) : "-"
	}
	function f2(x) { return (x == "-") ? "-" : sprintf("%.2f", x) }
	$1 == part { n++; kind[n] = $3; label[n] = $4; keys[n] = $5; rps[n] = $6; p50[n] = $7; p99[n] = $8;
	             ok[n] = $9; bad[n] = $10 + $11; load[n] = $13; cpu[n] = $14 }
	END {
		printf "| %-3s | %-12s | %7s | %8s | %8s | %8s | %7s | %8s | %6s | %8s | %9s | %8s | %7s | %5s |\n", \
			"run", "scenario", "keys", "req/s", "p50 ms", "p99 ms", "vs bare", "vs stock", "vs min", "vs nginx", "CPU us/rq", "2xx", "non-2xx", "load"
		printf "|-----|--------------|---------|----------|----------|----------|---------|----------|--------|----------|-----------|----------|---------|-------|\n"
		for (i = 1; i <= n; i++) {
			rb = rs = rm = rn = "-"
			if (kind[i] == "test") {
				rb = rel(i, "base"); rs = rel(i, "stock"); rm = rel(i, "min"); rn = rel(i, "nginx")
				if (!(label[i] in seen)) { seen[label[i]] = 1; order[++m] = label[i] }
				if (rb != "-") rbs[label[i]] = rbs[label[i]] " " rb
				if (rs != "-") rss[label[i]] = rss[label[i]] " " rs
				if (rm != "-") rms[label[i]] = rms[label[i]] " " rm
				if (rn != "-") rns[label[i]] = rns[label[i]] " " rn
				p99s[label[i]] = p99s[label[i]] " " p99[i] / 1000
				rpss[label[i]] = rpss[label[i]] " " rps[i]
				cpus[label[i]] = cpus[label[i]] " " cpu[i]
				runs[label[i]]++
			}
			printf "| %-3d | %-12s | %7s | %8d | %8.2f | %8.2f | %7s | %8s | %6s | %8s | %9.1f | %8d | %7d | %5s |\n", \
				i, label[i], keys[i], rps[i], p50[i] / 1000, p99[i] / 1000, rb, rs, rm, rn, cpu[i], ok[i], bad[i], load[i]
		}
		if (runs[order[1]] > 1) {
			printf "\nMedians over the rounds:\n\n"
			printf "| %-12s | %4s | %8s | %7s | %8s | %6s | %8s | %8s | %9s |\n", "scenario", "runs", "req/s", "vs bare", "vs stock", "vs min", "vs nginx", "p99 ms", "CPU us/rq"
			printf "|--------------|------|----------|---------|----------|--------|----------|----------|-----------|\n"
			for (j = 1; j <= m; j++) {
				l = order[j]
				printf "| %-12s | %4d | %8d | %7s | %8s | %6s | %8s | %8.2f | %9.1f |\n", l, runs[l], median(rpss[l]), \
					f2(median(rbs[l])), f2(median(rss[l])), f2(median(rms[l])), f2(median(rns[l])), median(p99s[l]), median(cpus[l])
			}
		}
		for (j = 1; j <= m; j++) {
			l = order[j]
			printf "%s\t%s\t%.2f\t%s\t%s\t%s\t%s\n", l, f2(median(rbs[l])), median(p99s[l]), f2(median(rss[l])), f2(median(rms[l])), \
				f2(median(rns[l])), rns[l] > summary
		}
	}' "$RESULTS"
}

# ratio_of PART LABEL / p99_of PART LABEL: medians for the target lines;
# stock_ratio_of and min_ratio_of: against stock-same and stock-min.
ratio_of() { awk -F'\t' -v want="$2" '$1 == want { print $2; exit }' "$TMP/summary-$1.tsv"; }
p99_of() { awk -F'\t' -v want="$2" '$1 == want { print $3; exit }' "$TMP/summary-$1.tsv"; }
stock_ratio_of() { awk -F'\t' -v want="$2" '$1 == want { print $4; exit }' "$TMP/summary-$1.tsv"; }
min_ratio_of() { awk -F'\t' -v want="$2" '$1 == want { print $5; exit }' "$TMP/summary-$1.tsv"; }
# nginx_ratio_of PART LABEL: the median ratio to nginx; nginx_rounds_of:
# the ratio of each round.
nginx_ratio_of() { awk -F'\t' -v want="$2" '$1 == want { print $6; exit }' "$TMP/summary-$1.tsv"; }
nginx_rounds_of() { awk -F'\t' -v want="$2" '$1 == want { sub(/^ /, "", $7); print $7; exit }' "$TMP/summary-$1.tsv"; }

# start_hitcounter NAME DB: starts hitcounter $STARTS times on DB, timing
# process start to first served request (/nocount, so nothing is counted);
# every start but the last is stopped with SIGTERM, the last stays up.
# Sets HC_PID, HC_ADDR, START_FIRST_US, START_MEDIAN_US and START_MAX_US.
start_hitcounter() {
	local name=$1 db=$2 i rc times=()
	for ((i = 1; i <= STARTS; i++)); do
		start_server "$TMP/$name-$i.log" "/nocount/tag.svg?url=bench.example/p1" \
			"$HC" serve --listen 127.0.0.1:0 --db "$db" --quiet --workers "$WORKERS" "${FLUSH_ARGS[@]}" "${HC_ARGS[@]}"
		times+=("$SRV_START_US")
		if ((i < STARTS)); then
			rc=0
			stop_server "$SRV_PID" || rc=$?
			((rc == 0)) || die "hitcounter exited with status $rc on SIGTERM: $(cat "$TMP/$name-$i.log")"
		fi
	done
	HC_PID=$SRV_PID
	HC_ADDR=$SRV_ADDR
	START_FIRST_US=${times[0]}
	read -r START_MEDIAN_US START_MAX_US < <(printf '%s\n' "${times[@]}" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[NR] }')
}

# start_line: what start_hitcounter measured, as one line.
start_line() {
	printf 'start to first served request: first start %s ms, median of %d starts %s ms, max %s ms\n' \
		"$(ms "$START_FIRST_US")" "$STARTS" "$(ms "$START_MEDIAN_US")" "$(ms "$START_MAX_US")"
}

kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# verdict VALUE OP LIMIT: "met" or "NOT met" ("no data" for "-").
verdict() {
	if [[ $1 == - ]]; then
		printf 'no data'
	elif awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { exit !((op == "ge") ? v >= l : v <= l) }'; then
		printf 'met'
	else
		printf 'NOT met'
	fi
}

# check_totals LABEL BEFORE AFTER COUNTED UNANSWERED: compares the database
# with the 2xx counted responses. A request wrk had sent but not seen
# answered when it stopped may have been served (and counted) by the server:
# those may be in the database, so they are reported apart, not as extra.
FAILED=0
check_totals() {
	local label=$1 before=$2 after=$3 counted=$4 unanswered=$5 added lost=0 extra=0 inflight=0
	added=$((after - before))
	if [[ " ${HC_ARGS[*]} " != *" --dedup off "* || " ${HC_ARGS[*]} " != *" --rate-limit 0 "* ]]; then
		printf '%s: database +%d, 2xx responses %d (deduplication on: not compared)\n' "$label" "$added" "$counted"
		return
	fi
	if ((added < counted)); then
		lost=$((counted - added))
	elif ((added > counted + unanswered)); then
		extra=$((added - counted - unanswered))
		inflight=$unanswered
	else
		inflight=$((added - counted))
	fi
	printf '%s: database +%d, 2xx counted responses %d; in flight when wrk stopped: %d (counted by the server: %d)\n' \
		"$label" "$added" "$counted" "$unanswered" "$inflight"
	printf 'lost: %d extra: %d\n' "$lost" "$extra"
	if ((lost != 0 || extra != 0)); then
		FAILED=1
	fi
}

# ---------------------------------------------------------------- CGI

# cgi_part: one CGI hit = one process: start, open SQLite, count
# (committed), answer, exit; the default policy, a browser's User-Agent.
# Timed from process start to exit, 200 times on one database, by a small
# Python loop (fork+exec from Python is included, as a web server's would
# be), each hit preceded by /bin/true and `hitcounter --version` spawned the
# same way, so that machine load hits all three alike. Prints the "### CGI"
# block for binary BIN (LABEL names it); sets CGI_MS ("median p90" of the
# hit) and CGI_OVER_TRUE_MS.
cgi_part() {
	local bin=$1 label=$2 db="$TMP/cgi-$RANDOM/hitcounter.db" out total
	mkdir -p "${db%/*}"
	out=$(python3 - "$bin" "$db" <<'PY'
import resource, statistics, subprocess, sys, time
hc, db = sys.argv[1], sys.argv[2]
plain = {"PATH": "/usr/bin:/bin"}
times = {"true": [], "version": [], "hit": []}
cpu = {"true": [], "version": [], "hit": []}
def cpu_ms():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r.ru_utime + r.ru_stime) * 1000
for i in range(200):
    cgi = dict(plain, GATEWAY_INTERFACE="CGI/1.1", REQUEST_METHOD="GET", PATH_INFO="/count/tag.svg",
               QUERY_STRING="url=cgi.bench/p%d" % (i % 10), DATABASE_FILE_PATH=db,
               # A browser: without a User-Agent the hit would be a bot's.
               HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
    for name, argv, env in (("true", ["/bin/true"], plain), ("version", [hc, "--version"], plain), ("hit", [hc], cgi)):
        c, t = cpu_ms(), time.perf_counter()
        out = subprocess.run(argv, env=env, stdout=subprocess.PIPE, check=True).stdout
        times[name].append((time.perf_counter() - t) * 1000)
        cpu[name].append(cpu_ms() - c)
        if name == "hit" and not out.startswith(b"Status: 200"):
            sys.exit("CGI hit failed: %r" % out[:80])
med = {k: statistics.median(v) for k, v in times.items()}
p90 = {k: sorted(v)[int(len(v) * 0.9)] for k, v in times.items()}
cpu = {k: statistics.mean(v) for k, v in cpu.items()}
print("%.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f %.2f" % (med["hit"], p90["hit"], med["true"], p90["true"],
      med["version"], p90["version"], med["hit"] - med["true"], med["hit"] - med["version"],
      cpu["true"], cpu["version"], cpu["hit"]))
PY
	) || die "CGI timing failed"
	local hit hit90 tru tru90 ver ver90 over_true over_version cpu_true cpu_ver cpu_hit
	read -r hit hit90 tru tru90 ver ver90 over_true over_version cpu_true cpu_ver cpu_hit <<<"$out"
	CGI_MS="$hit $hit90"
	CGI_OVER_TRUE_MS=$over_true
	total=$("$bin" get cgi.bench/p0 --db "$db")
	echo "### CGI: $label"
	echo
	echo '```'
	echo "$(stat -c %s "$bin") bytes $bin"
	echo "200 runs of each, interleaved (process start to exit, median / p90; mean CPU time, user + system):"
	printf '  %-34s %6s / %6s ms   CPU %5s ms\n' "/bin/true" "$tru" "$tru90" "$cpu_true" \
		"hitcounter --version" "$ver" "$ver90" "$cpu_ver" "CGI hit (counted, browser agent)" "$hit" "$hit90" "$cpu_hit"
	echo "CGI hit - /bin/true: $over_true ms; CGI hit - hitcounter --version: $over_version ms (medians)"
	echo "cgi.bench/p0 counted $total (expected 20)"
	echo '```'
	echo
	((total == 20)) || FAILED=1
}

# cgi_static: the CGI part again for the static build we publish
# (./build-static.sh writes it to dist/), when one was built; sets
# STATIC_CGI_OVER_TRUE_MS ("-" without one).
cgi_static() {
	local bin
	STATIC_CGI_OVER_TRUE_MS=-
	bin=$(ls -t "$ROOT"/dist/hitcounter-*-"$(uname -m)"-linux 2>/dev/null | head -n 1)
	if [[ -z $bin ]]; then
		echo "(no static build in dist/: ./build-static.sh makes one, and this part measures it too)"
		echo
		return
	fi
	cgi_part "$bin" "the static build (./build-static.sh, what we publish)"
	STATIC_CGI_OVER_TRUE_MS=$CGI_OVER_TRUE_MS
}

# ---------------------------------------------------------------- setup

cd "$ROOT"
if [[ $PART == cgi ]]; then
	if ((BUILD)); then
		echo "building: cargo build --release --bin hitcounter" >&2
		cargo build --release --bin hitcounter >&2 || die "build failed"
	fi
	[[ -x $HC ]] || die "missing $HC (build it or drop --no-build)"
	echo "## hitcounter CGI benchmark"
	echo
	echo '```'
	echo "command:  $COMMAND_LINE"
	echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
	echo "commit:   $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "binary:   $(stat -c %s "$HC") bytes $HC"
	echo '```'
	echo
	cgi_static
	cgi_part "$HC" "cargo build --release"
	printf '%-52s %-22s %s\n' "CGI hit <= 1.5 ms over /bin/true (medians)" "$CGI_OVER_TRUE_MS ms" \
		"$(verdict "$CGI_OVER_TRUE_MS" le 1.5)"
	printf '%-52s %-22s %s\n' "  the same, static build" "$STATIC_CGI_OVER_TRUE_MS ms" \
		"$(verdict "$STATIC_CGI_OVER_TRUE_MS" le 1.5)"
	echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	((FAILED == 0)) || die "CGI hits miscounted"
	exit 0
fi
if ((BUILD)); then
	echo "building: cargo build --release --bin hitcounter --example bare" >&2
	cargo build --release --bin hitcounter --example bare >&2 || die "build failed"
	echo "building: cargo build --release --manifest-path bench/bare/Cargo.toml --target-dir ${STOCK_TARGET_DIR#"$ROOT"/}" >&2
	cargo build --release --manifest-path bench/bare/Cargo.toml --target-dir "$STOCK_TARGET_DIR" >&2 ||
		die "build of bench/bare failed"
fi
[[ -x $HC && -x $BARE ]] || die "missing $HC or $BARE (build them or drop --no-build)"
[[ -x $STOCK ]] || die "missing $STOCK (build bench/bare or drop --no-build)"

if ! command -v wrk >/dev/null 2>&1; then
	echo "installing wrk (apt-get install -y wrk)" >&2
	SUDO=()
	if ((EUID != 0)); then SUDO=(sudo); fi
	"${SUDO[@]}" apt-get install -y wrk >&2 || { "${SUDO[@]}" apt-get update >&2 && "${SUDO[@]}" apt-get install -y wrk >&2; } ||
		die "cannot install wrk"
fi

if [[ $PART != scale ]] && ! command -v nginx >/dev/null 2>&1; then
	echo "installing nginx (apt-get install -y nginx)" >&2
	SUDO=()
	if ((EUID != 0)); then SUDO=(sudo); fi
	"${SUDO[@]}" apt-get install -y nginx >&2 || die "cannot install nginx (the nginx baseline needs it)"
fi

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- src crates Cargo.toml Cargo.lock 2>/dev/null) ]]; then
	COMMIT="$COMMIT + uncommitted changes"
fi
if [[ -n $HC_OVERRIDE ]]; then
	COMMIT="$COMMIT (bench and bare from this tree; hitcounter binary given by --hitcounter)"
fi
BIN_BYTES=$(stat -c %s "$HC")

echo "## hitcounter benchmark"
echo
echo '```'
echo "command:  $COMMAND_LINE"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(nproc) CPUs, ${MODEL:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min) at start"
echo "commit:   $COMMIT"
echo "wrk:      $(wrk -v 2>&1 | head -n1 | cut -d' ' -f1-2), -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency, bench/urls.lua; $ROUNDS round(s)"
echo "servers:  hitcounter serve --quiet --workers $WORKERS${FLUSH_ARGS[*]:+ ${FLUSH_ARGS[*]}}${HC_ARGS[*]:+ ${HC_ARGS[*]}}; examples/bare --workers $WORKERS (hitcounter's 1090-byte badge and headers, TCP_NODELAY)"
echo "stock:    bench/bare on tiny_http 0.12.0 from crates.io (unpatched), --workers $WORKERS, TCP_NODELAY: stock-same = --same-bytes (examples/bare's bytes), stock-min = --minimal (593-byte SVG, Content-Type only); $( ((PRIME)) && echo "pool primed with $PRIME_CONNECTIONS keep-alive connections before each run" || echo "NOT primed (--no-prime)")"
[[ $PART == scale ]] || echo "nginx:    $(nginx -v 2>&1 | sed 's/^nginx version: //'), hitcounter's counted badge captured from it (status line, headers, body; count $CAPTURE_HITS) sent by return 200 with add_header, 2 workers, access_log off, keepalive_requests 1000000000, keepalive_timeout 3600s"
echo "binary:   $BIN_BYTES bytes ($(mib "$BIN_BYTES") MiB) $HC"
echo '```'
echo

start_server "$TMP/bare.log" /count/tag.svg "$BARE" --listen 127.0.0.1:0 --workers "$WORKERS"
BARE_PID=$SRV_PID
BARE_ADDR=$SRV_ADDR
warm "$BARE_ADDR" "$KEYS" cycle
start_server "$TMP/stock-same.log" /count/tag.svg "$STOCK" --same-bytes --listen 127.0.0.1:0 --workers "$WORKERS"
STOCK_PID=$SRV_PID
STOCK_ADDR=$SRV_ADDR
warm "$STOCK_ADDR" "$KEYS" cycle
start_server "$TMP/stock-min.log" /count/tag.svg "$STOCK" --minimal --listen 127.0.0.1:0 --workers "$WORKERS"
MIN_PID=$SRV_PID
MIN_ADDR=$SRV_ADDR
warm "$MIN_ADDR" "$KEYS" cycle

# ---------------------------------------------------------------- main run

if [[ $PART != scale ]]; then
	echo "main run: $KEYS URLs" >&2
	DB="$TMP/main/hitcounter.db"
	mkdir -p "$TMP/main"
	start_hitcounter main "$DB"
	MAIN_START="$(start_line) (new empty database first)"
	capture_badge "$HC_ADDR" "$TMP/badge.http"
	start_nginx "$TMP/badge.http"
	warm "$NGINX_ADDR" "$KEYS" cycle
	warm "$HC_ADDR" "$KEYS" cycle

	COUNTED=0
	INFLIGHT=0
	# A round: baseline nocount-svg baseline count-text baseline stock-same
	# stock-min nginx count-svg nginx stock-min stock-same; one baseline
	# after the last.
	for ((round = 1; round <= ROUNDS; round++)); do
		for scenario in nocount-svg:/nocount/tag.svg count-text:/count count-svg:/count/tag.svg; do
			label=${scenario%%:*}
			path=${scenario#*:}
			base_run main "$KEYS" cycle
			if [[ $label == count-svg ]]; then
				stock_run main "$KEYS" cycle
				min_run main "$KEYS" cycle
				nginx_run main "$KEYS" cycle
			fi
			bench main test "$label" "$HC_PID" "$HC_ADDR" "$path" "$KEYS" cycle
			if [[ $path == /count* ]]; then
				COUNTED=$((COUNTED + OK2XX))
				INFLIGHT=$((INFLIGHT + UNANSWERED))
			fi
			if [[ $label == count-svg ]]; then
				nginx_run main "$KEYS" cycle
				min_run main "$KEYS" cycle
				stock_run main "$KEYS" cycle
			fi
		done
	done
	base_run main "$KEYS" cycle

	MAIN_RSS_KIB=$(peak_rss_kib "$HC_PID")
	MAIN_RC=0
	stop_server "$HC_PID" || MAIN_RC=$?
	MAIN_TOTAL=$(db_total "$DB")

	echo "### $KEYS URLs"
	echo
	table main
	echo
	echo '```'
	printf '%s\n' "$MAIN_START"
	printf 'peak RSS (VmHWM) %s MiB; exit status after SIGTERM %d\n' "$(kib_mib "$MAIN_RSS_KIB")" "$MAIN_RC"
	# The captured badge's hits are in the database too.
	check_totals "counted runs" "$CAPTURE_HITS" "$MAIN_TOTAL" "$COUNTED" "$INFLIGHT"
	echo '```'
	echo
	((MAIN_RC == 0)) || FAILED=1
fi

# ---------------------------------------------------------------- scale run

if [[ $PART != main ]]; then
	echo "scale run: $SCALE_KEYS counters" >&2
	mkdir -p "$TMP/scale"
	DB2="$TMP/scale/hitcounter.db"
	CSV="$TMP/scale/counters.csv"
	now
	t0=$NOW
	awk -v n="$SCALE_KEYS" -v c="$SCALE_START_COUNT" \
		'BEGIN { print "url,count"; for (i = 1; i <= n; i++) print "bench.example/p" i "," c }' >"$CSV"
	now
	GEN_US=$((NOW - t0))
	t0=$NOW
	"$HC" import "$CSV" --db "$DB2" >"$TMP/import.log" 2>&1 || die "import failed: $(cat "$TMP/import.log")"
	now
	IMPORT_US=$((NOW - t0))
	rm -f -- "$CSV"
	BEFORE=$(db_total "$DB2")
	DB2_BYTES=$(stat -c %s "$DB2")

	start_hitcounter scale "$DB2"
	HC2_PID=$HC_PID
	HC2_ADDR=$HC_ADDR
	SCALE_START_FIRST_US=$START_FIRST_US
	SCALE_START_MEDIAN_US=$START_MEDIAN_US
	SCALE_START="$(start_line) (freshly imported database first)"
	warm "$HC2_ADDR" "$SCALE_KEYS" random

	SCALE_COUNTED=0
	SCALE_INFLIGHT=0
	# A round: baseline stock-same count-svg stock-same; one baseline after
	# the last.
	for ((round = 1; round <= ROUNDS; round++)); do
		base_run scale "$SCALE_KEYS" random
		stock_run scale "$SCALE_KEYS" random
		bench scale test count-svg "$HC2_PID" "$HC2_ADDR" /count/tag.svg "$SCALE_KEYS" random
		SCALE_COUNTED=$((SCALE_COUNTED + OK2XX))
		SCALE_INFLIGHT=$((SCALE_INFLIGHT + UNANSWERED))
		stock_run scale "$SCALE_KEYS" random
	done
	base_run scale "$SCALE_KEYS" random

	SCALE_RSS_KIB=$(peak_rss_kib "$HC2_PID")
	SCALE_RC=0
	stop_server "$HC2_PID" || SCALE_RC=$?
	AFTER=$(db_total "$DB2")

	echo "### $SCALE_KEYS counters (random key per request)"
	echo
	table scale
	echo
	echo '```'
	printf 'CSV generated in %s ms; import of %d rows %s ms; database %s MiB\n' \
		"$(ms "$GEN_US")" "$SCALE_KEYS" "$(ms "$IMPORT_US")" "$(mib "$DB2_BYTES")"
	printf '%s\n' "$SCALE_START"
	printf 'peak RSS (VmHWM) %s MiB; exit status after SIGTERM %d\n' "$(kib_mib "$SCALE_RSS_KIB")" "$SCALE_RC"
	check_totals "counted run" "$BEFORE" "$AFTER" "$SCALE_COUNTED" "$SCALE_INFLIGHT"
	echo '```'
	echo
	((SCALE_RC == 0)) || FAILED=1
fi

BARE_RSS_KIB=$(peak_rss_kib "$BARE_PID")
STOCK_RSS_KIB=$(peak_rss_kib "$STOCK_PID")
MIN_RSS_KIB=$(peak_rss_kib "$MIN_PID")

# ---------------------------------------------------------------- CGI

cgi_static
cgi_part "$HC" "cargo build --release"

# ---------------------------------------------------------------- targets

echo "### Targets (issue 3)"
echo
echo '```'
if [[ $PART != scale ]]; then
	ratio=$(ratio_of main count-svg)
	p=$(p99_of main count-svg)
	printf '%-52s %-22s %s\n' "counted /count/tag.svg >= 0.90 x baseline" "$ratio" "$(verdict "$ratio" ge 0.90)"
	printf '%-52s %-22s %s\n' "counted /count/tag.svg p99 <= 5 ms" "$p ms" "$(verdict "$p" le 5)"
	v=$(kib_mib "$MAIN_RSS_KIB")
	printf '%-52s %-22s %s\n' "peak RSS with $KEYS URLs <= 20 MB" "$v MiB" "$(verdict $((MAIN_RSS_KIB * 1024)) le 20000000)"
fi
if [[ $PART != main ]]; then
	ratio=$(ratio_of scale count-svg)
	printf '%-52s %-22s %s\n' "1M counters: counted badge >= 0.80 x baseline" "$ratio" "$(verdict "$ratio" ge 0.80)"
	v=$(kib_mib "$SCALE_RSS_KIB")
	printf '%-52s %-22s %s\n' "1M counters: peak RSS <= 100 MB" "$v MiB" "$(verdict $((SCALE_RSS_KIB * 1024)) le 100000000)"
	printf '%-52s %-22s %s\n' "1M counters: peak RSS <= 64 MiB" "$v MiB" "$(verdict "$SCALE_RSS_KIB" le 65536)"
	v=$(ms "$SCALE_START_FIRST_US")
	printf '%-52s %-22s %s\n' "1M counters: start to first request <= 50 ms (first)" "$v ms" "$(verdict "$v" le 50)"
	v=$(ms "$SCALE_START_MEDIAN_US")
	printf '%-52s %-22s %s\n' "1M counters: start to first request <= 50 ms (median)" "$v ms" "$(verdict "$v" le 50)"
	printf '%-52s %-22s %s\n' "1M counters: p99 of the counted badge (no target)" "$(p99_of scale count-svg) ms" ""
fi
printf '%-52s %-22s %s\n' "median CGI hit (process start to exit) <= 5 ms" "${CGI_MS% *} ms" "$(verdict "${CGI_MS% *}" le 5)"
printf '%-52s %-22s %s\n' "CGI hit <= 1.5 ms over /bin/true (medians)" "$CGI_OVER_TRUE_MS ms" "$(verdict "$CGI_OVER_TRUE_MS" le 1.5)"
printf '%-52s %-22s %s\n' "  the same, static build" "$STATIC_CGI_OVER_TRUE_MS ms" "$(verdict "$STATIC_CGI_OVER_TRUE_MS" le 1.5)"
v="$(awk -v b="$BIN_BYTES" 'BEGIN { printf "%.2f", b / 1e6 }') MB = $(mib "$BIN_BYTES") MiB"
printf '%-52s %-22s %s\n' "release binary <= 3 MB (3,000,000 bytes)" "$v" "$(verdict "$BIN_BYTES" le 3000000)"
printf '%-52s %-22s %s\n' "(baseline peak RSS, for comparison)" "$(kib_mib "$BARE_RSS_KIB") MiB" ""
echo '```'
echo

# The same targets against stock tiny_http 0.12.0 (bench/bare), from the
# medians over the rounds.
echo "### Targets (stock tiny_http 0.12.0 baselines)"
echo
echo '```'
if [[ $PART != scale ]]; then
	ratio=$(stock_ratio_of main count-svg)
	printf '%-52s %-22s %s\n' "counted /count/tag.svg >= 1.00 x stock-same" "$ratio" "$(verdict "$ratio" ge 1.00)"
	ratio=$(min_ratio_of main count-svg)
	printf '%-52s %-22s %s\n' "counted /count/tag.svg >= 0.90 x stock-min" "$ratio" "$(verdict "$ratio" ge 0.90)"
	p=$(p99_of main count-svg)
	printf '%-52s %-22s %s\n' "counted /count/tag.svg p99 <= 5 ms" "$p ms" "$(verdict "$p" le 5)"
fi
if [[ $PART != main ]]; then
	ratio=$(stock_ratio_of scale count-svg)
	printf '%-52s %-22s %s\n' "1M counters: counted badge >= 0.80 x stock-same" "$ratio" "$(verdict "$ratio" ge 0.80)"
fi
printf '%-52s %-22s %s\n' "(stock peak RSS: stock-same, stock-min)" "$(kib_mib "$STOCK_RSS_KIB"), $(kib_mib "$MIN_RSS_KIB") MiB" ""
if ((ROUNDS < 3)); then
	echo "(medians over $ROUNDS round(s): these targets want --rounds 3 or more)"
fi
echo "load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo '```'

# The ceiling: nginx sending the same badge from memory.
if [[ $PART != scale ]]; then
	echo
	echo "### Target (nginx answering the same badge from memory)"
	echo
	echo '```'
	ratio=$(nginx_ratio_of main count-svg)
	printf '%-52s %-22s %s\n' "counted /count/tag.svg >= 0.55 x nginx (median)" "$ratio" "$(verdict "$ratio" ge 0.55)"
	printf '%-52s %s\n' "  ratio to nginx by round" "$(nginx_rounds_of main count-svg)"
	if ((ROUNDS < 5)); then
		echo "(median over $ROUNDS round(s): this target wants --rounds 5)"
	fi
	echo '```'
fi

if ((FAILED)); then
	echo "run.sh: FAILED: hits lost or added, or a server did not exit cleanly" >&2
	# The servers' own warnings usually say why (e.g. hits "answered but not
	# counted" past --max-pending); the logs are kept for a closer look.
	for f in "$TMP"/main-*.log "$TMP"/scale-*.log; do
		[[ -f $f ]] || continue
		grep -E 'warning|error|not counted|dropped' "$f" | sed "s|^|${f##*/}: |" >&2 || true
	done
	KEEP_TMP=1
	exit 1
fi
