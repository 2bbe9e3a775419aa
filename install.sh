#!/usr/bin/env bash
# install.sh: install hitcounter as a hardened systemd service, optionally
# behind an nginx site. Run it on the server after copying the binary:
#
#   sudo ./install.sh [--domain counter.example.com] [--port 8080]
#                     [--db-dir /var/lib/hitcounter] [--binary PATH]
#                     [--uninstall] [--dry-run] [--help]
#
# Idempotent: every file is compared before it is written, and a second run
# with the same options prints "unchanged" for each and changes nothing. An
# existing database is never touched. DESTDIR=/some/root installs into a
# staging root instead (no user is created, systemctl and nginx are not run).
set -euo pipefail
umask 022

BIN_PATH=/usr/local/bin/hitcounter
UNIT_PATH=/etc/systemd/system/hitcounter.service
SITE_PATH=/etc/nginx/sites-available/hitcounter.conf
SITE_LINK=/etc/nginx/sites-enabled/hitcounter.conf
SERVICE_USER=hitcounter
DEFAULT_PORT=8080
DEFAULT_DB_DIR=/var/lib/hitcounter

usage() {
	cat <<'EOF'
Usage: sudo ./install.sh [OPTIONS]

Installs hitcounter as a systemd service listening on 127.0.0.1:PORT:
  /usr/local/bin/hitcounter               the binary
  /etc/systemd/system/hitcounter.service  a hardened unit (user hitcounter)
  DB-DIR/hitcounter.db                    the database (created on first start)
  /etc/nginx/sites-available/hitcounter.conf (+ sites-enabled link), with --domain
then enables and (re)starts the service and reloads nginx.

Options:
  --domain NAME    also write an nginx site proxying http://NAME to the service
                   (the service then trusts X-Forwarded-* from nginx)
  --port N         local port of the service (default 8080)
  --db-dir DIR     data directory (default /var/lib/hitcounter)
  --binary PATH    binary to install (default: hitcounter next to this
                   script, else the newest hitcounter-*-ARCH-linux next to
                   it or in dist/, else target/release/hitcounter)
  --uninstall      remove the binary, unit and nginx site; keep the data
                   directory and the user
  --dry-run        print every action and each file in full, change nothing
  --help           this text

Re-running without --port/--db-dir/--domain keeps the values of the installed
unit and nginx site, so `sudo ./install.sh --binary NEW` upgrades in place.
Environment: DESTDIR=DIR installs into a staging root (no user, no systemctl).
Settings that are not options here (HITCOUNTER_COOKIE_WINDOW, ENABLE_SSL,
HITCOUNTER_QUIET, ...) go in /etc/default/hitcounter as NAME=value lines.
EOF
}

say() { printf '%s\n' "$*"; }
note() { printf 'note: %s\n' "$*"; }
die() {
	printf 'install.sh: %s\n' "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- options
domain="" port="" db_dir="" binary="" uninstall=0 dry=0
need_arg() {
	if [ "$#" -lt 2 ] || [ -z "$2" ]; then die "$1 needs a value (see --help)"; fi
}
while [ "$#" -gt 0 ]; do
	case "$1" in
	--domain) need_arg "$@"; domain=$2; shift 2 ;;
	--domain=*) domain=${1#*=}; shift ;;
	--port) need_arg "$@"; port=$2; shift 2 ;;
	--port=*) port=${1#*=}; shift ;;
	--db-dir) need_arg "$@"; db_dir=$2; shift 2 ;;
	--db-dir=*) db_dir=${1#*=}; shift ;;
	--binary) need_arg "$@"; binary=$2; shift 2 ;;
	--binary=*) binary=${1#*=}; shift ;;
	--uninstall) uninstall=1; shift ;;
	--dry-run) dry=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) die "unknown option: $1 (see --help)" ;;
	esac
done

DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
if [ -n "$DESTDIR" ]; then
	case "$DESTDIR" in
	/*) ;;
	*) DESTDIR=$PWD/$DESTDIR ;;
	esac
fi
is_root=0
[ "$(id -u)" = 0 ] && is_root=1
# Touch the real system (users, systemctl, nginx) only when installing for real.
real_system=0
[ -z "$DESTDIR" ] && [ "$is_root" = 1 ] && real_system=1
why_not_real="not root"
[ -n "$DESTDIR" ] && why_not_real="DESTDIR is set"
if [ -z "$DESTDIR" ] && [ "$is_root" = 0 ] && [ "$dry" = 0 ]; then
	die "run as root (sudo ./install.sh ...), or set DESTDIR=DIR to stage, or use --dry-run"
fi
[ "$dry" = 1 ] && say "dry run: nothing will be changed"
[ -n "$DESTDIR" ] && say "staging into DESTDIR=$DESTDIR"

# ---------------------------------------------------------------- helpers
changed=0 # something the running service depends on changed

# run CMD...: run a command, or print it in a dry run.
run() {
	local shown
	shown=$(printf '%q ' "$@")
	if [ "$dry" = 1 ]; then
		say "would run: ${shown% }"
	else
		say "run: ${shown% }"
		"$@"
	fi
}

mode_of() { stat -c %a "$1" 2>/dev/null || echo none; }

# write_file PATH MODE CONTENT: PATH is the path on the target system.
write_file() {
	local path=$DESTDIR$1 mode=$2 content=$3 verb=create tmp
	if [ -f "$path" ] && [ ! -L "$path" ]; then
		if printf '%s\n' "$content" | cmp -s - "$path" && [ "$(mode_of "$path")" = "$mode" ]; then
			say "unchanged $1"
			return 1
		fi
		verb=update
	fi
	if [ "$dry" = 1 ]; then
		# In full, so that it can be reviewed before a real run.
		say "would $verb $1 (mode $mode), holding:"
		printf '%s\n' "$content" | sed 's/^/    /'
		return 0
	fi
	mkdir -p "$(dirname "$path")"
	tmp=$(mktemp "$path.XXXXXX")
	printf '%s\n' "$content" >"$tmp"
	chmod "$mode" "$tmp"
	mv -f "$tmp" "$path"
	say "${verb}d $1"
}

# remove_path PATH: PATH is the path on the target system.
remove_path() {
	local path=$DESTDIR$1
	if [ ! -e "$path" ] && [ ! -L "$path" ]; then
		say "absent $1"
		return 1
	fi
	if [ "$dry" = 1 ]; then
		say "would remove $1"
	else
		rm -f "$path"
		say "removed $1"
	fi
}

have() { command -v "$1" >/dev/null 2>&1; }
systemd_running() { [ -d /run/systemd/system ] && have systemctl; }

# The values an earlier run wrote, so a re-run without options keeps them.
installed_exec() {
	[ -f "$DESTDIR$UNIT_PATH" ] || return 0
	sed -n 's/^ExecStart=//p' "$DESTDIR$UNIT_PATH" | sed -n 1p
}
installed_domain() {
	[ -f "$DESTDIR$SITE_PATH" ] || return 0
	sed -n 's/^[[:space:]]*server_name[[:space:]][[:space:]]*\([^;[:space:]]*\).*/\1/p' "$DESTDIR$SITE_PATH" | sed -n 1p
}

# ---------------------------------------------------------------- uninstall
if [ "$uninstall" = 1 ]; then
	old_db=$(installed_exec | sed -n 's/.* --db \([^ ]*\)\/hitcounter\.db.*/\1/p')
	if [ "$real_system" = 1 ] && systemd_running && [ -e "$UNIT_PATH" ]; then
		run systemctl disable --now hitcounter.service
	elif [ "$real_system" = 1 ] && have systemctl && [ -e "$UNIT_PATH" ]; then
		run systemctl disable hitcounter.service
	fi
	if remove_path "$UNIT_PATH" && [ "$real_system" = 1 ] && systemd_running; then
		run systemctl daemon-reload
	fi
	site_gone=0
	remove_path "$SITE_LINK" && site_gone=1
	remove_path "$SITE_PATH" && site_gone=1
	if [ "$site_gone" = 1 ] && [ "$real_system" = 1 ] && have nginx && systemd_running; then
		if [ "$dry" = 1 ] || nginx -t >/dev/null 2>&1; then
			run systemctl reload nginx
		else
			note "nginx -t fails; fix the nginx configuration and reload nginx"
		fi
	fi
	remove_path "$BIN_PATH" || true
	note "kept the data directory ${old_db:-$DEFAULT_DB_DIR} and the user $SERVICE_USER;"
	note "to delete them too: userdel $SERVICE_USER && rm -r ${old_db:-$DEFAULT_DB_DIR}"
	exit 0
