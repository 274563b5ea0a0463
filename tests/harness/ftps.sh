#!/bin/sh
# tests/harness/ftps.sh: starts and stops a real vsftpd with implicit FTPS, serving files as a Bambu printer.
#
# A Bambu printer serves its SD card with vsftpd: implicit TLS (port 990), user bblp, password = LAN access
# code, TLS 1.2, and require_ssl_reuse (a data connection must resume the control connection's TLS session)
# (../shared/docs/bambu-protocol.md §3).  This harness runs the same server, from the Debian package, on a
# free port of 127.0.0.1, with the certificate of tests/harness/certs.sh (CN = the printer serial).
#
# As a library (POSIX sh; must run as root: it creates a system user and runs vsftpd):
#
#   . tests/harness/ftps.sh
#   ftps_available || { echo "skipped: $ftps_why"; exit 0; }
#   ftps_start [SERIAL] || exit 1          # exports FTPS_DIR FTPS_PORT FTPS_ROOT FTPS_CAFILE FTPS_ACCESS_CODE
#   trap ftps_stop EXIT
#   ftps_put FILE [PATH]                   # serve FILE as PATH (default: its name, in the root "/")
#   curl --ssl-reqd --cacert "$FTPS_CAFILE" --resolve "$SERIAL:$FTPS_PORT:127.0.0.1" \
#       --user "bblp:$FTPS_ACCESS_CODE" "ftps://$SERIAL:$FTPS_PORT/"
#
#   ftps_start again starts another server; ftps_stop [DIR] stops one, or all that this shell started;
#   ftps_down DIR / ftps_up DIR stop it and start it again on the same port with the same files.
#
# As a command:
#
#   sh tests/harness/ftps.sh [SERIAL [FILE...]]   start, serve the FILEs, print the variables, wait for Ctrl-C
#
# Environment read by ftps_start: FTPS_ACCESS_CODE (default 12345678), FTPS_CA_DIR (ca.crt + ca.key of
# certs_ca: a new certificate for SERIAL signed by it) else FTPS_CERTS (a certs.sh directory used as is)
# else a fresh CA and certificate for SERIAL, FTPS_TMPDIR (default /tmp), FTPS_TLS_MAX (1.2, the
# default, as the printers; 1.3 offers TLS 1.3 too, to reproduce the P2S failure), FTPS_SSL_REUSE (YES,
# the default, as the printers; NO switches vsftpd's require_ssl_reuse off), FTPS_PASV (passive ports
# "MIN-MAX"; default a random window of 64 ports).  The default serial is 01S00A000000001.
#
# Layout of the served tree (FTPS_ROOT = the printer's SD card; "/" on FTP, "/sdcard/" in file:// URLs):
# "/" holds LAN-sent .gcode.3mf files, "/cache/" the cloud and Studio jobs, plus "/timelapse/", "/image/"
# and "/model/", as on a P1/A1.  Names may hold spaces, ';' and any UTF-8 (utf8_filesystem=YES).
#
# How the login works: the system user bblp (created once with useradd: shell nologin, home an empty
# /var/lib/spoolkeeper-test-bblp, which vsftpd needs to exist though it never serves it) has the
# access code as its password (chpasswd on every start).  vsftpd authenticates it through PAM with the
# service /etc/pam.d/spoolkeeper-test-ftps (pam_unix only: Debian's /etc/pam.d/vsftpd also requires a
# shell listed in /etc/shells, which a user that cannot log in does not have).  Each server chroots bblp
# into its own FTPS_ROOT (local_root), so several servers can serve different files at once; they share
# the one password of bblp, so servers started with different access codes at the same time do not work
# (the last start wins).
#
# Quirks (all handled here):
#   - vsftpd 3.0.3 has no setting for the highest TLS version and offers TLS 1.3.  Real printers stop at
#     TLS 1.2, and so does this server by default: OPENSSL_CONF (DIR/openssl.cnf) caps the protocol of the
#     vsftpd process.  With FTPS_TLS_MAX=1.3, curl 7.88.1 / OpenSSL 3.0 of Debian 12 still lists and
#     downloads under require_ssl_reuse here (the session-reuse failures of curl #3002/#4654 and of the
#     P2S do not reproduce with these versions), so the harness cannot reproduce that printer bug.
#   - vsftpd changes into the user's home before local_root even when local_root is set: a missing home
#     gives "500 OOPS: cannot change directory:/nonexistent", sent in clear text on the TLS control
#     connection after PASS, which curl reports as "SSL_read: wrong version number" (error 56).
#   - vsftpd refuses to chroot into a root that the user can write (allow_writeable_chroot): FTPS_ROOT
#     belongs to root, mode 755, and write_enable=NO (the worker only downloads).
#   - vsftpd's seccomp sandbox (on by default) kills the session process with SIGSYS on this kernel and
#     libc; vsftpd then writes "500 OOPS: child died" in clear text where the TLS handshake should be, and
#     curl reports "wrong version number" (error 35): seccomp_sandbox=NO.  isolate and isolate_network (a
#     new PID and network namespace per session) work here but buy nothing for a test server: both NO
#     (FTPS_ISOLATE=YES turns them on), so that a container without namespace rights makes no difference.
#   - vsftpd forks a process per session: it is started in its own process group (setsid), which stop
#     signals as a whole.

