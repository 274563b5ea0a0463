#!/bin/sh
# tests/db/test_users.sh: end-to-end tests of `spoolkeeper user` and `setup-token` against a real PostgreSQL; prints ok/not ok lines.
#
#   BIN=build/bin/spoolkeeper sh tests/db/test_users.sh        (inside a cluster of tests/harness/pg.sh)
#
# No default account: the first admin comes from a one-time setup token (stored as its SHA-256 only, refused once
# an enabled admin exists) or from `user add --admin`.  Checks the exit statuses, the messages, and the rows left
# behind with psql: Argon2id hashes only, names unique without regard to case, weak passwords refused, sessions
# ended by a new password or by disabling, audit events written.  Helpers: tests/harness/cli.sh.

BIN=${BIN:-build/bin/spoolkeeper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)

. "$ROOT/tests/harness/cli.sh"

# session USER_ID: a logged-in session of that user (as the web app makes them).
session()
{
	q "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at) VALUES
	    (sha256(convert_to(gen_random_uuid()::text, 'UTF8')), $1, repeat('a', 64), now() + interval '1 day')"
}

# stdin_is TEXT: the file that the next runs read as standard input (IN of tests/harness/cli.sh) holds TEXT and a newline.
stdin_is()
{
	printf '%s\n' "$1" >"$T/in"
	IN=$T/in
}

# nothing_in_db TEXT: true when no column of users, sessions or setup_tokens holds TEXT.
nothing_in_db()
{
	! psql -X -q -A -t -d "$db" -c "SELECT * FROM users; SELECT * FROM setup_tokens; SELECT * FROM auth_events" |
	    grep -qF -- "$1"
}

GEN='[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}'

newdb users
check_ok "users: migrate" migrate
check_ok "user list: no users" user list
expect "user list: says how to make the first one" "$(cat "$T/out")" \
    "no users yet (spoolkeeper setup-token, or spoolkeeper user add NAME --admin)"

# --- the first admin: a setup token -----------------------------------------------------------------------

run setup-token
tok=$(cat "$T/out")
if [ "$st" -eq 0 ] && echo "$tok" | grep -Eqx '[0-9a-f]{64}' &&
    grep -Eq '^setup-token: a one-time token .* valid for 24 hours \(until ' "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ]; then
	pass "setup-token: the token alone on stdout, what it is on stderr"
else
	fail "setup-token: the token alone on stdout, what it is on stderr" "exit status $st"
fi
expect "setup-token: stored as its SHA-256, unused, for 24 hours" \
    "$(q "SELECT count(*) FROM setup_tokens WHERE token_hash = sha256(convert_to('$tok', 'UTF8')) AND used_at IS NULL
	AND expires_at BETWEEN now() + interval '23 hours 58 minutes' AND now() + interval '24 hours'")" 1
if nothing_in_db "$tok"; then
	pass "setup-token: the token itself is not in the database"
else
	fail "setup-token: the token itself is not in the database"
fi
run setup-token --ttl-hours 2
expect "setup-token --ttl-hours 2" "$st $(q "SELECT count(*) FROM setup_tokens WHERE expires_at < now() + interval '2 hours 1 minute'")" "0 1"
expect "setup-token: a new token each time" "$(q "SELECT count(DISTINCT token_hash) FROM setup_tokens")" 2
check_error "setup-token --ttl-hours 0" 2 "--ttl-hours '0' is not a number of hours from 1 to 720" setup-token --ttl-hours 0
check_error "setup-token --ttl-hours x" 2 "--ttl-hours 'x'" setup-token --ttl-hours x
check_error "setup-token: bad argument" 2 "usage: spoolkeeper setup-token" setup-token now

# --- user add ----------------------------------------------------------------------------------------------

check_ok "user add --admin with a generated password" user add Alice --admin
if grep -Eqx "user add: added user Alice \(admin\); password \(shown only now\): $GEN" "$T/out"; then
	pass "user add: prints the generated password once"
else
	fail "user add: prints the generated password once"
fi
alice_pw=$(sed 's/.*: //' "$T/out")
expect "user add: stored with an Argon2id hash" \
    "$(q "SELECT username || ' ' || role || ' ' || disabled || ' ' || (password_hash LIKE '\$argon2id\$v=19\$m=65536,t=2,p=1\$%') FROM users")" \
    "Alice admin false true"
if nothing_in_db "$alice_pw"; then
	pass "user add: the password itself is not in the database"
else
	fail "user add: the password itself is not in the database"
fi
check_error "setup-token: refused once an admin exists" 1 "an admin account exists already" setup-token
expect "setup-token: refused made no token" "$(q "SELECT count(*) FROM setup_tokens")" 2

stdin_is "correct horse battery"
check_ok "user add --password-stdin" user add bob --password-stdin
expect "user add --password-stdin: output" "$(cat "$T/out")" "user add: added user bob (member)"
check_error "user add: the same name in other case" 1 "a user named 'BOB' already exists \(names are compared without regard to case\)" \
    user add BOB --password-stdin
