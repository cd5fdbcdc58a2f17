/* Tries to open the process connector's socket, as a program that wanted to
 * read every process's events directly would: prints OK or the errno name.
 * Under `ikc sandbox` the answer must be EPERM (the broker is the only way in). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/netlink.h>

int main(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	if (fd < 0) {
		printf("%s\n", errno == EPERM ? "EPERM" : errno == EACCES ? "EACCES" : strerror(errno));
		return 0;
	}
	close(fd);
	printf("OK\n");
	return 0;
}
