# Shared by bench/wal-flood.sh, bench/crash.sh, bench/disk-full.sh and bench/postgres.sh (sourced, not run):
# the hitcounter binary, a server started for wrk's single client, and
# sampling the WAL while wrk runs.

# Sets HC to the release binary, building it, unless HC is already set.
hc_binary() {
	if [[ -z ${HC:-} ]]; then
		(cd "$ROOT" && cargo build --release --bin hitcounter >&2)
		HC="$ROOT/target/release/hitcounter"
	fi
}

# hc_start DB LOG [ARGS...]: starts `hitcounter serve` on a free loopback
# port with no deduplication and no per-client limits (wrk is one client),
# logging to LOG; sets PID and ADDR once it listens, or exits 1.
hc_start() {
	local db=$1 log=$2
	shift 2
	# Made here, not by the background job's redirection: the loop below
	# may read it before the job has started.
	: >"$log"
	"$HC" serve --listen 127.0.0.1:0 --db "$db" --quiet --dedup off --count-bots \
		--rate-limit 0 --new-counters-per-hour 0 "$@" 2>"$log" &
	PID=$!
	ADDR=""
	for _ in $(seq 100); do
		ADDR=$(sed -n 's/.*listening on http:\/\/\([^ ]*\).*/\1/p' "$log")
		[[ -n $ADDR ]] && return 0
		sleep 0.05
	done
	cat "$log" >&2
	exit 1
}

# wal_peak WAL PID: the largest size of the file WAL, sampled every 0.1 s
# while process PID runs.
wal_peak() {
	local wal=$1 pid=$2 max=0 w
	while kill -0 "$pid" 2>/dev/null; do
		w=$(stat -c %s "$wal" 2>/dev/null || echo 0)
		((w > max)) && max=$w
		sleep 0.1
	done
	echo "$max"
}
