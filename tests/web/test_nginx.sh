#!/bin/sh
# tests/web/test_nginx.sh: the nginx configurations (nginx/) with a real nginx in front of the real spoolkeeper-web.
#
#   BIN=build/bin/spoolkeeper sh tests/web/test_nginx.sh      (inside a cluster of tests/harness/pg.sh)
#
# 1. `nginx -t` on nginx/local.conf.in as tests/harness/web.sh renders it, and on the production site
#    nginx/spoolkeeper.conf (with nginx/spoolkeeper-http.conf and the snippet) inside a minimal http {} with a
#    throwaway self-signed certificate.
# 2. The local stack (web_start: spoolkeeper-web on a migrated database behind nginx/local.conf.in): static files
#    with their Content-Type, caching and security headers; dot files refused; bodies over 64 KiB refused by
#    nginx (413); /metrics reachable from 127.0.0.1 only (127.0.0.2 is refused); /api/v1/health; the Origin
#    check through nginx (the Host header with its port reaches the app); a real login; the login rate limit
#    (429, per address); exactly one of each security header on every response, the app's and nginx's own;
#    nginx's JSON 502 when the app is down.
# 3. The production site itself, run on free ports of 127.0.0.1 in front of the same app: HTTPS (HTTP/2,
#    TLS 1.2 and 1.3, not 1.1), HSTS once, the HTTPS parameter reaching the app (its Secure __Host- cookie),
#    the plain-HTTP redirect.
# The database is dropped and every process stopped at the end.  Prints ok / not ok lines (tests/harness/tap.sh).
#
# The frontend is the built one (frontend/dist/, make frontend) if there is one, else frontend/ when it has an
# index.html, else a stand-in page; the test adds its own files (a hashed asset, a manifest, dot files) to a copy.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
WEB_BIN=${WEB_BIN:-$(dirname "$BIN")/spoolkeeper-web}
WEB_ROOT=$ROOT
export WEB_BIN WEB_ROOT

. tests/harness/check_db.sh
. tests/harness/web.sh
. tests/harness/tap.sh
db_need_pg
db_need_exec "$BIN" "$WEB_BIN"
if ! web_available; then
	echo "ok - skipped: $web_why"
	exit 0
fi
NGINX=$(web_nginx)

