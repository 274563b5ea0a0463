/* check_threemf.c: unit tests of threemf.c on zips built in memory and on the sample .gcode.3mf files. */
#include <sys/stat.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <zip.h>

#include "errbuf.h"
#include "plan.h"
#include "threemf.h"
#include "../harness/ckrun.h"

#define SAMPLES		"../shared/samples/gcode/"
#define REFERENCE	SAMPLES "estampo_reference_P1S_BS2.5_2color_T0T3.gcode.3mf"
#define AMS_CALI	SAMPLES "mfm_AMS-calibration_P1S_BS2.0_4color.gcode.3mf"
#define PLAIN_GCODE	SAMPLES "gridfinity_A1_Orca2.3.1_1color_noM73L.gcode"

/* One member of a zip built by make_zip(). */
struct entry {
	const char	*name;
	const void	*data;
	size_t		 len;
	int		 store;		/* 1: stored, 0: deflated */
};

/* What a sink saw. */
struct seen {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	size_t	 chunks;
	size_t	 biggest;
	int	 fail_at;	/* return -1 on this chunk (1-based), 0 never */
};

static struct threemf	*tm;
static struct plan	*plan;
static char		 err[ERRBUF_LEN];
static char		 name[THREEMF_MEMBER_LEN];
static void		*zipbuf;

static void
setup(void)
{
	tm = NULL;
	plan = plan_new();
	zipbuf = NULL;
	err[0] = name[0] = '\0';
}

static void
teardown(void)
{
	threemf_close(tm);
	plan_free(plan);
	free(zipbuf);
}

/* Returns a new zip archive (free()) holding the n entries, its size in *len. */
static void *
make_zip(const struct entry *e, size_t n, size_t *len)
{
	zip_error_t	 ze;
	zip_source_t	*src, *s;
	zip_stat_t	 st;
	zip_t		*za;
	zip_int64_t	 idx;
	void		*out;
	size_t		 i;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	ck_assert_ptr_nonnull(src);
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	ck_assert_ptr_nonnull(za);
	zip_source_keep(src);
	for (i = 0; i < n; i++) {
		s = zip_source_buffer(za, e[i].data, e[i].len, 0);
		ck_assert_ptr_nonnull(s);
		idx = zip_file_add(za, e[i].name, s, ZIP_FL_OVERWRITE);
		ck_assert_int_ge(idx, 0);
		ck_assert_int_eq(zip_set_file_compression(za, (zip_uint64_t)idx,
		    e[i].store ? ZIP_CM_STORE : ZIP_CM_DEFLATE, 0), 0);
	}
	ck_assert_int_eq(zip_close(za), 0);
	ck_assert_int_eq(zip_source_open(src), 0);
	zip_stat_init(&st);
	ck_assert_int_eq(zip_source_stat(src, &st), 0);
	out = malloc(st.size);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(zip_source_read(src, out, st.size),
	    (zip_int64_t)st.size);
	zip_source_close(src);
	zip_source_free(src);
	zip_error_fini(&ze);
	*len = st.size;
	return out;
}

/* Builds a zip of the entries and opens it as tm (zipbuf keeps the bytes). */
static void
open_zip(const struct entry *e, size_t n)
{
	size_t	 len;

	zipbuf = make_zip(e, n, &len);
	ck_assert_msg(threemf_open_buffer(zipbuf, len, &tm, err) == 0,
	    "open: %s", err);
}

/* Returns the whole file at path (free()), its size in *len. */
static char *
slurp(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	long	 n;

	f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "%s: cannot open", path);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	ck_assert_int_gt(n, 0);
	rewind(f);
	buf = malloc((size_t)n);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static unsigned
le16(const unsigned char *p)
{
	return p[0] | (unsigned)p[1] << 8;
}

/* Returns the first central directory header in z. */
static unsigned char *
find_cd(unsigned char *z, size_t len)
{
	size_t	 i;

	for (i = 0; i + 4 <= len; i++)
		if (memcmp(z + i, "PK\1\2", 4) == 0)
			return z + i;
	ck_abort_msg("no central directory");
	return NULL;
}

