#!/bin/sh
# tests/ansible/test_ansible.sh: the Ansible deployment (ansible/): syntax, ansible-lint, and a real run on this machine.
#
#   BIN=build/bin/spoolkeeper sh tests/ansible/test_ansible.sh      (from the repository root, as root)
#
# Starts its own PostgreSQL cluster (tests/harness/pg.sh) and runs ansible/site.yml against localhost
# (connection local) with the tags that need no systemd as PID 1: database, user, install, config, key, units,
# nginx_config.  Every path the roles write (programs, /etc/spoolkeeper, unit files, the nginx site) points into a
# temporary directory; the system user `spoolkeeper` is made for real.  Then checks: the login roles exist and are
# members of the right group roles, schema_migrations holds every sql/ migration, the services' login roles work
# with the rendered environment files and the web role may not UPDATE spoolman_outbox, `nginx -t` passes on the
# rendered site, the key file is mode 0600 and the service user's, the unit files verify (systemd-analyze verify,
# skipped with a message when systemd cannot run it here), the worker and the web app start as systemd would start
# them (their unit's ExecStart, environment file and user; the web app's socket on fd 0, by fcgi_serve.py) and
# work (a heartbeat; /api/v1/health ok), a second run changes nothing, and bad settings are refused with a clear
# message.  Prints ok / not ok lines; exit status 1 on any failure.

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT" || exit 1
BIN=${BIN:-build/bin/spoolkeeper}
BINDIR=$(cd "$(dirname "$BIN")" && pwd)
TAGS=database,user,install,config,key,units,nginx_config
CA=$ROOT/../shared/samples/certs/bbl_ca_bundle.pem

. tests/harness/tap.sh
TAP_TAIL=25

for c in ansible-playbook ansible-lint openssl; do
	if ! command -v "$c" >/dev/null 2>&1; then
		echo "not ok - $c not found: apt-get install ansible ansible-lint openssl (or make deps)"
		exit 1
	fi
done
for p in spoolkeeper spoolkeeper-cli spoolkeeper-web spoolkeeper-worker; do
	if [ ! -x "$BINDIR/$p" ]; then
		echo "not ok - $BINDIR/$p is not built (make)"
		exit 1
	fi
done
if [ "$(id -u)" != 0 ]; then
	echo "not ok - run as root: the play makes a system user and runs psql as postgres"
	exit 1
fi