T=$(mktemp -d) || exit 1
P=
PROD_PID=
DB=sk_nginx_$$
cleanup()
{
	if [ -n "$PROD_PID" ]; then
		kill -s TERM "$PROD_PID" 2>/dev/null
		harness_reap -- "-$PROD_PID"
	fi
	web_stop
	psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1
	rm -rf "$T"
	[ -n "$P" ] && rm -rf "$P"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# get URL [CURL-ARGS...]: one request; status in $code, headers in $T/h, body in $T/b.
get()
{
	_url=$1
	shift
	code=$(curl -sS --max-time 20 -D "$T/h" -o "$T/b" -w '%{http_code}' "$@" "$_url" 2>"$T/curl.err")
	[ -n "$code" ] || code=000
}

# hcount NAME: how many times the last response has header NAME.
hcount()
{
	grep -c -i "^$1:" "$T/h"
}

# hval NAME: the (first) value of header NAME in the last response.
hval()
{
	grep -i "^$1:" "$T/h" | head -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}

# what: the last response, for a failure's detail.
what()
{
	echo "HTTP $code"
	tr -d '\r' <"$T/h"
	head -c 400 "$T/b"
	echo
	cat "$T/curl.err"
}

# expect NAME WANT-STATUS...: passes when the last status is one of WANT-STATUS.
expect()
{
	_name=$1
	shift
	for _w in "$@"; do
		if [ "$code" = "$_w" ]; then
			pass "$_name"
			return 0
		fi
	done
	fail "$_name" "want HTTP $*; got $(what)"
	return 1
}

# expect_header NAME HEADER VALUE: the last response has HEADER exactly once, equal to VALUE.
expect_header()
{
	_n=$(hcount "$2")
	_v=$(hval "$2")
	if [ "$_n" -ne 1 ]; then
		fail "$1" "want one $2 header, got $_n: $(what)"
	elif [ "$_v" != "$3" ]; then
		fail "$1" "want $2: $3; got $2: $_v"
	else
		pass "$1"
	fi
}

# one_each NAME: the last response has exactly one of each security header, whatever their values.
one_each()
{
	_bad=
	for _h in Content-Security-Policy X-Content-Type-Options Referrer-Policy Permissions-Policy; do
		_n=$(hcount "$_h")
		[ "$_n" -eq 1 ] || _bad="$_bad $_h x$_n"
	done
	if [ -n "$_bad" ]; then
		fail "$1" "headers not there exactly once:$_bad; $(what)"
	else
		pass "$1"
	fi
}

CSP="default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

# static_headers NAME: the site's own headers (a static file or nginx's own answer), each once.
static_headers()
{
	_bad=
	for _hv in "Content-Security-Policy|$CSP" "X-Content-Type-Options|nosniff" \
	    "Referrer-Policy|same-origin" "Permissions-Policy|camera=(self)"; do
		_h=${_hv%%|*}
		_n=$(hcount "$_h")
		if [ "$_n" -ne 1 ]; then
			_bad="$_bad; $_h x$_n"
		elif [ "$(hval "$_h")" != "${_hv#*|}" ]; then
			_bad="$_bad; $_h: $(hval "$_h")"
		fi
	done
	if [ -n "$_bad" ]; then
		fail "$1" "security headers wrong${_bad}"
	else
		pass "$1"
	fi
}

# --- The database, the key, a user ---------------------------------------------------------------------
db_create_migrated "$DB"
SPOOLKEEPER_DATABASE="$PG_CONNINFO dbname=$DB"
SPOOLKEEPER_KEY_FILE=$T/secret.key
export SPOOLKEEPER_DATABASE SPOOLKEEPER_KEY_FILE
"$BIN" key init --key-file "$SPOOLKEEPER_KEY_FILE" >/dev/null 2>&1	# without it the app still serves
USER_NAME=nginxtest
USER_PW=nginx-test-password-4711
if printf '%s\n' "$USER_PW" | "$BIN" user add "$USER_NAME" --password-stdin >"$T/user.out" 2>&1; then
	HAVE_USER=1
else
	HAVE_USER=
	echo "# no test user ($(head -n 1 "$T/user.out")): the login checks are skipped"
fi
LOGIN_OK=$(printf '{"username": "%s", "password": "%s"}' "$USER_NAME" "$USER_PW")
LOGIN_BAD='{"username": "nobody", "password": "not-the-password"}'

# --- The frontend: the real one (if any) plus the test's own files ---------------------------------------
mkdir -p "$T/frontend/assets" "$T/frontend/.git"
if [ -f "$ROOT/frontend/dist/index.html" ]; then
	tar -C "$ROOT/frontend/dist" -cf - . | tar -C "$T/frontend" -xf -
elif [ -f "$ROOT/frontend/index.html" ]; then
	tar -C "$ROOT/frontend" --exclude=./node_modules -cf - . | tar -C "$T/frontend" -xf -
else
	printf '%s\n' '<!doctype html>' '<html lang="en"><meta charset="utf-8"><title>Spoolkeeper test</title></html>' \
	    >"$T/frontend/index.html"
fi
echo 'console.log("spoolkeeper nginx test");' >"$T/frontend/assets/sk-test.0123abcd.js"
echo '{"name": "Spoolkeeper test"}' >"$T/frontend/sk-test.webmanifest"
printf '[core]\n\trepositoryformatversion = 0\n' >"$T/frontend/.git/config"
echo 'SECRET=1' >"$T/frontend/.env"
echo 'visible' >"$T/frontend/sk-test-visible.txt"
WEB_FRONTEND=$T/frontend
export WEB_FRONTEND

# --- 1. nginx -t ------------------------------------------------------------------------------------------
mkdir -p "$T/t/var/tmp"
if web_render_nginx "$T/t/nginx.conf" 8080 "$T/t/web.sock" "$T/t/var" "$T/frontend" &&
    web_nginx_test "$T/t/nginx.conf" 2>"$T/t/err"; then
	pass "nginx -t: nginx/local.conf.in"
else
	fail "nginx -t: nginx/local.conf.in" "$(cat "$T/t/err")"
fi

# The production site as the Ansible role installs it, its host-specific values replaced.  P is a directory
# nginx's workers may enter (the production nginx of part 3 runs from it too).
P=$(mktemp -d /tmp/spoolkeeper-nginx-prod.XXXXXX) || exit 1
chmod 755 "$P"
mkdir -p "$P/var"
if ! openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 2 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$P/privkey.pem" -out "$P/fullchain.pem" >"$P/openssl.log" 2>&1; then
	fail "self-signed certificate for the production site" "$(cat "$P/openssl.log")"
fi
# prod_site SOCKET FRONTEND TLS-PORT HTTP-PORT: nginx/spoolkeeper.conf with the test's paths, on stdout.
# nginx binds the listening sockets even for `nginx -t`: free ports of 127.0.0.1 stand for 443 and 80 (which may
# be taken, or need root), and the [::] lines go (IPv6 may be off in a container).
prod_site()
{
	sed -e "s|/etc/nginx/snippets/spoolkeeper-site.conf|$ROOT/nginx/spoolkeeper-site.conf|" \
	    -e "s|/etc/spoolkeeper/tls/fullchain.pem|$P/fullchain.pem|" \
	    -e "s|/etc/spoolkeeper/tls/privkey.pem|$P/privkey.pem|" \
	    -e "s|/var/log/nginx/spoolkeeper|$P/var/spoolkeeper|" \
	    -e "s|unix:/run/spoolkeeper/web.sock|unix:$1|" \
	    -e "s|root /usr/share/spoolkeeper/frontend;|root $2;|" \
	    -e "s|listen 443 ssl http2 default_server;|listen 127.0.0.1:$3 ssl http2 default_server;|" \
	    -e "s|listen 80;|listen 127.0.0.1:$4;|" -e '/listen \[::\]/d' "$ROOT/nginx/spoolkeeper.conf"
}
# prod_conf SITE: a minimal nginx.conf around SITE (as Debian's: conf.d/ then the site), on stdout.
prod_conf()
{
	[ "$(id -u)" = 0 ] && echo "user $(web_nginx_user);"
	cat <<EOF
daemon off;
worker_processes 1;
pid $P/var/nginx.pid;
error_log $P/var/error.log notice;
events { worker_connections 64; }
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	access_log $P/var/access.log;
	client_body_temp_path $P/var/client_body;
	fastcgi_temp_path $P/var/fastcgi;
	proxy_temp_path $P/var/proxy;
	uwsgi_temp_path $P/var/uwsgi;
	scgi_temp_path $P/var/scgi;
	include $ROOT/nginx/spoolkeeper-http.conf;
	include $1;
}
EOF
}
prod_site /run/spoolkeeper/web.sock /usr/share/spoolkeeper/frontend "$(harness_free_port)" \
    "$(harness_free_port)" >"$P/site-t.conf"
