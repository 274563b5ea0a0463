/* gcode.c: the streaming gcode interpreter: lines, commands, and the physical and slicer rule sets. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "errbuf.h"
#include "gcode_int.h"
#include "xmalloc.h"

enum { AX_X, AX_Y, AX_Z, AX_E, AX__MAX };

#define HAS(m, ax)	(((m)->has >> (ax)) & 1)	/* word ax given */

/* The axis words of one move; bit i of has says whether word i was given. */
struct move {
	int64_t		 v[AX__MAX];	/* GCODE_UNIT */
	uint32_t	 off;		/* parsed ahead: the line's offset in its piece */
	uint16_t	 len;		/* parsed ahead: its bytes, the newline included */
	uint8_t		 has;
};

/* A line gcode_premove() found between two moves it parsed. */
struct other_line {
	uint32_t	 off;		/* offset in the piece */
	uint32_t	 len;		/* bytes, without the newline */
};

/*
 * Moves parsed ahead by gcode_premove(), in the order of their lines, and
 * every other line before the last of them.
 */
struct gcode_moves {
	struct move		*m;
	size_t			 n, cap;
	struct other_line	*ol;
	size_t			 nol, olcap;
	int			 mid_line;	/* what gcode_premove() was told */
};

static const char *const flag_names[GCODE_FLAG__MAX] = {
	"extrude_cali_flag", "timelapse_record_flag", "g29_before_print_flag"
};

void
gcode_opts_default(struct gcode_opts *opts)
{
	int i;

	opts->use_ams = 1;
	opts->reference = 0;
	for (i = 0; i < GCODE_FLAG__MAX; i++)
		opts->flags[i] = -1;
}

static void
axes_init(struct gcode_axes *a)
{
	memset(a, 0, sizeof(*a));
	a->tool = GCODE_NOTOOL;
}

struct gcode *
gcode_new(const struct gcode_opts *opts)
{
	struct gcode *g = xcalloc(1, sizeof(*g));

	if (opts != NULL)
		g->opts = *opts;
	else
		gcode_opts_default(&g->opts);
	g->line = xcalloc(1, GCODE_LINE_MAX + GCODE_LINE_PAD);
	g->lim = g->line + GCODE_LINE_MAX + GCODE_LINE_PAD;
	axes_init(&g->phys);
	axes_init(&g->slic);
	g->first_tool = GCODE_NOTOOL;
	g->judge_flag = -1;
	g->split_prev = -1;
	g->percent = -1;
	g->hdr.bs_major = -1;
	g->hdr.total_layers = -1;
	g->hdr.nozzle_volume = NAN;
	return g;
}

void
gcode_free(struct gcode *g)
{
	if (g == NULL)
		return;
	free(g->line);
	free(g->chunks);
	free(g->marks);
	free(g);
}

size_t
gcode_line(const struct gcode *g)
{
	return g->lineno;
}

/*
 * Parses a decimal number at *p as a fixed-point count of GCODE_UNIT (one
 * millionth of a millimetre, rounded on the seventh decimal) and advances *p.
 * Integer arithmetic keeps the hot path free of division and makes sums
 * exact.  Returns 0, -1 when no number starts at *p, or -2 when the number is
 * not finite or its magnitude exceeds GCODE_MAX_POS.  This is the byte-wise
 * reference; fix_num() below is the fast path that falls back to it.
 */
static int
fix_num_slow(const char **p, const char *end, int64_t *out)
{
	const char	*s = *p;
	int64_t		 ip = 0, fp = 0;
	int		 neg = 0, digits = 0, fd = 0, big = 0;
	double		 v;

	if (s < end && (*s == '-' || *s == '+'))
		neg = *s++ == '-';
	for (; s < end && (unsigned)(*s - '0') < 10; s++, digits++) {
		if (ip > (int64_t)GCODE_MAX_POS)
			big = 1;
		else
			ip = ip * 10 + (*s - '0');
	}
	if (s < end && *s == '.')
		for (s++; s < end && (unsigned)(*s - '0') < 10; s++, digits++) {
			if (fd < 6)
				fp = fp * 10 + (*s - '0');
			else if (fd == 6 && *s >= '5')
				fp++;
			fd++;
		}
	if (digits == 0)
		return -1;
	if (s < end && *s == 'e') {
		if (gcode_num(p, end, &v) == -1)
			return -1;
		if (!(fabs(v) <= GCODE_MAX_POS))
			return -2;
		*out = llround(v * GCODE_UNIT);
		return 0;
	}
	for (; fd < 6; fd++)
		fp *= 10;
	if (big || ip > (int64_t)GCODE_MAX_POS)
		return -2;
	*out = neg ? -(ip * GCODE_UNIT + fp) : ip * GCODE_UNIT + fp;
	*p = s;
	return 0;
}

#define ONES	0x0101010101010101ULL	/* times a byte: that byte in all 8 lanes */

/* The 8 bytes at s (readable) as a number whose lowest byte is s[0]. */
static inline uint64_t
load8(const char *s)
{
	uint64_t x;

	memcpy(&x, s, sizeof(x));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x);
#endif
	return x;
}

/* The number written by the digit values (0-9) in the bytes of v, v's lowest byte the most significant digit. */
static inline uint64_t
eight_digits(uint64_t v)
{
	v = v * 10 + (v >> 8);
	return (((v & 0x000000ff000000ffULL) * (100 + (1000000ULL << 32))) +
	    (((v >> 16) & 0x000000ff000000ffULL) * (1 + (10000ULL << 32)))) >>
	    32;
}

static const int64_t pow10_6[7] = {
	1000000, 100000, 10000, 1000, 100, 10, 1
};

