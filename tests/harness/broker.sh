#!/bin/sh
# tests/harness/broker.sh: starts and stops real mosquitto brokers with TLS and a password, as on a Bambu printer.
#
# A Bambu printer runs its own MQTT broker (TLS on 8883, user bblp, password = LAN access code) and the
# printer's firmware is one more client of it, publishing on device/<serial>/report and reading
# device/<serial>/request.  Here a real mosquitto (Debian package, make deps) plays the broker and
# tests/printer/printer_sim plays the firmware.  Two ways to use it, both supported:
#
#   - one broker per simulated printer, as in real life: broker_start once per printer; each has its own
#     port, certificate (CN = that serial) and access code;
#   - one broker shared by many simulated printers (the 100-printer benchmark): broker_start SERIAL1 ...
#     SERIALn once; the topics keep the printers apart (device/<serial>/report, device/<serial>/request),
#     the certificate names every serial (CN = the first, one DNS subjectAltName each) and all printers
#     share the one access code (one bblp line in the password file).
#
# As a library (POSIX sh):
#
#   . tests/harness/broker.sh
#   broker_available || { echo "skipped: $broker_why"; exit 0; }
#   broker_start [SERIAL...] || exit 1   # exports BROKER_DIR BROKER_PORT BROKER_CAFILE BROKER_ACCESS_CODE
#   trap broker_stop EXIT                # stops every broker this shell started
#
#   broker_start again starts another broker (save BROKER_DIR/BROKER_PORT of the first one before).
#   broker_stop [DIR]      stops the broker of DIR (all of them without DIR) and removes its directory
#   broker_down DIR [SIG]  stops the broker process (SIGTERM, or SIG e.g. KILL) but keeps DIR and the port
#   broker_up DIR          starts it again on the same port and waits until it answers
#   broker_pid DIR         prints the broker's pid (for SIGSTOP/SIGCONT hang tests)
#   broker_ready DIR       true when the broker accepts a TLS connection with bblp + the access code
#
# As a command (for other processes, e.g. the simulator's --down-cmd/--up-cmd hooks, or by hand):
#
#   sh tests/harness/broker.sh [SERIAL...]    start one broker, print its variables, wait for Ctrl-C, stop
#   sh tests/harness/broker.sh down DIR [SIG] | up DIR | stop DIR
#
# Environment read by broker_start: BROKER_ACCESS_CODE (default 12345678), BROKER_CA_DIR (a directory
# with ca.crt and ca.key from certs_ca: this broker gets a new certificate for its serials signed by that
# CA, so many brokers share one CA file, as printers share the BBL CA), else BROKER_CERTS (a certs.sh
# directory holding ca.crt, server.crt, server.key, used as is), else a fresh CA and certificate are
# made; BROKER_TMPDIR (default /tmp); BROKER_TLS_MAX (1.2, the default, as the printers; 1.3 allows TLS
# 1.3 too).  The default serial is 01S00A000000001.
#
# The broker listens on 127.0.0.1 only, on a free port, TLS 1.2 only (as the printers: mosquitto's
# tls_version is only a minimum, so DIR/openssl.cnf, given as OPENSSL_CONF, sets the maximum),
# allow_anonymous false, persistence off, logs to DIR/broker.log.  Started as root, mosquitto drops to the
# user mosquitto before it reads its certificate, key and password file: they are copied into DIR (mode
# 755, files 644), never read from a caller's private temporary directory.  Readiness is checked by a real
# TLS publish with mosquitto_pub (QoS 1, so the broker has answered), never by a fixed sleep.

BROKER_TMPDIR=${BROKER_TMPDIR:-/tmp}
BROKER_ALL=${BROKER_ALL:-}
BROKER_DIR=
broker_why=

if [ -f tests/harness/server.sh ]; then
	. tests/harness/server.sh
else
	. "$(dirname "$0")/server.sh"
fi

# broker_available: true when mosquitto, mosquitto_passwd, mosquitto_pub and openssl are installed.
broker_available()
{
	for _b in mosquitto mosquitto_passwd mosquitto_pub openssl timeout; do
		if ! command -v "$_b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$_b" ]; then
			broker_why="$_b not found: apt-get install mosquitto mosquitto-clients openssl (or make deps)"
			return 1
		fi
	done
	return 0
}

# broker_bin: prints the path of the mosquitto broker (in /usr/sbin, not always in PATH).
broker_bin()
{
	command -v mosquitto 2>/dev/null || echo /usr/sbin/mosquitto
}