FTPS_TMPDIR=${FTPS_TMPDIR:-/tmp}
FTPS_ALL=${FTPS_ALL:-}
FTPS_DIR=
FTPS_PAM=/etc/pam.d/spoolkeeper-test-ftps
FTPS_HOME=/var/lib/spoolkeeper-test-bblp
ftps_why=

if [ -f tests/harness/server.sh ]; then
	. tests/harness/server.sh
else
	. "$(dirname "$0")/server.sh"
fi

# ftps_available: true when vsftpd, openssl, curl, useradd and chpasswd exist and we are root.
ftps_available()
{
	if [ "$(id -u)" != 0 ]; then
		ftps_why="not root: the FTPS harness creates the system user bblp and runs vsftpd"
		return 1
	fi
	for _b in vsftpd openssl curl useradd chpasswd setsid timeout; do
		if ! command -v "$_b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$_b" ]; then
			ftps_why="$_b not found: apt-get install vsftpd openssl curl (or make deps)"
			return 1
		fi
	done
	return 0
}

# ftps_bin: prints the path of vsftpd (in /usr/sbin, not always in PATH).
ftps_bin()
{
	command -v vsftpd 2>/dev/null || echo /usr/sbin/vsftpd
}

# ftps_user CODE: makes sure the system user bblp and the PAM service exist; sets bblp's password to CODE.
ftps_user()
{
	if ! id bblp >/dev/null 2>&1; then
		_nologin=/usr/sbin/nologin
		[ -x "$_nologin" ] || _nologin=/bin/false
		if ! useradd --system --no-create-home --home-dir "$FTPS_HOME" --shell "$_nologin" \
		    --comment "Spoolkeeper tests, simulated printer FTPS" bblp; then
			echo "ftps.sh: useradd bblp failed" >&2
			return 1
		fi
	fi
	# vsftpd changes into the home directory before local_root: it must exist ("500 OOPS: cannot change
	# directory"), though each server then chroots into its own root.
	_home=$(getent passwd bblp | cut -d: -f6)
	if [ -z "$_home" ] || [ ! -d "$_home" ]; then
		mkdir -p "$FTPS_HOME" && chmod 755 "$FTPS_HOME" || return 1
		[ "$_home" = "$FTPS_HOME" ] || usermod --home "$FTPS_HOME" bblp || return 1
	fi
	if ! echo "bblp:$1" | chpasswd; then
		echo "ftps.sh: chpasswd for bblp failed" >&2
		return 1
	fi
	_pam='# Written by Spoolkeeper tests/harness/ftps.sh: the FTPS login of the simulated printers (user bblp).
auth	required	pam_unix.so
account	required	pam_unix.so'
	if [ "$(cat "$FTPS_PAM" 2>/dev/null)" != "$_pam" ]; then
		printf '%s\n' "$_pam" >"$FTPS_PAM" || return 1
	fi
	return 0
}

