#!/bin/sh
# Runs a fuzz target for a while (default: the dump reader, 10 minutes),
# niced, seeded with a real dump, and prints libFuzzer's final stats.
# Usage: fuzz/run.sh [TARGET] [SECONDS]. Needs a nightly toolchain and
# cargo-fuzz (`rustup toolchain install nightly; cargo install cargo-fuzz`).
set -eu
cd "$(dirname "$0")"
target=${1:-dump}
seconds=${2:-600}
mkdir -p "corpus/$target"
if [ "$target" = dump ] && [ ! -e corpus/dump/seed.sql ]; then
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
exec nice -n 19 cargo +nightly fuzz run "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -max_len=4096 -print_final_stats=1