T=$(mktemp -d /tmp/spoolkeeper-ansible.XXXXXX) || exit 1
chmod 755 "$T"
. tests/harness/pg.sh
SVC_PIDS=
cleanup()
{
	for p in $SVC_PIDS; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	pg_stop
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- 1. syntax and lint ---------------------------------------------------------------------------------------
if out=$(cd ansible && ansible-playbook --syntax-check site.yml 2>&1); then
	pass "ansible-playbook --syntax-check site.yml (example inventory)"
else
	fail "ansible-playbook --syntax-check site.yml" "$out"
fi
# Offline: no collection is fetched; the default rules of this ansible-lint, nothing skipped.
if out=$(cd ansible && ansible-lint --offline --nocolor 2>&1); then
	pass "ansible-lint: no violations ($(printf '%s\n' "$out" | grep -o 'Passed with [a-z]* profile' | head -n 1))"
else
	fail "ansible-lint: no violations" "$out"
fi

# --- 2. a cluster and the play's inputs -------------------------------------------------------------------------
pg_start || { fail "PostgreSQL test cluster starts"; exit 1; }
mkdir -p "$T/prebuilt" "$T/tls" "$T/nginx" "$T/log" "$T/root" || exit 1
# The prebuilt method, from copies (a rebuild or a new migration in the checkout between the runs must not count).
cp "$BINDIR/spoolkeeper" "$BINDIR/spoolkeeper-cli" "$BINDIR/spoolkeeper-web" "$BINDIR/spoolkeeper-worker" \
    "$T/prebuilt/" || exit 1
cp -r sql "$T/sql" || exit 1
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=spoolkeeper.test -keyout "$T/tls/privkey.pem" \
    -out "$T/tls/fullchain.pem" >"$T/openssl.log" 2>&1 || { fail "TLS certificate" "$(cat "$T/openssl.log")"; exit 1; }
[ -f "$CA" ] || CA=$T/tls/fullchain.pem
FRONTEND=
if [ -f frontend/dist/index.html ]; then
	cp -r frontend/dist "$T/frontend" && FRONTEND=$T/frontend || exit 1
fi
# nginx's main file, as Debian's: the site goes into conf.d/ and sites-enabled/ beside it.
cat >"$T/nginx/nginx.conf" <<EOF
user www-data;
pid $T/nginx.pid;
error_log $T/log/error.log;
events {
}
http {
	include /etc/nginx/mime.types;
	default_type application/octet-stream;
	include $T/nginx/conf.d/*.conf;
	include $T/nginx/sites-enabled/*;
}
EOF
R=$T/root
cat >"$T/inventory.yml" <<EOF
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_become: false
      ansible_python_interpreter: /usr/bin/python3
  children:
    spoolkeeper_db:
      hosts:
        localhost:
    spoolkeeper_web:
      hosts:
        localhost:
    spoolkeeper_workers:
      hosts:
        localhost:
  vars:
    spoolkeeper_manage_services: false
    postgresql_manage_server: false
    postgresql_socket_dir: "$PG_DIR"
    postgresql_port: $PG_PORT
    spoolkeeper_db_host: 127.0.0.1
    spoolkeeper_db_port: $PG_PORT
    spoolkeeper_db_name: spoolkeeper
    spoolkeeper_db_owner_password: 0f1e2d3c4b5a69788796a5b4c3d2e1f0
    spoolkeeper_db_web_password: 1f2e3d4c5b6a79889706b5c4d3e2f101
    spoolkeeper_db_worker_password: 2f3e4d5c6b7a89909817c6d5e4f30212
    spoolkeeper_install_method: prebuilt
    spoolkeeper_prebuilt_dir: "$T/prebuilt"
    spoolkeeper_prebuilt_sql_dir: "$T/sql"
    spoolkeeper_bin_dir: "$R/usr/local/bin"
    spoolkeeper_sbin_dir: "$R/usr/local/sbin"
    spoolkeeper_share_dir: "$R/usr/local/share/spoolkeeper"
    spoolkeeper_etc_dir: "$R/etc/spoolkeeper"
    spoolkeeper_systemd_dir: "$R/etc/systemd/system"
    spoolkeeper_tmpfiles_dir: "$R/etc/tmpfiles.d"
    spoolkeeper_web_socket: /run/spoolkeeper/web.sock
    spoolkeeper_frontend_src: "$FRONTEND"
    spoolkeeper_worker_ca_src: "$CA"
    spoolkeeper_worker_cache_dir: "$R/var/cache/spoolkeeper-worker"
    nginx_conf_dir: "$T/nginx"
    nginx_log_dir: "$T/log"
    nginx_tls_certificate: "$T/tls/fullchain.pem"
    nginx_tls_certificate_key: "$T/tls/privkey.pem"
EOF

# play LOG [ARGS...]: the play with the test inventory and tags; its output in $T/LOG.
play()
{
	_log=$1
	shift
	ANSIBLE_CONFIG=$ROOT/ansible/ansible.cfg ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0 \
	    ansible-playbook -i "$T/inventory.yml" --tags "$TAGS" "$@" ansible/site.yml >"$T/$_log" 2>&1
}

# recap LOG: the PLAY RECAP line of localhost.
recap()
{
	grep -E '^localhost +:' "$T/$1" | tail -n 1
}

# --- 3. the first run ------------------------------------------------------------------------------------------
if play run1.log && recap run1.log | grep -q 'failed=0'; then
	pass "first run of site.yml (tags $TAGS): $(recap run1.log | sed 's/  */ /g')"
else
	fail "first run of site.yml" "$(tail -n 40 "$T/run1.log")"
	exit 1
fi

q()
{
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"
}
got=$(q postgres "SELECT string_agg(b.rolname || '>' || a.rolname, ' ' ORDER BY b.rolname) FROM pg_auth_members m
    JOIN pg_roles a ON a.oid = m.roleid JOIN pg_roles b ON b.oid = m.member
    WHERE b.rolname IN ('spoolkeeper_owner', 'spoolkeeper_web_login', 'spoolkeeper_worker_login')")
logins=$(q postgres "SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles WHERE rolcanlogin
    AND NOT rolsuper AND NOT rolcreaterole AND NOT rolcreatedb AND rolname LIKE 'spoolkeeper%'")
if [ "$got" = "spoolkeeper_web_login>spoolkeeper_web spoolkeeper_worker_login>spoolkeeper_worker" ] &&
    [ "$logins" = "spoolkeeper_owner spoolkeeper_web_login spoolkeeper_worker_login" ]; then
	pass "login roles exist, may only log in, and are members of their group role only"
else
	fail "login roles and memberships" "members: $got
logins: $logins"
fi
if [ "$(q postgres "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'spoolkeeper'")" = \
    spoolkeeper_owner ]; then
	pass "the database spoolkeeper belongs to spoolkeeper_owner"
else
	fail "the database spoolkeeper belongs to spoolkeeper_owner"
fi
want=$(ls "$T/sql" | sed -n 's/^\([0-9][0-9][0-9][0-9]\)_.*\.sql$/\1/p' | sed 's/^0*//' | sort -n | tr '\n' ' ')
have=$(q spoolkeeper "SELECT version FROM schema_migrations ORDER BY version" | tr '\n' ' ')
if [ -n "$want" ] && [ "$want" = "$have" ] &&
    [ "$(q spoolkeeper "SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class
	WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'v', 'S')")" = spoolkeeper_owner ]; then
	pass "schema_migrations holds every sql/ migration ($want), every table the owner's"
else
	fail "schema_migrations holds every sql/ migration" "want: $want
have: $have"
fi

# The services' environment files, as systemd would read them.
envq()
{
	(set -a && . "$1" && psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$SPOOLKEEPER_DATABASE" -c "$2") 2>"$T/envq.err"
}
if [ "$(envq "$R/etc/spoolkeeper/web.env" "SELECT current_user || ' ' || count(*) FROM printers")" = \
    "spoolkeeper_web_login 0" ] &&
    [ "$(envq "$R/etc/spoolkeeper/worker.env" "SELECT current_user || ' ' || count(*) FROM worker_leases")" = \
    "spoolkeeper_worker_login 0" ]; then
	pass "web.env and worker.env log in as their own roles"
else
	fail "web.env and worker.env log in as their own roles" "$(cat "$T/envq.err")"
fi
if ! envq "$R/etc/spoolkeeper/web.env" "UPDATE spoolman_outbox SET state = 'pending'" >/dev/null &&
    grep -q "permission denied" "$T/envq.err" &&
    ! envq "$R/etc/spoolkeeper/worker.env" "SELECT count(*) FROM users" >/dev/null &&
    grep -q "permission denied" "$T/envq.err"; then
	pass "the web role may not UPDATE spoolman_outbox, the worker role may not read users"
else
	fail "the web role may not UPDATE spoolman_outbox, the worker role may not read users" "$(cat "$T/envq.err")"
fi
if out=$("$R/usr/local/sbin/spoolkeeper-admin" migrate 2>&1) && printf '%s\n' "$out" | grep -q "up to date"; then
	pass "spoolkeeper-admin runs the CLI as the owner: $out"
else
	fail "spoolkeeper-admin migrate" "$out"
fi
for f in admin.env web.env worker.env; do
	[ "$(stat -c '%a %U' "$R/etc/spoolkeeper/$f")" = "600 root" ] || bad="$bad $f"
done

# The key file.
if [ "$(stat -c '%a %U %s' "$R/etc/spoolkeeper/secret.key" 2>&1)" = "600 spoolkeeper 65" ] && [ -z "${bad:-}" ]; then
	pass "the key file is there, mode 0600, the service user's; the environment files root's, 0600"
else
	fail "key file and environment files" "$(ls -l "$R/etc/spoolkeeper")"
fi

# nginx.
if out=$(nginx -t -q -c "$T/nginx/nginx.conf" 2>&1) &&
    grep -q "ssl_certificate $T/tls/fullchain.pem;" "$T/nginx/sites-available/spoolkeeper" &&
    grep -q "server unix:/run/spoolkeeper/web.sock;" "$T/nginx/sites-available/spoolkeeper" &&
    grep -q "include $T/nginx/snippets/spoolkeeper-site.conf;" "$T/nginx/sites-available/spoolkeeper" &&
    grep -A 4 'location = /metrics' "$T/nginx/snippets/spoolkeeper-site.conf" | grep -q 'deny all'; then
	pass "nginx -t passes on the rendered site (certificate paths, socket, /metrics for localhost only)"
else
	fail "nginx -t on the rendered site" "$out"
fi

# The unit files.
U=$R/etc/systemd/system
if grep -q '^Restart=always$' "$U/spoolkeeper-worker.service" &&
    grep -q '^StandardInput=socket$' "$U/spoolkeeper-web.service" &&
    grep -q '^ListenStream=/run/spoolkeeper/web.sock$' "$U/spoolkeeper-web.socket" &&
    grep -q "^ExecStart=$R/usr/local/bin/spoolkeeper-web --processes 4\$" "$U/spoolkeeper-web.service" &&
    for u in spoolkeeper-web.service spoolkeeper-worker.service; do
	for k in User=spoolkeeper ProtectSystem=strict ProtectHome=yes PrivateTmp=yes NoNewPrivileges=yes \
	    CapabilityBoundingSet= 'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6' SystemCallFilter=@system-service; do
		grep -q -x "$k" "$U/$u" || { echo "$u: no $k"; exit 1; }
	done
    done >"$T/units.err"; then
	pass "unit files rendered: worker Restart=always, web socket-activated on fd 0, hardening"
else
	fail "unit files rendered" "$(cat "$T/units.err")"
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
	echo "# skipped: systemd-analyze verify (systemd-analyze not installed)"
elif out=$(cd "$U" && SYSTEMD_LOG_COLOR=0 systemd-analyze verify spoolkeeper-web.socket spoolkeeper-web.service \
    spoolkeeper-worker.service 2>&1) && [ -z "$out" ]; then
	pass "systemd-analyze verify: the three units, without a warning"
elif printf '%s\n' "$out" | grep -q -i -E 'Failed to (connect|initialize|setup)|System has not been booted|No such file or directory.*(bus|private)|Operation not permitted'; then
	echo "# skipped: systemd-analyze verify cannot run without systemd as PID 1 here: $(printf '%s\n' "$out" | head -n 1)"
else
	fail "systemd-analyze verify" "$out"
fi

# --- 4. the services, started as systemd would: ExecStart of the rendered unit, its environment file (read as
# root), the service user; the web app with its listening socket on fd 0 (StandardInput=socket) ------------------
execstart()
{
	sed -n 's/^ExecStart=//p' "$U/$1"
}
(
	set -a && . "$R/etc/spoolkeeper/worker.env" && set +a &&
	    exec setpriv --reuid spoolkeeper --regid spoolkeeper --init-groups $(execstart spoolkeeper-worker.service)
) >"$T/worker.log" 2>&1 &
SVC_PIDS="$SVC_PIDS $!"
(
	set -a && . "$R/etc/spoolkeeper/web.env" && set +a &&
	    exec python3 tests/ansible/fcgi_serve.py listen "$T/web.sock" \
	    setpriv --reuid spoolkeeper --regid spoolkeeper --init-groups $(execstart spoolkeeper-web.service)
) >"$T/web.log" 2>&1 &
SVC_PIDS="$SVC_PIDS $!"
n=0
until [ "$(q spoolkeeper "SELECT count(*) FROM worker_heartbeats WHERE worker_id = 'localhost'")" = 1 ] &&
    grep -q "listening on" "$T/web.log"; do
	n=$((n + 1))
	[ "$n" -lt 200 ] || break
	sleep 0.1
done
if [ "$(q spoolkeeper "SELECT count(*) FROM worker_heartbeats WHERE worker_id = 'localhost'")" = 1 ] &&
    ! grep -q -i -E "permission denied|fatal|refus" "$T/worker.log"; then
	pass "the worker runs as spoolkeeper with worker.env and its unit's command line (heartbeat as 'localhost')"
else
	fail "the worker runs as spoolkeeper with worker.env and its unit's command line" "$(tail -n 10 "$T/worker.log")"
fi
if out=$(python3 tests/ansible/fcgi_serve.py get "$T/web.sock" /api/v1/health 2>&1) &&
    printf '%s\n' "$out" | grep -q -E '"database": ?"ok"' && printf '%s\n' "$out" | grep -q -E '"workers": ?1'; then
	pass "the web app runs as spoolkeeper with web.env, on the socket systemd would pass: /api/v1/health is ok"
else
	fail "the web app runs as spoolkeeper with web.env, on the socket systemd would pass" "$out
$(tail -n 10 "$T/web.log")"
fi
for p in $SVC_PIDS; do
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
done
SVC_PIDS=

# --- 5. the second run changes nothing ---------------------------------------------------------------------------
key1=$(sha256sum <"$R/etc/spoolkeeper/secret.key")
if play run2.log && recap run2.log | grep -q 'changed=0 .*failed=0'; then
	pass "second run: $(recap run2.log | sed 's/  */ /g')"
else
	fail "second run changes nothing" "$(recap run2.log)
$(awk '/^TASK/ { t = $0 } /^(changed|fatal)/ { print t; print }' "$T/run2.log")"
fi
if [ "$(sha256sum <"$R/etc/spoolkeeper/secret.key")" = "$key1" ]; then
	pass "the key file was left as it was"
else
	fail "the key file was left as it was"
fi

# --- 6. bad settings are refused, saying why ----------------------------------------------------------------------
play bad1.log -e spoolkeeper_db_web_password='CHANGE ME'
if [ "$(recap bad1.log | grep -c 'failed=1')" = 1 ] &&
    grep -q "spoolkeeper_db_web_password: a password must be 16 to 128" "$T/bad1.log"; then
	pass "a placeholder password is refused with a clear message"
else
	fail "a placeholder password is refused" "$(tail -n 15 "$T/bad1.log")"
fi
play bad2.log -e spoolkeeper_db_web_user=postgres
if [ "$(recap bad2.log | grep -c 'failed=1')" = 1 ] && grep -q "must be 1 to 63 lower-case" "$T/bad2.log"; then
	pass "the superuser as a login role is refused"
else
	fail "the superuser as a login role is refused" "$(tail -n 15 "$T/bad2.log")"
fi

tap_done
