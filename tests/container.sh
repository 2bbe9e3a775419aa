#!/usr/bin/env bash
# Builds the Dockerfile with podman and runs the image as a user would:
# the server answers and counts, runs as uid 10001 and owns its /data
# volume, the HEALTHCHECK passes, `podman stop` (10 s) ends it cleanly with
# every hit stored, and a new container on the same volume sees the count.
#
#   tests/container.sh                 build stage from docker.io's rust image
#   tests/container.sh --standin       build stage from a local stand-in
#
# Without a container registry (a sandbox that reaches only package
# registries), --standin makes the build stage's image itself: Debian
# bookworm by debootstrap plus this machine's Rust toolchain (with its musl
# target) and certificate authorities, laid out like the official rust image
# (RUSTUP_HOME, CARGO_HOME, PATH). Everything after FROM is the Dockerfile's
# own.
#
# Needs root and podman with runc (installed with apt-get when missing).
# Slow (a release build inside the container): not part of ./test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

standin=""
case "${1:-}" in
--standin) standin=1 ;;
"") ;;
*) echo "container.sh: unknown argument '$1' (--standin or nothing)" >&2; exit 2 ;;
esac

[ "$(id -u)" -eq 0 ] || { echo "container.sh: run as root (podman, debootstrap)" >&2; exit 1; }
need=()
command -v podman >/dev/null 2>&1 || need+=(podman)
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -z "$standin" ] || command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
if [ "${#need[@]}" -gt 0 ]; then
	echo "container.sh: installing ${need[*]}" >&2
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

work=$(mktemp -d /tmp/hitcounter-container.XXXXXX)
tag="hitcounter-check-$$"
image="localhost/$tag:latest"
name="$tag"
volume="$tag-data"
# The build stage stays behind as an untagged image: remove the ones this
# run made.
dangling() { podman images -q --filter dangling=true 2>/dev/null | sort; }
dangling_before=$(dangling)
cleanup() {
	podman rm -f "$name" >/dev/null 2>&1 || true
	podman volume rm -f "$volume" >/dev/null 2>&1 || true
	podman rmi -f "$image" >/dev/null 2>&1 || true
	comm -13 <(echo "$dangling_before") <(dangling) | xargs -r podman rmi -f >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

# runc and lowered limits: what podman needs in an unprivileged sandbox
# (crun cannot set limits there); harmless elsewhere.
cat >"$work/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
EOF
export CONTAINERS_CONF="$work/containers.conf"

say() { echo "container.sh: $*" >&2; }
fail() {
	say "FAILED: $*"
	podman logs "$name" 2>&1 | tail -n 20 >&2 || true
	exit 1
}

build_args=()
if [ -n "$standin" ]; then
	base="localhost/hitcounter-rust-standin:$(rustc --version | cut -d' ' -f2)"
	if ! podman image exists "$base"; then
		say "making $base (debootstrap + this machine's toolchain)"
		rootfs="$work/rootfs"
		debootstrap --variant=minbase --include=ca-certificates,gcc,libc6-dev,make bookworm "$rootfs" \
			http://deb.debian.org/debian >"$work/debootstrap.log" 2>&1 || { tail "$work/debootstrap.log" >&2; exit 1; }
		# This machine's extra certificate authorities (a TLS-inspecting
		# proxy's, say), so cargo in the build stage reaches crates.io as
		# cargo here does.
		if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
			cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
			chroot "$rootfs" update-ca-certificates >/dev/null
		fi
		toolchain=$(rustc --print sysroot)
		name_tc=$(basename "$toolchain")
		mkdir -p "$rootfs/usr/local/rustup/toolchains/$name_tc" "$rootfs/usr/local/cargo/bin"
		tar -C "$toolchain" --exclude=./share/doc -cf - . | tar -C "$rootfs/usr/local/rustup/toolchains/$name_tc" -xf -
		printf 'version = "12"\ndefault_toolchain = "%s"\nprofile = "minimal"\n' "$name_tc" \
			>"$rootfs/usr/local/rustup/settings.toml"
		cp "$(command -v rustup)" "$rootfs/usr/local/cargo/bin/rustup"
		for proxy in cargo rustc rustdoc; do ln -s rustup "$rootfs/usr/local/cargo/bin/$proxy"; done
		tar -C "$rootfs" -cf - . | podman import \
			--change 'ENV RUSTUP_HOME=/usr/local/rustup' \
			--change 'ENV CARGO_HOME=/usr/local/cargo' \
			--change 'ENV PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
			- "$base" >/dev/null
		rm -rf "$rootfs"
	fi
	build_args+=(--build-arg "RUST_IMAGE=$base")
fi

commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
say "podman build (a release build: several minutes)"
start=$(date +%s)
# The docker format: OCI images have no HEALTHCHECK (podman drops it).
podman build --format docker --network=host "${build_args[@]}" --build-arg "COMMIT=$commit" -t "$image" . >"$work/build.log" 2>&1 ||
	{ tail -n 30 "$work/build.log" >&2; fail "podman build"; }
say "built in $(($(date +%s) - start)) s; image $(podman image inspect --format '{{.Size}}' "$image") bytes"

version=$(podman run --rm --network=none "$image" --version)
say "$version"
case "$version" in *"(commit $commit;"*) ;; *) fail "--version does not name commit $commit: $version" ;; esac

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
podman volume create "$volume" >/dev/null
podman run -d --name "$name" -p "127.0.0.1:$port:8080" -v "$volume:/data" "$image" >/dev/null
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
curl -fs "http://127.0.0.1:$port/healthz" >/dev/null || fail "no answer on port $port"

