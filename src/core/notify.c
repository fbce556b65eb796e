/* notify: sd_notify's datagram protocol. See notify.h. */
#include "notify.h"

#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* An unconnected socket and the address: each message is a sendto(), so a
 * restarted manager (daemon-reexec) gets the next one, as with sd_notify. */
int notify_init(struct notify *nt)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	size_t n;
	int fd;

	nt->fd = -1;
	if (path == NULL || path[0] == '\0')
		return 0;
	n = strlen(path);
	/* a path, or "@name": the abstract namespace, where '@' stands for the 0 */
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		unsetenv("NOTIFY_SOCKET");
		errno = EINVAL;
		return -1;
	}
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	/* an abstract name's length is exact; a path's includes its NUL */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '/'));
	unsetenv("NOTIFY_SOCKET");
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	nt->fd = fd;
	nt->addr = sun;
	nt->addrlen = len;
	return 1;
}

int notify_send(struct notify *nt, const char *state)
{
	size_t len = strlen(state);
	ssize_t n;

	if (nt->fd < 0)
		return 0;
	do
		n = sendto(nt->fd, state, len, MSG_NOSIGNAL,
			   (const struct sockaddr *)&nt->addr, nt->addrlen);
	while (n < 0 && errno == EINTR);
	return n == (ssize_t)len ? 1 : -1;
}

int notify_ready(struct notify *nt)
{
	return notify_send(nt, "READY=1\nSTATUS=serving");
}

int notify_reloading(struct notify *nt)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%" PRIu64,
		 (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u);
	return notify_send(nt, msg);
}

int notify_stopping(struct notify *nt)
{
	return notify_send(nt, "STOPPING=1");
}

void notify_close(struct notify *nt)
{
	if (nt->fd >= 0)
		close(nt->fd);
	nt->fd = -1;
}