/* squeeze_hi[n]: the bytes from n on, which move down one to squeeze out byte n. */
static const uint64_t squeeze_hi[8] = {
	~0ULL, ~0ULL << 8, ~0ULL << 16, ~0ULL << 24, ~0ULL << 32, ~0ULL << 40,
	~0ULL << 48, ~0ULL << 56
};

#ifdef __SSE2__
#define SPAN	16	/* bytes nondigits() looks at */

/* Bit i (i < 32) is set unless i < SPAN and s[i] is a digit; SPAN bytes at s are read. */
static inline uint32_t
nondigits(const char *s)
{
	__m128i	 x, d;

	x = _mm_loadu_si128((const __m128i *)(const void *)s);
	d = _mm_sub_epi8(x, _mm_set1_epi8('0'));
	return ~(uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(d,
	    _mm_min_epu8(d, _mm_set1_epi8(9))));
}
#else
#define SPAN	8

static inline uint32_t
nondigits(const char *s)
{
	uint64_t x = load8(s), bad;

	/*
	 * A digit has high nibble 3, and so does it plus 6.  A carry out of a
	 * byte (0xfa and above, not a digit) only spoils the bytes after it,
	 * and so never hides the first non-digit, nor the second one when the
	 * first is a point.
	 */
	bad = ((x & 0xf0 * ONES) ^ 0x30 * ONES) |
	    (((x + 0x06 * ONES) & 0xf0 * ONES) ^ 0x30 * ONES);
	bad = (((bad & 0x7f * ONES) + 0x7f * ONES) | bad) & 0x80 * ONES;
	return (uint32_t)((bad >> 7) * 0x0102040810204080ULL >> 56) | ~0xffu;
}
#endif

/*
 * The usual number at q, before end: an optional '-', at most 7 digits with
 * at most 6 of them after the point, and no exponent.  SPAN + 1 bytes at q
 * must be readable.  One compare of SPAN bytes finds the point and the end
 * (which must be among them), the point is squeezed out of an 8-byte load,
 * and one SWAR conversion gives all the digits.  The load does not wait
 * for the sign, which only clears bit 0 of the mask.  Returns where the
 * number ends, with its value in *out as fix_num_slow() would give it, or
 * NULL for anything else (a '+', more digits, an exponent, no number, a
 * number running past end), which fix_num_slow() must then parse.
 */
static inline const char *
fast_num(const char *q, const char *end, int64_t *out)
{
	const char	*t;
	uint64_t	 x;
	uint32_t	 nondig;
	int64_t		 v;
	int		 neg, first, nd, nf = 0;

	neg = *q == '-';
	nondig = nondigits(q) & ~(uint32_t)neg;
	x = load8(q + neg);
	first = __builtin_ctz(nondig);
	t = q + first;
	nd = first - neg;
	if (*t == '.') {
		t = q + __builtin_ctz(nondig & (nondig - 1));
		nf = (int)(t - q) - first - 1;
		x ^= (x ^ x >> 8) & squeeze_hi[nd & 7];
		nd += nf;
	}
	if (((unsigned)(nd - 1) > 6) | (nf > 6) | (t - q >= SPAN) |
	    (t > end) || (t < end && *t == 'e'))
		return NULL;
	v = (int64_t)eight_digits((x - 0x30 * ONES) << (8 * (8 - nd))) *
	    pow10_6[nf];
	*out = neg ? -v : v;
	return t;
}

/*
 * fix_num_slow() through fast_num() where it can; lim (at or past end)
 * ends the readable memory, NULL for fix_num_slow() only.
 */
static inline int
fix_num(const char **p, const char *end, const char *lim, int64_t *out)
{
	const char *t;

	if (lim == NULL || lim - *p <= SPAN ||
	    (t = fast_num(*p, end, out)) == NULL)
		return fix_num_slow(p, end, out);
	*p = t;
	return 0;
}

/* True while the printer skips the current line (a branch not taken, or an AMS block without AMS). */
static int
skipping(const struct gcode *g)
{
	return g->cond_false != 0 || g->ams_depth > 0;
}

/* Counts filament f as used in the current segment. */
static inline void
touch(struct gcode *g, int f)
{
	if (!g->seg_touched[f]) {
		g->seg_touched[f] = 1;
		g->seg_list[g->nseg++] = f;
	}
}

/*
 * Adds a physical amount (GCODE_UNIT) to filament f in the current segment.
 * (Separate from add_slicer(): one add() for both added 0 to the other sum
 * on every move.)
 */
static inline void
add_phys(struct gcode *g, int f, int64_t units)
{
	touch(g, f);
	g->seg_mm[f] += units;
}

/* Adds a slicer-replica amount (mm) to filament f in the current segment. */
static inline void
add_slicer(struct gcode *g, int f, double mm)
{
	touch(g, f);
	g->seg_slicer[f] += mm;
}

