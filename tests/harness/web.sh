#!/bin/sh
# tests/harness/web.sh: starts and stops the web stack, spoolkeeper-web behind a real nginx, for the tests and the local run.
#
# As a library (POSIX sh, from the repository root):
#
#   . tests/harness/web.sh
#   web_available || { echo "skipped: $web_why"; exit 0; }
#   web_start [DIR] || exit 1    # exports WEB_URL WEB_PORT WEB_PID NGINX_PID WEB_DIR WEB_RUN WEB_SOCKET
#   trap web_stop EXIT
#
#   web_start needs SPOOLKEEPER_DATABASE (a migrated database) and SPOOLKEEPER_KEY_FILE in the environment.
#   It starts build/bin/spoolkeeper-web on DIR/web.sock (WEB_PROCESSES processes, default 2), renders
#   nginx/local.conf.in into DIR/nginx.conf on a free port of 127.0.0.1, checks it with `nginx -t`, starts nginx
#   and polls GET $WEB_URL/api/v1/health until it answers 200 (WEB_TIMEOUT seconds, default 20; never a fixed
#   sleep).  On failure it says why, shows the logs, stops what it started and returns 1.
#   Without DIR it makes /tmp/spoolkeeper-web.XXXXXX and web_stop removes it; a DIR given is kept.
#   web_stop                    stops nginx and the app (SIGTERM, SIGKILL after 5 s) and waits until every
#                               process of theirs is gone; sets WEB_STATUS to the app's exit status when known
#   web_render_nginx OUT PORT SOCKET VAR FRONTEND [TMP]   renders nginx/local.conf.in into OUT (no start;
#                               TMP, nginx's temporary files, defaults to VAR/tmp)
#   web_nginx_test CONF         `nginx -t -c CONF`; its messages on stderr when it fails
#
# As a command (by hand, with the two variables above set):
#
#   sh tests/harness/web.sh      start, print WEB_URL, wait for Ctrl-C, stop
#
# Files in DIR: web.log (the app's stderr), web.pid, nginx.conf, nginx.pgid, var/ (nginx's pid, error.log,
# access.log, stderr.log), and in
# WEB_RUN (below): web.sock, tmp/ (nginx's temporary files), frontend/ (when the frontend has to be copied).
#
# Permissions.  Started as root, nginx's workers run as www-data (WEB_NGINX_USER, "user group"), as in
# production, not as root.  They must connect to the socket, write nginx's temporary files and read the
# frontend, all in WEB_RUN, which web_start makes belong to their group with mode 2750: the setgid bit gives the
# socket, which the app creates, the same group, and the app makes it mode 0660 (--socket-mode).  So nginx's
# workers and root reach the app, other users do not.  WEB_RUN is DIR itself when the workers can pass DIR's
# parents; when they cannot (DIR under a mode 0700 mktemp directory, or under /root), WEB_RUN is a new
# /tmp/spoolkeeper-web.XXXXXX that web_stop removes, and DIR/web.sock is a symbolic link to the socket.  The
# frontend is served in place when the workers can read it, else copied into WEB_RUN/frontend.
#
# Environment: WEB_BIN (default $BUILD/bin/spoolkeeper-web, BUILD default build), WEB_PROCESSES (2),
# WEB_TIMEOUT (20), WEB_FRONTEND (a directory with index.html; default frontend/dist/ of the checkout, the built
# app of `make frontend`, when it has one, else frontend/ when it has one, else a one-page stand-in), WEB_NGINX (default nginx from PATH or /usr/sbin/nginx), WEB_NGINX_USER,
# WEB_LISTEN_PORT (nginx's port on 127.0.0.1; unset: a free one, retried when taken), WEB_TMPDIR (/tmp),
# WEB_ROOT (the checkout; default the current directory), WEB_LOGIN_RATE (unset: production's
# login rate limit, 10r/m with a burst of 5; a test that logs in more often than that from 127.0.0.1 sets e.g.
# 600r/s, and DIR then holds a copy of nginx/spoolkeeper-http.conf with that rate).

