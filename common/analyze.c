/* analyze.c: one call from a .gcode or .gcode.3mf path to a filament plan. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyze.h"
#include "errbuf.h"
#include "threemf.h"
#include "xmalloc.h"

#define READ_CHUNK	(256 * 1024)

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
	if (threemf_stream(z, p->member, sink, g, err) == -1)
		goto out;
	if (gcode_finish(g, p, err) == -1)
		goto out;
	rc = threemf_apply_metadata(z, p->plate, p, err);
out:
	threemf_close(z);
	return rc;
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
	else if ((rc = stream_plain(fd, g, err)) == 0)
		rc = gcode_finish(g, p, err);
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
