#!/usr/bin/env bash
# hitcounter under attack: slow and idle connections, stalled TLS handshakes.
#
# Builds release (unless --no-build) and starts target/release/hitcounter
# on a free loopback port (temporary database, --quiet, default limits but
# the two timeouts below), then measures, with an embedded python3 client:
#
#   A (plain HTTP): 1000 slowloris connections (each sends the start of a
#     request head, then one header byte a second) and 1000 idle keep-alive
#     connections (one complete request, its response read, then silence)
#     are held open while a normal client makes 200 sequential requests to
#     /count/tag.svg?url=..., a new connection each: their latency (p50,
#     p99, max; target p99 <= 50 ms). Then how many of the slow and idle
#     connections the server closed, and after how long (slowloris: from
#     the connect, expected ~ --head-timeout, plus up to 2 s during which
#     the server drains input after its 408; idle: from the response,
#     expected ~ --idle-timeout).
#   B (HTTPS, --tls-cert/--tls-key with a self-signed certificate from
#     openssl): 200 TCP connections send the start of a ClientHello and
#     stall, while a normal HTTPS client makes 50 sequential requests (a new
#     connection and full handshake each): their latency and answers; then
#     when the stalled ones were dropped (expected ~ --head-timeout), and,
#     for comparison, 20 connections that sent nothing.
#
# During each scenario the server's VmRSS, VmHWM, thread count and open
# descriptors are sampled from /proc (every 100 ms); the peaks are printed.
# Prints a summary block for BENCHMARKS.md. It is a measurement, not a test:
# the exit status is 0 unless setup fails (build, certificate, server start,
# a client crash).
#
# Usage: bench/attack.sh [--no-build] [--hitcounter PATH]
#                        [--head-timeout S] [--idle-timeout S]
#                        [--slow N] [--idle N]
#   --no-build       use target/release/hitcounter as it is
#   --hitcounter     measure another hitcounter binary (nothing is built)
#   --head-timeout   passed to hitcounter serve; default 10 (its default)
#   --idle-timeout   passed to hitcounter serve; default 15 (its default
#                    is 60; shorter to keep the run short)
#   --slow N, --idle N  connections of each kind in scenario A (1000 each);
#                    the stalled TLS connections of scenario B are 200
# Needs python3, openssl and an open-file limit of a few thousand (the
# script raises its soft limit to the hard one).

set -euo pipefail

ROOT=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd)
COMMAND_LINE="bench/attack.sh${*:+ $*}"

BUILD=1
HC_OVERRIDE=""
HEAD_TIMEOUT=10
IDLE_TIMEOUT=15
SLOW=1000
IDLE=1000
REQUESTS=200
TLS_STALLS=200
TLS_REQUESTS=50
TLS_SILENT=20

usage() {
	awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
	exit "${1:-0}"
}

die() {
	printf 'attack.sh: %s\n' "$*" >&2
	exit 1
}

while (($# > 0)); do
	case $1 in
	--no-build) BUILD=0 ;;
	--hitcounter)
		[[ -n ${2:-} ]] || die "--hitcounter needs a path"
		HC_OVERRIDE=$2
		BUILD=0
		shift
		;;
	--head-timeout | --idle-timeout | --slow | --idle)
		[[ ${2:-} =~ ^[1-9][0-9]*$ ]] || die "$1 needs a positive number"
		case $1 in
		--head-timeout) HEAD_TIMEOUT=$2 ;;
		--idle-timeout) IDLE_TIMEOUT=$2 ;;
		--slow) SLOW=$2 ;;
		--idle) IDLE=$2 ;;
		esac
		shift
		;;
	-h | --help) usage 0 ;;
	*) printf 'attack.sh: unknown argument %s\n' "$1" >&2 && usage 2 ;;
	esac
	shift
done

TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
HC=${HC_OVERRIDE:-$TARGET_DIR/release/hitcounter}

TMP=$(mktemp -d "${TMPDIR:-/tmp}/hitcounter-attack.XXXXXX")
SERVER_PID=""

