/* users.h: a user as JSON and the user-name rule, shared by the session and user handlers. */
#ifndef WEB_USERS_H
#define WEB_USERS_H

#include <jansson.h>

struct ctx;

/*
 * The user as JSON: id, username, display_name, role, disabled, created_at, last_login_at and printers (the
 * printers they may see: printer_id, name, access "admin" | "operator" | "viewer").  NULL after answering 404
 * (no such user) or a database error.
 */
json_t	*users_json(struct ctx *, long long user_id);

/* 0 if name is a valid user name (letters, digits, . _ @ -; 1 to 64; starts with a letter or digit), else -1
 * after answering 400. */
int	 users_check_name(struct ctx *, const char *name) __attribute__((warn_unused_result));

#endif
