-- 0005_web.sql: the web app's tables: users, sessions, per-printer access, the setup token, the auth log, the
-- Spoolman spool cache, encrypted printer access codes, print ownership and the admin's outbox actions.
--
-- Forward-only: never edit once applied.

------------------------------------------------------------------------------------------------------------------
-- Users and sessions
------------------------------------------------------------------------------------------------------------------

-- A person who logs in.  password_hash is libsodium's crypto_pwhash_str (Argon2id, parameters inside the string).
-- Disabling a user ends their sessions (users_disable_sessions below); users are disabled, never deleted, so the
-- history keeps its names.
CREATE TABLE users (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	username	text NOT NULL
	    CONSTRAINT users_username_check CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$'),
	display_name	text
	    CONSTRAINT users_display_name_check CHECK (length(display_name) BETWEEN 1 AND 128
		AND display_name !~ '[[:cntrl:]]'),
	password_hash	text NOT NULL
	    CONSTRAINT users_password_hash_check CHECK (password_hash LIKE '$argon2id$%'
		AND length(password_hash) <= 256),
	role		text NOT NULL DEFAULT 'member'
	    CONSTRAINT users_role_check CHECK (role IN ('admin', 'member')),
	disabled	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	last_login_at	timestamptz
);

-- "Alice" and "alice" are one person.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));

CREATE TRIGGER users_updated_at BEFORE UPDATE ON users
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();

-- A logged-in browser.  The cookie carries a random 256-bit token; only its SHA-256 is stored, so a copy of the
-- database opens no session.  csrf_token (64 hex digits) is the synchronizer token the browser sends back in the
-- X-CSRF-Token header on every state-changing request.  seen_at drives the idle expiry, expires_at is absolute.
CREATE TABLE sessions (
	token_hash	bytea PRIMARY KEY
	    CONSTRAINT sessions_token_hash_check CHECK (length(token_hash) = 32),
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	csrf_token	text NOT NULL
	    CONSTRAINT sessions_csrf_token_check CHECK (csrf_token ~ '^[0-9a-f]{64}$'),
	created_at	timestamptz NOT NULL DEFAULT now(),
	seen_at		timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	ip		text CONSTRAINT sessions_ip_check CHECK (length(ip) <= 64),
	user_agent	text CONSTRAINT sessions_user_agent_check CHECK (length(user_agent) <= 512)
);

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- Disabling a user (or changing the password hash, i.e. a reset) ends every session of theirs.
CREATE FUNCTION users_end_sessions() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF (NEW.disabled AND NOT OLD.disabled) OR NEW.password_hash IS DISTINCT FROM OLD.password_hash THEN
		DELETE FROM sessions WHERE user_id = NEW.id;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER users_end_sessions AFTER UPDATE OF disabled, password_hash ON users
    FOR EACH ROW EXECUTE FUNCTION users_end_sessions();

-- What a member may do with a printer: 'operator' may map trays (and set who a print belongs to), 'viewer' may
-- only look.  Admins see and change everything without rows here.
CREATE TABLE printer_access (
	user_id		bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	printer_id	bigint NOT NULL REFERENCES printers (id) ON DELETE CASCADE,
	level		text NOT NULL
	    CONSTRAINT printer_access_level_check CHECK (level IN ('operator', 'viewer')),
	PRIMARY KEY (user_id, printer_id)
);

CREATE INDEX printer_access_printer ON printer_access (printer_id);

-- The one-time token that creates the first admin (printed by `spoolkeeper setup-token` and the run command).
-- Only its SHA-256 is stored; it works once, before its expiry, and only while no admin exists.
CREATE TABLE setup_tokens (
	token_hash	bytea PRIMARY KEY
	    CONSTRAINT setup_tokens_token_hash_check CHECK (length(token_hash) = 32),
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL,
	used_at		timestamptz
);

-- Authentication events (ASVS 16.3.1): every login, failed login, logout, setup and password change, with the
-- client address.  The web app also writes each one to its log.
CREATE TABLE auth_events (
	id		bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at		timestamptz NOT NULL DEFAULT now(),
	event		text NOT NULL
	    CONSTRAINT auth_events_event_check CHECK (event IN ('login', 'login_failed', 'logout', 'setup',
		'password_reset', 'user_disabled', 'user_enabled', 'csrf_failed')),
	user_id		bigint REFERENCES users (id) ON DELETE SET NULL,
	username	text CONSTRAINT auth_events_username_check CHECK (length(username) <= 256),
	ip		text CONSTRAINT auth_events_ip_check CHECK (length(ip) <= 64),
	detail		text CONSTRAINT auth_events_detail_check CHECK (length(detail) <= 512)
);

CREATE INDEX auth_events_at ON auth_events (at);
-- The per-account throttle counts recent failures by name.
CREATE INDEX auth_events_failed ON auth_events (lower(username), at) WHERE event = 'login_failed';

------------------------------------------------------------------------------------------------------------------
-- Printers: encrypted access codes, owners; prints: whose they are
------------------------------------------------------------------------------------------------------------------