cleanup() {
	if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	rm -rf -- "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Descriptors: each held connection costs the client one and the server
# two (and a thread). Raise the soft limit to the hard one; the server
# inherits it (its default --max-connections is half of it, at most 10000).
hard=$(ulimit -Hn)
if [[ $hard == unlimited ]]; then hard=65536; fi
ulimit -n "$hard" 2>/dev/null || true
NOFILE=$(ulimit -n)
need=$((2 * (SLOW + IDLE) + 200))
((NOFILE >= need)) || die "open-file limit $NOFILE is below $need (raise it: ulimit -n)"

command -v python3 >/dev/null 2>&1 || die "python3 is needed"
command -v openssl >/dev/null 2>&1 || die "openssl is needed"

cd "$ROOT"
if ((BUILD)); then
	echo "building: cargo build --release --bin hitcounter" >&2
	cargo build --release --bin hitcounter >&2 || die "build failed"
fi
[[ -x $HC ]] || die "missing $HC (build it or drop --no-build)"

# start_hitcounter LOG ARGS...: starts hitcounter serve on a free port and
# waits (at most 10 s) for its "listening on" line. Sets SERVER_PID, ADDR.
start_hitcounter() {
	local log=$1 i line
	shift
	: >"$log"
	"$HC" serve --listen 127.0.0.1:0 --quiet --head-timeout "$HEAD_TIMEOUT" --idle-timeout "$IDLE_TIMEOUT" \
		"$@" 2>"$log" &
	SERVER_PID=$!
	ADDR=""
	for ((i = 0; i < 1000; i++)); do
		while IFS= read -r line; do
			if [[ $line =~ listening\ on\ https?://([^ ]+) ]]; then
				ADDR=${BASH_REMATCH[1]}
				return 0
			fi
		done <"$log"
		kill -0 "$SERVER_PID" 2>/dev/null || die "hitcounter exited at start: $(cat "$log")"
		sleep 0.01
	done
	die "hitcounter did not start within 10 s: $(cat "$log")"
}

# stop_hitcounter: SIGTERM, wait; the exit status in STOP_RC.
stop_hitcounter() {
	STOP_RC=0
	kill -TERM "$SERVER_PID"
	wait "$SERVER_PID" || STOP_RC=$?
	SERVER_PID=""
}

# The client: python3 "$TMP/attack.py" plain|tls ADDR PID [CAFILE]; its
# settings come from the environment. Prints the result lines.
cat >"$TMP/attack.py" <<'PY'
import math, os, queue, resource, selectors, socket, ssl, statistics, sys, threading, time

mode, addr, pid = sys.argv[1], sys.argv[2], int(sys.argv[3])
cafile = sys.argv[4] if len(sys.argv) > 4 else None
host, port = addr.rsplit(":", 1)
port = int(port)
E = os.environ
HEAD, IDLE_T = int(E["HEAD_TIMEOUT"]), int(E["IDLE_TIMEOUT"])
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"

soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def out(line=""):
    print(line, flush=True)


def pct(values, p):
    """Nearest-rank percentile."""
    v = sorted(values)
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]


def ms(s):
    return "%.1f" % (s * 1000)


class Sampler(threading.Thread):
    """The server's VmRSS, VmHWM, Threads and open descriptors every 100 ms."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak = {"VmRSS": 0, "VmHWM": 0, "Threads": 0, "fds": 0}
        self.start_values = None
        self.stop = threading.Event()

    def sample(self):
        got = {}
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM", "Threads"):
                        got[k] = int(v.split()[0])
            got["fds"] = len(os.listdir("/proc/%d/fd" % pid))
        except (FileNotFoundError, ProcessLookupError):
            return None
        for k, v in got.items():
            self.peak[k] = max(self.peak[k], v)
        return got

    def run(self):
        self.start_values = self.sample()
        while not self.stop.wait(0.1):
            self.sample()

    def line(self):
        s, p = self.start_values or {}, self.peak
        return ("server peak: VmRSS %.1f MiB, VmHWM %.1f MiB, %d threads, %d descriptors "
                "(at start: VmRSS %.1f MiB, %d threads, %d descriptors)" % (
                    p["VmRSS"] / 1024, p["VmHWM"] / 1024, p["Threads"], p["fds"],
                    s.get("VmRSS", 0) / 1024, s.get("Threads", 0), s.get("fds", 0)))


class Conn:
    __slots__ = ("kind", "sock", "t0", "t_data", "t_closed", "first", "how")

    def __init__(self, kind, sock, t0):
        self.kind, self.sock, self.t0 = kind, sock, t0
        self.t_data = self.t_closed = None
        self.first = b""
        self.how = ""


class Watcher(threading.Thread):
    """Owns the held connections: notes the first bytes the server sends
    and when it closes them; sends the slowloris drip, one byte a second."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sel = selectors.DefaultSelector()
        self.incoming = queue.SimpleQueue()
        self.conns = []
        self.open = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def add(self, conn):
        self.incoming.put(conn)

    def counts(self):
        with self.lock:
            n = {}
            for c in self.open.values():
                n[c.kind] = n.get(c.kind, 0) + 1
            return n

    def closed(self, c, how, now):
        with self.lock:
            self.open.pop(c.sock.fileno(), None)
        c.t_closed, c.how = now, how
        try:
            self.sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()

    def run(self):
        next_drip = time.monotonic() + 1
        while not self.stop.is_set():
            while True:
                try:
                    c = self.incoming.get_nowait()
                except queue.Empty:
                    break
                c.sock.setblocking(False)
                self.conns.append(c)
                with self.lock:
                    self.open[c.sock.fileno()] = c
                self.sel.register(c.sock, selectors.EVENT_READ, c)
            for key, _ in self.sel.select(0.05):
                c = key.data
                now = time.monotonic()
                try:
                    data = c.sock.recv(65536)
                except BlockingIOError:
                    continue
                except OSError as e:
                    self.closed(c, "reset" if isinstance(e, ConnectionResetError) else type(e).__name__, now)
                    continue
                if not data:
                    self.closed(c, "eof", now)
                elif c.t_data is None:
                    c.t_data, c.first = now, data[:40]
            now = time.monotonic()
            if now >= next_drip:
                next_drip += 1
                with self.lock:
                    drip = [c for c in self.open.values() if c.kind in ("slow",)]
                for c in drip:
                    try:
                        c.sock.send(b"a")
                    except BlockingIOError:
                        pass
                    except OSError as e:
                        self.closed(c, "reset" if isinstance(e, ConnectionResetError) else "send:" + type(e).__name__,
                                    time.monotonic())


def read_response(s):
    """Reads one response with a Content-Length; returns (status, rest)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed before the head")
        buf += d
    head, body = buf.split(b"\r\n\r\n", 1)
    length = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(body) < length:
        d = s.recv(65536)
        if not d:
            raise ConnectionError("closed in the body")
        body += d
    return int(head.split(b" ", 2)[1]), body[length:]


def request_bytes(path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: image/*\r\n\r\n" % (path, addr, UA)).encode()


def normal_requests(n, wrap=None, label="normal"):
    """n sequential requests, a new connection each; (latencies, failures)."""
    lat, failures = [], []
    for i in range(n):
        t = time.perf_counter()
        try:
            s = socket.create_connection((host, port), timeout=10)
            if wrap:
                s = wrap(s)
            with s:
                s.sendall(request_bytes("/count/tag.svg?url=attack.example/%s%d" % (label, i % 10)))
                status, _ = read_response(s)
            if status != 200:
                failures.append("status %d" % status)
                continue
            lat.append(time.perf_counter() - t)
        except Exception as e:  # a failure is a result here
            failures.append("%s: %s" % (type(e).__name__, e))
    return lat, failures


def latency_line(what, lat, failures, target_ms):
    if not lat:
        return "%s: no answer (%d failures: %s)" % (what, len(failures), failures[:3])
    p99 = pct(lat, 99)
    verdict = "met" if p99 * 1000 <= target_ms and not failures else "NOT met"
    return "%s: %d answered, %d failed; p50 %s ms, p99 %s ms, max %s ms (target p99 <= %d ms: %s)" % (
        what, len(lat), len(failures), ms(pct(lat, 50)), ms(p99), ms(max(lat)), target_ms, verdict)


def closed_line(what, conns, since, expected):
    done = [c for c in conns if c.t_closed is not None]
    line = "%s: %d of %d closed by the server" % (what, len(done), len(conns))
    if done:
        ages = [c.t_closed - since(c) for c in done]
        line += "; after min %.1f s, median %.1f s, max %.1f s (expected ~%s)" % (
            min(ages), statistics.median(ages), max(ages), expected)
        hows = {}
        for c in done:
            hows[c.how] = hows.get(c.how, 0) + 1
        line += "; " + ", ".join("%s %d" % kv for kv in sorted(hows.items()))
    return line


def answers_line(conns):
    firsts = {}
    for c in conns:
        key = c.first.split(b"\r\n", 1)[0].decode("latin-1") if c.first else "(nothing)"
        firsts[key] = firsts.get(key, 0) + 1
    return ", ".join("%s: %d" % kv for kv in sorted(firsts.items(), key=lambda kv: -kv[1]))


def wait_closed(watcher, conns, deadline):
    while time.monotonic() < deadline and any(c.t_closed is None for c in conns):
        time.sleep(0.1)


def connect(timeout=10):
    return socket.create_connection((host, port), timeout=timeout)


def scenario_plain():
    nslow, nidle, nreq = int(E["SLOW"]), int(E["IDLE"]), int(E["REQUESTS"])
    sampler, watcher = Sampler(), Watcher()
    sampler.start()
    watcher.start()
    # Warm up (and check) the server: one request.
    lat, failures = normal_requests(1, label="warm")
    if failures:
        sys.exit("the server does not answer: %s" % failures)
    t_start = time.monotonic()
    slow, idle = [], []
    errors = []
    head = ("GET /count/tag.svg?url=attack.example/slow HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nX-Slow: " % (
        addr, UA)).encode()
    for i in range(nslow):
        try:
            s = connect()
            t0 = time.monotonic()
            s.sendall(head)
        except OSError as e:
            errors.append("slow: %s" % e)
            continue
        c = Conn("slow", s, t0)
        slow.append(c)
        watcher.add(c)
    t_slow = time.monotonic() - t_start
    for i in range(nidle):
        try:
            s = connect()
            s.sendall(request_bytes("/count/tag.svg?url=attack.example/idle%d" % (i % 10)))
            status, rest = read_response(s)
            t0 = time.monotonic()
        except (OSError, ConnectionError, ValueError) as e:
            errors.append("idle: %s" % e)
            continue
        if status != 200 or rest:
            errors.append("idle: status %d, %d bytes more" % (status, len(rest)))
        c = Conn("idle", s, t0)
        idle.append(c)
        watcher.add(c)
    t_idle = time.monotonic() - t_start
    time.sleep(0.5)  # the watcher has taken them all
    held_before = watcher.counts()
    t_normal = time.monotonic()
    lat, failures = normal_requests(nreq)
    t_normal_end = time.monotonic()
    held_after = watcher.counts()
    deadline = time.monotonic() + max(HEAD + 3, IDLE_T) + 10
    wait_closed(watcher, slow + idle, deadline)
    watcher.stop.set()
    sampler.stop.set()
    sampler.sample()

    out("A. plain HTTP, %d slowloris + %d idle keep-alive connections; --head-timeout %d --idle-timeout %d"
        % (nslow, nidle, HEAD, IDLE_T))
    out("opened: %d slowloris in %.1f s, %d idle (request answered) by %.1f s%s" % (
        len(slow), t_slow, len(idle), t_idle, "; %d failed to open: %s" % (len(errors), errors[:3]) if errors else ""))
    out("held during the normal requests: at start %d slowloris, %d idle; at end %d slowloris, %d idle (%.1f s)" % (
        held_before.get("slow", 0), held_before.get("idle", 0), held_after.get("slow", 0),
        held_after.get("idle", 0), t_normal_end - t_normal))
    out(latency_line("%d sequential GET /count/tag.svg, new connection each" % nreq, lat, failures, 50))
    if failures:
        out("  failures: %s" % "; ".join(failures[:5]))
    out(sampler.line())
    out(closed_line("slowloris", slow, lambda c: c.t0, "%d s from the connect, + up to 2 s of draining" % HEAD))
    out("  slowloris got: %s" % answers_line(slow))
    with_answer = [c for c in slow if c.t_data is not None]
    if with_answer:
        ages = [c.t_data - c.t0 for c in with_answer]
        out("  answer after: min %.1f s, median %.1f s, max %.1f s" % (
            min(ages), statistics.median(ages), max(ages)))
    out(closed_line("idle", idle, lambda c: c.t0, "%d s from the response" % IDLE_T))
    out("  idle got after their response: %s" % answers_line(idle))


def scenario_tls():
    nstall, nreq = int(E["TLS_STALLS"]), int(E["TLS_REQUESTS"])
    ctx = ssl.create_default_context(cafile=cafile)
    wrap = lambda s: ctx.wrap_socket(s, server_hostname="localhost")
    sampler, watcher = Sampler(), Watcher()
    sampler.start()
    watcher.start()
    lat, failures = normal_requests(1, wrap=wrap, label="warm")
    if failures:
        sys.exit("the HTTPS server does not answer: %s" % failures)
    # A TLS record header announcing a 512-byte handshake message, the
    # ClientHello's type, length and version, and part of its random:
    # the server has to wait for the rest.
    partial = bytes.fromhex("1603010200" "010001fc" "0303") + os.urandom(20)
    stalled, errors = [], []
    t_start = time.monotonic()
    for i in range(nstall):
        try:
            s = connect()
            t0 = time.monotonic()
            s.sendall(partial)
        except OSError as e:
            errors.append(str(e))
            continue
        c = Conn("stall", s, t0)
        stalled.append(c)
        watcher.add(c)
    # For comparison: connections that send nothing at all.
    silent = []
    for i in range(int(E["TLS_SILENT"])):
        try:
            s = connect()
        except OSError as e:
            errors.append(str(e))
            continue
        c = Conn("silent", s, time.monotonic())
        silent.append(c)
        watcher.add(c)
    t_open = time.monotonic() - t_start
    time.sleep(0.3)
    held_before = watcher.counts().get("stall", 0)
    t_normal = time.monotonic()
    lat, failures = normal_requests(nreq, wrap=wrap, label="tls")
    t_normal_end = time.monotonic()
    held_after = watcher.counts().get("stall", 0)
    wait_closed(watcher, stalled + silent, time.monotonic() + 2 * HEAD + 10)
    watcher.stop.set()
    sampler.stop.set()
    sampler.sample()

    out("B. HTTPS, %d connections stalled in the ClientHello (+ %d silent ones, for comparison); --head-timeout %d"
        % (nstall, len(silent), HEAD))
    out("opened: %d in %.1f s%s; held during the normal requests: %d at start, %d at end (%.1f s)" % (
        len(stalled), t_open, "; %d failed: %s" % (len(errors), errors[:3]) if errors else "",
        held_before, held_after, t_normal_end - t_normal))
    out(latency_line("%d sequential HTTPS GET /count/tag.svg, new connection and handshake each" % nreq,
                     lat, failures, 50))
    if failures:
        out("  failures: %s" % "; ".join(failures[:5]))
    out(sampler.line())
    out(closed_line("stalled handshakes", stalled, lambda c: c.t0, "%d s from the connect" % HEAD))
    out("  stalled got: %s" % answers_line(stalled))
    out(closed_line("silent (nothing sent)", silent, lambda c: c.t0, "%d s from the connect" % HEAD))


if mode == "plain":
    scenario_plain()
else:
    scenario_tls()
PY

export HEAD_TIMEOUT IDLE_TIMEOUT SLOW IDLE REQUESTS TLS_STALLS TLS_REQUESTS TLS_SILENT

MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(git -C "$ROOT" status --porcelain -- src crates Cargo.toml Cargo.lock 2>/dev/null) ]]; then
	COMMIT="$COMMIT + uncommitted changes"
fi
[[ -z $HC_OVERRIDE ]] || COMMIT="$COMMIT (hitcounter binary given by --hitcounter)"
T0=$SECONDS

# ---------------------------------------------------------------- A: plain

echo "scenario A: plain HTTP, $SLOW slowloris + $IDLE idle connections (about $((IDLE_TIMEOUT + 15)) s)" >&2
mkdir -p "$TMP/a"
start_hitcounter "$TMP/a/server.log" --db "$TMP/a/hitcounter.db"
python3 "$TMP/attack.py" plain "$ADDR" "$SERVER_PID" >"$TMP/a.txt" || die "scenario A client failed: $(cat "$TMP/a.txt")"
stop_hitcounter
A_RC=$STOP_RC

# ---------------------------------------------------------------- B: TLS

echo "scenario B: HTTPS, $TLS_STALLS stalled handshakes (about $((HEAD_TIMEOUT + 5)) to $((2 * HEAD_TIMEOUT + 10)) s)" >&2
mkdir -p "$TMP/b"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=localhost \
	-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" -keyout "$TMP/b/key.pem" -out "$TMP/b/cert.pem" \
	>"$TMP/b/openssl.log" 2>&1 || die "openssl failed: $(cat "$TMP/b/openssl.log")"
start_hitcounter "$TMP/b/server.log" --db "$TMP/b/hitcounter.db" --tls-cert "$TMP/b/cert.pem" --tls-key "$TMP/b/key.pem"
python3 "$TMP/attack.py" tls "$ADDR" "$SERVER_PID" "$TMP/b/cert.pem" >"$TMP/b.txt" ||
	die "scenario B client failed: $(cat "$TMP/b.txt")"
stop_hitcounter
B_RC=$STOP_RC

# ---------------------------------------------------------------- summary

echo "## hitcounter under attack"
echo
echo '```'
echo "command:  $COMMAND_LINE"
echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
echo "machine:  $(nproc) CPUs, ${MODEL:-unknown CPU}, $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r); open-file limit $NOFILE"
echo "commit:   $COMMIT"
echo "server:   hitcounter serve --quiet --head-timeout $HEAD_TIMEOUT --idle-timeout $IDLE_TIMEOUT (other limits default)"
echo "client:   python3 $(python3 -c 'import platform; print(platform.python_version())'), same machine"
echo '```'
echo
echo '```'
cat "$TMP/a.txt"
echo "exit status after SIGTERM: $A_RC"
echo
cat "$TMP/b.txt"
echo "exit status after SIGTERM: $B_RC"
echo
echo "total time $((SECONDS - T0)) s; load at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo '```'
