/* check_gcode_premove.c: unit tests of moves parsed ahead (gcode_premove()) against the byte-wise parser. */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "gcode.h"
#include "plan.h"
#include "../harness/ckrun.h"

/* How run() feeds a text. */
enum way {
	BYTEWISE,	/* opts.reference, no moves parsed ahead */
	AHEAD,		/* each piece through gcode_premove(), told the truth about mid_line */
	AHEAD_LIED_TO	/* the same, told the opposite */
};

/*
 * Moves of every spelling the fast paths take or refuse, tool changes,
 * layers, arcs and firmware moves, more than 64 bytes of them so that
 * gcode_premove() scans whole blocks.
 */
static const char text_mixed[] =
    "; HEADER_BLOCK_START\n; total layer number: 2\n; HEADER_BLOCK_END\n"
    "M83\nT0\nG1 X10.5 Y-3.25 Z.2 E1.5 F1200\nG1 E-0.5\r\n"
    "G1 X10.5\tY-3.25  Z.2   E1.5 F1200 ; comment E9\nG0 X1 Y2\n"
    "G1 X 10.5 Y -3.25 E 1.5\nG1 X1.5e1 E+.5\nG1 X12.3456789 E.0000005\n"
    "M73 L1\n; CHANGE_LAYER\nG1 X20 Y20 E.02471\nG1 X21.5 Y19.75 E.0439\n"
    "T1\nG1 X22 Y21 E1.25\nG2 X23 Y22 I1 J1 E.5\nG1 F30000\n"
    "G1 X123456.123456 Y123456.123456 Z123.123456 E1.5 F1200\n"
    "M620 S1A\n; FLUSH_START\nG1 E10 F300\n; FLUSH_END\nM621 S1A\n"
    "M73 L2\n; CHANGE_LAYER\nG1 X30 Y30 E.8\nG1 X31 Y30 E-.8\n"
    "G1 X32 Y30 E.8 ;\nG1 X33 Y30 E.8   \nG1 X34 Y30 E.8\r\n"
    "G0 X35 Y30\nG1 X36 Y30 E.33333\nG1 X37 Y30 E1";

/*
 * The plan from feeding the len bytes of text cut at cut, as compact JSON
 * or "error: " and the message; the caller frees it.  *parsed_ahead counts
 * the moves gcode_premove() parsed in room (bytes, as gcode_moves_new()
 * takes it), stopped before it starts when stop_now is set.
 */
static char *
run(const char *text, size_t len, size_t cut, enum way way, size_t room,
    int stop_now, size_t *parsed_ahead)
{
	struct gcode_opts	 o;
	struct gcode_moves	*mv = NULL;
	struct gcode		*g;
	struct plan		*p = plan_new();
	atomic_int		 stop;
	size_t			 off[2] = { 0, cut };
	size_t			 n[2] = { cut, len - cut };
	char			 err[ERRBUF_LEN], *piece, *out;
	int			 i, rc = 0, mid;
	json_t			*j;

	atomic_init(&stop, stop_now);
	gcode_opts_default(&o);
	o.reference = way == BYTEWISE;
	g = gcode_new(&o);
	if (way != BYTEWISE)
		mv = gcode_moves_new(room);
	*parsed_ahead = 0;
	for (i = 0; i < 2 && rc == 0; i++) {
		/* A buffer of exactly its size, so that ASan sees a read past it. */
		ck_assert_ptr_nonnull(piece = malloc(n[i] > 0 ? n[i] : 1));
		memcpy(piece, text + off[i], n[i]);
		mid = i == 1 && cut > 0 && text[cut - 1] != '\n';
		if (mv != NULL) {
			gcode_premove(mv, piece, n[i],
			    way == AHEAD_LIED_TO ? !mid : mid, &stop);
			*parsed_ahead += gcode_moves_count(mv);
		}
		rc = gcode_feed_moves(g, piece, n[i], mv, err);
		free(piece);
	}
	if (rc == 0)
		rc = gcode_finish(g, p, err);
	if (rc == 0) {
		j = plan_to_json(p, "t");
		out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	} else {
		ck_assert_ptr_nonnull(out = malloc(ERRBUF_LEN + 8));
		snprintf(out, ERRBUF_LEN + 8, "error: %s", err);
	}
	ck_assert_ptr_nonnull(out);
	gcode_moves_free(mv);
	gcode_free(g);
	plan_free(p);
	return out;
}

/* Checks that the len bytes of text give the same plan or error every way, cut at every byte. */
static void
agree_everywhere(const char *text, size_t len)
{
	size_t	 cut, ahead;
	char	*want, *got;
	int	 way;

	for (cut = 0; cut <= len; cut++) {
		want = run(text, len, cut, BYTEWISE, 0, 0, &ahead);
		for (way = AHEAD; way <= AHEAD_LIED_TO; way++) {
			got = run(text, len, cut, way, 1 << 16, 0, &ahead);
			ck_assert_msg(strcmp(want, got) == 0, "way %d, cut at "
			    "%zu:\n%s\n%s", way, cut, want, got);
			free(got);
		}
		free(want);
	}
}

