#!/bin/sh
# tests/harness/key.sh: a throwaway key file for the secrets kept encrypted in the database (sourced; POSIX sh).
#
#   . tests/harness/key.sh
#   key_init DIR     `$BIN key init --key-file DIR/secret.key` (mode 0600), then exports SPOOLKEEPER_KEY_FILE
#                    pointing at it, so that `spoolkeeper printer add`, `migrate` and the worker started later use
#                    it; returns 1 with the command's message on stderr when that fails
#
# BIN is the spoolkeeper CLI (default build/bin/spoolkeeper).  The key goes with DIR (the caller's temporary
# directory); docs/security.md says what the key protects.

key_init()
{
	if ! _out=$("${BIN:-build/bin/spoolkeeper}" key init --key-file "$1/secret.key" 2>&1); then
		echo "key.sh: spoolkeeper key init failed: $_out" >&2
		return 1
	fi
	SPOOLKEEPER_KEY_FILE=$1/secret.key
	export SPOOLKEEPER_KEY_FILE
}