# ftps_url DIR [PATH]: prints the ftps:// URL of PATH on DIR's server, by IP (for curl -k).
ftps_url()
{
	echo "ftps://127.0.0.1:$(cat "$1/port")/${2:-}"
}

# ftps_ready DIR: true when an authenticated listing of "/" succeeds (control and data channel).
ftps_ready()
{
	timeout 10 curl -s -S --ssl-reqd -k --max-time 8 --user "bblp:$(cat "$1/access_code")" \
	    "$(ftps_url "$1")" >"$1/ready.out" 2>"$1/ready.err"
}

# ftps_pgid DIR: prints the process group (= pid) of DIR's vsftpd.
ftps_pgid()
{
	cat "$1/pid" 2>/dev/null
}

# ftps_launch DIR: starts vsftpd on DIR's config in its own process group and waits until it serves.
# Returns 0, 1 (it did not start or serve: its log is shown), or 2 (the port was taken).
ftps_launch()
{
	rm -f "$1/pid"
	OPENSSL_CONF=$1/openssl.cnf setsid sh -c 'echo $$ >"$1/pid"; exec "$2" "$1/vsftpd.conf"' sh \
	    "$1" "$(ftps_bin)" >>"$1/stderr.log" 2>&1 </dev/null &
	_n=0
	while [ ! -s "$1/pid" ]; do
		_n=$((_n + 1))
		[ "$_n" -lt 100 ] || { echo "ftps.sh: vsftpd did not start" >&2; return 1; }
		sleep 0.02
	done
	_n=0
	while :; do
		if ! kill -0 "$(ftps_pgid "$1")" 2>/dev/null; then
			if grep -q -i "could not bind\|address already in use" "$1/stderr.log"; then
				return 2
			fi
			echo "ftps.sh: vsftpd exited; its output:" >&2
			tail -n 20 "$1/stderr.log" >&2
			return 1
		fi
		ftps_ready "$1" && return 0
		_n=$((_n + 1))
		if [ "$_n" -ge 100 ]; then
			echo "ftps.sh: vsftpd on port $(cat "$1/port") does not serve; curl said:" >&2
			cat "$1/ready.err" >&2
			tail -n 20 "$1/vsftpd.log" >&2 2>/dev/null
			ftps_down "$1"
			return 1
		fi
		sleep 0.1
	done
}

