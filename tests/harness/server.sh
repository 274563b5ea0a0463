#!/bin/sh
# tests/harness/server.sh: what the server harnesses (broker.sh, ftps.sh, pg.sh) share: a free port, stopping their directories.
#
# Sourced by them (from the repository root, or from beside them when they run as a command); POSIX sh.

# harness_free_port: prints a TCP port of 127.0.0.1 that nothing listens on right now.
harness_free_port()
{
	if command -v python3 >/dev/null 2>&1; then
		python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' && return 0
	fi
	while :; do
		_p=$(( ($(od -An -N2 -tu2 /dev/urandom) % 30000) + 20000 ))
		ss -Hltn "sport = :$_p" 2>/dev/null | grep -q . || { echo "$_p"; return 0; }
	done
}

# harness_reap KILLARG...: waits until `kill -0 KILLARG...` fails (the process or group is gone), sending
# SIGKILL after 5 s.  KILLARG is a pid, or -- -PGID for a process group.
harness_reap()
{
	_n=0
	while kill -0 "$@" 2>/dev/null; do
		_n=$((_n + 1))
		if [ "$_n" -ge 100 ]; then
			kill -s KILL "$@" 2>/dev/null
		fi
		sleep 0.05
	done
}

# harness_stop NAME DOWN DIRS: for each directory of DIRS (a list), runs DOWN DIR and removes DIR; refuses any
# directory not named */spoolkeeper-NAME.*, saying so as NAME.sh.
harness_stop()
{
	for _d in $3; do
		[ -d "$_d" ] || continue
		case $_d in
		*/spoolkeeper-"$1".*) ;;
		*) echo "$1.sh: refusing to remove $_d" >&2; continue ;;
		esac
		"$2" "$_d"
		rm -rf "$_d"
	done
	return 0
}
