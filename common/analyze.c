/* analyze.c: one call from a .gcode or .gcode.3mf path to a filament plan. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "errbuf.h"
#include "threemf.h"
#include "xmalloc.h"

#define READ_CHUNK	(256 * 1024)	/* one read() of plain gcode, one ring slot */
#define RING_SLOTS	4
#define PAGE_ALIGN	4096		/* read() copies page-aligned pages faster into page-aligned slots */

/*
 * A ring of fixed buffers between a reader thread (read() or inflating with
 * threemf_stream()) and the caller, who parses.  Each slot holds exactly one
 * piece as the sequential code would have fed it, so gcode_feed() sees the
 * same pieces (and reports the same line numbers) either way.  Once it has
 * filled a slot, the reader parses the slot's moves ahead (gcode_premove())
 * until the parser waits for the slot: the two threads share the work.
 */
struct ring {
	pthread_mutex_t	 mu;
	pthread_cond_t	 filled;	/* a slot was filled, or the reader ended */
	pthread_cond_t	 freed;		/* a slot was freed, or the parser quit */
	char		*buf[RING_SLOTS];
	size_t		 len[RING_SLOTS];
	struct gcode_moves *moves[RING_SLOTS];	/* parsed ahead in buf; NULL: not parsing ahead */
	atomic_int	 hurry;		/* the parser waits: stop parsing ahead */
	int		 mid_line;	/* the last slot filled ends inside a line */
	unsigned	 head;		/* slots filled so far */
	unsigned	 tail;		/* slots parsed so far */
	int		 done;		/* the reader ended, with rc and err */
	int		 quit;		/* the parser failed: the reader must stop */
	int		 rc;
	char		 err[ERRBUF_LEN];

	int		 fd;		/* what the reader reads: fd, or member of z */
	struct threemf	*z;
	const char	*member;
};

void
analyze_opts_default(struct analyze_opts *opts)
{
	opts->plate = 0;
	opts->member = NULL;
	gcode_opts_default(&opts->gcode);
}

/* Returns 1 when the file starts with a zip local header, 0 when not, -1 on error. */
static int
is_zip(int fd, char *err)
{
	unsigned char	magic[4];
	ssize_t		n;

	n = pread(fd, magic, sizeof(magic), 0);
	if (n == -1)
		return errbuf_set(err, "%s", strerror(errno));
	return n == 4 && memcmp(magic, "PK\003\004", 4) == 0;
}

static int
sink(void *ctx, const char *buf, size_t len, char *err)
{
	return gcode_feed(ctx, buf, len, err);
}

/* Streams plain gcode from fd through a fixed buffer. */
static int
stream_plain(int fd, struct gcode *g, char *err)
{
	char	*buf = xmalloc(READ_CHUNK);
	ssize_t	 n;
	int	 rc = 0;

	while ((n = read(fd, buf, READ_CHUNK)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			rc = errbuf_set(err, "read: %s", strerror(errno));
			break;
		}
		if ((rc = gcode_feed(g, buf, (size_t)n, err)) == -1)
			break;
	}
	free(buf);
	return rc;
}

/*
 * Reader side: waits for a free slot and returns its buffer (READ_CHUNK
 * bytes, borrowed), or NULL when the parser quit.
 */
static char *
ring_slot(struct ring *r)
{
	char *buf = NULL;

	pthread_mutex_lock(&r->mu);
	while (!r->quit && r->head - r->tail == RING_SLOTS)
		pthread_cond_wait(&r->freed, &r->mu);
	if (!r->quit)
		buf = r->buf[r->head % RING_SLOTS];
	pthread_mutex_unlock(&r->mu);
	return buf;
}

/*
 * Reader side: parses the moves of the slot from ring_slot(), now holding
 * len bytes, until the parser waits for it, and hands it to the parser.
 * (Only the reader changes head: it reads it without the lock.)
 */
static void
ring_put(struct ring *r, size_t len)
{
	unsigned k = r->head % RING_SLOTS;

	if (r->moves[k] != NULL)
		gcode_premove(r->moves[k], r->buf[k], len, r->mid_line,
		    &r->hurry);
	r->mid_line = len > 0 && r->buf[k][len - 1] != '\n';
	pthread_mutex_lock(&r->mu);
	r->len[k] = len;
	r->head++;
	atomic_store(&r->hurry, 0);
	pthread_cond_signal(&r->filled);
	pthread_mutex_unlock(&r->mu);
}

/* A threemf_stream() sink that copies each piece into a slot of its own. */
static int
ring_sink(void *ctx, const char *buf, size_t len, char *err)
{
	struct ring	*r = ctx;
	char		*slot;
	size_t		 n;

	do {
		n = len < READ_CHUNK ? len : READ_CHUNK;
		if ((slot = ring_slot(r)) == NULL)
			return errbuf_set(err, "parser stopped");
		memcpy(slot, buf, n);
		ring_put(r, n);
		buf += n;
		len -= n;
	} while (len > 0);
	return 0;
}

/* Reads plain gcode into the ring, READ_CHUNK bytes per read() as stream_plain() does. */
static int
read_plain(struct ring *r)
{
	char	*slot;
	ssize_t	 n;

	for (;;) {
		if ((slot = ring_slot(r)) == NULL)
			return 0;
		if ((n = read(r->fd, slot, READ_CHUNK)) == 0)
			return 0;
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return errbuf_set(r->err, "read: %s", strerror(errno));
		}
		ring_put(r, (size_t)n);
	}
}

