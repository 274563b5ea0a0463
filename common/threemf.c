/* threemf.c: reading a Bambu .gcode.3mf with libzip: plate choice, metadata, and streaming the gcode. */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "errbuf.h"
#include "slicemeta.h"
#include "threemf.h"
#include "xmalloc.h"

#define CHUNK		(64 * 1024)	/* the one streaming buffer */
#define PLATE_MAX	10000		/* highest plate number believed */
#define PLATE_PREFIX	"Metadata/plate_"
#define GCODE_SUFFIX	".gcode"
#define MODEL_SETTINGS	"Metadata/model_settings.config"
#define SLICE_INFO	"Metadata/slice_info.config"
#define PROJECT_SETTINGS "Metadata/project_settings.config"

struct threemf {
	zip_t	*za;
	char	 buf[CHUNK];
};

/* A sink that appends into a buffer of fixed capacity. */
struct collect {
	char	*buf;
	size_t	 len;
	size_t	 cap;
};

/*
 * Opens an archive on src (stolen, also on failure).  `what` names the
 * input in messages.
 */
static int
open_source(zip_source_t *src, const char *what, struct threemf **out,
    char *err)
{
	zip_error_t	 ze;
	zip_t		*za;

	zip_error_init(&ze);
	if ((za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS,
	    &ze)) == NULL) {
		errbuf_set(err, "%s: %s", what, zip_error_strerror(&ze));
		zip_error_fini(&ze);
		zip_source_free(src);
		return -1;
	}
	zip_error_fini(&ze);
	*out = xmalloc(sizeof(**out));
	(*out)->za = za;
	return 0;
}