# ftps_write_conf DIR PORT: writes DIR/vsftpd.conf and DIR/openssl.cnf.
ftps_write_conf()
{
	echo "$2" >"$1/port"
	_pasv=${FTPS_PASV:-}
	if [ -z "$_pasv" ]; then
		_lo=$(( ($(od -An -N2 -tu2 /dev/urandom) % 20000) + 30000 ))
		_pasv="$_lo-$((_lo + 63))"
	fi
	cat >"$1/vsftpd.conf" <<EOF
# Written by tests/harness/ftps.sh: the FTPS server of a simulated Bambu printer.
listen=YES
listen_ipv6=NO
listen_address=127.0.0.1
listen_port=$2
background=NO
anonymous_enable=NO
local_enable=YES
write_enable=NO
pam_service_name=${FTPS_PAM##*/}
userlist_enable=NO
chroot_local_user=YES
local_root=$1/root
secure_chroot_dir=$1/empty
utf8_filesystem=YES
seccomp_sandbox=NO
isolate=${FTPS_ISOLATE:-NO}
isolate_network=${FTPS_ISOLATE:-NO}
ssl_enable=YES
implicit_ssl=YES
allow_anon_ssl=NO
force_local_logins_ssl=YES
force_local_data_ssl=YES
ssl_sslv2=NO
ssl_sslv3=NO
ssl_tlsv1=YES
require_ssl_reuse=${FTPS_SSL_REUSE:-YES}
ssl_ciphers=HIGH
rsa_cert_file=$1/server.crt
rsa_private_key_file=$1/server.key
pasv_enable=YES
pasv_address=127.0.0.1
pasv_min_port=${_pasv%-*}
pasv_max_port=${_pasv#*-}
port_enable=NO
xferlog_enable=YES
xferlog_std_format=NO
log_ftp_protocol=YES
vsftpd_log_file=$1/vsftpd.log
syslog_enable=NO
idle_session_timeout=300
data_connection_timeout=120
max_clients=200
max_per_ip=200
EOF
	_max=${FTPS_TLS_MAX:-1.2}
	cat >"$1/openssl.cnf" <<EOF
# Written by tests/harness/ftps.sh: vsftpd's TLS versions (OPENSSL_CONF of the vsftpd process only).
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.2
MaxProtocol = TLSv$_max
CipherString = DEFAULT:@SECLEVEL=2
EOF
}

# ftps_start [SERIAL]: makes the directory, certificate and user, starts vsftpd on a free port and waits
# until an authenticated listing works.  Exports FTPS_DIR FTPS_PORT FTPS_ROOT FTPS_CAFILE FTPS_ACCESS_CODE.
ftps_start()
{
	ftps_available || { echo "ftps.sh: $ftps_why" >&2; return 1; }
	FTPS_ACCESS_CODE=${FTPS_ACCESS_CODE:-12345678}
	ftps_user "$FTPS_ACCESS_CODE" || return 1
	_d=$(mktemp -d "$FTPS_TMPDIR/spoolkeeper-ftps.XXXXXX") || return 1
	chmod 755 "$_d"
	FTPS_ALL="$FTPS_ALL $_d"
	mkdir -p "$_d/root/cache" "$_d/root/timelapse" "$_d/root/image" "$_d/root/model" "$_d/empty"
	chmod 755 "$_d/root" "$_d/root/cache" "$_d/root/timelapse" "$_d/root/image" "$_d/root/model"
	chmod 555 "$_d/empty"
	if [ -n "${FTPS_CA_DIR:-}" ]; then
		# One CA for many printers (as the BBL CA), a certificate of its own for this one.
		mkdir -p "$_d/certs" && chmod 755 "$_d/certs" &&
		    cp "$FTPS_CA_DIR/ca.crt" "$FTPS_CA_DIR/ca.key" "$_d/certs/" &&
		    (. "$(ftps_harness_dir)/certs.sh" && certs_leaf "$_d/certs" server "${1:-01S00A000000001}") || {
			ftps_stop "$_d"
			return 1
		}
		cp "$_d/certs/ca.crt" "$_d/certs/server.crt" "$_d/certs/server.key" "$_d/"
	elif [ -n "${FTPS_CERTS:-}" ]; then
		cp "$FTPS_CERTS/ca.crt" "$FTPS_CERTS/server.crt" "$FTPS_CERTS/server.key" "$_d/" || {
			ftps_stop "$_d"
			return 1
		}
	else
		(. "$(ftps_harness_dir)/certs.sh" && certs_make "$_d/certs" "${1:-01S00A000000001}") || {
			ftps_stop "$_d"
			return 1
		}
		cp "$_d/certs/ca.crt" "$_d/certs/server.crt" "$_d/certs/server.key" "$_d/"
	fi
	echo "$FTPS_ACCESS_CODE" >"$_d/access_code"
	chmod 600 "$_d/access_code" "$_d/server.key"
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		ftps_write_conf "$_d" "$(harness_free_port)" || { ftps_stop "$_d"; return 1; }
		ftps_launch "$_d"
		_st=$?
		[ "$_st" -eq 0 ] && break
		if [ "$_st" -ne 2 ] || [ "$_tries" -ge 5 ]; then
			ftps_stop "$_d"
			return 1
		fi
	done
	FTPS_DIR=$_d
	FTPS_PORT=$(cat "$_d/port")
	FTPS_ROOT=$_d/root
	FTPS_CAFILE=$_d/ca.crt
	export FTPS_DIR FTPS_PORT FTPS_ROOT FTPS_CAFILE FTPS_ACCESS_CODE FTPS_ALL
	return 0
}

# ftps_harness_dir: the directory of this script (for certs.sh).
ftps_harness_dir()
{
	if [ -f tests/harness/certs.sh ]; then
		echo tests/harness
	else
		echo "${FTPS_HARNESS:-$(dirname "$0")}"
	fi
}

# ftps_put FILE [PATH]: serves FILE as PATH under the root of the last started server (or of FTPS_DIR).
ftps_put()
{
	_dst=$FTPS_ROOT/${2:-$(basename "$1")}
	mkdir -p "$(dirname "$_dst")" && chmod 755 "$(dirname "$_dst")" &&
	    cp "$1" "$_dst" && chmod 644 "$_dst"
}

# ftps_down DIR: stops DIR's vsftpd and its sessions (the whole process group); DIR stays.
ftps_down()
{
	_pg=$(ftps_pgid "$1")
	[ -n "$_pg" ] || return 0
	kill -s TERM -- "-$_pg" 2>/dev/null
	harness_reap -- "-$_pg"
	rm -f "$1/pid"
	return 0
}

# ftps_up DIR: starts DIR's vsftpd again on its port.
ftps_up()
{
	[ -f "$1/vsftpd.conf" ] || { echo "ftps.sh: $1 is not an FTPS directory" >&2; return 1; }
	if [ -f "$1/pid" ] && kill -0 "$(ftps_pgid "$1")" 2>/dev/null; then
		return 0
	fi
	ftps_launch "$1"
	case $? in
	0) return 0 ;;
	2) echo "ftps.sh: port $(cat "$1/port") was taken while the server was down" >&2; return 1 ;;
	*) return 1 ;;
	esac
}

