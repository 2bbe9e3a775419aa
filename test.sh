#!/usr/bin/env bash
# The one test command: checks for the tools the integration tests drive for
# real, installs the missing ones (as root, on Debian) or says how, then runs
# the whole test suite with missing tools failing their tests.
#
#   ./test.sh              every test
#   ./test.sh browser      only the tests whose name contains "browser"
#   ./test.sh nginx::      only tests/integration/nginx.rs (a test's name
#                          starts with its file's module; any `cargo test`
#                          arguments pass through)
set -euo pipefail

# What the tests need, one "command:package" pair a line; an entry starting
# with "/" is a file that must exist (a glob pattern may stand for a version
# directory). (The tests read the database with rusqlite; the sqlite3
# command only makes a dump like the original's backups.)
NEEDS=(
	"chromium:chromium"                                             # browser tests
	"chromedriver:chromium-driver"                                  # browser tests
	"/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core" # readable screenshots
	"nginx:nginx"                                                   # reverse-proxy tests
	"apache2:apache2"                                               # CGI tests
	"shellcheck:shellcheck"                                         # install.sh is clean
	"systemd-analyze:systemd"                                       # the unit verifies
	"openssl:openssl"                                               # native TLS certificate
	"curl:curl"                                                     # native TLS client
	"sqlite3:sqlite3"                                               # the original's SQL-dump backups
	"python3:python3"                                               # a second site for cross-site browser tests
	"/usr/lib/postgresql/*/bin/initdb:postgresql"                   # the shared PostgreSQL store
	"psql:postgresql-client"                                        # the tests' view of PostgreSQL
	"musl-gcc:musl-tools"                                           # the static binary (build-static.sh)
	"file:file"                                                     # ... is statically linked
	"script:bsdutils"                                               # a pseudo-terminal for progress tests
)

cd "$(dirname "${BASH_SOURCE[0]}")"

# Daemons live in the sbin directories, which a user's PATH often lacks (the
# tests look there too).
have() {
	case "$1" in
	/*) compgen -G "$1" >/dev/null ;; # a path, or a pattern such as a version directory
	*) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ] ;;
	esac
}

missing=()
for pair in "${NEEDS[@]}"; do
	what="${pair%:*}"
	package="${pair##*:}"
	if ! have "$what" && [[ " ${missing[*]} " != *" $package "* ]]; then
		missing+=("$package")
	fi
done

if [ "${#missing[@]}" -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "test.sh: missing packages: ${missing[*]}" >&2
		echo "Install them with:" >&2
		echo "sudo apt-get install -y --no-install-recommends ${missing[*]}"
		exit 1
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "test.sh: missing packages (Debian names): ${missing[*]}; no apt-get here to install them" >&2
		exit 1
	fi
	echo "test.sh: installing ${missing[*]}" >&2
	# Keep the packages' postinst scripts from starting daemons on port 80;
	# an existing policy is left as it is.
	created_policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created_policy=1
		trap 'rm -f /usr/sbin/policy-rc.d' EXIT
	fi
	# Wait (up to 10 minutes) for another apt or dpkg run to finish.
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
	if [ -n "$created_policy" ]; then
		rm -f /usr/sbin/policy-rc.d
		trap - EXIT
	fi
fi

if ! command -v cargo >/dev/null 2>&1; then
	echo "test.sh: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
	exit 1
fi

# An S3-compatible server that checks SigV4 signatures, for the backup
# tests. A crate, not a Debian package; newer versions need a newer rustc.
# Built once (about 3 minutes on 2 cores) into ~/.cargo/bin.
S3S_FS_VERSION=0.14.1
if ! command -v s3s-fs >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/s3s-fs" ]; then
	echo "test.sh: installing s3s-fs $S3S_FS_VERSION (cargo install)" >&2
	cargo install -q "s3s-fs@$S3S_FS_VERSION" --locked --features binary
fi
export PATH="$PATH:$HOME/.cargo/bin"

# Every tool is there now: with CI set, a test whose tool is missing fails
# instead of skipping itself; and the browser tests are not skipped.
export CI=1
unset HITCOUNTER_SKIP_BROWSER

# The HTTP server's own unit tests (crates/hitcounter-http: request
# parsing, framing, deadlines), then the project's.
if [ $# -eq 0 ]; then
	cargo test -q -p hitcounter-http --all-features --lib
fi
cargo test --all-features "$@"
