/* promises_probe: the syscalls test/security/promises.test.ts attacks with that
 * Node cannot make. Each mode prints one JSON line of errno names ("OK" when a
 * call succeeded).
 *
 *   fd             stdin is a response fd: write, grow, shrink, punch, map it
 *                  writable and add seals, on the fd itself and on a new
 *                  O_RDWR open of /proc/self/fd/0; also its type and seals
 *   nlforge MS PID listen on TCP port 31338, then until stdin closes (at most MS
 *                  milliseconds) send forged SOCK_DIAG answers (a listener on
 *                  port 31337, then NLMSG_DONE) to port id PID and to every other
 *                  NETLINK_SOCK_DIAG socket /proc/net/netlink lists, counting how
 *                  often it lists PID's socket as open; first, as a control, to
 *                  an unconnected socket of its own. Sending to a port id needs
 *                  CAP_NET_ADMIN over the network namespace: run it as the root
 *                  of its own user and network namespace (unshare -Urn)
 * Build: gcc -O2 -Wall -Werror -o promises_probe test/c/promises_probe.c */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static const char *res(long r)
{
	static char buf[8][32];
	static int i;
	if (r >= 0)
		return "OK";
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s", strerrorname_np(errno) ? strerrorname_np(errno) : "E?");
	return buf[i];
}

static const char *map_write(int fd)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		return res(-1);
	munmap(p, 4096);
	return "OK";
}

/* The attacks on one open file description of the response. */
static void attack(const char *name, int fd, const char *sep)
{
	struct stat st;
	fstat(fd, &st);
	printf("\"%s\":{\"write\":\"%s\",", name, res(write(fd, "x", 1)));
	printf("\"pwrite\":\"%s\",", res(pwrite(fd, "x", 1, 0)));
	printf("\"grow\":\"%s\",", res(ftruncate(fd, st.st_size + 4096)));
	printf("\"shrink\":\"%s\",", res(ftruncate(fd, st.st_size > 0 ? st.st_size - 1 : 0)));
	printf("\"fallocate\":\"%s\",", res(fallocate(fd, 0, st.st_size, 4096)));
	printf("\"punch\":\"%s\",", res(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096)));
	printf("\"mmap_shared_write\":\"%s\",", map_write(fd));
	printf("\"add_seals\":\"%s\",", res(fcntl(fd, F_ADD_SEALS, 0)));
	printf("\"add_future_write\":\"%s\"}%s", res(fcntl(fd, F_ADD_SEALS, F_SEAL_FUTURE_WRITE)), sep);
}

static int fd_mode(void)
{
	struct stat st;
	int seals = fcntl(0, F_GET_SEALS);
	fstat(0, &st);
	printf("{\"type\":\"%s\",\"seals\":%d,\"accmode\":%d,", S_ISREG(st.st_mode) ? "regular" : S_ISSOCK(st.st_mode) ? "socket" : "other",
	       seals, fcntl(0, F_GETFL) & O_ACCMODE);
	attack("fd", 0, ",");
	int rw = open("/proc/self/fd/0", O_RDWR | O_CLOEXEC);
	printf("\"reopen_rw\":\"%s\",", res(rw));
	if (rw >= 0)
		attack("rw", rw, ",");
	printf("\"size\":%lld}\n", (long long)st.st_size);
	return 0;
}

struct forged {
	struct nlmsghdr h1;
	struct inet_diag_msg m;
	struct nlmsghdr h2;
	int status;
};

static void forge(struct forged *f, unsigned seq)
{
	memset(f, 0, sizeof(*f));
	f->h1.nlmsg_len = NLMSG_LENGTH(sizeof(f->m));
	f->h1.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	f->h1.nlmsg_flags = NLM_F_MULTI;
	f->h1.nlmsg_seq = seq;
	f->m.idiag_family = AF_INET;
	f->m.idiag_state = 10; /* TCP_LISTEN */
	f->m.id.idiag_sport = htons(31337);
	f->m.id.idiag_cookie[0] = f->m.id.idiag_cookie[1] = ~0U;
	f->h2.nlmsg_len = NLMSG_LENGTH(sizeof(int));
	f->h2.nlmsg_type = NLMSG_DONE;
	f->h2.nlmsg_flags = NLM_F_MULTI;
	f->h2.nlmsg_seq = seq;
}

