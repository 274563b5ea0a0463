/* fuzz_http.c: libFuzzer target: bytes as a query string, a Cookie header and a JSON request body of the web app. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "errbuf.h"
#include "http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_request	 req;
	char			*text, out[64], detail[ERRBUF_LEN];
	json_t			*j;
	int			 status, rc;

	text = malloc(size + 1);
	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	rc = http_query_param(text, "q", out, sizeof(out));
	if (rc == 1 && strlen(out) >= sizeof(out))
		__builtin_trap();
	rc = http_cookie(text, "sk_session", out, sizeof(out));
	if (rc == 1 && strlen(out) >= sizeof(out))
		__builtin_trap();
	memset(&req, 0, sizeof(req));
	req.body = (const char *)data;
	req.body_len = size;
	req.content_type = "application/json";
	rc = body_parse(&req, &j, &status, detail);
	if ((rc == 0) != (j != NULL || size == 0) || (rc == 0 && j != NULL && !json_is_object(j)))
		__builtin_trap();
	if (rc == -1 && status != 400)
		__builtin_trap();
	json_decref(j);
	free(text);
	return 0;
}