-- The access code is stored encrypted (common/secret.c: XChaCha20-Poly1305, key file outside the database,
-- "v1:" + base64 of nonce and ciphertext).  Rows from before this migration keep their plain access_code until
-- `spoolkeeper migrate` (which has the key) encrypts them; exactly one of the two is set.
ALTER TABLE printers ALTER COLUMN access_code DROP NOT NULL;
ALTER TABLE printers ADD COLUMN access_code_enc text
    CONSTRAINT printers_access_code_enc_check CHECK (access_code_enc ~ '^v1:[A-Za-z0-9+/]+={0,2}$'
	AND length(access_code_enc) <= 1024);
ALTER TABLE printers ADD CONSTRAINT printers_access_code_one CHECK (num_nonnulls(access_code, access_code_enc) = 1);

-- The user new prints on this printer are attributed to (usage per user); NULL: nobody.
ALTER TABLE printers ADD COLUMN owner_id bigint REFERENCES users (id) ON DELETE SET NULL;

-- Whose print this is: set from the printer's owner when the job is created; an operator may change it.
ALTER TABLE print_jobs ADD COLUMN user_id bigint REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX print_jobs_user ON print_jobs (user_id, started_at DESC);
CREATE INDEX print_jobs_started ON print_jobs (started_at DESC);

CREATE FUNCTION print_jobs_owner() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
	IF NEW.user_id IS NULL THEN
		SELECT owner_id INTO NEW.user_id FROM printers WHERE id = NEW.printer_id;
	END IF;
	RETURN NEW;
END
$$;

CREATE TRIGGER print_jobs_owner BEFORE INSERT ON print_jobs
    FOR EACH ROW EXECUTE FUNCTION print_jobs_owner();

------------------------------------------------------------------------------------------------------------------
-- Spoolman spool cache
------------------------------------------------------------------------------------------------------------------

-- The last copy of each Spoolman spool Spoolkeeper read (the web app on search, lookup and tray mapping; the
-- worker after each /use), so the dashboard shows names and remaining grams without calling Spoolman on every
-- request.  spool is Spoolman's spool object as returned (id, filament{name, vendor{name}, material,
-- color_hex}, remaining_weight, used_weight, location...).
CREATE TABLE spool_cache (
	spool_id	integer PRIMARY KEY
	    CONSTRAINT spool_cache_spool_check CHECK (spool_id > 0),
	spool		jsonb NOT NULL
	    CONSTRAINT spool_cache_spool_object_check CHECK (jsonb_typeof(spool) = 'object'),
	fetched_at	timestamptz NOT NULL DEFAULT now()
);

------------------------------------------------------------------------------------------------------------------
-- The admin's outbox actions
------------------------------------------------------------------------------------------------------------------

-- Send a needs_review (or pending) row again now: back to pending, attempts reset.  Returns false when the row
-- does not exist or is not in a state that can be retried.  These two functions are the only way the web app
-- changes the outbox (its database role gets EXECUTE on them, not UPDATE on the table).
CREATE FUNCTION outbox_retry(p_id bigint) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
	UPDATE spoolman_outbox
	   SET state = 'pending', attempts = 0, next_attempt_at = now(), claim_token = NULL, claimed_by = NULL,
	       lease_until = NULL
	 WHERE id = p_id AND state IN ('needs_review', 'pending')
	RETURNING true;
$$;

-- Give up on a row (it will never be sent): needs_review or pending become discarded, with who and why.
CREATE FUNCTION outbox_discard(p_id bigint, p_reason text) RETURNS boolean
    LANGUAGE sql SECURITY DEFINER SET search_path = public, pg_temp
    AS $$
	UPDATE spoolman_outbox
	   SET state = 'discarded', resolution = 'manual', last_error = left(p_reason, 4096),
	       claim_token = NULL, claimed_by = NULL, lease_until = NULL
	 WHERE id = p_id AND state IN ('needs_review', 'pending')
	RETURNING true;
$$;

------------------------------------------------------------------------------------------------------------------
-- Who may see what
------------------------------------------------------------------------------------------------------------------

-- What user p_user may do with printer p_printer: 'admin' (an enabled admin; any existing printer), 'operator' or
-- 'viewer' (from printer_access), or NULL (nothing: the printer is invisible to them, or does not exist).
CREATE FUNCTION user_printer_level(p_user bigint, p_printer bigint) RETURNS text
    LANGUAGE sql STABLE
    AS $$
	SELECT CASE WHEN u.role = 'admin' THEN 'admin' ELSE a.level END
	  FROM users u
	  JOIN printers p ON p.id = p_printer
	  LEFT JOIN printer_access a ON a.user_id = u.id AND a.printer_id = p.id
	 WHERE u.id = p_user AND NOT u.disabled
$$;

-- The printers p_user may see: every printer for an admin, else those with a printer_access row.
CREATE FUNCTION visible_printers(p_user bigint) RETURNS SETOF bigint
    LANGUAGE sql STABLE
    AS $$
	SELECT p.id FROM printers p, users u
	 WHERE u.id = p_user AND NOT u.disabled
	   AND (u.role = 'admin' OR EXISTS (SELECT 1 FROM printer_access a
		WHERE a.user_id = u.id AND a.printer_id = p.id))
$$;
