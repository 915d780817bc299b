/* Unix stream sockets for the JSON-lines API. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "rumor_sock.h"

static int open_at(const char *path, struct sockaddr_un *sa)
{
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	strcpy(sa->sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	return fd < 0 ? -errno : fd;
}

static int fail_close(int fd)
{
	int err = -errno;

	close(fd);
	return err;
}

int rumor_sock_connect(const char *path)
{
	struct sockaddr_un sa;
	int fd = open_at(path, &sa);

	if (fd < 0)
		return fd;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return fail_close(fd);
	return fd;
}

int rumor_sock_listen(const char *path, int backlog)
{
	struct sockaddr_un sa;
	int fd = open_at(path, &sa);

	if (fd < 0)
		return fd;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, backlog) < 0)
		return fail_close(fd);
	return fd;
}