/* Offset of the data of the first member (the one at offset 0). */
static size_t
first_data(const unsigned char *z)
{
	ck_assert(memcmp(z, "PK\3\4", 4) == 0);
	return 30 + le16(z + 26) + le16(z + 28);
}

static int
record(void *ctx, const char *buf, size_t len, char *e)
{
	struct seen	*s = ctx;

	s->chunks++;
	if (s->fail_at > 0 && s->chunks == (size_t)s->fail_at)
		return errbuf_set(e, "sink stops at chunk %zu", s->chunks);
	if (len > s->biggest)
		s->biggest = len;
	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		ck_assert_ptr_nonnull(s->buf);
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

/* Fills buf with text lines that compress about as well as gcode. */
static void
fake_gcode(char *buf, size_t len)
{
	unsigned	 x = 12345;
	size_t		 i;

	for (i = 0; i < len; i++) {
		x = x * 1103515245 + 12345;
		buf[i] = i % 40 == 39 ? '\n' : "G1XYZE0123456789. "[(x >> 16) % 18];
	}
}

static const char ms_plate3[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config>\n"
    "  <plate>\n    <metadata key=\"plater_id\" value=\"3\"/>\n"
    "    <metadata key=\"gcode_file\" value=\"Metadata/plate_3.gcode\"/>\n"
    "  </plate>\n  <plate>\n    <metadata key=\"plater_id\" value=\"2\"/>\n"
    "  </plate>\n</config>\n";
static const char ms_noname3[] =
    "<config><plate><metadata key=\"plater_id\" value=\"3\"/>"
    "<metadata key=\"gcode_file\" value=\"\"/></plate></config>";
static const char ms_custom[] =
    "<config><plate><metadata key=\"plater_id\" value=\"3\"/>"
    "<metadata key=\"gcode_file\" value=\"Metadata/custom.gcode\"/>"
    "</plate></config>";
static const char ms_plate7[] =
    "<config><plate><metadata key=\"plater_id\" value=\"7\"/>"
    "<metadata key=\"gcode_file\" value=\"Metadata/plate_7.gcode\"/>"
    "</plate></config>";
static const char ms_broken[] = "<config><plate><metadata key=\"plater_id\"";
static const char g[] = "G1 X1 Y1 E1\n";

#define ENTRY(n, s)	{ (n), (s), sizeof(s) - 1, 0 }

START_TEST(open_sample_file)
{
	ck_assert_msg(threemf_open_file(REFERENCE, &tm, err) == 0, "%s", err);
	ck_assert_ptr_nonnull(tm);
}
END_TEST

START_TEST(open_missing_file)
{
	ck_assert_int_eq(threemf_open_file("no/such/file.3mf", &tm, err), -1);
	ck_assert_ptr_null(tm);
	ck_assert_str_eq(err, "No such file or directory");
}
END_TEST

START_TEST(open_not_zip)
{
	static const char text[] = "G1 X1 Y2\nG1 X3 Y4\n";

	ck_assert_int_eq(threemf_open_file(PLAIN_GCODE, &tm, err), -1);
	ck_assert_ptr_null(tm);
	ck_assert_str_eq(err, "zip archive: Not a zip archive");
	ck_assert_int_eq(threemf_open_buffer(text, sizeof(text) - 1, &tm, err),
	    -1);
	ck_assert_str_eq(err, "zip archive: Not a zip archive");
	ck_assert_int_eq(threemf_open_buffer(text, 0, &tm, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a zip archive"));
}
END_TEST

START_TEST(open_empty_and_dir)
{
	char	 dir[] = "/tmp/check_threemf.XXXXXX", path[64];
	FILE	*f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/empty.3mf", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(threemf_open_file(path, &tm, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "not a zip archive (empty file)"));
	ck_assert_int_eq(threemf_open_file(dir, &tm, err), -1);
	ck_assert_ptr_nonnull(strstr(err, "is a directory"));
	unlink(path);
	rmdir(dir);
}
END_TEST

START_TEST(open_truncated)
{
	static const size_t	 cut[] = { 10, 22, 100, 40000 };
	char			*z;
	size_t			 len, i;

	z = slurp(REFERENCE, &len);
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(threemf_open_buffer(z, len - cut[i], &tm, err),
		    -1);
		ck_assert_ptr_null(tm);
		ck_assert_msg(strncmp(err, "zip archive: ", 13) == 0 &&
		    strlen(err) > 13, "cut %zu: \"%s\"", cut[i], err);
	}
	/* Half the file: the central directory is gone. */
	ck_assert_int_eq(threemf_open_buffer(z, len / 2, &tm, err), -1);
	ck_assert_str_eq(err, "zip archive: Not a zip archive");
	free(z);
}
END_TEST

START_TEST(open_corrupt_directory)
{
	unsigned char	*z, *cd;
	size_t		 len;

	/* The first local header names another file than its central entry. */
	z = (unsigned char *)slurp(REFERENCE, &len);
	z[30] ^= 1;
	ck_assert_int_eq(threemf_open_buffer(z, len, &tm, err), -1);
	ck_assert_str_eq(err, "zip archive: Zip archive inconsistent");
	/* A central directory entry whose signature is damaged. */
	z[30] ^= 1;
	cd = find_cd(z, len);
	cd[3] = 9;
	ck_assert_int_eq(threemf_open_buffer(z, len, &tm, err), -1);
	ck_assert_str_eq(err, "zip archive: Not a zip archive");
	/* Repaired, it opens. */
	cd[3] = 2;
	ck_assert_int_eq(threemf_open_buffer(z, len, &tm, err), 0);
	threemf_close(tm);
	tm = NULL;
	free(z);
}
END_TEST

START_TEST(pick_by_member)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_1.gcode", g),
		ENTRY("Metadata/plate_2.gcode", g),
		ENTRY("Metadata/odd.gcode", g),
		ENTRY("Metadata/plate_1.png", g),
	};
	int	 p = -1;

	open_zip(e, 4);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, "Metadata/plate_2.gcode",
	    name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_2.gcode");
	ck_assert_int_eq(p, 2);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, "Metadata/odd.gcode", name,
	    &p, err), 0);
	ck_assert_str_eq(name, "Metadata/odd.gcode");
	ck_assert_int_eq(p, 0);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, "Metadata/plate_1.png",
	    name, &p, err), -1);
	ck_assert_str_eq(err,
	    "Metadata/plate_1.png: not a gcode member (no .gcode suffix)");
	ck_assert_int_eq(threemf_pick_plate(tm, 0, "Metadata/plate_3.gcode",
	    name, &p, err), -1);
	ck_assert_str_eq(err,
	    "Metadata/plate_3.gcode: no such member in archive");
}
END_TEST