static const char *
skip_blanks(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* Skips the rest of an unknown parameter word. */
static const char *
skip_word(const char *s, const char *end)
{
	while (s < end && *s != ' ' && *s != '\t' && *s != ';')
		s++;
	return s;
}

/* The axis of a word letter, AX__MAX for any other byte. */
static inline int
axis_of(char c)
{
	switch (c) {
	case 'X':
		return AX_X;
	case 'Y':
		return AX_Y;
	case 'Z':
		return AX_Z;
	case 'E':
		return AX_E;
	default:
		return AX__MAX;
	}
}

/*
 * Parses the usual words of a move: each a blank, a letter and, for X, Y, Z
 * and E, a number for fix_num()'s fast path.  Stops at the first word that
 * is anything else and returns where it stopped (end when it parsed them
 * all), so that move_words_any() goes on from there; a word stopped at is
 * left for it whole.  lim ends the readable memory.
 */
static inline const char *
move_words_fast(const char *s, const char *end, const char *lim,
    struct move *m)
{
	const char	*t;
	unsigned	 ax;

	while (end - s >= 2 && *s == ' ' && lim - (s + 2) > SPAN) {
		if ((ax = (unsigned char)s[1] - 'X') > AX_Z) {
			if (s[1] != 'E') {
				if (s[1] == ' ' || s[1] == '\t' || s[1] == ';')
					break;
				s = skip_word(s + 2, end);
				continue;
			}
			ax = AX_E;
		}
		if ((t = fast_num(s + 2, end, &m->v[ax])) == NULL)
			break;
		m->has |= 1u << ax;
		s = t;
	}
	return s;
}

/* Parses the X, Y, Z and E words of a move from s on, any spelling; other words are skipped. */
static int
move_words_any(struct gcode *g, const char *s, const char *end,
    struct move *m, char *err)
{
	char	c;
	int	ax;

	for (;;) {
		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s == end || *s == ';')
			return 0;
		if ((ax = axis_of(c = *s++)) == AX__MAX) {
			s = skip_word(s, end);
			continue;
		}
		if (s < end && (*s == ' ' || *s == '\t'))
			s = skip_blanks(s, end);
		switch (fix_num(&s, end, g->opts.reference ? NULL : g->lim,
		    &m->v[ax])) {
		case -1:
			return errbuf_set(err, "line %zu: %c without a number",
			    g->lineno, c);
		case -2:
			return errbuf_set(err, "line %zu: %c value is not a "
			    "finite number within %g mm", g->lineno, c,
			    GCODE_MAX_POS);
		}
		m->has |= 1u << ax;
	}
}

/*
 * Parses the X, Y, Z and E words of a move; other words are skipped.  A word
 * not given leaves its bit of has and v[i] at 0.
 */
static int
move_words(struct gcode *g, const char *s, const char *end, struct move *m,
    char *err)
{
	memset(m, 0, sizeof(*m));
	if (!g->opts.reference)
		s = move_words_fast(s, end, g->lim, m);
	return s == end ? 0 : move_words_any(g, s, end, m, err);
}

/* True when the position (GCODE_UNIT) is beyond GCODE_MAX_POS either way. */
static inline int
far_pos(int64_t v)
{
	const uint64_t max = (uint64_t)GCODE_MAX_POS * GCODE_UNIT;

	return (uint64_t)v + max > 2 * max;
}

/*
 * Applies a move to one view of the machine and returns its signed E in
 * *de; *moved_xy and *moved_z tell whether the head moved.  With commit 0
 * the positions stay as they were (a ;VG1 stand-in the printer never runs).
 * A twin (or NULL) gets the new positions too: stored from registers, they
 * spare the stall of copying the view right after these stores.  Relies on
 * move_words() leaving v[i] at 0 for a word not given.
 */
static inline int
apply_move(struct gcode *g, struct gcode_axes *a, const struct move *m,
    int commit, struct gcode_axes *twin, int64_t *de, int *moved_xy,
    int *moved_z, char *err)
{
	int64_t	x, y, z, d, e;

	x = m->v[AX_X] + (a->rel_xyz || !HAS(m, AX_X) ? a->pos[AX_X] : 0);
	y = m->v[AX_Y] + (a->rel_xyz || !HAS(m, AX_Y) ? a->pos[AX_Y] : 0);
	z = m->v[AX_Z] + (a->rel_xyz || !HAS(m, AX_Z) ? a->pos[AX_Z] : 0);
	*moved_xy = (x != a->pos[AX_X]) | (y != a->pos[AX_Y]);
	*moved_z = z != a->pos[AX_Z];
	d = m->v[AX_E] - (HAS(m, AX_E) && !a->rel_e && !a->rel_xyz ?
	    a->pos[AX_E] : 0);
	*de = d;
	if (llabs(d) > (int64_t)(GCODE_MAX_MOVE_E * GCODE_UNIT))
		return errbuf_set(err, "line %zu: an extrusion of %.1f mm in "
		    "one move is absurd", g->lineno, (double)d / GCODE_UNIT);
	if (!commit)
		return 0;
	if (far_pos(x) | far_pos(y) | far_pos(z) | far_pos(a->pos[AX_E] + d))
		return errbuf_set(err, "line %zu: position beyond %g mm",
		    g->lineno, GCODE_MAX_POS);
	e = a->pos[AX_E] + d;
	a->pos[AX_X] = x;
	a->pos[AX_Y] = y;
	a->pos[AX_Z] = z;
	a->pos[AX_E] = e;
	if (twin != NULL) {
		twin->pos[AX_X] = x;
		twin->pos[AX_Y] = y;
		twin->pos[AX_Z] = z;
		twin->pos[AX_E] = e;
	}
	return 0;
}

/* Cross-section of filament f in mm2. */
static double
area(const struct gcode *g, int f)
{
	double r = gcode_header_diameter(g, f) / 2;

	return 3.14159265358979323846 * r * r;
}

/*
 * Slicer replica of a flush: BambuStudio 2.x charges the first
 * nozzle_volume mm3 after a change to the previous filament (rule S5).
 */
static void
slicer_flush(struct gcode *g, int64_t units)
{
	int	n = g->slic.tool, prev = g->split_prev;
	double	de = (double)units / GCODE_UNIT, vol, take;

	if (prev < 0 || prev == n || !(g->split_left > 0) || n == GCODE_NOTOOL) {
		add_slicer(g, n, de);
		return;
	}
	vol = de * area(g, n);
	take = vol < g->split_left ? vol : g->split_left;
	g->split_left -= take;
	add_slicer(g, prev, take / area(g, prev));
	add_slicer(g, n, (vol - take) / area(g, n));
}

/*
 * True when the executed view equals the slicer's, so that one update
 * serves both.  They part when the printer skips lines the slicer counts,
 * and meet again once every position and mode agrees.
 */