WEB_TMPDIR=${WEB_TMPDIR:-/tmp}
WEB_DIR=${WEB_DIR:-}
WEB_OWN_DIR=
WEB_RUN=
WEB_OWN_RUN=
WEB_PID=
NGINX_PID=
WEB_JOB=
WEB_STATUS=
web_why=

if [ -f tests/harness/server.sh ]; then
	. tests/harness/server.sh
else
	. "$(dirname "$0")/server.sh"
fi

# web_root: the checkout (for nginx/ and frontend/), absolute.
web_root()
{
	if [ -n "${WEB_ROOT:-}" ]; then
		(cd "$WEB_ROOT" && pwd)
	elif [ -f nginx/local.conf.in ]; then
		pwd
	else
		(cd "$(dirname "$0")/../.." && pwd)
	fi
}

# web_bin: the spoolkeeper-web binary.
web_bin()
{
	echo "${WEB_BIN:-${BUILD:-build}/bin/spoolkeeper-web}"
}

# web_nginx: the nginx binary (in /usr/sbin, not always in PATH).
web_nginx()
{
	if [ -n "${WEB_NGINX:-}" ]; then
		echo "$WEB_NGINX"
	else
		command -v nginx 2>/dev/null || echo /usr/sbin/nginx
	fi
}

# web_nginx_user: "user group" of nginx's workers when started as root.
web_nginx_user()
{
	if [ -n "${WEB_NGINX_USER:-}" ]; then
		echo "$WEB_NGINX_USER"
	elif id www-data >/dev/null 2>&1; then
		echo "www-data www-data"
	else
		echo "nobody nogroup"
	fi
}

# web_available: true when nginx, curl, setsid and the app are there; else sets web_why.
web_available()
{
	if [ ! -x "$(web_nginx)" ]; then
		web_why="nginx not found: apt-get install nginx-light (or make deps)"
		return 1
	fi
	for _b in curl setsid sed; do
		if ! command -v "$_b" >/dev/null 2>&1; then
			web_why="$_b not found: apt-get install curl util-linux (or make deps)"
			return 1
		fi
	done
	if [ ! -x "$(web_bin)" ]; then
		web_why="$(web_bin) is not built (make)"
		return 1
	fi
	return 0
}

# web_render_nginx OUT PORT SOCKET VAR FRONTEND [TMP]: nginx/local.conf.in with its placeholders filled in, into OUT.
web_render_nginx()
{
	_root=$(web_root)
	if [ ! -f "$_root/nginx/local.conf.in" ]; then
		echo "web.sh: $_root/nginx/local.conf.in not found (set WEB_ROOT to the checkout)" >&2
		return 1
	fi
	# The values are paths and a number; | cannot be in them (checked) so it delimits the substitutions.
	_tmp=${6:-$4/tmp}
	case "$2$3$4$5$_tmp$_root" in
	*'|'* | *'&'* | *'\'*)
		echo "web.sh: a path holds | & or \\: $3 $4 $5 $_tmp $_root" >&2
		return 1
		;;
	esac
	_http=$_root/nginx/spoolkeeper-http.conf
	if [ -n "${WEB_LOGIN_RATE:-}" ]; then
		# A test that logs in many times: the production file with another rate, beside OUT.
		if ! printf '%s\n' "$WEB_LOGIN_RATE" | grep -q -x '[1-9][0-9]*r/[ms]'; then
			echo "web.sh: WEB_LOGIN_RATE=$WEB_LOGIN_RATE: want a rate such as 600r/s" >&2
			return 1
		fi
		_http=$(dirname "$1")/spoolkeeper-http.conf
		sed "s|rate=[0-9]*r/[ms];|rate=$WEB_LOGIN_RATE;|" "$_root/nginx/spoolkeeper-http.conf" >"$_http" ||
		    return 1
	fi
	sed -e "s|@PORT@|$2|g" -e "s|@SOCKET@|$3|g" -e "s|@VAR@|$4|g" -e "s|@FRONTEND@|$5|g" \
	    -e "s|@TMP@|$_tmp|g" -e "s|@NGINX@/spoolkeeper-http.conf|$_http|g" -e "s|@NGINX@|$_root/nginx|g" \
	    -e "s|@USER@|$(web_nginx_user)|g" "$_root/nginx/local.conf.in" >"$1"
}

