#!/bin/sh
# Runs the fuzz targets (cargo-fuzz, libFuzzer; needs a nightly toolchain:
# `rustup toolchain install nightly` and `cargo install cargo-fuzz`).
#   fuzz/run.sh [SECONDS] [TARGET...]   default: 600 seconds, every target
# Each target runs niced, one after the other, on one core; the corpus
# stays in fuzz/corpus/TARGET and a crash in fuzz/artifacts/TARGET.
# Prints each run's last libFuzzer status line (executions) and its result.
set -eu
cd "$(dirname "$0")"
seconds=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-$(cargo +nightly fuzz list)}
mkdir -p logs corpus/dump
# The dump reader starts from a dump like the original's backups.
if [ ! -e corpus/dump/seed.sql ]; then
    cat > corpus/dump/seed.sql <<'SQL'
PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE url (id INTEGER NOT NULL, url VARCHAR(256), count INTEGER, PRIMARY KEY (id));
INSERT INTO url VALUES(1,'example.com/a',10);
INSERT INTO "url" VALUES(2,replace('a\nb','\n',char(10)),-1.5e3); -- comment ' ;
/* block */ INSERT INTO [url] VALUES(3,NULL,NULL);
COMMIT;
SQL
fi
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    log="logs/$t.log"
    if nice cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$seconds" -max_len=4096 >"$log" 2>&1; then
        result="no crash"
    else
        result="CRASH or error: see fuzz/$log and fuzz/artifacts/$t"
        status=1
    fi
    echo "$t: $(grep -E '^(#[0-9]+|Done [0-9]+)' "$log" | tail -n 1) -- $result"
done
exit $status