if grep -n -E 'listen +(80|443|\[)|/etc/spoolkeeper|/etc/nginx/snippets|/var/log' "$P/site-t.conf" >"$P/left"; then
	fail "the test's substitutions still match nginx/spoolkeeper.conf" "left as they were: $(cat "$P/left")"
fi
prod_conf "$P/site-t.conf" >"$P/nginx-t.conf"
if web_nginx_test "$P/nginx-t.conf" 2>"$P/t.err"; then
	pass "nginx -t: nginx/spoolkeeper.conf (production site; free ports for 80 and 443)"
else
	fail "nginx -t: nginx/spoolkeeper.conf (production site; free ports for 80 and 443)" "$(cat "$P/t.err")"
fi

# --- 2. The local stack -------------------------------------------------------------------------------------
if ! web_start; then
	fail "web_start: spoolkeeper-web behind nginx/local.conf.in"
	tap_done
	exit 1
fi
pass "web_start: GET $WEB_URL/api/v1/health answers 200"
U=$WEB_URL

# The socket: the app's, group of nginx's workers, mode 0660, in a directory closed to others.
if [ "$(id -u)" = 0 ]; then
	_want="srw-rw---- $(web_nginx_user | cut -d ' ' -f 2)"
	_got=$(ls -l "$WEB_SOCKET" | awk '{print $1 " " $4}')
	_dir=$(ls -ld "$WEB_RUN" | awk '{print $1}')
	if [ "$_got" = "$_want" ] && [ "$_dir" = "drwxr-s---" ]; then
		pass "socket $_want in a $_dir directory; nginx's workers run as $(ps -o user= --ppid "$NGINX_PID" | sort -u | tr '\n' ' ')"
	else
		fail "socket permissions" "socket: $_got (want $_want); directory: $_dir (want drwxr-s---)"
	fi
	if ps -o user= --ppid "$NGINX_PID" | grep -qx root; then
		fail "nginx's workers do not run as root" "$(ps -o pid,user,cmd --ppid "$NGINX_PID")"
	else
		pass "nginx's workers do not run as root"
	fi
