#!/usr/bin/env bash
# The portable binary: fully static (musl), stripped, runs on any Linux of
# its architecture whatever its libc. Installs what the build needs when run
# as root on Debian (the rustup target, musl-tools, the aarch64 cross
# compiler), or prints the commands to run.
#
#   ./build-static.sh                    this machine's architecture
#   ./build-static.sh --arch aarch64     64-bit ARM (cross-compiled on x86_64)
#   ./build-static.sh --arch x86_64      x86-64
#   ./build-static.sh --arch all         both
#   ./build-static.sh -- --no-default-features --features s3
#                                        anything after -- goes to cargo build
#                                        (instead of --features postgres)
#
# Writes dist/hitcounter-<version>-<arch>-linux and a .sha256 beside it
# (check with: cd dist && sha256sum -c hitcounter-*.sha256).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

usage() {
	sed -n '2,16s/^# \{0,1\}//p' "$0"
}

# This machine's architecture is the default, and needs no cross compiler.
native=$(uname -m)
case "$native" in
x86_64 | aarch64) arches=("$native") ;;
*) arches=(x86_64) ;;
esac
# What we publish: the default features and PostgreSQL (off in a plain
# `cargo build`, as it brings an async runtime).
cargo_args=(--features postgres)
while [ $# -gt 0 ]; do
	case "$1" in
	--arch)
		[ $# -ge 2 ] || { echo "build-static.sh: --arch needs x86_64, aarch64 or all" >&2; exit 2; }
		case "$2" in
		x86_64 | aarch64) arches=("$2") ;;
		all) arches=(x86_64 aarch64) ;;
		*) echo "build-static.sh: unknown architecture '$2' (x86_64, aarch64 or all)" >&2; exit 2 ;;
		esac
		shift 2
		;;
	-h | --help) usage; exit 0 ;;
	--) shift; cargo_args=("$@"); break ;;
	*) echo "build-static.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
[ -n "$version" ] || { echo "build-static.sh: no version in Cargo.toml" >&2; exit 1; }

# What each architecture needs: the Rust target, a C compiler for the
# bundled SQLite (and ring), and the Debian packages that bring them.
triple_of() { echo "$1-unknown-linux-musl"; }
cross() { [ "$1" != "$native" ]; }
cc_of() {
	if cross "$1"; then echo "$1-linux-gnu-gcc"; else echo musl-gcc; fi
}
packages_of() {
	# A cross build: the cross compiler, and musl's headers and libc of
	# that architecture (multiarch).
	case "$1" in
	"$native") echo musl-tools ;;
	aarch64) echo gcc-aarch64-linux-gnu musl-dev:arm64 ;;
	x86_64) echo gcc-x86-64-linux-gnu musl-dev:amd64 ;;
	esac
}

debian_arch() {
	case "$1" in
	x86_64) echo amd64 ;;
	aarch64) echo arm64 ;;
	esac
}

as_root() { [ "$(id -u)" -eq 0 ]; }

apt_install() {
	if ! as_root || ! command -v apt-get >/dev/null 2>&1; then
		echo "build-static.sh: missing Debian packages: $*" >&2
		echo "Install them with:" >&2
		for package in "$@"; do
		case "$package" in *:*) echo "  sudo dpkg --add-architecture ${package#*:}" >&2 ;; esac
	done
		echo "  sudo apt-get update && sudo apt-get install -y --no-install-recommends $*" >&2
		exit 1
	fi
	for package in "$@"; do
		case "$package" in *:*) dpkg --add-architecture "${package#*:}" ;; esac
	done
	echo "build-static.sh: installing $*" >&2
	apt-get -o DPkg::Lock::Timeout=600 update -qq
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_tools() {
	local arch=$1 triple
	triple=$(triple_of "$arch")
	command -v cargo >/dev/null 2>&1 || { echo "build-static.sh: cargo not found; install Rust with rustup (https://rustup.rs)" >&2; exit 1; }
	if ! rustup target list --installed 2>/dev/null | grep -qx "$triple"; then
		command -v rustup >/dev/null 2>&1 || { echo "build-static.sh: rustup not found; the $triple target needs it" >&2; exit 1; }
		echo "build-static.sh: rustup target add $triple" >&2
		rustup target add "$triple"
	fi
	local missing=()
	if ! command -v "$(cc_of "$arch")" >/dev/null 2>&1; then
		local packages
		read -ra packages <<<"$(packages_of "$arch")"
		missing+=("${packages[@]}")
	fi
	if cross "$arch" && [ ! -e "/usr/lib/$arch-linux-musl/libc.a" ]; then
		missing+=("musl-dev:$(debian_arch "$arch")")
	fi
	if [ "${#missing[@]}" -gt 0 ]; then
		# shellcheck disable=SC2046 # one word a package
		apt_install $(printf '%s\n' "${missing[@]}" | sort -u)
	fi
}

# A cross gcc reads musl's headers and libc of the target architecture
# instead of glibc's (what the native musl-gcc wrapper does).
cross_specs() {
	local arch=$1 specs
	specs="${CARGO_TARGET_DIR:-target}/$arch-musl-gcc.specs"
	mkdir -p "$(dirname "$specs")"
	cat >"$specs" <<-EOF
		%rename cpp_options old_cpp_options

		*cpp_options:
		-nostdinc -isystem /usr/include/$arch-linux-musl -isystem include%s %(old_cpp_options)

		*cc1:
		%(cc1_cpu) -nostdinc -isystem /usr/include/$arch-linux-musl -isystem include%s

		*link_libgcc:
		-L/usr/lib/$arch-linux-musl -L .%s

		*libgcc:
		libgcc.a%s %:if-exists(libgcc_eh.a%s)

		*startfile:
		%{!shared: /usr/lib/$arch-linux-musl/Scrt1.o} /usr/lib/$arch-linux-musl/crti.o crtbeginS.o%s

		*endfile:
		crtendS.o%s /usr/lib/$arch-linux-musl/crtn.o

		*link:
		-nostdlib %{shared:-shared} %{static:-static} %{rdynamic:-export-dynamic}

	EOF
	realpath "$specs"
}

build() {
	local arch=$1 triple env_triple out
	triple=$(triple_of "$arch")
	env_triple=${triple//-/_}
	ensure_tools "$arch"
	local envs=("CC_${env_triple}=$(cc_of "$arch")")
	if cross "$arch"; then
		envs=(
			"CC_${env_triple}=$arch-linux-gnu-gcc"
			"CFLAGS_${env_triple}=-specs=$(cross_specs "$arch")"
			"AR_${env_triple}=$arch-linux-gnu-ar"
			"CARGO_TARGET_${env_triple^^}_LINKER=$arch-linux-gnu-gcc"
		)
	fi
	echo "build-static.sh: cargo build --release --target $triple ${cargo_args[*]}" >&2
	env "${envs[@]}" cargo build --release --locked --target "$triple" "${cargo_args[@]}"
	mkdir -p dist
	out="dist/hitcounter-${version}-${arch}-linux"
	cp "${CARGO_TARGET_DIR:-target}/$triple/release/hitcounter" "$out"
	(cd dist && sha256sum "$(basename "$out")" >"$(basename "$out").sha256")
	if command -v file >/dev/null 2>&1; then
		file -b "$out" | grep -Eq 'statically linked|static-pie linked' || {
			echo "build-static.sh: $out is not statically linked: $(file -b "$out")" >&2
			exit 1
		}
	fi
	echo "$out ($(stat -c %s "$out") bytes)"
}

for arch in "${arches[@]}"; do
	build "$arch"
done