START_TEST(pick_by_number)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_1.gcode", g),
		ENTRY("Metadata/plate_3.gcode", g),
	};
	int	 p = -1;

	open_zip(e, 2);
	ck_assert_int_eq(threemf_pick_plate(tm, 3, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_3.gcode");
	ck_assert_int_eq(p, 3);
	ck_assert_int_eq(threemf_pick_plate(tm, 2, NULL, name, &p, err), -1);
	ck_assert_str_eq(err,
	    "no plate 2 in archive (no Metadata/plate_2.gcode)");
	ck_assert_int_eq(threemf_pick_plate(tm, -1, NULL, name, &p, err), -1);
}
END_TEST

START_TEST(pick_by_model_settings)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_2.gcode", g),
		ENTRY("Metadata/plate_3.gcode", g),
		ENTRY("Metadata/model_settings.config", ms_plate3),
	};
	int	 p = -1;

	open_zip(e, 3);
	ck_assert_msg(threemf_pick_plate(tm, 0, NULL, name, &p, err) == 0,
	    "%s", err);
	ck_assert_str_eq(name, "Metadata/plate_3.gcode");
	ck_assert_int_eq(p, 3);
}
END_TEST

START_TEST(pick_by_model_settings_id)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_2.gcode", g),
		ENTRY("Metadata/plate_3.gcode", g),
		ENTRY("Metadata/model_settings.config", ms_noname3),
	};
	static const struct entry e2[] = {
		ENTRY("Metadata/plate_2.gcode", g),
		ENTRY("Metadata/custom.gcode", g),
		ENTRY("Metadata/model_settings.config", ms_custom),
	};
	int	 p = -1;

	/* gcode_file "" falls back to Metadata/plate_<plater_id>.gcode. */
	open_zip(e, 3);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_3.gcode");
	ck_assert_int_eq(p, 3);
	threemf_close(tm);
	free(zipbuf);
	/* Any existing .gcode member named by gcode_file is taken. */
	open_zip(e2, 3);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/custom.gcode");
	ck_assert_int_eq(p, 3);
}
END_TEST