# broker_pid DIR: prints the pid of DIR's broker process.
broker_pid()
{
	cat "$1/pid" 2>/dev/null
}

# broker_ready DIR: one TLS connection with the access code that publishes at QoS 1 (5 s at most).
broker_ready()
{
	timeout 5 mosquitto_pub -h 127.0.0.1 -p "$(cat "$1/port")" --cafile "$1/ca.crt" --insecure \
	    -u bblp -P "$(cat "$1/access_code")" -i "harness-probe-$$" -q 1 \
	    -t spoolkeeper/harness/ready -m ready >/dev/null 2>&1
}

# broker_launch DIR: starts mosquitto on DIR's config and waits up to 20 s until it answers.
# Returns 0, 1 (it did not start: its log is shown), or 2 (the port was taken: try another one).
broker_launch()
{
	OPENSSL_CONF=$1/openssl.cnf "$(broker_bin)" -c "$1/mosquitto.conf" >>"$1/broker.log" 2>&1 &
	echo $! >"$1/pid"
	_n=0
	while :; do
		if ! kill -0 "$(broker_pid "$1")" 2>/dev/null; then
			if grep -q -i "address already in use" "$1/broker.log"; then
				return 2
			fi
			echo "broker.sh: mosquitto exited; its log ends with:" >&2
			tail -n 20 "$1/broker.log" >&2
			return 1
		fi
		broker_ready "$1" && return 0
		_n=$((_n + 1))
		if [ "$_n" -ge 200 ]; then
			echo "broker.sh: mosquitto on port $(cat "$1/port") does not answer; its log ends with:" >&2
			tail -n 20 "$1/broker.log" >&2
			kill "$(broker_pid "$1")" 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

# broker_write_conf DIR PORT: writes DIR/mosquitto.conf for PORT.
broker_write_conf()
{
	echo "$2" >"$1/port"
	cat >"$1/mosquitto.conf" <<EOF
# Written by tests/harness/broker.sh: the broker of a simulated Bambu printer.
per_listener_settings false
allow_anonymous false
password_file $1/passwd
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp_format %H:%M:%S
listener $2 127.0.0.1
cafile $1/ca.crt
certfile $1/server.crt
keyfile $1/server.key
tls_version tlsv1.2
EOF
	# mosquitto 2.0's tls_version is a minimum; the printers speak TLS 1.2 only: cap it through OpenSSL.
	harness_openssl_cnf "${BROKER_TLS_MAX:-1.2}" >"$1/openssl.cnf"
}

# harness_openssl_cnf MAX: prints an OpenSSL configuration allowing TLS 1.2 up to TLS MAX (1.2 or 1.3).
harness_openssl_cnf()
{
	cat <<EOF
# Written by tests/harness: the server's TLS versions (OPENSSL_CONF of the server process only).
openssl_conf = openssl_init
[openssl_init]
ssl_conf = ssl_sect
[ssl_sect]
system_default = system_default_sect
[system_default_sect]
MinProtocol = TLSv1.2
MaxProtocol = TLSv$1
CipherString = DEFAULT:@SECLEVEL=2
EOF
}

# broker_start [SERIAL...]: makes a directory, certificates and password file, starts a broker on a free
# port and waits until it answers.  Exports BROKER_DIR BROKER_PORT BROKER_CAFILE BROKER_ACCESS_CODE.
broker_start()
{
	broker_available || { echo "broker.sh: $broker_why" >&2; return 1; }
	[ $# -gt 0 ] || set -- 01S00A000000001
	BROKER_ACCESS_CODE=${BROKER_ACCESS_CODE:-12345678}
	_d=$(mktemp -d "$BROKER_TMPDIR/spoolkeeper-broker.XXXXXX") || return 1
	chmod 755 "$_d"
	BROKER_ALL="$BROKER_ALL $_d"
	if [ -n "${BROKER_CA_DIR:-}" ]; then
		# One CA for many printers (as the BBL CA), a certificate of its own for this one.
		mkdir -p "$_d/certs" && chmod 755 "$_d/certs" &&
		    cp "$BROKER_CA_DIR/ca.crt" "$BROKER_CA_DIR/ca.key" "$_d/certs/" &&
		    (. "$(broker_harness_dir)/certs.sh" && certs_leaf "$_d/certs" server "$@") || {
			broker_stop "$_d"
			return 1
		}
		cp "$_d/certs/ca.crt" "$_d/certs/server.crt" "$_d/certs/server.key" "$_d/"
	elif [ -n "${BROKER_CERTS:-}" ]; then
		cp "$BROKER_CERTS/ca.crt" "$BROKER_CERTS/server.crt" "$BROKER_CERTS/server.key" "$_d/" || {
			broker_stop "$_d"
			return 1
		}
	else
		(. "$(broker_harness_dir)/certs.sh" && certs_make "$_d/certs" "$@") || {
			broker_stop "$_d"
			return 1
		}
		cp "$_d/certs/ca.crt" "$_d/certs/server.crt" "$_d/certs/server.key" "$_d/"
	fi
	echo "$BROKER_ACCESS_CODE" >"$_d/access_code"
	echo "$*" >"$_d/serials"
	: >"$_d/passwd"
	if ! mosquitto_passwd -b "$_d/passwd" bblp "$BROKER_ACCESS_CODE" >"$_d/passwd.log" 2>&1; then
		echo "broker.sh: mosquitto_passwd failed:" >&2
		cat "$_d/passwd.log" >&2
		broker_stop "$_d"
		return 1
	fi
	chmod 644 "$_d"/*
	_tries=0
	while :; do
		_tries=$((_tries + 1))
		broker_write_conf "$_d" "$(harness_free_port)" || { broker_stop "$_d"; return 1; }
		broker_launch "$_d"
		_st=$?
		[ "$_st" -eq 0 ] && break
		if [ "$_st" -ne 2 ] || [ "$_tries" -ge 5 ]; then
			broker_stop "$_d"
			return 1
		fi
	done
	BROKER_DIR=$_d
	BROKER_PORT=$(cat "$_d/port")
	BROKER_CAFILE=$_d/ca.crt
	export BROKER_DIR BROKER_PORT BROKER_CAFILE BROKER_ACCESS_CODE BROKER_ALL
	return 0
}

# broker_harness_dir: the directory of this script (for certs.sh), from the repository root or elsewhere.
broker_harness_dir()
{
	if [ -f tests/harness/certs.sh ]; then
		echo tests/harness
	else
		echo "${BROKER_HARNESS:-$(dirname "$0")}"
	fi
}

# broker_down DIR [SIG]: stops DIR's broker (default SIGTERM) and waits until it is gone; DIR stays.
broker_down()
{
	_pid=$(broker_pid "$1")
	[ -n "$_pid" ] || return 0
	kill -s "${2:-TERM}" "$_pid" 2>/dev/null
	kill -s CONT "$_pid" 2>/dev/null
	harness_reap "$_pid"
	rm -f "$1/pid"
	return 0
}

# broker_up DIR: starts DIR's broker again on its port (the port must still be free).
broker_up()
{
	[ -f "$1/mosquitto.conf" ] || { echo "broker.sh: $1 is not a broker directory" >&2; return 1; }
	if [ -f "$1/pid" ] && kill -0 "$(broker_pid "$1")" 2>/dev/null; then
		return 0
	fi
	broker_launch "$1"
	case $? in
	0) return 0 ;;
	2) echo "broker.sh: port $(cat "$1/port") was taken while the broker was down" >&2; return 1 ;;
	*) return 1 ;;
	esac
}

# broker_stop [DIR]: stops DIR's broker, or every broker started by this shell, and removes the directories.
broker_stop()
{
	if [ $# -gt 0 ]; then
		harness_stop broker broker_down "$1"
	else
		harness_stop broker broker_down "$BROKER_ALL"
		BROKER_ALL=
	fi
	return 0
}

broker_main()
{
	case ${1:-} in
	down)
		broker_down "$2" "${3:-TERM}"
		exit $?
		;;
	up)
		broker_up "$2"
		exit $?
		;;
	stop)
		broker_stop "$2"
		exit $?
		;;
	esac
	BROKER_HARNESS=$(dirname "$0")
	broker_start "$@" || exit 1
	trap 'broker_stop' EXIT
	trap 'exit 130' INT TERM
	echo "BROKER_DIR=$BROKER_DIR"
	echo "BROKER_PORT=$BROKER_PORT"
	echo "BROKER_CAFILE=$BROKER_CAFILE"
	echo "BROKER_ACCESS_CODE=$BROKER_ACCESS_CODE"
	echo "example: mosquitto_sub -h 127.0.0.1 -p $BROKER_PORT --cafile $BROKER_CAFILE --insecure" \
	    "-u bblp -P $BROKER_ACCESS_CODE -t 'device/+/report' -v"
	echo "Ctrl-C stops the broker and removes $BROKER_DIR."
	while :; do sleep 3600; done
}

case ${0##*/} in
broker.sh) broker_main "$@" ;;
esac