fi

# Static files.
get "$U/"
expect "GET / is 200" 200
expect_header "GET /: Content-Type text/html; charset=utf-8" Content-Type "text/html; charset=utf-8"
static_headers "GET /: CSP, nosniff, Referrer-Policy, Permissions-Policy once each"
expect_header "GET /: Cache-Control no-cache" Cache-Control "no-cache"
[ "$(hcount Server)" -eq 1 ] && [ "$(hval Server)" = nginx ] && pass "GET /: Server: nginx, no version" ||
    fail "GET /: Server: nginx, no version" "Server: $(hval Server)"

get "$U/index.html"
expect_header "GET /index.html: Cache-Control no-cache" Cache-Control "no-cache"

get "$U/assets/sk-test.0123abcd.js"
expect "GET /assets/<hashed>.js is 200" 200
expect_header "GET /assets/<hashed>.js: Content-Type application/javascript" Content-Type \
    "application/javascript; charset=utf-8"
expect_header "GET /assets/<hashed>.js: cached for a year" Cache-Control "public, max-age=31536000, immutable"
static_headers "GET /assets/<hashed>.js: security headers once each"

get "$U/assets/sk-test.0123abcd.js" -H "If-None-Match: $(hval ETag)"
expect "GET /assets/<hashed>.js with its ETag is 304" 304
expect_header "304 of an asset: cached for a year" Cache-Control "public, max-age=31536000, immutable"

get "$U/assets/missing.0123abcd.js"
expect "GET /assets/<missing> is 404 (not the HTML shell)" 404
expect_header "404 of an asset: not cached for long" Cache-Control "no-cache"
static_headers "404 of an asset: security headers once each"

get "$U/sk-test.webmanifest"
expect_header "GET /<name>.webmanifest: Content-Type application/manifest+json" Content-Type \
    "application/manifest+json"
expect_header "GET /<name>.webmanifest: Cache-Control no-cache" Cache-Control "no-cache"

