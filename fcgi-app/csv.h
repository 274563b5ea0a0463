/* csv.h: CSV text (RFC 4180) from rows of JSON objects, quoted and safe to open in a spreadsheet. */
#ifndef WEB_CSV_H
#define WEB_CSV_H

#include <stddef.h>

#include <jansson.h>

struct http_response;

/*
 * The CSV of rows (an array of objects): a header line of the column names, then one line per row with the
 * value of each column, lines ended by CRLF.  Strings are always quoted ("" for a quote inside); one that starts
 * with = + - @, a tab or a carriage return gets a leading ' so that a spreadsheet shows it as text instead of
 * running it as a formula.  Numbers are written bare (integers exactly, reals with 15 significant digits),
 * true/false as words, null or a missing key as an empty field, arrays and objects as their quoted JSON.
 * Returns a new NUL-terminated buffer (free() it) and its length in *lenp.
 */
char	*csv_from_rows(const json_t *rows, const char *const *columns, size_t *lenp);

/*
 * Answers res with 200 and the CSV of rows as "text/csv; charset=utf-8", with Content-Disposition: attachment
 * and filename (which must not contain a quote, a backslash or a control character).
 */
void	 csv_reply(struct http_response *res, const json_t *rows, const char *const *columns,
	    const char *filename);

#endif
