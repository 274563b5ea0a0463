/* h_printers.c: /printers: list (what the user may see), create, read, update, delete; access codes encrypted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "db.h"
#include "routes.h"
#include "secret.h"
#include "status.h"

#define NAME_CHARS	64	/* printers_name_check, in characters */
#define MODEL_CHARS	64
#define HOST_MAX	253
#define SERIAL_MAX	64
#define CODE_MAX	256	/* printers_access_code_check */
#define ID_MAX		9007199254740992LL

/* A printer as the API shows it, for user $1 (admin: $2): never the access code, only that one is set. */
#define PRINTER_OBJ \
	"json_build_object('id', p.id, 'name', p.name, 'host', p.host, 'serial', p.serial, 'model', p.model, " \
	"    'mqtt_port', p.mqtt_port, 'ftps_port', p.ftps_port, 'insecure_tls', p.insecure_tls, " \
	"    'enabled', p.enabled, 'access_code_set', num_nonnulls(p.access_code, p.access_code_enc) > 0, " \
	"    'access_code_encrypted', p.access_code_enc IS NOT NULL, 'owner_id', p.owner_id, " \
	"    'owner', o.username, 'access', CASE WHEN $2::boolean THEN 'admin' ELSE a.level END, " \
	"    'created_at', p.created_at, 'updated_at', p.updated_at)"
#define PRINTER_FROM \
	" FROM printers p LEFT JOIN users o ON o.id = p.owner_id " \
	"  LEFT JOIN printer_access a ON a.printer_id = p.id AND a.user_id = $1::bigint "

/* The fields of a create or an update, as read from the body. */
struct printer_in {
	const char	*name, *host, *serial, *code, *model;
	long long	 mqtt_port, ftps_port, owner;
	int		 insecure, enabled;
	int		 has_mqtt, has_ftps, has_insecure, has_enabled;
	int		 set_model, set_owner;	/* given, maybe null */
};

/* Answers with printer id as the user sees it. */
static void
reply_printer(struct ctx *c, long long id, int status)
{
	char		 uid[24], pid[24];
	const char	*params[3] = { ctx_num(uid, c->user.id), c->user.admin ? "true" : "false", ctx_num(pid, id) };
	json_t		*j;

	j = ctx_query_json(c, "SELECT " PRINTER_OBJ PRINTER_FROM "WHERE p.id = $3::bigint", 3, params,
	    "no such printer");
	if (j != NULL)
		http_reply_json(c->res, status, j);
}

void
h_printers_list(struct ctx *c)
{
	char		 uid[24];
	const char	*params[2] = { ctx_num(uid, c->user.id), c->user.admin ? "true" : "false" };
	json_t		*j;

	j = ctx_query_json(c, "SELECT coalesce(json_agg(" PRINTER_OBJ " ORDER BY lower(p.name), p.id), '[]'::json)"
	    PRINTER_FROM "WHERE p.id IN (SELECT visible_printers($1::bigint))", 2, params, NULL);
	if (j != NULL)
		http_reply_json(c->res, 200, j);
}

void
h_printers_get(struct ctx *c)
{
	if (ctx_need_printer(c, c->id[0], ACCESS_VIEW) == -1)
		return;
	reply_printer(c, c->id[0], 200);
}

/* Characters (UTF-8 code points) of s. */
static size_t
chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* 1 if every byte of s is in set (a string of allowed characters) or is an ASCII letter or digit. */
static int
only(const char *s, const char *set)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    (*set != '\0' && strchr(set, *s) != NULL)))
			return 0;
	return 1;
}

/* The rules of printers_*_check in C, with sentences.  0, or -1 after answering 400. */
static int
check_fields(struct ctx *c, const struct printer_in *in)
{
	if (in->name != NULL && (chars(in->name) < 1 || chars(in->name) > NAME_CHARS))
		return ctx_fail(c, 400, "invalid", "name: 1 to %d characters", NAME_CHARS);
	if (in->name != NULL && (in->name[0] == ' ' || in->name[strlen(in->name) - 1] == ' '))
		return ctx_fail(c, 400, "invalid", "name: no spaces at the start or the end");
	if (in->name != NULL && strspn(in->name, "0123456789") == strlen(in->name))
		return ctx_fail(c, 400, "invalid", "name: not only digits (a number names a printer by id)");
	if (in->host != NULL && (in->host[0] == '\0' || !only(in->host, "._:%-")))
		return ctx_fail(c, 400, "invalid", "host: a host name, an IPv4 or an IPv6 address (letters, digits "
		    "and . _ : %% -), not a URL");
	if (in->serial != NULL && (in->serial[0] == '\0' || !only(in->serial, "")))
		return ctx_fail(c, 400, "invalid", "serial: 1 to %d letters and digits", SERIAL_MAX);
	if (in->code != NULL && in->code[0] == '\0')
		return ctx_fail(c, 400, "invalid", "access_code: must not be empty");
	if (in->model != NULL && (chars(in->model) < 1 || chars(in->model) > MODEL_CHARS))
		return ctx_fail(c, 400, "invalid", "model: 1 to %d characters, or null", MODEL_CHARS);
	return 0;
}