# The built frontend (after make frontend): the service worker and the manifest are revalidated on every use,
# the manifest has its type, and the hashed bundle that index.html names is cached for a year.
if [ -f "$ROOT/frontend/dist/index.html" ]; then
	get "$U/sw.js"
	expect "GET /sw.js (the frontend's service worker) is 200" 200
	expect_header "GET /sw.js: Cache-Control no-cache" Cache-Control "no-cache"
	get "$U/manifest.webmanifest"
	expect_header "GET /manifest.webmanifest: Content-Type application/manifest+json" Content-Type \
	    "application/manifest+json"
	js=$(sed -n 's|.*src="\(/assets/main-[A-Za-z0-9]*\.js\)".*|\1|p' "$ROOT/frontend/dist/index.html")
	get "$U$js"
	expect "GET $js (the bundle index.html names) is 200" 200
	expect_header "GET $js: cached for a year" Cache-Control "public, max-age=31536000, immutable"
fi

get "$U/some/client/route"
if [ "$code" = 200 ] && [ "$(hval Content-Type)" = "text/html; charset=utf-8" ]; then
	pass "GET /some/client/route: the HTML shell"
else
	fail "GET /some/client/route: the HTML shell" "$(what)"
fi

# Dot files: present in the served directory, never served.
get "$U/sk-test-visible.txt"
expect "GET /sk-test-visible.txt (beside the dot files) is 200" 200
for f in /.git/config /.env /assets/../.git/config /%2egit/config; do
	get "$U$f" --path-as-is
	expect "GET $f is refused" 403 404
	if grep -q -e repositoryformatversion -e SECRET "$T/b"; then
		fail "GET $f: the file's content must not be served" "$(what)"
	fi
done

# The API through nginx.
get "$U/api/v1/health"
expect "GET /api/v1/health is 200" 200
if python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if d.get("database") == "ok" else 1)' \
    "$T/b" 2>/dev/null; then
	pass "GET /api/v1/health: JSON with \"database\": \"ok\""
else
	fail "GET /api/v1/health: JSON with \"database\": \"ok\"" "$(what)"
fi
case $(hval Content-Type) in
application/json*) pass "GET /api/v1/health: Content-Type $(hval Content-Type)" ;;
*) fail "GET /api/v1/health: Content-Type application/json" "$(what)" ;;
esac
one_each "GET /api/v1/health: security headers once each (the app's, plus nginx's Permissions-Policy)"
expect_header "GET /api/v1/health: the app's own CSP, not the site's" Content-Security-Policy \
    "default-src 'none'; frame-ancestors 'none'"
expect_header "GET /api/v1/health: the app's Cache-Control only" Cache-Control "no-store"

get "$U/api/v1/no-such-route"
expect "GET /api/v1/no-such-route: the app's 404" 404
one_each "API 404: security headers once each"

get "$U/metrics"
if [ "$code" = 200 ] && grep -q '^spoolkeeper_database_up 1$' "$T/b"; then
	pass "GET /metrics from 127.0.0.1: nginx lets it through to the app's metrics (HTTP $code)"
else
	fail "GET /metrics from 127.0.0.1: nginx lets it through to the app's metrics" "$(what)"
fi

# Another address (Linux answers on all of 127.0.0.0/8): not "this host" for /metrics.
get "$U/metrics" --interface 127.0.0.2
if [ "$code" = 000 ]; then
	echo "# no source address 127.0.0.2 here ($(cat "$T/curl.err")): the checks from another address are skipped"
	OTHER_ADDR=
else
	OTHER_ADDR=1
	expect "GET /metrics from 127.0.0.2: 403" 403
	static_headers "403 of /metrics: security headers once each"
fi