START_TEST(mixed_spellings_agree_cut_anywhere)
{
	agree_everywhere(text_mixed, sizeof(text_mixed) - 1);
}
END_TEST

/* Errors, and their line numbers, are the same whether the move was parsed ahead or not. */
START_TEST(errors_agree_cut_anywhere)
{
	static const char t0[] =
	    "M83\nT0\nG1 X1 E1\nG1 X2 E1\nG1 X3 E1e308\nG1 X4 E1\n";
	static const char t1[] = "M83\nT0\nG1 X1 E1\nG1 X12345678 E1\nG1 X4 E1\n";
	static const char t2[] = "M83\nT0\nG1 X1 E1\nG1 X2 E1\nG1 X3 E\n";
	static const char t3[] =
	    "M83\nT0\nG1 X1 E1\nG1 X2 E100000.5\nG1 X3 E1\n";
	static const char t4[] =
	    "M83\nT0\nG1 X1 E1\nG1 X2 E1\nG1 X3\0 E1\nG1 X4 E1\n";

	agree_everywhere(t0, sizeof(t0) - 1);
	agree_everywhere(t1, sizeof(t1) - 1);
	agree_everywhere(t2, sizeof(t2) - 1);
	agree_everywhere(t3, sizeof(t3) - 1);
	agree_everywhere(t4, sizeof(t4) - 1);	/* a NUL byte */
}
END_TEST

/*
 * A NUL byte is the error wherever it hides: in a word a parsed-ahead move
 * skips (F), in a line between such moves, or in the first line of a
 * piece; the interpreter does not look at the bytes of the moves it takes
 * parsed, so gcode_premove() must stop before a NUL.  Long enough for
 * whole 64-byte blocks on either side of most cuts.
 */
START_TEST(nul_bytes_between_and_inside_parsed_moves)
{
#define MOVES	"G1 X1 Y2 E.5\nG1 X2 Y3 E.5\nG1 X3 Y4 E.5\nG1 X4 Y5 E.5\n"
	static const char t0[] = "M83\nT0\n" MOVES MOVES
	    "G1 X5 Y6 E.5 F12\0\nG1 X6 Y7 E.5\n" MOVES MOVES;
	static const char t1[] = "M83\nT0\n" MOVES MOVES
	    "G1 F1\0 X5 E.5\n" MOVES MOVES;
	static const char t2[] = "M83\nT0\n" MOVES MOVES "M400\0\n" MOVES
	    MOVES;
	static const char t3[] = "M83\nT0\n" MOVES MOVES "; a\0 comment\n"
	    MOVES MOVES "G1 X9 E1e999\n" MOVES;
	static const char t4[] = "M83\nT0\n" MOVES MOVES "G1 F1\0 X5 E.5\n"
	    "G1 X6 Y7 E.5\nM400\nM400\n";	/* in the last bytes, line by line */
#undef MOVES

	agree_everywhere(t0, sizeof(t0) - 1);
	agree_everywhere(t1, sizeof(t1) - 1);
	agree_everywhere(t2, sizeof(t2) - 1);
	agree_everywhere(t3, sizeof(t3) - 1);
	agree_everywhere(t4, sizeof(t4) - 1);
}
END_TEST

/* Checks that the len bytes of text give the same plan or error every way, cut at cut. */
static void
agree_at(const char *text, size_t len, size_t cut)
{
	size_t	 ahead;
	char	*want = run(text, len, cut, BYTEWISE, 0, 0, &ahead), *got;
	int	 way;

	for (way = AHEAD; way <= AHEAD_LIED_TO; way++) {
		got = run(text, len, cut, way, 1 << 20, 0, &ahead);
		ck_assert_msg(strcmp(want, got) == 0, "way %d, cut at %zu:\n%s\n%s",
		    way, cut, want, got);
		free(got);
	}
	free(want);
}

/*
 * The interpreter takes the lines between moves parsed ahead from where
 * gcode_premove() noted them, without looking for their newlines: blocks
 * and marks (with blanks around them), ;VG1, blank lines, comments inside
 * and outside the executable block, errors and their line numbers after
 * such lines, 300 of them in a row, and a line of 70,000 bytes.
 */