/* The reader thread: fills the ring until the input ends, fails, or the parser quits. */
static void *
reader(void *arg)
{
	struct ring	*r = arg;
	int		 rc;

	if (r->z != NULL)
		rc = threemf_stream(r->z, r->member, ring_sink, r, r->err);
	else
		rc = read_plain(r);
	pthread_mutex_lock(&r->mu);
	r->rc = rc;
	r->done = 1;
	pthread_cond_signal(&r->filled);
	pthread_mutex_unlock(&r->mu);
	return NULL;
}

/*
 * Parser side: waits for the next filled slot, telling the reader to hurry.
 * Returns 1 with it in *buf, *len and *moves (borrowed until
 * ring_release()), or 0 once the reader has ended and every slot is parsed.
 */
static int
ring_next(struct ring *r, const char **buf, size_t *len,
    const struct gcode_moves **moves)
{
	int more;

	pthread_mutex_lock(&r->mu);
	while (r->tail == r->head && !r->done) {
		atomic_store(&r->hurry, 1);
		pthread_cond_wait(&r->filled, &r->mu);
	}
	if ((more = r->tail != r->head)) {
		*buf = r->buf[r->tail % RING_SLOTS];
		*len = r->len[r->tail % RING_SLOTS];
		*moves = r->moves[r->tail % RING_SLOTS];
	}
	pthread_mutex_unlock(&r->mu);
	return more;
}

/* Parser side: gives the slot from ring_next() back to the reader, or with quit set stops it. */
static void
ring_release(struct ring *r, int quit)
{
	pthread_mutex_lock(&r->mu);
	r->tail++;
	r->quit |= quit;
	pthread_cond_signal(&r->freed);
	pthread_mutex_unlock(&r->mu);
}

/*
 * Feeds g from fd (plain gcode) or from member of z while a second thread
 * reads or inflates the next pieces, and with premove set parses their
 * moves ahead.  The first error in file order wins, as it would
 * sequentially: a parse error in a piece comes before a read error after
 * it.  Returns 0, -1 with err set, or 1 (err untouched) when no thread
 * could be started and the caller must stream sequentially.
 */
static int
stream_piped(int fd, struct threemf *z, const char *member, int premove,
    struct gcode *g, char *err)
{
	struct ring			 r;
	pthread_t			 tid;
	const char			*buf;
	const struct gcode_moves	*moves;
	size_t				 len;
	int				 i, rc = 0;

	memset(&r, 0, sizeof(r));
	r.fd = fd;
	r.z = z;
	r.member = member;
	pthread_mutex_init(&r.mu, NULL);
	pthread_cond_init(&r.filled, NULL);
	pthread_cond_init(&r.freed, NULL);
	atomic_init(&r.hurry, 0);
	for (i = 0; i < RING_SLOTS; i++) {
		r.buf[i] = xaligned_alloc(PAGE_ALIGN, READ_CHUNK);
		r.moves[i] = premove ? gcode_moves_new(READ_CHUNK) : NULL;
	}
	if (pthread_create(&tid, NULL, reader, &r) != 0) {
		rc = 1;
		goto out;
	}
	while (rc == 0 && ring_next(&r, &buf, &len, &moves)) {
		rc = gcode_feed_moves(g, buf, len, moves, err);
		ring_release(&r, rc == -1);
	}
	pthread_join(tid, NULL);
	if (rc == 0 && r.rc == -1)
		rc = errbuf_set(err, "%s", r.err);
out:
	for (i = 0; i < RING_SLOTS; i++) {
		free(r.buf[i]);
		gcode_moves_free(r.moves[i]);
	}
	pthread_cond_destroy(&r.freed);
	pthread_cond_destroy(&r.filled);
	pthread_mutex_destroy(&r.mu);
	return rc;
}

static int
analyze_zip(const char *path, const struct analyze_opts *opts,
    struct gcode *g, struct plan *p, char *err)
{
	struct threemf	*z;
	int		 rc = -1;

	if (threemf_open_file(path, &z, err) == -1)
		return -1;
	if (threemf_pick_plate(z, opts->plate, opts->member, p->member,
	    &p->plate, err) == -1)
		goto out;
	if ((rc = stream_piped(-1, z, p->member, !opts->gcode.reference, g,
	    err)) == 1)
		rc = threemf_stream(z, p->member, sink, g, err);
	if (rc == -1)
		goto out;
	if ((rc = gcode_finish(g, p, err)) == -1)
		goto out;
	rc = threemf_apply_metadata(z, p->plate, p, err);
out:
	threemf_close(z);
	return rc;
}

static int
analyze_plain(int fd, const struct analyze_opts *opts, struct gcode *g,
    struct plan *p, char *err)
{
	int rc;

	if ((rc = stream_piped(fd, NULL, NULL, !opts->gcode.reference, g,
	    err)) == 1)
		rc = stream_plain(fd, g, err);
	if (rc == -1)
		return -1;
	return gcode_finish(g, p, err);
}

int
analyze_path(const char *path, const struct analyze_opts *opts,
    struct plan **out, char *err)
{
	struct gcode	*g;
	struct plan	*p;
	struct stat	 st;
	int		 fd, zip, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errbuf_set(err, "%s", strerror(errno));
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		close(fd);
		return errbuf_set(err, "not a regular file");
	}
	if ((zip = is_zip(fd, err)) == -1) {
		close(fd);
		return -1;
	}
	g = gcode_new(&opts->gcode);
	p = plan_new();
	if (zip) {
		close(fd);
		fd = -1;
		rc = analyze_zip(path, opts, g, p, err);
	} else if (opts->plate > 1 || opts->member != NULL)
		rc = errbuf_set(err, "plain gcode has no plates to choose from");
	else
		rc = analyze_plain(fd, opts, g, p, err);
	if (fd != -1)
		close(fd);
	gcode_free(g);
	if (rc == -1) {
		plan_free(p);
		return -1;
	}
	*out = p;
	return 0;
}