static int
same_views(struct gcode *g)
{
	if (skipping(g)) {
		g->diverged = 1;
		return 0;
	}
	if (g->diverged && memcmp(&g->phys, &g->slic, sizeof(g->phys)) == 0)
		g->diverged = 0;
	return !g->diverged;
}

/* Rules S2, S4 and S6: what the slicer counts of a move with signed E de. */
static inline void
slicer_move(struct gcode *g, int64_t de, int xy, int z, int virtual)
{
	int flush = virtual ? g->in_vflush : g->in_flush;

	if (de > 0 && xy && !g->in_wipe)
		add_slicer(g, g->slic.tool, (double)de / GCODE_UNIT);
	else if (de > 0 && !xy && !z && flush)
		slicer_flush(g, de);
}

/*
 * run_linear() of a G0/G1 while the views are equal (same_views()), the
 * usual case: one update serves both.  Inlined where moves come parsed,
 * the hot path of the file.
 */
static inline int
run_linear_same(struct gcode *g, const struct move *m, char *err)
{
	int64_t	de;
	int	xy, z, tool = g->phys.tool;	/* read before the stores below */

	if (apply_move(g, &g->phys, m, 1, &g->slic, &de, &xy, &z, err) == -1)
		return -1;
	add_phys(g, tool, de);
	slicer_move(g, de, xy, z, 0);
	return 0;
}

/* Runs the parsed G0/G1, or ;VG1 (virtual): rules P3/P6 and S2/S4/S6. */
static int
run_linear(struct gcode *g, const struct move *m, int virtual, char *err)
{
	int64_t	de;
	int	xy, z;

	if (!virtual && same_views(g))
		return run_linear_same(g, m, err);
	if (!skipping(g)) {
		if (apply_move(g, &g->phys, m, !virtual, NULL, &de, &xy, &z,
		    err))
			return -1;
		if (!virtual || (g->in_vflush && de > 0))
			add_phys(g, g->phys.tool, de);
	}
	g->diverged = 1;
	if (apply_move(g, &g->slic, m, 1, NULL, &de, &xy, &z, err) == -1)
		return -1;
	slicer_move(g, de, xy, z, virtual);
	return 0;
}

/* G0/G1, or ;VG1 (virtual), with its words from s to end. */
static int
linear_move(struct gcode *g, const char *s, const char *end, int virtual,
    char *err)
{
	struct move m;

	if (move_words(g, s, end, &m, err) == -1)
		return -1;
	return run_linear(g, &m, virtual, err);
}

/* G2/G3: signed E in both rule sets (P3, S3). */
static int
arc_move(struct gcode *g, const char *s, const char *end, char *err)
{
	struct move	m;
	int64_t		de = 0;		/* set below: same_views() implies !skipping() */
	int		xy, z, same;

	if (move_words(g, s, end, &m, err) == -1)
		return -1;
	same = same_views(g);
	if (!skipping(g)) {
		if (apply_move(g, &g->phys, &m, 1, same ? &g->slic : NULL, &de,
		    &xy, &z, err) == -1)
			return -1;
		add_phys(g, g->phys.tool, de);
	}
	if (!same && apply_move(g, &g->slic, &m, 1, NULL, &de, &xy, &z,
	    err) == -1)
		return -1;
	if (de != 0)
		add_slicer(g, g->slic.tool, (double)de / GCODE_UNIT);
	return 0;
}

/* G92: sets the given positions, or all of them to 0 when none is given. */
static int
set_position(struct gcode *g, const char *s, const char *end, char *err)
{
	struct move	m;
	int		i, any = 0;

	if (move_words(g, s, end, &m, err) == -1)
		return -1;
	any = m.has != 0;
	for (i = 0; i < AX__MAX; i++) {
		int64_t v = HAS(&m, i) ? m.v[i] : 0;

		if (HAS(&m, i) || !any) {
			if (!skipping(g))
				g->phys.pos[i] = v;
			else
				g->diverged = 1;
			g->slic.pos[i] = v;
		}
	}
	return 0;
}

/* Sets a mode flag in the executed view (unless skipped) and in the slicer's. */
static void
set_mode(struct gcode *g, size_t offset, int value)
{
	if (!skipping(g))
		*(int *)((char *)&g->phys + offset) = value;
	else
		g->diverged = 1;
	*(int *)((char *)&g->slic + offset) = value;
}

/* T<n> or M1020 S<n>: rule P2 (physical, executed only) and S1 (slicer, always). */
static int
select_tool(struct gcode *g, long n, char *err)
{
	if (n > 254)
		return 0;	/* T255 unload, T1000/T1100 specials */
	if (n >= PLAN_MAX_FILAMENTS)
		return errbuf_set(err, "line %zu: filament T%ld is beyond the "
		    "%d supported", g->lineno, n, PLAN_MAX_FILAMENTS);
	if (!skipping(g)) {
		g->phys.tool = (int)n;
		if (g->first_tool == GCODE_NOTOOL)
			g->first_tool = (int)n;
	} else
		g->diverged = 1;
	if (g->hdr.bs_major >= 2 && g->slic.tool != GCODE_NOTOOL &&
	    g->slic.tool != n && isfinite(g->hdr.nozzle_volume)) {
		g->split_prev = g->slic.tool;
		g->split_left = g->hdr.nozzle_volume;
	}
	g->slic.tool = (int)n;
	return 0;
}

static int
g_command(struct gcode *g, const char *s, const char *end, char *err)
{
	long code, sub = -1;

	if (gcode_uint(&s, end, &code) == -1)
		return 0;
	if (s < end && *s == '.') {
		s++;
		if (gcode_uint(&s, end, &sub) == -1)
			return 0;
	}
	if (sub != -1)
		return 0;
	switch (code) {
	case 0:
	case 1:
		return linear_move(g, s, end, 0, err);
	case 2:
	case 3:
		return arc_move(g, s, end, err);
	case 90:
	case 91:
		set_mode(g, offsetof(struct gcode_axes, rel_xyz), code == 91);
		return 0;
	case 92:
		return set_position(g, s, end, err);
	default:
		return 0;
	}
}

