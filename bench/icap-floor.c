/*
 * The floor for the reqmod-small case: a single-threaded epoll server that reads a REQMOD with a null body (two blank
 * lines: the ICAP head, the encapsulated HTTP head) and writes a fixed 204, parsing nothing else. No real server can
 * spend less: what it costs is the kernel's loopback TCP work per transaction (one recv, one send, the peer's wake-up),
 * which every server under the same load pays. bench/run prints it beside c-icap and Portcullis for that reason.
 * Build: gcc -O2 -o icap-floor bench/icap-floor.c      Usage: icap-floor PORT
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static const char answer[] = "ICAP/1.0 204 No Content\r\nISTag: \"floor\"\r\nServer: icap-floor\r\n"
                             "Encapsulated: null-body=0\r\n\r\n";

struct conn { int fd; unsigned tail; int blanks; }; /* tail: the last 4 bytes seen */

int main(int argc, char **argv) {
  if (argc != 2) { fprintf(stderr, "usage: icap-floor PORT\n"); return 2; }
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) atoi(argv[1]))};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (bind(ls, (struct sockaddr *) &a, sizeof a) < 0 || listen(ls, 1024) < 0) { perror("icap-floor"); return 1; }
  int ep = epoll_create1(0);
  struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
  epoll_ctl(ep, EPOLL_CTL_ADD, ls, &e);
  static char buf[1 << 16];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (!c) {
        int fd;
        while ((fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          c = calloc(1, sizeof *c);
          c->fd = fd;
          struct epoll_event ce = {.events = EPOLLIN, .data.ptr = c};
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ce);
        }
        continue;
      }
      ssize_t r = recv(c->fd, buf, sizeof buf, 0);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(c->fd);
        free(c);
        continue;
      }
      int answers = 0;
      for (ssize_t k = 0; k < r; k++) {
        c->tail = c->tail << 8 | (unsigned char) buf[k];
        if (c->tail == 0x0d0a0d0a && ++c->blanks == 2) { answers++; c->blanks = 0; }
      }
      for (; answers > 0; answers--) {
        if (send(c->fd, answer, sizeof answer - 1, MSG_NOSIGNAL) < 0) break; /* small: fits the socket buffer */
      }
    }
  }
}