START_TEST(lines_between_moves_agree_cut_anywhere)
{
#define TAIL	"G1 X7 Y7 E1\nG1 X8 Y8 E1\nG1 X9 Y9 E1\nG1 X10 Y10 E1\n"	/* moves after, parsed ahead */
	static const char t0[] =
	    "; HEADER_BLOCK_START\n; filament_diameter: 1.75,2.85\n"
	    "; HEADER_BLOCK_END\n; EXECUTABLE_BLOCK_START\nM83\nT0\n"
	    "; a comment\n;no space\nG1 X1 Y1 E1\n  ; FLUSH_START  \n"
	    "G1 X1 Y1 E1\nG1 E5\n;VG1 E2\n\t\n\r\nG1 X2 Y2 E1\n; FLUSH_END\n"
	    "  \n# hash\n; CHANGE_LAYER\nM73 L1\nG1 X3 E1\nT1\nG1 X4 E1\n"
	    "; EXECUTABLE_BLOCK_END\n; filament_diameter: 2.85,1.75\n"
	    "G1 X5 E1\n; total layer number: 1\nG1 X6 E1\n" TAIL;
	static const char t1[] = "M83\nT0\nG1 X1 Y1 E1\n; a\n; b\n\n;c\n"
	    "M73 L-5\nG1 X2 Y2 E1\n" TAIL;
	char	*t;
	size_t	 i, len;

	agree_everywhere(t0, sizeof(t0) - 1);
	agree_everywhere(t1, sizeof(t1) - 1);	/* the error's line number */
	ck_assert_ptr_nonnull(t = malloc(70000 + 4096));
	/* 300 lines between two moves, some comments, or all blank; then an error. */
	for (i = 0; i < 2; i++) {
		len = (size_t)sprintf(t, "M83\nT0\nG1 X1 Y1 E1\n");
		for (size_t j = 0; j < 300; j++)
			len += (size_t)sprintf(t + len, i == 0 && j % 2 ?
			    "; c\n" : "\n");
		len += (size_t)sprintf(t + len, "G1 X2 Y2 E1\n" TAIL
		    "M73 L-5\n" TAIL);
		agree_everywhere(t, len);
	}
	/* A move of 70,000 bytes (its E at the end) between two moves parsed ahead. */
	len = (size_t)sprintf(t, "M83\nT0\nG1 X1 Y1 E1\nG1 X2 Y2");
	memset(t + len, ' ', 70000);
	len += 70000;
	len += (size_t)sprintf(t + len, "E5\nM73 L1\nG1 X3 Y3 E1\n" TAIL);
	agree_at(t, len, 0);
	agree_at(t, len, len / 2);
	agree_at(t, len, len - 10);
	free(t);
#undef TAIL
}
END_TEST

/* The usual spellings are parsed ahead, the others left to the interpreter. */
START_TEST(usual_moves_are_parsed_ahead)
{
	/* Moves near the end of a piece are left too: a fast read needs room. */
	static const char text[] =
	    "M83\nT0\nG1 X1 Y2 E.5\nG1 X 1 E.5\nG0 X3 Y4\nG1 E1e1\n"
	    "G1 X5 E.5 ; wipe\nG2 X1 Y1 I1 J1 E1\nG1 X6\tE.5\nG1 F1200\n"
	    "M400\nM400\nM400\nM400\nM400\n";
	size_t	 len = sizeof(text) - 1, ahead;
	char	*want = run(text, len, 0, BYTEWISE, 0, 0, &ahead);
	char	*got = run(text, len, 0, AHEAD, 1 << 16, 0, &ahead);

	/* G1 X1 Y2 E.5, G0 X3 Y4 and G1 F1200 */
	ck_assert_uint_eq(ahead, 3);
	ck_assert_str_eq(want, got);
	free(want);
	free(got);
}
END_TEST

/* A full table or a stop request keeps what was parsed; the interpreter does the rest. */
START_TEST(full_or_stopped_leaves_the_rest)
{
	size_t	 len = sizeof(text_mixed) - 1, ahead;
	char	*want = run(text_mixed, len, 0, BYTEWISE, 0, 0, &ahead);
	char	*got;

	got = run(text_mixed, len, 0, AHEAD, 1 << 16, 0, &ahead);
	ck_assert_uint_gt(ahead, 10);
	ck_assert_str_eq(want, got);
	free(got);

	/* Room for 8 moves and 8 lines between them: the lines fill first, after 3 moves. */
	got = run(text_mixed, len, 0, AHEAD, 8 * 16, 0, &ahead);
	ck_assert_uint_eq(ahead, 3);
	ck_assert_str_eq(want, got);
	free(got);

	got = run(text_mixed, len, 0, AHEAD, 1 << 16, 1, &ahead);
	ck_assert_uint_eq(ahead, 0);
	ck_assert_str_eq(want, got);
	free(got);
	free(want);
}
END_TEST

static Suite *
gcode_premove_suite(void)
{
	Suite	*s = suite_create("gcode_premove");
	TCase	*t = tcase_create("premove");

	tcase_set_timeout(t, 60);
	tcase_add_test(t, mixed_spellings_agree_cut_anywhere);
	tcase_add_test(t, errors_agree_cut_anywhere);
	tcase_add_test(t, nul_bytes_between_and_inside_parsed_moves);
	tcase_add_test(t, lines_between_moves_agree_cut_anywhere);
	tcase_add_test(t, usual_moves_are_parsed_ahead);
	tcase_add_test(t, full_or_stopped_leaves_the_rest);
	suite_add_tcase(s, t);
	return s;
}

int
main(void)
{
	return ck_run(gcode_premove_suite());
}