/*
 * Finds word c in the parameters and parses its number.  Returns 1 when
 * found with a number, 0 when absent or without a number.
 */
static int
word(const char *s, const char *end, char c, double *v)
{
	while ((s = skip_blanks(s, end)) < end && *s != ';') {
		if (*s++ == c && gcode_num(&s, end, v) == 0)
			return 1;
		s = skip_word(s, end);
	}
	return 0;
}

/* M73 L<layer> and M73 P<percent>: layer buckets (P9) and progress marks. */
static int
m73(struct gcode *g, const char *s, const char *end, char *err)
{
	double v;

	if (skipping(g))
		return 0;
	if (word(s, end, 'L', &v)) {
		if (!(v >= 0 && v <= GCODE_MAX_LAYER) || v != floor(v))
			return errbuf_set(err, "line %zu: M73 L%g is not a "
			    "layer number", g->lineno, v);
		if (!g->seen_m73 || (int)v != g->m73_layer) {
			if (gcode_boundary(g, err) == -1)
				return -1;
			g->m73_layer = (int)v;
			g->seen_m73 = 1;
			if (g->m73_layer > g->max_m73)
				g->max_m73 = g->m73_layer;
		}
	}
	if (word(s, end, 'P', &v) && v >= 0 && v <= 100 && v == floor(v) &&
	    (int)v != g->percent) {
		g->percent = (int)v;
		return gcode_mark(g, g->percent, err);
	}
	return 0;
}

/* M620.11 S1 I<k> E-<d>: the firmware pulls filament k back d mm (P4). */
static int
long_retraction(struct gcode *g, const char *s, const char *end, char *err)
{
	double	sv, iv, ev;

	if (skipping(g) || !word(s, end, 'S', &sv) || sv != 1 ||
	    !word(s, end, 'I', &iv) || !word(s, end, 'E', &ev) || !(ev < 0))
		return 0;
	if (!(iv >= 0 && iv < PLAN_MAX_FILAMENTS) || iv != floor(iv) ||
	    !(ev >= -GCODE_MAX_MOVE_E))
		return errbuf_set(err, "line %zu: M620.11 with absurd I or E",
		    g->lineno);
	add_phys(g, (int)iv, llround(ev * GCODE_UNIT));
	return 0;
}

/* M622 J<v> / S<v>: the branch runs when the last judge flag equals v (P8). */
static int
cond_push(struct gcode *g, const char *s, const char *end, char *err)
{
	double	v;
	int	flag = 0, taken;

	if (!word(s, end, 'J', &v) && !word(s, end, 'S', &v))
		v = 0;
	if (g->cond_depth == GCODE_COND_MAX)
		return errbuf_set(err, "line %zu: M622 nested more than %d "
		    "deep", g->lineno, GCODE_COND_MAX);
	if (g->judge_flag >= 0 && g->opts.flags[g->judge_flag] > 0)
		flag = g->opts.flags[g->judge_flag];
	taken = v == flag;
	if (!taken)
		g->cond_false |= 1u << g->cond_depth;
	g->cond_depth++;
	return 0;
}

static void
cond_pop(struct gcode *g)
{
	if (g->cond_depth == 0)
		return;
	g->cond_depth--;
	g->cond_false &= ~(1u << g->cond_depth);
}

/* M1002 judge_flag <name>: names the flag the next M622 tests. */
static void
judge(struct gcode *g, const char *s, const char *end)
{
	static const char	 kw[] = "judge_flag";
	size_t			 n;
	int			 i;

	s = skip_blanks(s, end);
	if ((size_t)(end - s) < sizeof(kw) - 1 ||
	    memcmp(s, kw, sizeof(kw) - 1) != 0) {
		if ((size_t)(end - s) >= 5 && memcmp(s, "judge", 5) == 0)
			g->judge_flag = -1;	/* judge_last_extrude_cali_success */
		return;
	}
	s = skip_blanks(s + sizeof(kw) - 1, end);
	n = (size_t)(skip_word(s, end) - s);
	g->judge_flag = -1;
	for (i = 0; i < GCODE_FLAG__MAX; i++)
		if (strlen(flag_names[i]) == n && memcmp(s, flag_names[i], n) == 0)
			g->judge_flag = i;
}

/* M620 S<n>[A] ... M621 S<n>[A]: skipped whole when the job runs without AMS (P7). */
static void
ams_block(struct gcode *g, const char *s, const char *end, int open)
{
	double v;

	if (g->opts.use_ams || !word(s, end, 'S', &v))
		return;
	if (open)
		g->ams_depth++;
	else if (g->ams_depth > 0)
		g->ams_depth--;
}

static int
m_command(struct gcode *g, const char *s, const char *end, char *err)
{
	long	code, sub = -1;
	double	v;

	if (gcode_uint(&s, end, &code) == -1)
		return 0;
	if (s < end && *s == '.') {
		s++;
		if (gcode_uint(&s, end, &sub) == -1)
			return 0;
	}
	if (code == 620 && sub == 11)
		return long_retraction(g, s, end, err);
	if (sub != -1)
		return 0;
	switch (code) {
	case 73:
		return m73(g, s, end, err);
	case 82:
	case 83:
		set_mode(g, offsetof(struct gcode_axes, rel_e), code == 83);
		return 0;
	case 620:
	case 621:
		ams_block(g, s, end, code == 620);
		return 0;
	case 622:
		return cond_push(g, s, end, err);
	case 623:
		cond_pop(g);
		return 0;
	case 1002:
		judge(g, s, end);
		return 0;
	case 1020:
		if (word(s, end, 'S', &v) && v >= 0 && v == floor(v))
			return select_tool(g, v > 1e6 ? 1000000 : (long)v, err);
		return 0;
	default:
		return 0;
	}
}