# web_nginx_test CONF: nginx -t on CONF; true when it passes, else its messages go to stderr.
web_nginx_test()
{
	_out=$("$(web_nginx)" -t -q -c "$1" -e stderr 2>&1)
	_st=$?
	if [ "$_st" -ne 0 ]; then
		echo "web.sh: nginx -t -c $1 failed:" >&2
		printf '%s\n' "$_out" >&2
	fi
	return "$_st"
}

# web_logs: the end of the app's log and of nginx's error log, on stderr.
web_logs()
{
	for _f in "$WEB_DIR/web.log" "$WEB_DIR/var/error.log" "$WEB_DIR/var/stderr.log"; do
		[ -s "$_f" ] || continue
		echo "web.sh: $_f ends with:" >&2
		tail -n 8 "$_f" | cut -c 1-300 | sed "s/^/    /" >&2
	done
}

# web_frontend DIR: prints the directory to serve as the site's root (see the header).
web_frontend()
{
	_src=${WEB_FRONTEND:-}
	if [ -z "$_src" ] && [ -f "$(web_root)/frontend/dist/index.html" ]; then
		_src=$(web_root)/frontend/dist		# the built app (make frontend)
	elif [ -z "$_src" ] && [ -f "$(web_root)/frontend/index.html" ]; then
		_src=$(web_root)/frontend
	fi
	if [ -z "$_src" ]; then
		mkdir -p "$1/frontend" || return 1
		printf '%s\n' '<!doctype html>' '<html lang="en"><meta charset="utf-8"><title>Spoolkeeper</title>' \
		    '<p>Spoolkeeper: the API is under <a href="/api/v1/health">/api/v1/</a>.</p></html>' \
		    >"$1/frontend/index.html" || return 1
		echo "$1/frontend"
		return 0
	fi
	_src=$(cd "$_src" && pwd) || return 1
	if [ "$(id -u)" != 0 ] || runuser -u "${2%% *}" -- test -r "$_src/index.html" 2>/dev/null; then
		echo "$_src"
		return 0
	fi
	# nginx's workers cannot read it where it is (a checkout under /root...): a copy, without node_modules
	# (dot files are copied: the tests check that nginx refuses them).
	mkdir -p "$1/frontend" &&
	    tar -C "$_src" --exclude=./node_modules -cf - . | tar -C "$1/frontend" -xf - &&
	    chmod -R g+rX "$1/frontend" || return 1
	echo "$1/frontend"
}

# web_wait_app: waits until the app says it listens and its socket is there.  0, or 1 (it exited or hangs).
web_wait_app()
{
	_t0=$(date +%s)
	while :; do
		if [ -S "$WEB_SOCKET" ] && grep -q "listening on" "$WEB_DIR/web.log" 2>/dev/null; then
			return 0
		fi
		if [ -n "$WEB_PID" ] && ! kill -0 "$WEB_PID" 2>/dev/null; then
			echo "web.sh: $(web_bin) exited before it listened" >&2
			return 1
		fi
		if [ $(($(date +%s) - _t0)) -ge "${WEB_TIMEOUT:-20}" ]; then
			echo "web.sh: $(web_bin) did not listen on $WEB_SOCKET within ${WEB_TIMEOUT:-20} s" >&2
			return 1
		fi
		sleep 0.05
	done
}