# Bodies over 64 KiB: nginx's 413, in JSON, before the app or the rate limit sees them.
head -c 70000 /dev/zero | tr '\0' 'a' >"$T/big"
get "$U/api/v1/session" -X POST -H 'Content-Type: application/json' --data-binary "@$T/big"
expect "POST 70000 bytes to /api/v1/session: 413" 413
case $(hval Content-Type) in
application/json*) grep -q '"too_large"' "$T/b" && pass "413: JSON error body" || fail "413: JSON error body" "$(what)" ;;
*) fail "413: JSON error body" "$(what)" ;;
esac
static_headers "413: security headers once each"
get "$U/api/v1/users" -X POST -H 'Content-Type: application/json' --data-binary "@$T/big"
expect "POST 70000 bytes to /api/v1/users: 413" 413
head -c 60000 /dev/zero | tr '\0' 'a' >"$T/medium"
get "$U/api/v1/users" -X POST -H 'Content-Type: application/json' --data-binary "@$T/medium"
if [ "$code" != 413 ] && [ "$code" != 000 ] && [ "$code" != 502 ]; then
	pass "POST 60000 bytes reaches the app (HTTP $code)"
else
	fail "POST 60000 bytes reaches the app" "$(what)"
fi

# The Origin check through nginx: the app compares Origin with the Host header, port included.
get "$U/api/v1/session" -X POST -H 'Content-Type: application/json' -H "Origin: http://evil.example" \
    --data "$LOGIN_BAD"
expect "POST /api/v1/session from another origin: the app's 403" 403
grep -q '"csrf"' "$T/b" || fail "403 from another origin is the app's csrf error" "$(what)"
one_each "API 403: security headers once each"
if [ -n "$HAVE_USER" ]; then
	get "$U/api/v1/session" -X POST -H 'Content-Type: application/json' -H "Origin: $U" \
	    -H 'Sec-Fetch-Site: same-origin' --data "$LOGIN_OK"
	if [ "$code" -ge 200 ] && [ "$code" -lt 300 ] && grep -q -i '^set-cookie: sk_session=' "$T/h" &&
	    ! grep -i '^set-cookie:' "$T/h" | grep -q -i secure; then
		pass "log in from $U (Host with its port reaches the app): HTTP $code, cookie sk_session, not Secure"
	else
		fail "log in from $U through nginx" "$(what)"
	fi
	one_each "log in: security headers once each"
else
	get "$U/api/v1/session" -X POST -H 'Content-Type: application/json' -H "Origin: $U" \
	    --data "$LOGIN_BAD"
	if [ "$code" != 403 ] && [ "$code" != 000 ]; then
		pass "POST /api/v1/session from $U passes the Origin check (HTTP $code)"
	else
		fail "POST /api/v1/session from $U passes the Origin check" "$(what)"
	fi
fi

# The login rate limit: 10 a minute and a burst of 5 per address; 20 quick tries get many 429s.
n429=0
nother=0
for i in $(seq 1 20); do
	c=$(curl -sS --max-time 20 -o "$T/rl.b" -D "$T/rl.h" -w '%{http_code}' -X POST \
	    -H 'Content-Type: application/json' --data "$LOGIN_BAD" "$U/api/v1/session" 2>/dev/null)
	if [ "$c" = 429 ]; then
		n429=$((n429 + 1))
		cp "$T/rl.b" "$T/b"
		cp "$T/rl.h" "$T/h"
		code=429
	else
		nother=$((nother + 1))
	fi
done
if [ "$n429" -ge 10 ]; then
	pass "20 quick logins: $n429 refused with 429, $nother answered"
else
	fail "20 quick logins: at least 10 refused with 429" "$n429 were 429, $nother were not"
fi
if [ "$n429" -gt 0 ]; then
	grep -q '"rate_limited"' "$T/b" && pass "429: JSON error body" || fail "429: JSON error body" "$(what)"
	expect_header "429: Retry-After: 60" Retry-After 60
	static_headers "429: security headers once each"
fi
get "$U/api/v1/health"
expect "GET /api/v1/health right after: not limited" 200
if [ -n "$OTHER_ADDR" ]; then
	get "$U/api/v1/session" --interface 127.0.0.2 -X POST -H 'Content-Type: application/json' --data "$LOGIN_BAD"
	if [ "$code" != 429 ] && [ "$code" != 000 ]; then
		pass "POST /api/v1/session right after from 127.0.0.2: not limited (HTTP $code): the limit is per address"
	else
		fail "POST /api/v1/session right after from 127.0.0.2: not limited" "$(what)"
	fi