START_TEST(pick_model_settings_bad)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_2.gcode", g),
		ENTRY("Metadata/model_settings.config", ms_broken),
	};
	int	 p = -1;

	open_zip(e, 2);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), -1);
	ck_assert_msg(strncmp(err, "Metadata/model_settings.config: line 1: ",
	    40) == 0, "\"%s\"", err);
}
END_TEST

START_TEST(pick_lowest)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_10.gcode", g),
		ENTRY("Metadata/plate_2.gcode.md5", g),
		ENTRY("Metadata/plate_4.gcode", g),
		ENTRY("Metadata/plate_03.gcode", g),
		ENTRY("Metadata/plate_2.gcodex", g),
	};
	static const struct entry e2[] = {
		ENTRY("Metadata/plate_4.gcode", g),
		ENTRY("Metadata/plate_5.gcode", g),
		ENTRY("Metadata/model_settings.config", ms_plate7),
	};
	int	 p = -1;

	open_zip(e, 5);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_4.gcode");
	ck_assert_int_eq(p, 4);
	threemf_close(tm);
	free(zipbuf);
	/* model_settings names a plate that is not there. */
	open_zip(e2, 3);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_4.gcode");
	ck_assert_int_eq(p, 4);
}
END_TEST

START_TEST(pick_nothing)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_1.png", g),
		ENTRY("3D/3dmodel.model", g),
	};
	int	 p = -1;

	open_zip(e, 2);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), -1);
	ck_assert_str_eq(err, "no gcode in archive");
	ck_assert_str_eq(name, "");
	ck_assert_int_eq(p, 0);
}
END_TEST

START_TEST(pick_sample_multi_plate)
{
	int	 p = -1;

	/* model_settings lists plates 1-4; only plate 1 was sliced. */
	ck_assert_msg(threemf_open_file(AMS_CALI, &tm, err) == 0, "%s", err);
	ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p, err), 0);
	ck_assert_str_eq(name, "Metadata/plate_1.gcode");
	ck_assert_int_eq(p, 1);
	ck_assert_int_eq(threemf_pick_plate(tm, 2, NULL, name, &p, err), -1);
	ck_assert_str_eq(err,
	    "no plate 2 in archive (no Metadata/plate_2.gcode)");
}
END_TEST

/* Streams a 300001-byte member and checks the pieces and the bytes. */
static void
stream_exact(int store)
{
	struct entry	 e = { "Metadata/plate_1.gcode", NULL, 300001, store };
	struct seen	 s;
	char		*data;

	data = malloc(e.len);
	ck_assert_ptr_nonnull(data);
	fake_gcode(data, e.len);
	e.data = data;
	open_zip(&e, 1);
	memset(&s, 0, sizeof(s));
	ck_assert_msg(threemf_stream(tm, e.name, record, &s, err) == 0, "%s",
	    err);
	ck_assert_uint_eq(s.len, e.len);
	ck_assert(memcmp(s.buf, data, e.len) == 0);
	ck_assert_uint_le(s.biggest, 65536);
	ck_assert_uint_ge(s.chunks, 5);
	free(s.buf);
	free(data);
}

START_TEST(stream_deflated)
{
	stream_exact(0);
}
END_TEST

START_TEST(stream_stored)
{
	stream_exact(1);
}
END_TEST