# web_launch_nginx: starts nginx on a new free port in its own process group and waits until
# GET /api/v1/health answers 200.  Returns 0, 1 (failed: says why), or 2 (the port was taken: try another).
web_launch_nginx()
{
	WEB_PORT=${WEB_LISTEN_PORT:-}
	[ -n "$WEB_PORT" ] || WEB_PORT=$(harness_free_port) || return 1
	web_render_nginx "$WEB_DIR/nginx.conf" "$WEB_PORT" "$WEB_SOCKET" "$WEB_DIR/var" "$WEB_FRONTEND_DIR" \
	    "$WEB_RUN/tmp" || return 1
	web_nginx_test "$WEB_DIR/nginx.conf" || return 1
	: >"$WEB_DIR/var/error.log"
	rm -f "$WEB_DIR/nginx.pgid"
	setsid sh -c 'echo $$ >"$1/nginx.pgid"; exec "$2" -c "$1/nginx.conf" -e "$1/var/error.log"' sh \
	    "$WEB_DIR" "$(web_nginx)" >>"$WEB_DIR/var/stderr.log" 2>&1 </dev/null &
	_job=$!
	while [ ! -s "$WEB_DIR/nginx.pgid" ]; do
		kill -0 "$_job" 2>/dev/null || break
		sleep 0.01
	done
	NGINX_PID=$(cat "$WEB_DIR/nginx.pgid" 2>/dev/null)
	if [ -z "$NGINX_PID" ]; then
		echo "web.sh: nginx did not start" >&2
		return 1
	fi
	WEB_URL=http://127.0.0.1:$WEB_PORT
	_t0=$(date +%s)
	_last=
	while :; do
		_code=$(curl -sS -o "$WEB_DIR/health.body" -w '%{http_code}' --max-time 2 \
		    "$WEB_URL/api/v1/health" 2>"$WEB_DIR/health.err")
		[ "$_code" = 200 ] && return 0
		_last="HTTP $_code $(head -c 300 "$WEB_DIR/health.body" 2>/dev/null)$(cat "$WEB_DIR/health.err")"
		if ! kill -0 "$NGINX_PID" 2>/dev/null; then
			if grep -q -i "address already in use" "$WEB_DIR/var/error.log" "$WEB_DIR/var/stderr.log"; then
				NGINX_PID=
				return 2
			fi
			echo "web.sh: nginx exited" >&2
			NGINX_PID=
			return 1
		fi
		if ! kill -0 "$WEB_PID" 2>/dev/null; then
			echo "web.sh: $(web_bin) exited" >&2
			return 1
		fi
		if [ $(($(date +%s) - _t0)) -ge "${WEB_TIMEOUT:-20}" ]; then
			echo "web.sh: GET $WEB_URL/api/v1/health did not answer 200 within ${WEB_TIMEOUT:-20} s;" \
			    "the last try got: $_last" >&2
			return 1
		fi
		sleep 0.1
	done
}

