/*
 * notify: the service manager's readiness protocol (sd_notify(3)), without
 * libsystemd. When $NOTIFY_SOCKET names a Unix datagram socket (a path, or
 * "@name" for the abstract namespace), each call sends it one datagram of
 * newline-separated VAR=VALUE assignments; without $NOTIFY_SOCKET every call
 * does nothing, so socks5d behaves the same outside systemd (Type=notify
 * units set it; nothing else needs to).
 *
 * notify_init() reads the address once (call it at start) and removes the
 * variable from the environment so children never inherit it. The socket
 * and the address live in a struct notify that the caller (main) owns.
 */
#ifndef MASS_NOTIFY_H
#define MASS_NOTIFY_H

#include <sys/socket.h>
#include <sys/un.h>

struct notify {
	int fd;                     /* -1: notifications off */
	struct sockaddr_un addr;
	socklen_t addrlen;
};

/*
 * Reads and unsets $NOTIFY_SOCKET and opens the datagram socket. Returns 1
 * when notifications will be sent, 0 when there is no $NOTIFY_SOCKET, -1
 * when it is set but unusable (not "/..." or "@...", too long, or no
 * socket; errno set; later calls then do nothing). nt is overwritten
 * (not closed first).
 */
int notify_init(struct notify *nt);

/*
 * Sends state (e.g. "READY=1\nSTATUS=serving") as one datagram. Returns 1
 * when sent, 0 when notifications are off, -1 on a send error (errno set).
 */
int notify_send(struct notify *nt, const char *state);

/* The three the daemon sends: READY=1; RELOADING=1 with MONOTONIC_USEC=
 * (CLOCK_MONOTONIC now, as systemd 253+ wants for Type=notify-reload);
 * STOPPING=1. Each returns what notify_send() returns. */
int notify_ready(struct notify *nt);
int notify_reloading(struct notify *nt);
int notify_stopping(struct notify *nt);

/* Closes the socket (end of process; tests). */
void notify_close(struct notify *nt);

#endif