fi

# ---------------------------------------------------------------- settings
prev_exec=$(installed_exec)
if [ -z "$port" ]; then
	port=$(printf '%s\n' "$prev_exec" | sed -n 's/.* --listen 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p')
	if [ -n "$port" ]; then note "keeping --port $port from the installed unit"; else port=$DEFAULT_PORT; fi
fi
if [ -z "$db_dir" ]; then
	db_dir=$(printf '%s\n' "$prev_exec" | sed -n 's/.* --db \([^ ]*\)\/hitcounter\.db.*/\1/p')
	if [ -n "$db_dir" ]; then note "keeping --db-dir $db_dir from the installed unit"; else db_dir=$DEFAULT_DB_DIR; fi
fi
if [ -z "$domain" ]; then
	domain=$(installed_domain)
	[ -n "$domain" ] && note "keeping --domain $domain from the installed nginx site"
fi

case "$port" in
'' | *[!0-9]*) die "--port must be a number from 1 to 65535, not '$port'" ;;
esac
[ "${#port}" -le 5 ] || die "--port must be a number from 1 to 65535, not '$port'"
port=$((10#$port))
if [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
	die "--port must be a number from 1 to 65535, not '$port'"
fi
case "$db_dir" in
/*) ;;
*) die "--db-dir must be an absolute path, not '$db_dir'" ;;
esac
case "$db_dir" in
*[!A-Za-z0-9._/@+-]*) die "--db-dir may contain only letters, digits and . _ / @ + - (got '$db_dir')" ;;
esac
db_dir=$(printf '%s' "$db_dir" | sed 's://*:/:g; s:/$::')
[ -n "$db_dir" ] || die "--db-dir cannot be /"
case "$db_dir" in
/home | /home/* | /root | /root/* | /run/user/*)
	die "--db-dir $db_dir is hidden from the service by ProtectHome=yes; use a directory like /var/lib/hitcounter" ;;
/usr | /usr/* | /etc | /etc/* | /boot | /boot/* | /proc/* | /sys/* | /dev/*)
	die "--db-dir $db_dir is a system directory; use a directory like /var/lib/hitcounter" ;;
esac
if [ -n "$domain" ]; then
	case "$domain" in
	*[!A-Za-z0-9.-]* | .* | *. | -* | *..*) die "--domain must be a host name like counter.example.com, not '$domain'" ;;
	esac
	[ "${#domain}" -le 253 ] || die "--domain is too long"
fi

# ---------------------------------------------------------------- binary
if [ -z "$binary" ]; then
	script_dir=$(cd "$(dirname "$0")" && pwd)
	# The newest portable binary build-static.sh wrote for this machine
	# (copied next to this script, or still in dist/) comes after a file
	# named plain hitcounter.
	portable=""
	for candidate in "$script_dir"/hitcounter-*-"$(uname -m)"-linux "$script_dir"/dist/hitcounter-*-"$(uname -m)"-linux; do
		if [ -f "$candidate" ] && { [ -z "$portable" ] || [ "$candidate" -nt "$portable" ]; }; then
			portable=$candidate
		fi
	done
	if [ -f "$script_dir/hitcounter" ]; then
		binary=$script_dir/hitcounter
	elif [ -n "$portable" ]; then
		binary=$portable
	elif [ -f "$script_dir/target/release/hitcounter" ]; then
		binary=$script_dir/target/release/hitcounter
	else
		die "no binary: put hitcounter next to install.sh, build it (./build-static.sh) or pass --binary PATH"
	fi
fi
[ -f "$binary" ] || die "--binary $binary: no such file"
version=$(env -u GATEWAY_INTERFACE -u HITCOUNTER_CONFIG "$binary" --version 2>&1) || true
case "$version" in
hitcounter\ *) say "binary $binary ($version)" ;;
# The loader's own words (a missing glibc version, the wrong architecture)
# say more than a guess.
*) die "$binary does not run on this machine: $(printf '%s' "$version" | head -n 3 | tr '\n' ' ')" ;;
esac

dest=$DESTDIR$BIN_PATH
if [ -f "$dest" ] && cmp -s "$binary" "$dest" && [ "$(mode_of "$dest")" = 755 ]; then
	say "unchanged $BIN_PATH"
else
	verb=create
	[ -e "$dest" ] && verb=update
	if [ "$dry" = 1 ]; then
		say "would $verb $BIN_PATH (from $binary)"
	else
		mkdir -p "$(dirname "$dest")"
		# Copy then rename: replacing a running binary in place fails ("text file busy").
		tmp=$(mktemp "$dest.XXXXXX")
		cp "$binary" "$tmp"
		chmod 755 "$tmp"
		mv -f "$tmp" "$dest"
		say "${verb}d $BIN_PATH (from $binary)"
	fi
	changed=1
fi

# ---------------------------------------------------------------- user + data
if [ "$real_system" = 1 ]; then
	if id -u "$SERVICE_USER" >/dev/null 2>&1; then
		say "unchanged user $SERVICE_USER"
	else
		nologin=/usr/sbin/nologin
		[ -x "$nologin" ] || nologin=/sbin/nologin
		[ -x "$nologin" ] || nologin=/bin/false
		run useradd --system --user-group --no-create-home --home-dir "$db_dir" \
			--shell "$nologin" --comment "hitcounter page-view counter" "$SERVICE_USER"
	fi
else
	note "not creating the system user $SERVICE_USER ($why_not_real)"
fi

data=$DESTDIR$db_dir
if [ -d "$data" ]; then
	owner=$(stat -c %U "$data")
	if [ "$real_system" = 1 ] && [ "$owner" != "$SERVICE_USER" ]; then
		# Only the directory itself: files in it (an existing database) are left alone.
		run chown "$SERVICE_USER:$SERVICE_USER" "$data"
		run chmod 750 "$data"
	else
		say "unchanged $db_dir/"
	fi
	if [ -e "$data/hitcounter.db" ]; then
		say "kept existing database $db_dir/hitcounter.db"
		if [ "$real_system" = 1 ] && [ "$(stat -c %U "$data/hitcounter.db")" != "$SERVICE_USER" ]; then
			note "$db_dir/hitcounter.db is not owned by $SERVICE_USER; the service cannot write it until you run:"
			note "  chown $SERVICE_USER:$SERVICE_USER $db_dir/hitcounter.db*"
		fi
	fi
elif [ "$dry" = 1 ]; then
	say "would create $db_dir/"
else
	mkdir -p "$data"
	chmod 750 "$data"
	[ "$real_system" = 1 ] && chown "$SERVICE_USER:$SERVICE_USER" "$data"
	say "created $db_dir/"
fi

# ---------------------------------------------------------------- systemd unit
trust=""
[ -n "$domain" ] && trust=" --trust-proxy"
unit="# Written by hitcounter's install.sh; re-running it rewrites this file.
# Local changes belong in a drop-in: systemctl edit hitcounter
# Extra settings as NAME=value lines: /etc/default/hitcounter
# Request log lines go to the journal: journalctl -u hitcounter
# (HITCOUNTER_QUIET=true in /etc/default/hitcounter turns them off).
[Unit]
Description=hitcounter page-view counter
After=network.target

[Service]
Type=simple
User=$SERVICE_USER
Group=$SERVICE_USER
ExecStart=$BIN_PATH serve --listen 127.0.0.1:$port --db $db_dir/hitcounter.db$trust
EnvironmentFile=-/etc/default/hitcounter
# With native TLS: systemctl reload hitcounter serves a renewed certificate.
ExecReload=/bin/kill -HUP \$MAINPID
Restart=on-failure
RestartSec=2
TimeoutStopSec=30
# Each open connection holds a thread and two descriptors; at this limit
# hitcounter caps connections at 10000 (--max-connections), and the
# threads fit under TasksMax.
LimitNOFILE=65536
TasksMax=16384
UMask=0027

NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ReadWritePaths=$db_dir
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
RemoveIPC=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM

[Install]
WantedBy=multi-user.target"
write_file "$UNIT_PATH" 644 "$unit" && changed=1

# ---------------------------------------------------------------- nginx site
# The one nginx template: tests/integration/nginx.rs runs this script with
# DESTDIR and serves the site it writes.
nginx_site() {
	cat <<'EOF' | sed -e "s/@DOMAIN@/$1/g" -e "s/@PORT@/$2/g"
# hitcounter: written by install.sh; re-running it rewrites this file unless
# TLS settings were added (then it is left alone).
# HTTPS: certbot --nginx -d @DOMAIN@ adds them; X-Forwarded-Proto is then
# https and the counter's links follow.
server {
    listen 80;
    listen [::]:80;
    server_name @DOMAIN@;

    location / {
        proxy_pass http://127.0.0.1:@PORT@;
        # $http_host keeps a non-standard port, so generated links work.
        proxy_set_header Host $http_host;
        # The client's address, replacing any X-Real-IP the client sent.
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header X-Forwarded-Host $http_host;
        proxy_read_timeout 30s;
    }
}
EOF
}

site_changed=0
if [ -n "$domain" ]; then
	if [ -f "$DESTDIR$SITE_PATH" ] && grep -q 'ssl_certificate' "$DESTDIR$SITE_PATH"; then
		say "kept $SITE_PATH (it has TLS settings, e.g. from certbot; edit it by hand)"
		grep -q "proxy_pass http://127.0.0.1:$port;" "$DESTDIR$SITE_PATH" ||
			note "$SITE_PATH does not proxy to 127.0.0.1:$port; update its proxy_pass lines"
	else
		write_file "$SITE_PATH" 644 "$(nginx_site "$domain" "$port")" && site_changed=1
	fi
	link=$DESTDIR$SITE_LINK
	if [ -L "$link" ] && [ "$(readlink "$link")" = "$SITE_PATH" ]; then
		say "unchanged $SITE_LINK"
	elif [ -e "$link" ] && [ ! -L "$link" ]; then
		note "$SITE_LINK exists and is not a link; left alone"
	elif [ "$dry" = 1 ]; then
		say "would link $SITE_LINK -> $SITE_PATH"
		site_changed=1
	else
		mkdir -p "$(dirname "$link")"
		ln -sfn "$SITE_PATH" "$link"
		say "linked $SITE_LINK -> $SITE_PATH"
		site_changed=1
	fi
fi

# ---------------------------------------------------------------- start
if [ "$real_system" = 0 ]; then
	note "$why_not_real: not running systemctl or nginx"
	exit 0
fi
manual="$BIN_PATH serve --listen 127.0.0.1:$port --db $db_dir/hitcounter.db$trust"
if have systemctl; then
	if systemctl is-enabled --quiet hitcounter.service 2>/dev/null; then
		say "unchanged enabled hitcounter.service"
	else
		run systemctl enable hitcounter.service
	fi
	if systemd_running; then
		if [ "$changed" = 1 ]; then
			run systemctl daemon-reload
			run systemctl restart hitcounter.service
		elif systemctl is-active --quiet hitcounter.service; then
			say "unchanged running hitcounter.service"
		else
			run systemctl start hitcounter.service
		fi
	else
		note "systemd is not running here (a container?); start it by hand as user hitcounter: $manual"
	fi
else
	note "no systemctl: start it by hand as user hitcounter: $manual"
fi
if [ -n "$domain" ]; then
	if ! have nginx; then
		note "nginx is not installed: apt install nginx (then re-run this script or reload nginx)"
	elif [ "$site_changed" = 1 ]; then
		if [ "$dry" = 1 ]; then
			say "would run: nginx -t, then reload nginx"
		elif nginx -t; then
			if systemd_running; then
				run systemctl reload nginx
			else
				note "systemd is not running here; reload nginx yourself: nginx -s reload (or start it: nginx)"
			fi
		else
			die "nginx -t failed; fix the configuration above, then: systemctl reload nginx"
		fi
	fi
	grep -qs 'sites-enabled' /etc/nginx/nginx.conf ||
		note "/etc/nginx/nginx.conf does not include sites-enabled/; add: include /etc/nginx/sites-enabled/*;"
	note "for HTTPS: certbot --nginx -d $domain"
	say "done: http://$domain/ -> 127.0.0.1:$port"
else
	note "the service listens on 127.0.0.1:$port only; put a reverse proxy in front (or re-run with --domain)"
	say "done: http://127.0.0.1:$port/"
fi
