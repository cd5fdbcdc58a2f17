/* broker_attack: clients that misbehave towards `ikc broker`, for
 * test/security/broker-limits.test.ts. Node cannot send SCM_RIGHTS, and these
 * must run as other uids from a temp dir, so they are one small C program.
 * Each mode prints one JSON line on stdout.
 *
 *   broker_attack fdflood SOCK NFDS ROUNDS valid|garbage
 *       one connection; ROUNDS messages each carrying NFDS fds (copies of
 *       /dev/null) with a valid or a garbage body; counts the replies by result
 *   broker_attack connect SOCK N
 *       opens N connections one after the other, reads the first reply of
 *       each (2 s at most): hello (0), -EAGAIN, closed (1) or silent (2); after
 *       3 silent ones in a row the rest are not tried. Prints the counts, then
 *       holds the connections until stdin closes
 *   broker_attack mixed SOCK N [FLAGS]
 *       N connections at once, one request each (ALL, ONE self, THREAD self,
 *       a bad strategy, in turn), every reply awaited together; each answer is
 *       checked (a valid dump shows this process; the bad one is EINVAL)
 *   broker_attack pin SOCK COUNT [FLAGS [SHOW]]
 *       COUNT dumps of every task (SHOW: task_diag show bits) on one connection, keeping every response fd
 *       open; prints the bytes held and the replies by result, then holds them
 *       until stdin closes
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "ikc/broker.h"
#include "ikc/task_diag.h"

#define MAX_CODES 32
struct counts {
	int code[MAX_CODES];
	int n[MAX_CODES];
	int len;
};

static void count(struct counts *c, int code)
{
	for (int i = 0; i < c->len; i++)
		if (c->code[i] == code) {
			c->n[i]++;
			return;
		}
	if (c->len < MAX_CODES) {
		c->code[c->len] = code;
		c->n[c->len++] = 1;
	}
}

static void print_counts(const char *name, const struct counts *c)
{
	printf("\"%s\":{", name);
	for (int i = 0; i < c->len; i++)
		printf("%s\"%d\":%d", i ? "," : "", c->code[i], c->n[i]);
	printf("}");
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int connect_to(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	strncpy(addr.sun_path, path, sizeof(addr.sun_path) - 1);
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = -errno;
		close(s);
		return e;
	}
	return s;
}

/* One reply: its result (or -EPROTO for a malformed one, 1 for a closed
 * connection, 2 for none within timeout_ms); *fd is the response fd or -1
 * (every other fd that came along is closed). */
static int reply(int s, int timeout_ms, int *fd)
{
	struct ikc_broker_reply r;
	char text[1024], cbuf[CMSG_SPACE(sizeof(int) * 8)];
	struct iovec iov[2] = { { &r, sizeof(r) }, { text, sizeof(text) } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2, .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct pollfd p = { .fd = s, .events = POLLIN };
	ssize_t n;

	*fd = -1;
	if (poll(&p, 1, timeout_ms) == 0)
		return 2;
	n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
			for (size_t i = 0; i < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
				int got;
				memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (*fd < 0)
					*fd = got;
				else
					close(got);
			}
	if (n == 0 || (n < 0 && errno == ECONNRESET))
		return 1;
	if (n < (ssize_t)sizeof(r) || r.magic != IKC_BROKER_MAGIC)
		return -EPROTO;
	if (r.result < 0 && getenv("BROKER_ATTACK_VERBOSE"))
		fprintf(stderr, "broker_attack: %d: %.*s\n", r.result, (int)(r.message_len < sizeof(text) ? r.message_len : sizeof(text)), text);
	return r.kind == IKC_REPLY_HELLO ? 0 : r.result;
}

struct request {
	struct ikc_broker_request hdr;
	struct nlmsghdr nlh;
	struct task_diag_pid req;
} __attribute__((packed));

static struct request task_request(__u64 strategy, __u32 pid, __u32 flags, __u64 show)
{
	struct request m = {
		.hdr = { IKC_BROKER_MAGIC, IKC_BROKER_VERSION, IKC_NS_CURRENT_PID, IKC_TASK_DIAG, flags,
			 sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), 0 },
		.nlh = { sizeof(struct nlmsghdr) + sizeof(struct task_diag_pid), TASK_DIAG_CMD_GET,
			 NLM_F_REQUEST | NLM_F_DUMP, 1, 0 },
		.req = { show, strategy, pid },
	};
	return m;
}