/* -1 after answering 400 when the body has key with the value null (a field that cannot be emptied), else 0. */
static int
not_null(struct ctx *c, const char *key)
{
	json_t	*v = c->body != NULL ? json_object_get(c->body, key) : NULL;

	if (v != NULL && json_is_null(v))
		return ctx_fail(c, 400, "invalid", "%s: cannot be null", key);
	return 0;
}

/* Reads and checks the body of a create (required fields) or an update.  0, or -1 after answering. */
static int
read_printer(struct ctx *c, int create, struct printer_in *in)
{
	static const char *const fields[] = { "name", "host", "serial", "access_code", "model", "mqtt_port",
		"ftps_port", "insecure_tls", "enabled", "owner_id", NULL };
	static const char *const nonnull[] = { "name", "host", "serial", "access_code", "mqtt_port", "ftps_port",
		"insecure_tls", "enabled", NULL };
	int	 i;

	memset(in, 0, sizeof(*in));
	if (body_only(c, fields) == -1)
		return -1;
	for (i = 0; nonnull[i] != NULL; i++)
		if (not_null(c, nonnull[i]) == -1)
			return -1;
	if (body_string(c, "name", create, 4 * NAME_CHARS, &in->name) == -1 ||
	    body_string(c, "host", create, HOST_MAX, &in->host) == -1 ||
	    body_string(c, "serial", create, SERIAL_MAX, &in->serial) == -1 ||
	    body_string(c, "access_code", create, CODE_MAX, &in->code) == -1 ||
	    body_string(c, "model", 0, 4 * MODEL_CHARS, &in->model) == -1 ||
	    (in->has_mqtt = body_int(c, "mqtt_port", 0, 1, 65535, &in->mqtt_port)) == -1 ||
	    (in->has_ftps = body_int(c, "ftps_port", 0, 1, 65535, &in->ftps_port)) == -1 ||
	    (in->has_insecure = body_bool(c, "insecure_tls", 0, &in->insecure)) == -1 ||
	    (in->has_enabled = body_bool(c, "enabled", 0, &in->enabled)) == -1 ||
	    body_int(c, "owner_id", 0, 1, ID_MAX, &in->owner) == -1)
		return -1;
	in->set_model = body_has(c, "model");
	in->set_owner = body_has(c, "owner_id");
	return check_fields(c, in);
}

/* 0 when owner is 0 (none) or an existing user, else -1 after answering 400. */
static int
check_owner(struct ctx *c, long long owner)
{
	char			 id[24];
	const char		*params[1] = { ctx_num(id, owner) };
	struct db_result	*r;
	int			 n;

	if (owner == 0)
		return 0;
	if (ctx_query(c, "SELECT 1 FROM users WHERE id = $1::bigint", 1, params, &r) == -1)
		return -1;
	n = db_result_rows(r);
	db_result_free(r);
	return n == 1 ? 0 : ctx_fail(c, 400, "invalid", "owner_id: no such user");
}

/* The access code encrypted into *enc (new; NULL when code is NULL).  0, or -1 after answering 503/500. */
static int
encrypt_code(struct ctx *c, const char *code, char **enc)
{
	char	 e[ERRBUF_LEN];

	*enc = NULL;
	if (code == NULL)
		return 0;
	if (c->app->key == NULL)
		return ctx_fail(c, 503, "no_key", "no key file: run spoolkeeper key init (access codes are stored "
		    "encrypted)");
	if (secret_encrypt(c->app->key, SECRET_ACCESS_CODE, code, enc, e) == -1) {
		ctx_log(c, "access code: %s", e);
		return ctx_fail(c, 500, "internal", "cannot encrypt the access code");
	}
	return 0;
}

void
h_printers_create(struct ctx *c)
{
	struct printer_in	 in;
	struct db_result	*r;
	const char		*params[10];
	char			 mq[24], ft[24], ow[24], *enc;
	long long		 id;
	int			 rc;

	if (read_printer(c, 1, &in) == -1 || check_owner(c, in.owner) == -1 || encrypt_code(c, in.code, &enc) == -1)
		return;
	params[0] = in.name;
	params[1] = in.host;
	params[2] = in.serial;
	params[3] = enc;
	params[4] = in.model;
	params[5] = in.has_mqtt ? ctx_num(mq, in.mqtt_port) : NULL;
	params[6] = in.has_ftps ? ctx_num(ft, in.ftps_port) : NULL;
	params[7] = in.has_insecure ? (in.insecure ? "true" : "false") : NULL;
	params[8] = in.has_enabled ? (in.enabled ? "true" : "false") : NULL;
	params[9] = in.owner != 0 ? ctx_num(ow, in.owner) : NULL;
	rc = ctx_query(c, "INSERT INTO printers (name, host, serial, access_code_enc, model, mqtt_port, ftps_port, "
	    "insecure_tls, enabled, owner_id) VALUES ($1, $2, $3, $4, $5, coalesce($6::integer, 8883), "
	    "coalesce($7::integer, 990), coalesce($8::boolean, false), coalesce($9::boolean, true), $10::bigint) "
	    "RETURNING id", 10, params, &r);
	free(enc);
	if (rc == -1)
		return;
	(void)db_result_int64(r, 0, 0, &id);
	db_result_free(r);
	status_cache_invalidate();
	ctx_log(c, "printer %lld created", id);
	reply_printer(c, id, 201);
}

