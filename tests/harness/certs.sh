#!/bin/sh
# tests/harness/certs.sh: a throwaway test CA and printer certificates whose name is the printer serial.
#
# A Bambu printer presents, on MQTT (8883) and FTPS (990), a certificate whose subject CN is its serial
# (e.g. 01S00A000000001) and that carries no IP address: a client checks the chain against the Bambu CA and
# the serial as the expected host name (../shared/docs/bambu-protocol.md §1.1).  This script makes the same
# thing with a test CA, openssl CLI only, so that the worker's real verification code is exercised.
#
# As a library (POSIX sh):
#
#   . tests/harness/certs.sh
#   certs_make DIR SERIAL [SERIAL...]     test CA + one server certificate for the serials (see below)
#   certs_ca DIR [CN]                     only the CA: DIR/ca.crt, DIR/ca.key (kept if already there)
#   certs_leaf DIR NAME SERIAL [SERIAL...]  DIR/NAME.crt + DIR/NAME.key signed by DIR's CA
#
# As a command:
#
#   sh tests/harness/certs.sh DIR SERIAL [SERIAL...]
#
# certs_make writes DIR/ca.crt, DIR/ca.key, DIR/server.crt, DIR/server.key.  The server certificate has
# CN = the first serial and one subjectAltName DNS entry per serial, so one certificate can serve a broker
# shared by many simulated printers (each client still checks its own serial); it has no IP address SAN,
# like the real ones, so a client that checks the host name against 127.0.0.1 fails, as it would on a
# real printer.  RSA 2048, SHA-256, valid 10 years, CA with basicConstraints
# and keyUsage (OpenSSL's strict mode accepts it, unlike the real BBL CA).  DIR is made mode 755 and every
# file 644, keys included: mosquitto, started as root, drops to the user `mosquitto` before it reads its
# key, and vsftpd reads it as root; this is a throwaway test key, never a secret.

# certs_ca DIR [CN]: makes the test CA in DIR unless DIR/ca.crt and DIR/ca.key exist.  Returns 0 or 1.
certs_ca()
{
	_cd=$1
	_cn=${2:-Spoolkeeper Test BBL CA}
	mkdir -p "$_cd" && chmod 755 "$_cd" || return 1
	[ -s "$_cd/ca.crt" ] && [ -s "$_cd/ca.key" ] && return 0
	if ! openssl req -x509 -newkey rsa:2048 -nodes -sha256 -days 3650 \
	    -keyout "$_cd/ca.key" -out "$_cd/ca.crt" -subj "/O=Spoolkeeper tests/CN=$_cn" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -addext "subjectKeyIdentifier=hash" >"$_cd/ca.log" 2>&1; then
		echo "certs.sh: making the CA failed:" >&2
		cat "$_cd/ca.log" >&2
		return 1
	fi
	chmod 644 "$_cd/ca.crt" "$_cd/ca.key"
	return 0
}

# certs_leaf DIR NAME SERIAL [SERIAL...]: a server certificate DIR/NAME.crt (key DIR/NAME.key) with
# CN = the first serial and a DNS subjectAltName per serial, signed by the CA in DIR.  Returns 0 or 1.
certs_leaf()
{
	_cd=$1
	_name=$2
	shift 2
	[ $# -ge 1 ] || { echo "certs.sh: certs_leaf needs at least one serial" >&2; return 1; }
	[ -s "$_cd/ca.crt" ] || { echo "certs.sh: no CA in $_cd (certs_ca first)" >&2; return 1; }
	_cn=$1
	_san=
	for _s in "$@"; do
		_san="${_san:+$_san,}DNS:$_s"
	done
	printf '%s\n' "basicConstraints=critical,CA:FALSE" \
	    "keyUsage=critical,digitalSignature,keyEncipherment" \
	    "extendedKeyUsage=serverAuth" \
	    "subjectKeyIdentifier=hash" \
	    "authorityKeyIdentifier=keyid" \
	    "subjectAltName=$_san" >"$_cd/$_name.ext" || return 1
	if ! openssl req -new -newkey rsa:2048 -nodes -sha256 -keyout "$_cd/$_name.key" \
	    -out "$_cd/$_name.csr" -subj "/CN=$_cn" >"$_cd/$_name.log" 2>&1 ||
	    ! openssl x509 -req -in "$_cd/$_name.csr" -CA "$_cd/ca.crt" -CAkey "$_cd/ca.key" \
	    -set_serial "0x$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')" -sha256 -days 3650 \
	    -extfile "$_cd/$_name.ext" -out "$_cd/$_name.crt" >>"$_cd/$_name.log" 2>&1; then
		echo "certs.sh: making the certificate $_name for $_cn failed:" >&2
		cat "$_cd/$_name.log" >&2
		return 1
	fi
	rm -f "$_cd/$_name.csr"
	chmod 644 "$_cd/$_name.crt" "$_cd/$_name.key"
	return 0
}

# certs_make DIR SERIAL [SERIAL...]: the CA and DIR/server.{crt,key} for the serials.
certs_make()
{
	_dir=$1
	shift
	certs_ca "$_dir" && certs_leaf "$_dir" server "$@"
}

case ${0##*/} in
certs.sh)
	if [ $# -lt 2 ]; then
		echo "usage: sh tests/harness/certs.sh DIR SERIAL [SERIAL...]" >&2
		exit 2
	fi
	certs_make "$@" || exit 1
	echo "CA: $1/ca.crt  server: $1/server.crt $1/server.key (CN $2)"
	;;
esac
