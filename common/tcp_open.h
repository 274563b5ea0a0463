/* tcp_open.h: a TCP connection with a deadline, and why it failed in plain words. */
#ifndef COMMON_TCP_OPEN_H
#define COMMON_TCP_OPEN_H

/*
 * Opens a TCP connection to host:port within timeout_ms.  Returns the connected socket (blocking again; close()
 * it), or -1 with err (ERRBUF_LEN bytes) holding why in plain words ("Connection refused", "no answer within
 * 3.0 s", "cannot resolve HOST: ...").
 */
int	 tcp_open(const char *host, int port, int timeout_ms, char *err);

#endif