# A browser's User-Agent: curl's own is a bot's, and bots are not counted.
ua="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120 Safari/537.36"
for i in 1 2 3; do
	curl -fs -A "$ua" "http://127.0.0.1:$port/count/tag.svg?url=container.example%2F$i" | grep -q '<svg' ||
		fail "no badge"
	curl -fs -A "$ua" "http://127.0.0.1:$port/count?url=container.example%2Fsame" >/dev/null
done
[ "$(curl -fs "http://127.0.0.1:$port/nocount?url=container.example%2Fsame")" = 3 ] || fail "count is not 3"

user=$(podman top "$name" user huser | awk 'NR==2 {print $1}')
[ "$user" = hitcounter ] || [ "$user" = 10001 ] || fail "runs as '$user', not uid 10001"
podman healthcheck run "$name" >/dev/null || fail "HEALTHCHECK fails"
[ "$(podman inspect --format '{{.Config.StopSignal}}' "$name")" = 15 ] ||
	[ "$(podman inspect --format '{{.Config.StopSignal}}' "$name")" = SIGTERM ] || fail "STOPSIGNAL is not SIGTERM"

start=$(date +%s%N)
podman stop -t 10 "$name" >/dev/null
took=$((($(date +%s%N) - start) / 1000000))
code=$(podman inspect --format '{{.State.ExitCode}}' "$name")
[ "$code" = 0 ] || fail "exit code $code after podman stop"
podman logs "$name" 2>&1 | grep -q "every counted hit is stored" || fail "no clean-shutdown line"
say "podman stop: clean exit in $took ms"

# The volume holds the database, owned by the container's user; a new
# container (here an admin command) reads the counts.
got=$(podman run --rm --network=none -v "$volume:/data" "$image" get container.example/same)
[ "$got" = 3 ] || fail "a new container reads '$got', not 3"
owner=$(stat -c %u:%g "$(podman volume inspect --format '{{.Mountpoint}}' "$volume")/hitcounter.db")
[ "$owner" = 10001:10001 ] || fail "the database belongs to $owner"

say "OK: built from source, non-root (uid 10001), /data volume, HEALTHCHECK, clean stop in $took ms, count kept"
