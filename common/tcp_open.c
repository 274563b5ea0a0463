/* tcp_open.c: a TCP connection with a deadline, and why it failed in plain words. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "errbuf.h"
#include "tcp_open.h"

int
tcp_open(const char *host, int port, int timeout_ms, char *err)
{
	struct addrinfo	 hints, *res, *ai;
	struct pollfd	 pfd;
	char		 service[16];
	int		 fd = -1, rc, soerr = 0;
	socklen_t	 len = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(service, sizeof(service), "%d", port);
	if ((rc = getaddrinfo(host, service, &hints, &res)) != 0) {
		errbuf_set(err, "cannot resolve %s: %s", host, gai_strerror(rc));
		return -1;
	}
	errbuf_set(err, "no address for %s", host);
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol)) == -1)
			continue;
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			pfd.fd = fd;
			pfd.events = POLLOUT;
			rc = poll(&pfd, 1, timeout_ms);
			if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) == 0 && soerr == 0)
				break;
			if (rc == 0)
				errbuf_set(err, "no answer within %.1f s", timeout_ms / 1000.0);
			else
				errbuf_set(err, "%s", strerror(soerr != 0 ? soerr : errno));
		} else
			errbuf_set(err, "%s", strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd != -1)
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}