int
threemf_open_file(const char *path, struct threemf **out, char *err)
{
	struct stat	 sb;
	zip_error_t	 ze;
	zip_source_t	*src;

	*out = NULL;
	if (stat(path, &sb) == -1)
		return errbuf_set(err, "%s", strerror(errno));
	if (S_ISDIR(sb.st_mode))
		return errbuf_set(err, "is a directory");
	if (sb.st_size == 0)
		return errbuf_set(err, "not a zip archive (empty file)");
	zip_error_init(&ze);
	if ((src = zip_source_file_create(path, 0, -1, &ze)) == NULL) {
		errbuf_set(err, "zip archive: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	zip_error_fini(&ze);
	return open_source(src, "zip archive", out, err);
}

int
threemf_open_buffer(const void *data, size_t len, struct threemf **out,
    char *err)
{
	zip_error_t	 ze;
	zip_source_t	*src;

	*out = NULL;
	if (len == 0)
		return errbuf_set(err, "zip archive: not a zip archive (empty)");
	zip_error_init(&ze);
	if ((src = zip_source_buffer_create(data, len, 0, &ze)) == NULL) {
		errbuf_set(err, "zip archive: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		return -1;
	}
	zip_error_fini(&ze);
	return open_source(src, "zip archive", out, err);
}

void
threemf_close(struct threemf *t)
{
	if (t == NULL)
		return;
	zip_discard(t->za);
	free(t);
}

/* Returns whether name ends in suffix. */
static int
ends_with(const char *name, const char *suffix)
{
	size_t	 n = strlen(name), m = strlen(suffix);

	return n >= m && strcmp(name + n - m, suffix) == 0;
}

/* Returns N for a member named exactly "Metadata/plate_N.gcode", else 0. */
static int
plate_of(const char *name)
{
	const char	*s;
	char		*end;
	long		 v;

	if (strncmp(name, PLATE_PREFIX, strlen(PLATE_PREFIX)) != 0)
		return 0;
	s = name + strlen(PLATE_PREFIX);
	if (*s < '1' || *s > '9')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || v > PLATE_MAX || strcmp(end, GCODE_SUFFIX) != 0)
		return 0;
	return (int)v;
}

static int
has_member(struct threemf *t, const char *name)
{
	return zip_name_locate(t->za, name, 0) >= 0;
}

/*
 * Stats member idx and refuses it when it is encrypted, larger than max, or
 * compressed more than THREEMF_MAX_RATIO times.  Returns 0 or -1.
 */
static int
check_member(struct threemf *t, zip_uint64_t idx, const char *name,
    zip_uint64_t max, zip_stat_t *st, char *err)
{
	zip_uint64_t	 need = ZIP_STAT_SIZE | ZIP_STAT_COMP_SIZE;

	zip_stat_init(st);
	if (zip_stat_index(t->za, idx, 0, st) == -1)
		return errbuf_set(err, "%s: %s", name, zip_strerror(t->za));
	if ((st->valid & need) != need)
		return errbuf_set(err, "%s: size unknown", name);
	if ((st->valid & ZIP_STAT_ENCRYPTION_METHOD) &&
	    st->encryption_method != ZIP_EM_NONE)
		return errbuf_set(err, "%s: member is encrypted", name);
	if (st->size > max)
		return errbuf_set(err, "%s: member too large (%llu bytes, "
		    "limit %llu)", name, (unsigned long long)st->size,
		    (unsigned long long)max);
	if ((st->comp_size == 0 && st->size > 0) || (st->comp_size > 0 &&
	    st->size / st->comp_size > THREEMF_MAX_RATIO))
		return errbuf_set(err, "%s: refusing a possible zip bomb "
		    "(%llu bytes from %llu compressed, limit %d:1)", name,
		    (unsigned long long)st->size,
		    (unsigned long long)st->comp_size, THREEMF_MAX_RATIO);
	return 0;
}

/* Reads an open member through sink, checking it yields exactly size bytes. */
static int
pump(struct threemf *t, zip_file_t *zf, const char *name, zip_uint64_t size,
    int (*sink)(void *, const char *, size_t, char *), void *ctx,
    char *err)
{
	zip_uint64_t	 total = 0;
	zip_int64_t	 n;

	for (;;) {
		if ((n = zip_fread(zf, t->buf, sizeof(t->buf))) < 0)
			return errbuf_set(err, "%s: %s", name,
			    zip_file_strerror(zf));
		if (n == 0)
			break;
		total += (zip_uint64_t)n;
		if (total > size)
			return errbuf_set(err, "%s: more data than the %llu "
			    "bytes the archive declares", name,
			    (unsigned long long)size);
		if (sink(ctx, t->buf, (size_t)n, err) == -1)
			return -1;
	}
	if (total != size)
		return errbuf_set(err, "%s: member ends after %llu of %llu "
		    "bytes", name, (unsigned long long)total,
		    (unsigned long long)size);
	return 0;
}

/* Opens member idx (already checked, size bytes) and pumps it through sink. */
static int
stream_checked(struct threemf *t, zip_uint64_t idx, const char *name,
    zip_uint64_t size, int (*sink)(void *, const char *, size_t, char *),
    void *ctx, char *err)
{
	zip_error_t	 ze;
	zip_file_t	*zf;
	int		 rc, code;

	if ((zf = zip_fopen_index(t->za, idx, 0)) == NULL)
		return errbuf_set(err, "%s: %s", name, zip_strerror(t->za));
	rc = pump(t, zf, name, size, sink, ctx, err);
	code = zip_fclose(zf);
	if (rc == 0 && code != 0) {
		zip_error_init_with_code(&ze, code);
		rc = errbuf_set(err, "%s: %s", name, zip_error_strerror(&ze));
		zip_error_fini(&ze);
	}
	return rc;
}

int
threemf_stream(struct threemf *t, const char *member,
    int (*sink)(void *ctx, const char *buf, size_t len, char *err),
    void *ctx, char *err)
{
	zip_stat_t	 st;
	zip_int64_t	 idx;

	if ((idx = zip_name_locate(t->za, member, 0)) < 0)
		return errbuf_set(err, "%s: no such member in archive", member);
	if (check_member(t, (zip_uint64_t)idx, member, THREEMF_MAX_GCODE, &st,
	    err) == -1)
		return -1;
	return stream_checked(t, (zip_uint64_t)idx, member, st.size, sink,
	    ctx, err);
}

static int
collect_sink(void *ctx, const char *buf, size_t len, char *err)
{
	struct collect	*c = ctx;

	if (len > c->cap - c->len)
		return errbuf_set(err, "member grew while reading");
	memcpy(c->buf + c->len, buf, len);
	c->len += len;
	return 0;
}

/*
 * Reads metadata member name whole (at most THREEMF_MAX_META bytes).
 * Returns 0 with a new NUL-terminated buffer in *out (free()) and its length
 * in *len, 1 when the member is absent, or -1 with err set.
 */
static int
read_member(struct threemf *t, const char *name, char **out, size_t *len,
    char *err)
{
	struct collect	 c;
	zip_stat_t	 st;
	zip_int64_t	 idx;

	*out = NULL;
	*len = 0;
	if ((idx = zip_name_locate(t->za, name, 0)) < 0)
		return 1;
	if (check_member(t, (zip_uint64_t)idx, name, THREEMF_MAX_META, &st,
	    err) == -1)
		return -1;
	c.cap = (size_t)st.size;
	c.len = 0;
	c.buf = xmalloc(c.cap + 1);
	if (stream_checked(t, (zip_uint64_t)idx, name, st.size, collect_sink,
	    &c, err) == -1) {
		free(c.buf);
		return -1;
	}
	c.buf[c.len] = '\0';
	*out = c.buf;
	*len = c.len;
	return 0;
}

/* The caller's member: it must exist and be a .gcode file. */
static int
pick_member(struct threemf *t, const char *member, int plate, char *name,
    int *plate_out, char *err)
{
	if (!ends_with(member, GCODE_SUFFIX))
		return errbuf_set(err, "%s: not a gcode member (no %s suffix)",
		    member, GCODE_SUFFIX);
	if (strlen(member) >= THREEMF_MEMBER_LEN)
		return errbuf_set(err, "member name longer than %d bytes",
		    THREEMF_MEMBER_LEN - 1);
	if (!has_member(t, member))
		return errbuf_set(err, "%s: no such member in archive", member);
	memcpy(name, member, strlen(member) + 1);
	*plate_out = plate_of(member) > 0 ? plate_of(member) : plate;
	return 0;
}

static int
pick_number(struct threemf *t, int plate, char *name, int *plate_out,
    char *err)
{
	if (plate > PLATE_MAX)
		return errbuf_set(err, "plate %d: no such plate", plate);
	snprintf(name, THREEMF_MEMBER_LEN, PLATE_PREFIX "%d" GCODE_SUFFIX,
	    plate);
	if (!has_member(t, name)) {
		errbuf_set(err, "no plate %d in archive (no %s)", plate, name);
		name[0] = '\0';
		return -1;
	}
	*plate_out = plate;
	return 0;
}

/*
 * The first plate of model_settings.config: its gcode_file, else
 * Metadata/plate_<id>.gcode.  Returns 0, 1 when that gives no member, or -1.
 */
static int
pick_listed(struct threemf *t, char *name, int *plate_out, char *err)
{
	char	 sub[ERRBUF_LEN], gfile[THREEMF_MEMBER_LEN], *xml;
	size_t	 len;
	int	 r, id;

	if ((r = read_member(t, MODEL_SETTINGS, &xml, &len, err)) != 0)
		return r;
	r = slicemeta_first_plate(xml, len, &id, gfile, sub);
	free(xml);
	if (r == -1)
		return errbuf_set(err, "%s: %s", MODEL_SETTINGS, sub);
	if (r == 1)
		return 1;
	if (gfile[0] == '\0' || !ends_with(gfile, GCODE_SUFFIX) ||
	    !has_member(t, gfile))
		snprintf(gfile, sizeof(gfile), PLATE_PREFIX "%d" GCODE_SUFFIX,
		    id);
	if (!has_member(t, gfile))
		return 1;
	memcpy(name, gfile, sizeof(gfile));
	*plate_out = id;
	return 0;
}

static int
pick_lowest(struct threemf *t, char *name, int *plate_out, char *err)
{
	const char	*s;
	zip_int64_t	 i, n;
	int		 p, best = 0;

	n = zip_get_num_entries(t->za, 0);
	for (i = 0; i < n; i++) {
		if ((s = zip_get_name(t->za, (zip_uint64_t)i, 0)) == NULL)
			continue;
		p = plate_of(s);
		if (p > 0 && (best == 0 || p < best))
			best = p;
	}
	if (best == 0)
		return errbuf_set(err, "no gcode in archive");
	snprintf(name, THREEMF_MEMBER_LEN, PLATE_PREFIX "%d" GCODE_SUFFIX,
	    best);
	*plate_out = best;
	return 0;
}

int
threemf_pick_plate(struct threemf *t, int plate, const char *member,
    char *name, int *plate_out, char *err)
{
	int	 r;

	name[0] = '\0';
	*plate_out = 0;
	if (plate < 0)
		return errbuf_set(err, "plate %d: not a plate number", plate);
	if (member != NULL)
		return pick_member(t, member, plate, name, plate_out, err);
	if (plate > 0)
		return pick_number(t, plate, name, plate_out, err);
	if ((r = pick_listed(t, name, plate_out, err)) != 1)
		return r;
	return pick_lowest(t, name, plate_out, err);
}

/* Reads one metadata member, if present, and hands it to its parser. */
static int
apply_one(struct threemf *t, const char *member, int plate,
    struct plan *plan, char *err)
{
	char	 sub[ERRBUF_LEN], *doc;
	size_t	 len;
	int	 r;

	if ((r = read_member(t, member, &doc, &len, err)) != 0)
		return r == 1 ? 0 : -1;
	if (strcmp(member, SLICE_INFO) == 0)
		r = slicemeta_slice_info(doc, len, plate, plan, sub);
	else
		r = slicemeta_project_settings(doc, len, plan, sub);
	free(doc);
	if (r == -1)
		return errbuf_set(err, "%s: %s", member, sub);
	return 0;
}

int
threemf_apply_metadata(struct threemf *t, int plate, struct plan *plan,
    char *err)
{
	if (apply_one(t, SLICE_INFO, plate, plan, err) == -1)
		return -1;
	return apply_one(t, PROJECT_SETTINGS, plate, plan, err);
}