static int send_to(int s, unsigned port, unsigned seq)
{
	struct forged f;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = port };
	forge(&f, seq);
	return sendto(s, &f, sizeof(f), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) < 0 ? -errno : 0;
}

static long now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int nlforge_mode(long ms, unsigned victim)
{
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int rx = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_SOCK_DIAG);
	struct sockaddr_nl me = { .nl_family = AF_NETLINK }, rxa = { .nl_family = AF_NETLINK };
	socklen_t len = sizeof(rxa);
	long sent = 0, refused = 0, accepted = 0, other = 0, listed = 0, seen = 0;
	const char *other_errno = "";
	char buf[512];

	int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(31338) };

	setsockopt(tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (tcp < 0 || bind(tcp, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(tcp, 1) < 0)
		return printf("{\"error\":\"listen: %s\"}\n", res(-1)), 1;
	if (s < 0 || rx < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)) < 0 || bind(rx, (struct sockaddr *)&rxa, sizeof(rxa)) < 0)
		return printf("{\"error\":\"%s\"}\n", res(-1)), 1;
	getsockname(s, (struct sockaddr *)&me, &len);
	len = sizeof(rxa);
	getsockname(rx, (struct sockaddr *)&rxa, &len);
	/* Control: the same forgery reaches a socket that is not connected to the kernel. */
	int c = send_to(s, rxa.nl_pid, 0);
	usleep(1000);
	ssize_t got = recv(rx, buf, sizeof(buf), 0);
	errno = -c;
	const char *control = c < 0 ? res(-1) : got == (ssize_t)sizeof(struct forged) ? "delivered" : "not delivered";

	for (long end = now_ms() + ms; now_ms() < end;) {
		struct pollfd in = { .fd = 0, .events = POLLIN };
		if (poll(&in, 1, 0) > 0)
			break; /* stdin closed (or written to): stop */
		unsigned ports[64];
		int n = 0;
		ports[n++] = victim;
		FILE *f = fopen("/proc/net/netlink", "r");
		while (f && fgets(buf, sizeof(buf), f) && n < 64) {
			unsigned long sk;
			int eth;
			unsigned pid;
			if (sscanf(buf, "%lx %d %u", &sk, &eth, &pid) != 3 || eth != NETLINK_SOCK_DIAG || pid == 0)
				continue;
			if (pid == victim) {
				seen++; /* the victim's socket is open right now */
			} else if (pid != me.nl_pid && pid != rxa.nl_pid) {
				ports[n++] = pid;
				listed++;
			}
		}
		if (f)
			fclose(f);
		for (int i = 0; i < n; i++) {
			for (unsigned seq = 0; seq < 4; seq++) {
				int r = send_to(s, ports[i], seq);
				sent++;
				if (r == 0)
					accepted++;
				else if (r == -ECONNREFUSED)
					refused++;
				else if (r < 0) {
					static char other_buf[32];
					errno = -r;
					snprintf(other_buf, sizeof(other_buf), "%s", res(-1));
					other_errno = other_buf;
					other++;
				}
			}
		}
	}
	printf("{\"control\":\"%s\",\"sent\":%ld,\"accepted\":%ld,\"refused\":%ld,\"other\":%ld,\"other_errno\":\"%s\",\"listed\":%ld,\"seen\":%ld}\n",
	       control, sent, accepted, refused, other, other_errno, listed, seen);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "fd"))
		return fd_mode();
	if (argc >= 4 && !strcmp(argv[1], "nlforge"))
		return nlforge_mode(atol(argv[2]), (unsigned)atol(argv[3]));
	fprintf(stderr, "usage: promises_probe fd | nlforge MS PID\n");
	return 2;
}