static int send_fds(int s, const void *buf, size_t len, const int *fds, int nfds)
{
	struct iovec iov = { (void *)buf, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	char *cbuf = NULL;

	if (nfds > 0) {
		cbuf = calloc(1, CMSG_SPACE(sizeof(int) * nfds));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ssize_t n = sendmsg(s, &mh, MSG_NOSIGNAL);
	int e = errno;
	free(cbuf);
	return n < 0 ? -e : 0;
}

/* Whether a task_diag response fd holds what the request must give this process. */
static int check_response(int fd, __u64 strategy)
{
	struct stat st;
	char *buf;
	ssize_t len = 0, n;
	int ok = 0, first = 1, all_mine = 1;
	__u32 me = getpid();

	if (fstat(fd, &st) < 0 || st.st_size <= 0)
		return 0;
	buf = malloc(st.st_size);
	while (buf && len < st.st_size && (n = pread(fd, buf + len, st.st_size - len, len)) > 0)
		len += n;
	for (struct nlmsghdr *h = (struct nlmsghdr *)buf; buf && NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
		struct task_diag_msg *m = NLMSG_DATA(h);
		if (h->nlmsg_type != TASK_DIAG_CMD_GET)
			break;
		if (first && strategy == TASK_DIAG_DUMP_ONE && m->pid == me)
			ok = 1;
		if (strategy == TASK_DIAG_DUMP_ALL && m->pid == me)
			ok = 1;
		if (m->tgid != me)
			all_mine = 0;
		first = 0;
	}
	if (strategy == TASK_DIAG_DUMP_THREAD)
		ok = !first && all_mine;
	free(buf);
	return ok;
}

static int fdflood(const char *path, int nfds, int rounds, int garbage)
{
	struct counts c = { 0 };
	int *fds = calloc(nfds > 0 ? nfds : 1, sizeof(int));
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC), s = connect_to(path), fd, closed = 0, with_fd = 0;
	struct request m = task_request(TASK_DIAG_DUMP_ONE, 1, 0, TASK_DIAG_SHOW_BASE);
	char junk[64];
	double t0 = now_ms();

	memset(junk, 0xab, sizeof(junk));
	for (int i = 0; i < nfds; i++)
		fds[i] = null;
	if (s < 0 || reply(s, 5000, &fd) != 0) {
		printf("{\"error\":\"connect\"}\n");
		return 1;
	}
	for (int r = 0; r < rounds; r++) {
		int e = garbage ? send_fds(s, junk, sizeof(junk), fds, nfds) : send_fds(s, &m, sizeof(m), fds, nfds);
		int got = e < 0 ? e : reply(s, 5000, &fd);
		count(&c, got);
		if (fd >= 0) {
			with_fd++;
			close(fd);
		}
		if (got == 1 || got == 2 || e < 0) {
			closed++;
			close(s);
			s = connect_to(path);
			if (s < 0 || reply(s, 5000, &fd) != 0)
				break;
		}
	}
	printf("{\"rounds\":%d,", rounds);
	print_counts("replies", &c);
	printf(",\"reconnects\":%d,\"with_fd\":%d,\"ms\":%.0f}\n", closed, with_fd, now_ms() - t0);
	return 0;
}

static void hold_until_stdin_closes(void)
{
	char b[64];
	fflush(stdout);
	while (read(0, b, sizeof(b)) > 0)
		;
}

static int connect_many(const char *path, int n)
{
	struct counts c = { 0 };
	int *socks = calloc(n, sizeof(int)), fd, silent = 0;
	double worst = 0;

	for (int i = 0; i < n && silent < 3; i++) {
		double t0 = now_ms();
		socks[i] = connect_to(path);
		int got = socks[i] < 0 ? socks[i] : reply(socks[i], 2000, &fd);
		double dt = now_ms() - t0;
		if (got != 0 && dt > worst)
			worst = dt;
		silent = got == 2 ? silent + 1 : 0;
		count(&c, got);
		if (fd >= 0)
			close(fd);
	}
	printf("{");
	print_counts("first", &c);
	printf(",\"worst_refusal_ms\":%.1f}\n", worst);
	hold_until_stdin_closes();
	return 0;
}

static int mixed(const char *path, int n, __u32 flags)
{
	struct counts connect_c = { 0 }, answer_c = { 0 };
	int *socks = calloc(n, sizeof(int)), *pending = calloc(n, sizeof(int));
	struct pollfd *p = calloc(n, sizeof(struct pollfd));
	int fd, correct = 0, wrong = 0, silent = 0, left = 0;
	static const __u64 strategies[4] = { TASK_DIAG_DUMP_ALL, TASK_DIAG_DUMP_ONE, TASK_DIAG_DUMP_THREAD, 7 };
	double t0 = now_ms();

	for (int i = 0; i < n; i++) {
		socks[i] = connect_to(path);
		int got = socks[i] < 0 ? socks[i] : reply(socks[i], 10000, &fd);
		count(&connect_c, got);
		if (got != 0 && socks[i] >= 0) {
			close(socks[i]);
			socks[i] = -1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (socks[i] < 0)
			continue;
		struct request m = task_request(strategies[i % 4], getpid(), flags, TASK_DIAG_SHOW_BASE | TASK_DIAG_SHOW_CRED);
		pending[i] = send_fds(socks[i], &m, sizeof(m), NULL, 0) == 0;
		left += pending[i];
	}
	while (left > 0) {
		int k = 0;
		for (int i = 0; i < n; i++)
			if (pending[i])
				p[k++] = (struct pollfd){ .fd = socks[i], .events = POLLIN };
		if (poll(p, k, 60000) <= 0)
			break;
		for (int j = 0; j < k; j++) {
			if (!p[j].revents)
				continue;
			int i = 0;
			while (socks[i] != p[j].fd)
				i++;
			int got = reply(socks[i], 0, &fd);
			pending[i] = 0;
			left--;
			count(&answer_c, got);
			if (got == 0 && fd >= 0 && check_response(fd, strategies[i % 4]))
				correct++;
			else if (got == -EINVAL && strategies[i % 4] == 7)
				correct++;
			else if (got == -EAGAIN)
				;
			else
				wrong++;
			if (fd >= 0)
				close(fd);
		}
	}
	silent = left;
	printf("{");
	print_counts("connect", &connect_c);
	printf(",");
	print_counts("answer", &answer_c);
	printf(",\"correct\":%d,\"wrong\":%d,\"silent\":%d,\"ms\":%.0f}\n", correct, wrong, silent, now_ms() - t0);
	for (int i = 0; i < n; i++)
		if (socks[i] >= 0)
			close(socks[i]);
	return 0;
}

static int pin(const char *path, int n, __u32 flags, __u64 show)
{
	struct counts c = { 0 };
	int s = connect_to(path), fd, first_refusal = -1, first_errno = 0;
	long long held = 0, pinned = 0, biggest = 0;
	struct request m = task_request(TASK_DIAG_DUMP_ALL, 0, flags, show);
	double t0 = now_ms(), refused_ms = -1;

	if (s < 0 || reply(s, 5000, &fd) != 0) {
		printf("{\"error\":\"connect\"}\n");
		return 1;
	}
	for (int i = 0; i < n; i++) {
		double t1 = now_ms();
		int e = send_fds(s, &m, sizeof(m), NULL, 0);
		int got = e < 0 ? e : reply(s, 30000, &fd);
		count(&c, got);
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) == 0) {
				held += st.st_size;
				pinned += (long long)st.st_blocks * 512;
				if (st.st_size > biggest)
					biggest = st.st_size;
			}
			/* kept open: that is the attack */
		} else if (first_refusal < 0) {
			first_refusal = i;
			first_errno = -got;
			refused_ms = now_ms() - t1;
		}
		if (got == 1 || got == 2 || e < 0)
			break;
	}
	printf("{\"held_bytes\":%lld,\"pinned_bytes\":%lld,\"biggest\":%lld,\"first_refusal\":%d,\"first_errno\":%d,\"refusal_ms\":%.2f,\"ms\":%.0f,", held, pinned, biggest,
	       first_refusal, first_errno, refused_ms, now_ms() - t0);
	print_counts("replies", &c);
	printf("}\n");
	hold_until_stdin_closes();
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 6 && !strcmp(argv[1], "fdflood"))
		return fdflood(argv[2], atoi(argv[3]), atoi(argv[4]), !strcmp(argv[5], "garbage"));
	if (argc >= 4 && !strcmp(argv[1], "connect"))
		return connect_many(argv[2], atoi(argv[3]));
	if (argc >= 4 && !strcmp(argv[1], "mixed"))
		return mixed(argv[2], atoi(argv[3]), argc >= 5 ? strtoul(argv[4], NULL, 0) : 0);
	if (argc >= 4 && !strcmp(argv[1], "pin"))
		return pin(argv[2], atoi(argv[3]), argc >= 5 ? strtoul(argv[4], NULL, 0) : 0,
			   argc >= 6 ? strtoull(argv[5], NULL, 0) : TASK_DIAG_SHOW_BASE | TASK_DIAG_SHOW_CRED);
	fprintf(stderr, "usage: broker_attack fdflood SOCK NFDS ROUNDS valid|garbage | connect SOCK N | mixed SOCK N [FLAGS] | pin SOCK COUNT [FLAGS]\n");
	return 2;
}
