/* body.h: the JSON body of a request, parsed with Jansson within size and depth limits. */
#ifndef WEB_BODY_H
#define WEB_BODY_H

#include <jansson.h>

#include "http.h"

/*
 * Parses req's body into *out (a JSON object; NULL when there is no body).  Refuses, with *status and detail
 * (ERRBUF_LEN) set and -1 returned: a body too large or shorter than announced (req->body_error: 413 or 400), a
 * Content-Type other than application/json (415), nesting deeper than APP_JSON_MAX_DEPTH, invalid JSON, duplicate
 * keys, or anything but an object (400).  Returns 0 on success; *out is then the caller's to json_decref().
 */
int	 body_parse(const struct http_request *req, json_t **out, int *status, char *detail)
	    __attribute__((warn_unused_result));

/* The deepest nesting of arrays and objects in JSON text (string contents skipped), counting up to limit + 1. */
int	 body_json_depth(const char *s, size_t n, int limit);

#endif