# ftps_stop [DIR]: stops DIR's server, or every server started by this shell, and removes the directories.
ftps_stop()
{
	if [ $# -gt 0 ]; then
		harness_stop ftps ftps_down "$1"
	else
		harness_stop ftps ftps_down "$FTPS_ALL"
		FTPS_ALL=
	fi
	return 0
}

ftps_main()
{
	case ${1:-} in
	down) ftps_down "$2"; exit $? ;;
	up) ftps_up "$2"; exit $? ;;
	stop) ftps_stop "$2"; exit $? ;;
	esac
	FTPS_HARNESS=$(dirname "$0")
	_serial=${1:-01S00A000000001}
	[ $# -gt 0 ] && shift
	ftps_start "$_serial" || exit 1
	trap 'ftps_stop' EXIT
	trap 'exit 130' INT TERM
	for _f in "$@"; do
		ftps_put "$_f" || exit 1
	done
	echo "FTPS_DIR=$FTPS_DIR"
	echo "FTPS_PORT=$FTPS_PORT"
	echo "FTPS_ROOT=$FTPS_ROOT"
	echo "FTPS_CAFILE=$FTPS_CAFILE"
	echo "FTPS_ACCESS_CODE=$FTPS_ACCESS_CODE"
	echo "example: curl --ssl-reqd --cacert $FTPS_CAFILE --resolve $_serial:$FTPS_PORT:127.0.0.1" \
	    "--user bblp:$FTPS_ACCESS_CODE ftps://$_serial:$FTPS_PORT/"
	echo "Ctrl-C stops the server and removes $FTPS_DIR."
	while :; do sleep 3600; done
}

case ${0##*/} in
ftps.sh) ftps_main "$@" ;;
esac