enum mark {
	MARK_LAYER, MARK_FLUSH_ON, MARK_FLUSH_OFF, MARK_VFLUSH_ON,
	MARK_VFLUSH_OFF, MARK_WIPE_ON, MARK_WIPE_OFF, MARK_HEADER,
	MARK_CONFIG, MARK_EXEC, MARK_FOOTER, MARK_BLOCK_END
};

/* A structural comment and the marker it is. */
struct mark_word {
	const char	*word;
	size_t		 len;
	enum mark	 mark;
};

/* The structural comments, one table per first letter: find_mark() tries only the comment's. */
#define M(w, m) { w, sizeof(w) - 1, m }
static const struct mark_word marks_c[] = {
	M("CHANGE_LAYER", MARK_LAYER),
	M("CONFIG_BLOCK_START", MARK_CONFIG),
	M("CONFIG_BLOCK_END", MARK_BLOCK_END)
};
static const struct mark_word marks_e[] = {
	M("EXECUTABLE_BLOCK_START", MARK_EXEC),
	M("EXECUTABLE_BLOCK_END", MARK_FOOTER)
};
static const struct mark_word marks_f[] = {
	M("FLUSH_START", MARK_FLUSH_ON),
	M("FLUSH_END", MARK_FLUSH_OFF)
};
static const struct mark_word marks_h[] = {
	M("HEADER_BLOCK_START", MARK_HEADER),
	M("HEADER_BLOCK_END", MARK_BLOCK_END)
};
static const struct mark_word marks_v[] = {
	M("VFLUSH_START", MARK_VFLUSH_ON),
	M("VFLUSH_END", MARK_VFLUSH_OFF)
};
static const struct mark_word marks_w[] = {
	M("WIPE_START", MARK_WIPE_ON),
	M("WIPE_END", MARK_WIPE_OFF)
};
#undef M
#define MARKS(t)	(t), sizeof(t) / sizeof((t)[0])

/* The marker of the n in table t that the comment text at s is (trailing blanks allowed), or -1. */
static int
match_mark(const char *s, const char *end, const struct mark_word *t,
    size_t n)
{
	for (; n > 0; t++, n--)
		if ((size_t)(end - s) >= t->len &&
		    memcmp(s, t->word, t->len) == 0 &&
		    skip_blanks(s + t->len, end) == end)
			return (int)t->mark;
	return -1;
}

/* Returns the marker the comment text at s is (trailing blanks allowed), or -1. */
static int
find_mark(const char *s, const char *end)
{
	switch (*s) {
	case 'C':
		return match_mark(s, end, MARKS(marks_c));
	case 'E':
		return match_mark(s, end, MARKS(marks_e));
	case 'F':
		return match_mark(s, end, MARKS(marks_f));
	case 'H':
		return match_mark(s, end, MARKS(marks_h));
	case 'V':
		return match_mark(s, end, MARKS(marks_v));
	case 'W':
		return match_mark(s, end, MARKS(marks_w));
	default:
		return -1;
	}
}

static int
apply_mark(struct gcode *g, enum mark m, char *err)
{
	switch (m) {
	case MARK_LAYER:
		if (g->cl_layer == GCODE_MAX_LAYER)
			return errbuf_set(err, "line %zu: more than %d layers",
			    g->lineno, GCODE_MAX_LAYER);
		if (gcode_boundary(g, err) == -1)
			return -1;
		g->cl_layer++;
		break;
	case MARK_FLUSH_ON:
	case MARK_FLUSH_OFF:
		g->in_flush = m == MARK_FLUSH_ON;
		break;
	case MARK_VFLUSH_ON:
	case MARK_VFLUSH_OFF:
		g->in_vflush = m == MARK_VFLUSH_ON;
		break;
	case MARK_WIPE_ON:
	case MARK_WIPE_OFF:
		g->in_wipe = m == MARK_WIPE_ON;
		break;
	case MARK_HEADER:
		g->block = GCODE_BLOCK_HEADER;
		break;
	case MARK_CONFIG:
		g->block = GCODE_BLOCK_CONFIG;
		break;
	case MARK_EXEC:
		g->block = GCODE_BLOCK_EXEC;
		break;
	case MARK_FOOTER:
		g->block = GCODE_BLOCK_FOOTER;
		break;
	case MARK_BLOCK_END:
		g->block = GCODE_BLOCK_NONE;
		break;
	}
	return 0;
}

/* Structural comments: blocks, layers (P9), flush and wipe regions. */
static int
comment(struct gcode *g, const char *s, const char *end, char *err)
{
	int m;

	if (end - s >= 4 && memcmp(s, ";VG1", 4) == 0)
		return linear_move(g, s + 4, end, 1, err);
	if (end - s < 2 || s[1] != ' ')
		return 0;
	s += 2;
	if (s < end && (m = find_mark(s, end)) != -1)
		return apply_mark(g, (enum mark)m, err);
	if (g->block != GCODE_BLOCK_EXEC)
		return gcode_header_line(g, s, end, err);
	return 0;
}

/* Interprets a line (from s to end) that is not a plain G0 or G1 move. */
static int
line_other(struct gcode *g, const char *s, const char *end, char *err)
{
	long		 t;

	s = skip_blanks(s, end);
	if (s == end)
		return 0;
	switch (*s) {
	case 'G':
		g->seen_command = 1;
		return g_command(g, s + 1, end, err);
	case 'M':
		g->seen_command = 1;
		return m_command(g, s + 1, end, err);
	case 'T':
		s++;
		if (gcode_uint(&s, end, &t) == -1)
			return 0;
		g->seen_command = 1;
		return select_tool(g, t, err);
	case ';':
		return comment(g, s, end, err);
	default:
		return 0;
	}
}