stdin_is "password1"
check_error "user add: a common password" 1 "one of the most common ones" user add carol --password-stdin
stdin_is "short"
check_error "user add: a short password" 1 "at least 8 characters" user add carol --password-stdin
stdin_is "carol.2024"
check_error "user add: the name as password" 1 "must not be the user name" user add Carol.2024 --password-stdin
stdin_is "$(printf 'tab\there1')"
check_error "user add: a control character" 1 "without control characters" user add carol --password-stdin
stdin_is "$(head -c 300 /dev/zero | tr '\0' x)"
check_error "user add: a password too long" 1 "at most 256 bytes" user add carol --password-stdin
IN=
check_error "user add --password-stdin without input" 1 "no line on standard input" user add carol --password-stdin
stdin_is "correct horse battery"
check_error "user add: bad name" 1 "bad user name 'bad name': 1 to 64 letters" user add "bad name" --password-stdin
check_error "user add: no name" 2 "no user name" user add --admin
check_error "user add: unknown flag" 2 "bad argument '--root'" user add dave --root
check_error "user: unknown subcommand" 2 "unknown subcommand" user delete bob
expect "user add: the refused adds left nothing" "$(q "SELECT string_agg(username, ',' ORDER BY id) FROM users")" "Alice,bob"

check_ok "user list" user list
expect "user list: output" "$(awk '{ print $1, $2, $3, $4 }' "$T/out")" "id name role state
1 Alice admin enabled
2 bob member enabled"
if grep -q argon2 "$T/out"; then
	fail "user list never shows a password hash"
else
	pass "user list never shows a password hash"
fi

# --- passwd, disable, enable -------------------------------------------------------------------------------

session 1
before=$(q "SELECT password_hash FROM users WHERE id = 1")
stdin_is "a new long passphrase"
check_ok "user passwd --password-stdin (any case of the name)" user passwd ALICE --password-stdin
expect "user passwd: output" "$(cat "$T/out")" "user passwd: new password for Alice; their sessions were ended"
expect "user passwd: a new hash, the sessions ended, the event logged" \
    "$(q "SELECT (password_hash <> '$before') || ' ' || (SELECT count(*) FROM sessions WHERE user_id = 1) || ' ' ||
	(SELECT string_agg(event || ':' || username, ',') FROM auth_events) FROM users WHERE id = 1")" \
    "true 0 password_reset:Alice"
stdin_is "Password1"
check_error "user passwd: a common password" 1 "one of the most common ones" user passwd alice --password-stdin
check_error "user passwd: unknown user" 1 "no user named 'nobody'" user passwd nobody
IN=
check_ok "user passwd: a generated password" user passwd bob
if grep -Eqx "user passwd: new password for bob \(shown only now\): $GEN; their sessions were ended" "$T/out"; then
	pass "user passwd: prints the generated password once"
else
	fail "user passwd: prints the generated password once"
fi

session 2
check_ok "user disable" user disable BOB
expect "user disable: output" "$(cat "$T/out")" "user disable: bob disabled; their sessions were ended"
expect "user disable: disabled, sessions ended, event logged" \
    "$(q "SELECT disabled || ' ' || (SELECT count(*) FROM sessions WHERE user_id = 2) || ' ' ||
	(SELECT count(*) FROM auth_events WHERE event = 'user_disabled' AND user_id = 2) FROM users WHERE id = 2")" \
    "true 0 1"
check_ok "user disable: again" user disable bob
expect "user disable: again: output" "$(cat "$T/out")" "user disable: bob was already disabled"
check_ok "user enable" user enable bob
expect "user enable: output" "$(cat "$T/out")|$(q "SELECT disabled FROM users WHERE id = 2")" "user enable: bob enabled|f"
check_error "user disable: unknown user" 1 "no user named 'nobody'" user disable nobody
check_error "user disable: no name" 2 "no user name" user disable
check_error "user enable: two names" 2 "unexpected argument" user enable bob alice

# Without an enabled admin, a setup token can be made again.
check_ok "user disable: the only admin" user disable alice
expect "user disable: the only admin: says how to get one back" "$(sed -n 2p "$T/out")" \
    "user disable: no enabled admin is left: \`spoolkeeper setup-token\` makes a token to create one, or \`spoolkeeper user enable NAME\`"
run setup-token
expect "setup-token: works again without an enabled admin" "$st $(q "SELECT count(*) FROM setup_tokens")" "0 3"
check_ok "user enable: the admin again" user enable Alice
check_error "setup-token: refused again" 1 "an admin account exists already" setup-token

# No server: one line, status 1.
SPOOLKEEPER_DATABASE="host=$T/nowhere port=1 dbname=x"
check_error "user list: no database server" 1 "cannot connect to the database" user list

tap_done