START_TEST(stream_sink_error)
{
	static char	 data[200000];
	struct entry	 e = { "Metadata/plate_1.gcode", data, sizeof(data), 0 };
	struct seen	 s;

	fake_gcode(data, sizeof(data));
	open_zip(&e, 1);
	memset(&s, 0, sizeof(s));
	s.fail_at = 2;
	ck_assert_int_eq(threemf_stream(tm, e.name, record, &s, err), -1);
	ck_assert_str_eq(err, "sink stops at chunk 2");
	ck_assert_uint_eq(s.chunks, 2);
	free(s.buf);
	ck_assert_int_eq(threemf_stream(tm, "Metadata/plate_9.gcode", record,
	    &s, err), -1);
	ck_assert_str_eq(err,
	    "Metadata/plate_9.gcode: no such member in archive");
}
END_TEST

/* Flips bytes in the middle of the first member's data, then streams it. */
static void
stream_flipped(int store, const char *want)
{
	static char	 data[100000];
	struct entry	 e = { "Metadata/plate_1.gcode", data, sizeof(data),
			    store };
	struct seen	 s;
	unsigned char	*z;
	size_t		 len, off;

	fake_gcode(data, sizeof(data));
	z = make_zip(&e, 1, &len);
	zipbuf = z;
	off = first_data(z) + 2000;
	z[off] ^= 0x55;
	z[off + 1] ^= 0xaa;
	ck_assert_int_eq(threemf_open_buffer(z, len, &tm, err), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(threemf_stream(tm, e.name, record, &s, err), -1);
	ck_assert_msg(strncmp(err, "Metadata/plate_1.gcode: ", 24) == 0 &&
	    strstr(err, want) != NULL, "\"%s\"", err);
	free(s.buf);
}

START_TEST(stream_crc_error)
{
	stream_flipped(1, "CRC error");
}
END_TEST

START_TEST(stream_inflate_error)
{
	/* Damage a deflate stream: inflate or the CRC check must notice. */
	stream_flipped(0, "rror");
}
END_TEST

START_TEST(stream_zip_bomb)
{
	struct entry	 e = { "Metadata/plate_1.gcode", NULL, 50u << 20, 0 };
	struct seen	 s;
	char		*data;

	data = malloc(e.len);
	ck_assert_ptr_nonnull(data);
	memset(data, 'G', e.len);
	e.data = data;
	open_zip(&e, 1);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(threemf_stream(tm, e.name, record, &s, err), -1);
	ck_assert_msg(strstr(err, "zip bomb") != NULL, "\"%s\"", err);
	ck_assert_uint_eq(s.chunks, 0);
	free(data);
}
END_TEST

START_TEST(stream_size_lie)
{
	static char	 data[100000];
	struct entry	 e = { "Metadata/plate_1.gcode", data, sizeof(data), 0 };
	struct seen	 s;
	unsigned char	*z, *cd;
	size_t		 len;

	/* The archive declares 1000 bytes; the deflate stream holds 100000. */
	fake_gcode(data, sizeof(data));
	z = make_zip(&e, 1, &len);
	zipbuf = z;
	cd = find_cd(z, len);
	cd[24] = 1000 & 0xff;
	cd[25] = 1000 >> 8;
	cd[26] = cd[27] = 0;
	z[22] = cd[24];
	z[23] = cd[25];
	z[24] = z[25] = 0;
	ck_assert_int_eq(threemf_open_buffer(z, len, &tm, err), 0);
	memset(&s, 0, sizeof(s));
	ck_assert_int_eq(threemf_stream(tm, e.name, record, &s, err), -1);
	ck_assert_str_eq(err, "Metadata/plate_1.gcode: more data than the "
	    "1000 bytes the archive declares");
	ck_assert_uint_le(s.len, 1000);
	free(s.buf);
}
END_TEST

START_TEST(stream_samples)
{
	static const struct {
		const char	*file;
		size_t		 size;
	} t[] = {
		{ REFERENCE, 755887 },
		{ AMS_CALI, 375812 },
		{ SAMPLES "estampo_decoy_base_P1S_BS2.5_1color_T2.gcode.3mf",
		    1859240 },
		{ SAMPLES "filamentor_test_A1mini_Orca2.0_3color_"
		    "customToolchange.gcode.3mf", 68589 },
		{ SAMPLES "mfm_4-cubes_P1S_BS1.10_2color_noTower.gcode.3mf",
		    2251044 },
	};
	struct seen	 s;
	size_t		 i;
	int		 p;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		ck_assert_msg(threemf_open_file(t[i].file, &tm, err) == 0,
		    "%s", err);
		ck_assert_int_eq(threemf_pick_plate(tm, 0, NULL, name, &p,
		    err), 0);
		ck_assert_str_eq(name, "Metadata/plate_1.gcode");
		memset(&s, 0, sizeof(s));
		ck_assert_msg(threemf_stream(tm, name, record, &s, err) == 0,
		    "%s: %s", t[i].file, err);
		ck_assert_uint_eq(s.len, t[i].size);
		ck_assert(memcmp(s.buf, "; HEADER_BLOCK_START", 20) == 0);
		free(s.buf);
		threemf_close(tm);
		tm = NULL;
	}
}
END_TEST