/* The end of the line from s to nl (its newline), before any carriage return. */
static inline const char *
line_end(const char *s, const char *nl)
{
	return nl > s && nl[-1] == '\r' ? nl - 1 : nl;
}

/* True for "G1 " and "G0 ", most lines: g_command() would send them to linear_move(). */
static inline int
plain_move(const char *s, const char *end)
{
	return end - s >= 3 && s[0] == 'G' && (s[1] == '1' || s[1] == '0') &&
	    s[2] == ' ';
}

/* Interprets one line (without its newline); "G1 " and "G0 " go straight to linear_move(). */
static inline int
line(struct gcode *g, const char *s, size_t n, char *err)
{
	const char *end = line_end(s, s + n);

	if (plain_move(s, end)) {
		g->seen_command = 1;
		return linear_move(g, s + 2, end, 0, err);
	}
	return line_other(g, s, end, err);
}

/* Appends a piece of a line that spans buffers; drops the rest of an over-long comment. */
static int
append(struct gcode *g, const char *p, size_t n, char *err)
{
	const char *first, *end;

	if (g->overlong)
		return 0;
	if (g->linelen + n <= GCODE_LINE_MAX) {
		memcpy(g->line + g->linelen, p, n);
		g->linelen += n;
		return 0;
	}
	first = g->linelen ? g->line : p;
	end = g->linelen ? g->line + g->linelen : p + n;
	first = skip_blanks(first, end);
	if (first == end || *first != ';')
		return errbuf_set(err, "line %zu: longer than %d bytes and not "
		    "a comment: this is not gcode", g->lineno + 1,
		    GCODE_LINE_MAX);
	g->overlong = 1;
	return 0;
}

/*
 * Ends the line collected in g->line with the newline at nl (in the caller's
 * buffer) and interprets it.  Returns 0 or -1.
 */
static int
end_line(struct gcode *g, const char *p, const char *nl, char *err)
{
	if (append(g, p, (size_t)(nl - p), err) == -1)
		return -1;
	g->lineno++;
	if (!g->overlong && line(g, g->line, g->linelen, err) == -1)
		return -1;
	g->linelen = 0;
	g->overlong = 0;
	return 0;
}

/*
 * Bit i of the result is set when p[i] is a newline; *nul is set when one
 * of the 64 bytes at p (readable) is a NUL, and left alone otherwise.
 */
static inline uint64_t
newlines64(const char *p, int *nul)
{
#ifdef __SSE2__
	__m128i		 x, z = _mm_setzero_si128();
	uint64_t	 m = 0;
	int		 i;

	for (i = 0; i < 64; i += 16) {
		x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
		m |= (uint64_t)(uint16_t)_mm_movemask_epi8(_mm_cmpeq_epi8(x,
		    _mm_set1_epi8('\n'))) << i;
		z = _mm_or_si128(z, _mm_cmpeq_epi8(x, _mm_setzero_si128()));
	}
	*nul |= _mm_movemask_epi8(z) != 0;
	return m;
#else
	uint64_t	 m = 0, x, n;
	int		 i;

	for (i = 0; i < 64; i += 8) {
		x = load8(p + i);
		*nul |= ((x - ONES) & ~x & 0x80 * ONES) != 0;
		/* Bit 7 of each newline byte, then one bit per byte. */
		n = x ^ '\n' * ONES;
		n = ~(((n & 0x7f * ONES) + 0x7f * ONES) | n) & 0x80 * ONES;
		m |= ((n >> 7) * 0x0102040810204080ULL >> 56) << i;
	}
	return m;
#endif
}

/*
 * Interprets the whole lines from p on and returns where the unfinished
 * last one starts (end when there is none), or NULL on an error (err set)
 * or when *nul is set: a NUL byte found before any line holding it was
 * interpreted.  Lines are found 64 bytes at a time, then one by one in the
 * last bytes; they are interpreted in place, number parsing reading up to
 * end.
 */
static const char *
whole_lines(struct gcode *g, const char *p, const char *end, int *nul,
    char *err)
{
	const char	*blk, *nl;
	uint64_t	 mask;

	for (blk = p; end - blk >= 64; blk += 64) {
		mask = newlines64(blk, nul);
		if (*nul)
			return NULL;
		for (; mask != 0; mask &= mask - 1) {
			nl = blk + __builtin_ctzll(mask);
			g->lineno++;
			if (line(g, p, (size_t)(nl - p), err) == -1)
				return NULL;
			p = nl + 1;
		}
	}
	if (memchr(blk, '\0', (size_t)(end - blk)) != NULL) {
		*nul = 1;
		return NULL;
	}
	while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		g->lineno++;
		if (line(g, p, (size_t)(nl - p), err) == -1)
			return NULL;
		p = nl + 1;
	}
	return p;
}

struct gcode_moves *
gcode_moves_new(size_t len)
{
	struct gcode_moves *mv = xcalloc(1, sizeof(*mv));

	mv->cap = mv->olcap = len / GCODE_PREMOVE_BYTES;
	mv->m = xcalloc(mv->cap > 0 ? mv->cap : 1, sizeof(*mv->m));
	mv->ol = xcalloc(mv->olcap > 0 ? mv->olcap : 1, sizeof(*mv->ol));
	return mv;
}

void
gcode_moves_free(struct gcode_moves *mv)
{
	if (mv == NULL)
		return;
	free(mv->m);
	free(mv->ol);
	free(mv);
}

size_t
gcode_moves_count(const struct gcode_moves *mv)
{
	return mv->n;
}