fi
get "$U/api/v1/session" -X DELETE -H "Origin: $U"
if [ "$code" != 429 ] && [ "$code" != 000 ]; then
	pass "DELETE /api/v1/session (log out) is not limited (HTTP $code)"
else
	fail "DELETE /api/v1/session (log out) is not limited" "$(what)"
fi

# --- 3. The production site, run -------------------------------------------------------------------------------
_tries=0
PROD_OK=
while [ "$_tries" -lt 5 ]; do
	_tries=$((_tries + 1))
	TLS_PORT=$(harness_free_port)
	HTTP_PORT=$(harness_free_port)
	[ "$TLS_PORT" != "$HTTP_PORT" ] || continue
	prod_site "$WEB_SOCKET" "$WEB_FRONTEND_DIR" "$TLS_PORT" "$HTTP_PORT" >"$P/site.conf"
	prod_conf "$P/site.conf" >"$P/nginx.conf"
	: >"$P/var/error.log"
	rm -f "$P/pgid"
	setsid sh -c 'echo $$ >"$1/pgid"; exec "$2" -c "$1/nginx.conf" -e "$1/var/error.log"' sh "$P" "$NGINX" \
	    >"$P/var/stderr.log" 2>&1 </dev/null &
	_job=$!
	while [ ! -s "$P/pgid" ] && kill -0 "$_job" 2>/dev/null; do
		sleep 0.01
	done
	PROD_PID=$(cat "$P/pgid" 2>/dev/null)
	[ -n "$PROD_PID" ] || break
	S=https://localhost:$TLS_PORT
	CURL_TLS="--cacert $P/fullchain.pem --resolve localhost:$TLS_PORT:127.0.0.1"
	_n=0
	while [ "$_n" -lt 200 ]; do
		# shellcheck disable=SC2086
		if curl -sS -o /dev/null --max-time 2 $CURL_TLS "$S/api/v1/health" 2>/dev/null; then
			PROD_OK=1
			break
		fi
		kill -0 "$PROD_PID" 2>/dev/null || break
		_n=$((_n + 1))
		sleep 0.1
	done
	[ -n "$PROD_OK" ] && break
	kill -s TERM "$PROD_PID" 2>/dev/null
	harness_reap -- "-$PROD_PID"
	PROD_PID=
	grep -q -i "address already in use" "$P/var/error.log" "$P/var/stderr.log" || break
done
if [ -z "$PROD_OK" ]; then
	fail "the production site runs (TLS on 127.0.0.1)" \
	    "$(tail -n 8 "$P/var/error.log" "$P/var/stderr.log" "$P/var/spoolkeeper.error.log" 2>/dev/null)"