START_TEST(metadata_sample)
{
	const struct plan_filament	*f = plan->filaments;

	ck_assert_msg(threemf_open_file(REFERENCE, &tm, err) == 0, "%s", err);
	ck_assert_msg(threemf_apply_metadata(tm, 1, plan, err) == 0, "%s",
	    err);
	/* slice_info.config: filaments 1 and 4 of plate 1. */
	ck_assert_str_eq(f[0].type, "PLA");
	ck_assert_str_eq(f[0].color, "#FFFFFF");
	ck_assert_str_eq(f[0].tray_info_idx, "GFL99");
	ck_assert_double_eq_tol(f[0].slice_info_m, 7.85, 1e-9);
	ck_assert_double_eq_tol(f[0].slice_info_g, 23.43, 1e-9);
	ck_assert_str_eq(f[3].type, "PLA");
	ck_assert_str_eq(f[3].color, "#161616");
	ck_assert_double_eq_tol(f[3].slice_info_m, 2.92, 1e-9);
	ck_assert_double_eq_tol(f[3].slice_info_g, 8.70, 1e-9);
	/* project_settings.config: all five filaments. */
	ck_assert_double_eq_tol(f[0].density, 1.24, 1e-9);
	ck_assert_double_eq_tol(f[1].density, 1.04, 1e-9);
	ck_assert_double_eq_tol(f[2].density, 1.25, 1e-9);
	ck_assert_double_eq_tol(f[3].density, 1.24, 1e-9);
	ck_assert_double_eq_tol(f[4].diameter, 1.75, 1e-9);
	ck_assert_str_eq(f[1].type, "ASA");
	ck_assert_str_eq(f[1].color, "#BCBCBC");
	ck_assert_str_eq(f[2].type, "PETG-CF");
	ck_assert_str_eq(f[1].tray_info_idx, "");
	ck_assert(isnan(f[1].slice_info_m));
	ck_assert(isnan(f[5].density));
	ck_assert_str_eq(f[5].type, "");
}
END_TEST

START_TEST(metadata_other_plate)
{
	const struct plan_filament	*f = plan->filaments;

	/* Plate 2 is not in slice_info: only project_settings applies. */
	ck_assert_msg(threemf_open_file(REFERENCE, &tm, err) == 0, "%s", err);
	ck_assert_int_eq(threemf_apply_metadata(tm, 2, plan, err), 0);
	ck_assert(isnan(f[0].slice_info_m));
	ck_assert_str_eq(f[0].tray_info_idx, "");
	ck_assert_str_eq(f[0].type, "PLA");
	ck_assert_str_eq(f[3].color, "#161616");
	ck_assert_double_eq_tol(f[1].density, 1.04, 1e-9);
}
END_TEST

START_TEST(metadata_missing)
{
	static const struct entry e[] = {
		ENTRY("Metadata/plate_1.gcode", g),
	};

	open_zip(e, 1);
	ck_assert_int_eq(threemf_apply_metadata(tm, 1, plan, err), 0);
	ck_assert(isnan(plan->filaments[0].density));
	ck_assert_str_eq(plan->filaments[0].type, "");
}
END_TEST