/*
 * Takes the line from s to nl (its newline): parses it ahead if it is a
 * plain move of the usual spelling, else notes where it is.
 */
static inline void
premove_line(struct gcode_moves *mv, const char *buf, const char *s,
    const char *nl, const char *lim)
{
	const char		*end = line_end(s, nl);
	struct move		*m = &mv->m[mv->n];
	struct other_line	*o;

	if (plain_move(s, end) && nl - s < UINT16_MAX) {
		memset(m, 0, sizeof(*m));
		if (move_words_fast(s + 2, end, lim, m) == end) {
			m->off = (uint32_t)(s - buf);
			m->len = (uint16_t)(nl + 1 - s);
			mv->n++;
			return;
		}
	}
	o = &mv->ol[mv->nol++];
	o->off = (uint32_t)(s - buf);
	o->len = (uint32_t)(nl - s);
}

void
gcode_premove(struct gcode_moves *mv, const char *buf, size_t len,
    int mid_line, const atomic_int *stop)
{
	const char	*p = buf, *end = buf + len, *blk, *nl;
	uint64_t	 mask;
	int		 nul = 0;

	mv->n = 0;
	mv->nol = 0;
	mv->mid_line = mid_line;
#if SIZE_MAX > UINT32_MAX
	if (len > UINT32_MAX)
		return;		/* offsets are 32-bit */
#endif
	if (mid_line) {
		if ((nl = memchr(p, '\n', len)) == NULL ||
		    memchr(p, '\0', (size_t)(nl - p)) != NULL)
			return;
		p = nl + 1;
	}
	/*
	 * Whole 64-byte blocks while 64 more moves and lines fit (a block
	 * holds at most 64 lines), then line by line; a block or line with a
	 * NUL ends it.
	 */
	for (blk = p; end - blk >= 64 && mv->cap - mv->n >= 64 &&
	    mv->olcap - mv->nol >= 64; blk += 64) {
		if (atomic_load_explicit(stop, memory_order_relaxed))
			return;
		mask = newlines64(blk, &nul);
		if (nul)
			return;
		for (; mask != 0; mask &= mask - 1) {
			nl = blk + __builtin_ctzll(mask);
			premove_line(mv, buf, p, nl, end);
			p = nl + 1;
		}
	}
	while (mv->n < mv->cap && mv->nol < mv->olcap &&
	    (nl = memchr(p, '\n', (size_t)(end - p))) != NULL &&
	    memchr(p, '\0', (size_t)(nl - p)) == NULL) {
		premove_line(mv, buf, p, nl, end);
		p = nl + 1;
	}
}

/*
 * Interprets the lines from where gcode_premove() started (p) up to the
 * end of the last move it parsed in mv, buf being their piece, and returns
 * where it stopped, or NULL on an error.  The moves come parsed and the
 * other lines found: no newline is looked for again, and no byte needs a
 * look for NUL (gcode_premove() takes no line at or after one).
 */
static const char *
premoved_lines(struct gcode *g, const char *p, const char *buf,
    const struct gcode_moves *mv, char *err)
{
	const struct move	*m, *last = mv->m + mv->n;
	const struct other_line	*o = mv->ol, *oend = mv->ol + mv->nol;

	for (m = mv->m; m < last; m++) {
		for (; o < oend && o->off < m->off; o++) {
			g->lineno++;
			if (line(g, buf + o->off, o->len, err) == -1)
				return NULL;
		}
		g->lineno++;
		g->seen_command = 1;
		if ((!skipping(g) && !g->diverged ? run_linear_same(g, m, err) :
		    run_linear(g, m, 0, err)) == -1)
			return NULL;
		p = buf + m->off + m->len;
	}
	return p;
}

/*
 * A NUL byte anywhere in buf is the error, whatever the lines before it
 * hold, with the line number (also gcode_line()'s) as of the call: it is
 * looked for as the lines are found, and in all of buf before any other
 * error is returned.
 */
int
gcode_feed_moves(struct gcode *g, const char *buf, size_t len,
    const struct gcode_moves *mv, char *err)
{
	const char	*p = buf, *end = buf + len, *nl;
	size_t		 lineno = g->lineno;
	int		 rc = 0, nul = 0, mid = g->linelen > 0 || g->overlong;

	if (mid) {
		nl = memchr(p, '\n', len);
		if (memchr(p, '\0', (size_t)((nl != NULL ? nl : end) - p)) !=
		    NULL)
			nul = 1;
		else if (nl == NULL)
			rc = append(g, p, len, err);
		else
			rc = end_line(g, p, nl, err);
		p = nl != NULL ? nl + 1 : end;
	}
	if (rc == 0 && !nul) {
		g->lim = end;
		if (mv != NULL && !g->opts.reference && mv->mid_line == mid)
			p = premoved_lines(g, p, buf, mv, err);
		if (p != NULL)
			p = whole_lines(g, p, end, &nul, err);
		g->lim = g->line + GCODE_LINE_MAX + GCODE_LINE_PAD;
		if (p == NULL)
			rc = -1;
		else if (p < end)
			rc = append(g, p, (size_t)(end - p), err);
	}
	if (nul || (rc == -1 && memchr(buf, '\0', len) != NULL)) {
		g->lineno = lineno;
		return errbuf_set(err, "near line %zu: NUL byte: binary data, "
		    "not gcode", lineno + 1);
	}
	return rc;
}

int
gcode_feed(struct gcode *g, const char *buf, size_t len, char *err)
{
	return gcode_feed_moves(g, buf, len, NULL, err);
}

int
gcode_finish(struct gcode *g, struct plan *plan, char *err)
{
	if (g->linelen > 0 && !g->overlong) {
		g->lineno++;
		if (line(g, g->line, g->linelen, err) == -1)
			return -1;
	}
	g->linelen = 0;
	return gcode_plan_fill(g, plan, err);
}
