/* body.c: request bodies: size, media type, nesting depth, then Jansson with duplicate keys refused. */
#include <string.h>
#include <strings.h>

#include "app.h"
#include "body.h"
#include "errbuf.h"

int
body_json_depth(const char *s, size_t n, int limit)
{
	int	 depth = 0, max = 0, in_string = 0;
	size_t	 i;

	for (i = 0; i < n; i++) {
		char	 ch = s[i];

		if (in_string) {
			if (ch == '\\')
				i++;
			else if (ch == '"')
				in_string = 0;
		} else if (ch == '"')
			in_string = 1;
		else if (ch == '[' || ch == '{') {
			if (++depth > max)
				max = depth;
			if (max > limit)
				return max;
		} else if (ch == ']' || ch == '}')
			depth--;
	}
	return max;
}

int
body_parse(const struct http_request *req, json_t **out, int *status, char *detail)
{
	json_error_t	 jerr;
	const char	*ct = req->content_type;

	*out = NULL;
	*status = 400;
	if (req->body_error == 413) {
		*status = 413;
		return errbuf_set(detail, "the request body is larger than %d bytes", HTTP_MAX_BODY);
	}
	if (req->body_error != 0)
		return errbuf_set(detail, "the request body is shorter than its Content-Length");
	if (req->body == NULL || req->body_len == 0)
		return 0;
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 || (ct[16] != '\0' && ct[16] != ';')) {
		*status = 415;
		return errbuf_set(detail, "send the body as application/json");
	}
	if (body_json_depth(req->body, req->body_len, APP_JSON_MAX_DEPTH) > APP_JSON_MAX_DEPTH)
		return errbuf_set(detail, "the JSON is nested deeper than %d levels", APP_JSON_MAX_DEPTH);
	*out = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out == NULL)
		return errbuf_set(detail, "line %d, column %d: %s", jerr.line, jerr.column, jerr.text);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return errbuf_set(detail, "the body must be a JSON object");
	}
	return 0;
}