else
	pass "the production site runs (TLS on 127.0.0.1:$TLS_PORT, redirect on :$HTTP_PORT)"
	# shellcheck disable=SC2086
	get "$S/" $CURL_TLS --http2
	expect "HTTPS GET /: 200" 200
	if head -n 1 "$T/h" | grep -q '^HTTP/2'; then
		pass "HTTPS GET /: HTTP/2"
	else
		fail "HTTPS GET /: HTTP/2" "$(head -n 1 "$T/h")"
	fi
	expect_header "HTTPS GET /: Strict-Transport-Security once" Strict-Transport-Security "max-age=31536000"
	static_headers "HTTPS GET /: security headers once each"
	# shellcheck disable=SC2086
	get "$S/api/v1/health" $CURL_TLS
	expect "HTTPS GET /api/v1/health: 200" 200
	one_each "HTTPS GET /api/v1/health: security headers once each"
	expect_header "HTTPS GET /api/v1/health: Strict-Transport-Security once" Strict-Transport-Security \
	    "max-age=31536000"
	# shellcheck disable=SC2086
	get "$S/metrics" $CURL_TLS
	if [ "$code" != 403 ] && [ "$code" != 000 ]; then
		pass "HTTPS GET /metrics from 127.0.0.1: let through (HTTP $code)"
	else
		fail "HTTPS GET /metrics from 127.0.0.1: let through" "$(what)"
	fi
	if [ -n "$HAVE_USER" ]; then
		# shellcheck disable=SC2086
		get "$S/api/v1/session" $CURL_TLS -X POST -H 'Content-Type: application/json' -H "Origin: $S" \
		    --data "$LOGIN_OK"
		if [ "$code" -ge 200 ] && [ "$code" -lt 300 ] &&
		    grep -i '^set-cookie: __Host-sk_session=' "$T/h" | grep -q -i 'secure'; then
			pass "HTTPS log in: HTTPS=on reaches the app (cookie __Host-sk_session, Secure)"
		else
			fail "HTTPS log in: HTTPS=on reaches the app (cookie __Host-sk_session, Secure)" "$(what)"
		fi
	fi
	# TLS versions: 1.2 and 1.3 yes, 1.1 no (the client is allowed 1.1 by @SECLEVEL=0, so a refusal is the
	# server's).  With OpenSSL 3 the server's library refuses 1.1 at its default security level anyway;
	# ssl_protocols keeps it so whatever the library's settings: this checks the outcome.
	for v in 1.2 1.3; do
		# shellcheck disable=SC2086
		if curl -sS -o /dev/null --max-time 10 $CURL_TLS --tlsv$v --tls-max $v "$S/" 2>"$T/curl.err"; then
			pass "TLS $v accepted"
		else
			fail "TLS $v accepted" "$(cat "$T/curl.err")"
		fi
	done
	# shellcheck disable=SC2086
	if curl -sS -o /dev/null --max-time 10 $CURL_TLS --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' \
	    "$S/" 2>"$T/curl.err"; then
		fail "TLS 1.1 refused" "a TLS 1.1 connection succeeded"
	else
		pass "TLS 1.1 refused"
	fi
	get "http://127.0.0.1:$HTTP_PORT/api/v1/health?x=1" -H "Host: spoolkeeper.example.lan"
	expect "plain HTTP: 301" 301
	if [ "$(hval Location)" = "https://spoolkeeper.example.lan/api/v1/health?x=1" ]; then
		pass "plain HTTP: redirected to https://, path and query kept"
	else
		fail "plain HTTP: redirected to https://, path and query kept" "$(what)"
	fi
	kill -s TERM "$PROD_PID" 2>/dev/null
	harness_reap -- "-$PROD_PID"
	PROD_PID=
fi

# --- The app down: nginx's JSON 502; then web_stop ------------------------------------------------------------
_wpid=$WEB_PID
kill -s TERM "$WEB_PID"
harness_reap "$WEB_PID"
get "$U/api/v1/health"
expect "app stopped: GET /api/v1/health is 502" 502
grep -q '"unavailable"' "$T/b" && pass "502: JSON error body" || fail "502: JSON error body" "$(what)"
static_headers "502: security headers once each"

_npid=$NGINX_PID
web_stop
if [ "${WEB_STATUS:-0}" -eq 0 ]; then
	pass "spoolkeeper-web exited 0 on SIGTERM${WEB_STATUS:+ (status $WEB_STATUS)}"
else
	fail "spoolkeeper-web exited 0 on SIGTERM" "exit status $WEB_STATUS"
fi
if kill -0 -- "-$_wpid" 2>/dev/null || kill -0 -- "-$_npid" 2>/dev/null; then
	fail "web_stop: no process of the app or nginx is left" "$(ps -o pid,pgid,cmd -g "$_wpid,$_npid")"
else
	pass "web_stop: no process of the app or nginx is left"
fi

tap_done