#define UPDATE_SQL \
	"UPDATE printers SET name = coalesce($2, name), host = coalesce($3, host), serial = coalesce($4, serial), " \
	"    access_code = CASE WHEN $5::text IS NULL THEN access_code END, " \
	"    access_code_enc = coalesce($5, access_code_enc), " \
	"    model = CASE WHEN $6::boolean THEN $7 ELSE model END, " \
	"    mqtt_port = coalesce($8::integer, mqtt_port), ftps_port = coalesce($9::integer, ftps_port), " \
	"    insecure_tls = coalesce($10::boolean, insecure_tls), enabled = coalesce($11::boolean, enabled), " \
	"    owner_id = CASE WHEN $12::boolean THEN $13::bigint ELSE owner_id END " \
	" WHERE id = $1::bigint RETURNING id"

void
h_printers_update(struct ctx *c)
{
	struct printer_in	 in;
	struct db_result	*r;
	const char		*params[13];
	char			 id[24], mq[24], ft[24], ow[24], *enc;
	int			 rc;

	if (read_printer(c, 0, &in) == -1 || check_owner(c, in.owner) == -1 || encrypt_code(c, in.code, &enc) == -1)
		return;
	params[0] = ctx_num(id, c->id[0]);
	params[1] = in.name;
	params[2] = in.host;
	params[3] = in.serial;
	params[4] = enc;
	params[5] = in.set_model ? "true" : "false";
	params[6] = in.model;
	params[7] = in.has_mqtt ? ctx_num(mq, in.mqtt_port) : NULL;
	params[8] = in.has_ftps ? ctx_num(ft, in.ftps_port) : NULL;
	params[9] = in.has_insecure ? (in.insecure ? "true" : "false") : NULL;
	params[10] = in.has_enabled ? (in.enabled ? "true" : "false") : NULL;
	params[11] = in.set_owner ? "true" : "false";
	params[12] = in.owner != 0 ? ctx_num(ow, in.owner) : NULL;
	rc = ctx_query(c, UPDATE_SQL, 13, params, &r);
	free(enc);
	if (rc == -1)
		return;
	rc = db_result_rows(r);
	db_result_free(r);
	if (rc != 1) {
		ctx_fail(c, 404, "not_found", "no such printer");
		return;
	}
	status_cache_invalidate();
	ctx_log(c, "printer %lld changed%s", c->id[0], in.code != NULL ? " (new access code)" : "");
	reply_printer(c, c->id[0], 200);
}

void
h_printers_delete(struct ctx *c)
{
	char			 id[24];
	const char		*params[1] = { ctx_num(id, c->id[0]) };
	struct db_result	*r;
	long long		 prints = 0;
	int			 n;

	/* print_jobs references printers ON DELETE RESTRICT: history stays, so a printer with prints stays too. */
	if (ctx_query(c, "WITH d AS (DELETE FROM printers p WHERE p.id = $1::bigint AND NOT EXISTS "
	    "(SELECT 1 FROM print_jobs j WHERE j.printer_id = p.id) RETURNING p.id) "
	    "SELECT (SELECT count(*) FROM d), (SELECT count(*) FROM print_jobs WHERE printer_id = $1::bigint), "
	    "EXISTS (SELECT 1 FROM printers WHERE id = $1::bigint)", 1, params, &r) == -1)
		return;
	(void)db_result_int64(r, 0, 1, &prints);
	n = db_result_get(r, 0, 0) != NULL && strcmp(db_result_get(r, 0, 0), "1") == 0 ? 1 :
	    db_result_bool(r, 0, 2) == 1 ? 0 : -1;
	db_result_free(r);
	if (n == -1) {
		ctx_fail(c, 404, "not_found", "no such printer");
		return;
	}
	if (n == 0) {
		ctx_fail(c, 409, "conflict", "this printer has %lld print%s in its history, which is kept: disable it "
		    "instead (PATCH /api/v1/printers/%lld with {\"enabled\": false})", prints, prints == 1 ? "" : "s",
		    c->id[0]);
		return;
	}
	status_cache_invalidate();
	ctx_log(c, "printer %lld deleted", c->id[0]);
	c->res->status = 204;
}
