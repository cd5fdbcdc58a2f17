/* md5_listener: a TCP listener on 127.0.0.1 with a TCP-MD5 key (as BGP peers
 * use) and a socket mark, both of which the kernel shows in sock_diag only to
 * CAP_NET_ADMIN. Prints {"port":N} and sleeps until killed. For
 * test/security/identity.test.ts. Build: gcc -O2 -Wall -Werror -o md5_listener md5_listener.c */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct tcp_md5sig md5 = { .tcpm_keylen = 10 };
	socklen_t len = sizeof(a);
	int mark = 0x1234, s = socket(AF_INET, SOCK_STREAM, 0);

	memcpy(&md5.tcpm_addr, &a, sizeof(a));
	memcpy(md5.tcpm_key, "bgp-secret", 10);
	if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_MD5SIG, &md5, sizeof(md5)) < 0 ||
	    setsockopt(s, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0 ||
	    bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 1) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("md5_listener");
		return 1;
	}
	printf("{\"pid\":%d,\"port\":%d}\n", getpid(), ntohs(a.sin_port));
	fflush(stdout);
	pause();
	return 0;
}