START_TEST(metadata_malformed)
{
	static const struct entry e[] = {
		ENTRY("Metadata/slice_info.config", "<config><plate>"),
	};
	static const struct entry e2[] = {
		ENTRY("Metadata/project_settings.config",
		    "{\"filament_density\": [\"1.24\", \"x\"]}"),
	};

	open_zip(e, 1);
	ck_assert_int_eq(threemf_apply_metadata(tm, 1, plan, err), -1);
	ck_assert_str_eq(err,
	    "Metadata/slice_info.config: line 1: no element found");
	threemf_close(tm);
	free(zipbuf);
	open_zip(e2, 1);
	ck_assert_int_eq(threemf_apply_metadata(tm, 1, plan, err), -1);
	ck_assert_str_eq(err, "Metadata/project_settings.config: "
	    "filament_density[1] \"x\" is not a number");
	ck_assert(isnan(plan->filaments[0].density));
}
END_TEST

START_TEST(metadata_too_large)
{
	struct entry	 e = { "Metadata/project_settings.config", NULL,
			    THREEMF_MAX_META + 1, 1 };
	char		*data;

	data = malloc(e.len);
	ck_assert_ptr_nonnull(data);
	memset(data, ' ', e.len);
	e.data = data;
	open_zip(&e, 1);
	ck_assert_int_eq(threemf_apply_metadata(tm, 1, plan, err), -1);
	ck_assert_str_eq(err, "Metadata/project_settings.config: member too "
	    "large (33554433 bytes, limit 33554432)");
	free(data);
}
END_TEST

#define tcase(name, test)	ck_tcase(name, test, setup, teardown, 60)

static Suite *
threemf_suite(void)
{
	Suite	*s = suite_create("threemf");

	suite_add_tcase(s, tcase("open_sample_file", open_sample_file));
	suite_add_tcase(s, tcase("open_missing_file", open_missing_file));
	suite_add_tcase(s, tcase("open_not_zip", open_not_zip));
	suite_add_tcase(s, tcase("open_empty_and_dir", open_empty_and_dir));
	suite_add_tcase(s, tcase("open_truncated", open_truncated));
	suite_add_tcase(s, tcase("open_corrupt_directory",
	    open_corrupt_directory));
	suite_add_tcase(s, tcase("pick_by_member", pick_by_member));
	suite_add_tcase(s, tcase("pick_by_number", pick_by_number));
	suite_add_tcase(s, tcase("pick_by_model_settings",
	    pick_by_model_settings));
	suite_add_tcase(s, tcase("pick_by_model_settings_id",
	    pick_by_model_settings_id));
	suite_add_tcase(s, tcase("pick_model_settings_bad",
	    pick_model_settings_bad));
	suite_add_tcase(s, tcase("pick_lowest", pick_lowest));
	suite_add_tcase(s, tcase("pick_nothing", pick_nothing));
	suite_add_tcase(s, tcase("pick_sample_multi_plate",
	    pick_sample_multi_plate));
	suite_add_tcase(s, tcase("stream_deflated", stream_deflated));
	suite_add_tcase(s, tcase("stream_stored", stream_stored));
	suite_add_tcase(s, tcase("stream_sink_error", stream_sink_error));
	suite_add_tcase(s, tcase("stream_crc_error", stream_crc_error));
	suite_add_tcase(s, tcase("stream_inflate_error",
	    stream_inflate_error));
	suite_add_tcase(s, tcase("stream_zip_bomb", stream_zip_bomb));
	suite_add_tcase(s, tcase("stream_size_lie", stream_size_lie));
	suite_add_tcase(s, tcase("stream_samples", stream_samples));
	suite_add_tcase(s, tcase("metadata_sample", metadata_sample));
	suite_add_tcase(s, tcase("metadata_other_plate",
	    metadata_other_plate));
	suite_add_tcase(s, tcase("metadata_missing", metadata_missing));
	suite_add_tcase(s, tcase("metadata_malformed", metadata_malformed));
	suite_add_tcase(s, tcase("metadata_too_large", metadata_too_large));
	return s;
}

int
main(void)
{
	return ck_run(threemf_suite());
}