# web_start [DIR]: the app and nginx, as described at the top.  Returns 0, or 1 after stopping what it started.
web_start()
{
	web_available || { echo "web.sh: $web_why" >&2; return 1; }
	for _v in SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE; do
		if eval "[ -z \"\${$_v:-}\" ]"; then
			echo "web.sh: $_v is not set (the app's database conninfo and key file)" >&2
			return 1
		fi
	done
	export SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE
	if [ $# -gt 0 ]; then
		WEB_DIR=$1
		WEB_OWN_DIR=
		mkdir -p "$WEB_DIR" || return 1
	else
		WEB_DIR=$(mktemp -d "$WEB_TMPDIR/spoolkeeper-web.XXXXXX") || return 1
		WEB_OWN_DIR=$WEB_DIR
	fi
	WEB_DIR=$(cd "$WEB_DIR" && pwd) || return 1
	_user=$(web_nginx_user)
	WEB_RUN=$WEB_DIR
	WEB_OWN_RUN=
	if [ "$(id -u)" = 0 ]; then
		if ! runuser -u "${_user%% *}" -- test -x "$(dirname "$WEB_DIR")" 2>/dev/null; then
			# The workers cannot pass DIR's parents: what they need goes to a directory of its own.
			WEB_RUN=$(mktemp -d "$WEB_TMPDIR/spoolkeeper-web.XXXXXX") || { web_stop; return 1; }
			WEB_OWN_RUN=$WEB_RUN
		fi
		# The workers' group owns WEB_RUN; setgid: what is made in it (the socket) gets that group too.
		if ! chgrp "${_user#* }" "$WEB_RUN" || ! chmod 2750 "$WEB_RUN"; then
			web_stop
			return 1
		fi
		if ! runuser -u "${_user%% *}" -- test -x "$WEB_RUN"; then
			echo "web.sh: nginx's workers (user ${_user%% *}) cannot enter $WEB_RUN" >&2
			web_stop
			return 1
		fi
	fi
	mkdir -p "$WEB_DIR/var" "$WEB_RUN/tmp" || { web_stop; return 1; }
	WEB_FRONTEND_DIR=$(web_frontend "$WEB_RUN" "$_user") || { web_stop; return 1; }
	WEB_SOCKET=$WEB_RUN/web.sock
	rm -f "$WEB_SOCKET" "$WEB_DIR/web.sock" "$WEB_DIR/web.pid"
	[ "$WEB_RUN" = "$WEB_DIR" ] || ln -s "$WEB_SOCKET" "$WEB_DIR/web.sock"
	: >"$WEB_DIR/web.log"

	# The app, in its own process group (its worker processes included), foreground: $! is its pid.
	setsid sh -c 'echo $$ >"$1/web.pid"; exec "$2" --socket "$3" --socket-mode 0660 --processes "$4"' \
	    sh "$WEB_DIR" "$(web_bin)" "$WEB_SOCKET" "${WEB_PROCESSES:-2}" >>"$WEB_DIR/web.log" 2>&1 </dev/null &
	WEB_JOB=$!
	while [ ! -s "$WEB_DIR/web.pid" ]; do
		kill -0 "$WEB_JOB" 2>/dev/null || break
		sleep 0.01
	done
	WEB_PID=$(cat "$WEB_DIR/web.pid" 2>/dev/null)
	[ "$WEB_PID" = "$WEB_JOB" ] || WEB_JOB=
	if [ -z "$WEB_PID" ] || ! web_wait_app; then
		web_logs
		web_stop
		return 1
	fi

	_tries=0
	while :; do
		_tries=$((_tries + 1))
		web_launch_nginx
		_st=$?
		[ "$_st" -eq 0 ] && break
		if [ "$_st" -eq 2 ] && [ -n "${WEB_LISTEN_PORT:-}" ]; then
			# A port given by the caller is not swapped for another one.
			echo "web.sh: port $WEB_PORT of 127.0.0.1 is already in use" >&2
			web_stop
			return 1
		fi
		if [ "$_st" -ne 2 ] || [ "$_tries" -ge 5 ]; then
			web_logs
			web_stop
			return 1
		fi
	done
	export WEB_URL WEB_PORT WEB_PID NGINX_PID WEB_DIR WEB_RUN WEB_SOCKET
	return 0
}

# web_stop: stops nginx, then the app; waits until their process groups are gone.  Safe to call twice.
web_stop()
{
	if [ -n "$NGINX_PID" ]; then
		kill -s TERM "$NGINX_PID" 2>/dev/null
		harness_reap -- "-$NGINX_PID"
		NGINX_PID=
	fi
	if [ -n "$WEB_PID" ]; then
		# SIGTERM to the parent only: it stops its processes and exits 0.  Then wait for the whole group.
		kill -s TERM "$WEB_PID" 2>/dev/null
		harness_reap "$WEB_PID"
		harness_reap -- "-$WEB_PID"
		if [ -n "$WEB_JOB" ]; then
			wait "$WEB_JOB"
			WEB_STATUS=$?
			WEB_JOB=
		fi
		WEB_PID=
	fi
	if [ -n "$WEB_OWN_RUN" ]; then
		harness_stop web true "$WEB_OWN_RUN"
		WEB_OWN_RUN=
		[ -L "$WEB_DIR/web.sock" ] && rm -f "$WEB_DIR/web.sock"
	fi
	if [ -n "$WEB_OWN_DIR" ]; then
		harness_stop web true "$WEB_OWN_DIR"
		WEB_OWN_DIR=
	fi
	return 0
}

web_main()
{
	web_start || exit 1
	trap 'web_stop' EXIT
	trap 'exit 130' INT TERM
	echo "WEB_URL=$WEB_URL"
	echo "WEB_DIR=$WEB_DIR"
	echo "example: curl -sS $WEB_URL/api/v1/health"
	echo "Ctrl-C stops nginx and spoolkeeper-web and removes $WEB_DIR."
	while :; do sleep 3600; done
}

case ${0##*/} in
web.sh) web_main "$@" ;;
esac
