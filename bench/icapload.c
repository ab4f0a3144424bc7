/*
 * Closed-loop ICAP load generator in C (epoll, non-blocking sockets), the ICAP counterpart of wrk: a few threads
 * drive many keep-alive connections, one transaction in flight on each. bench/IcapLoad.java does the same with a
 * thread per connection and cost more CPU per transaction than either server it measured (on 2 cores it, not the
 * server, set the pace); this one leaves the machine to the servers.
 * Build: gcc -O2 -pthread -o icapload bench/icapload.c
 * Usage: icapload --host 127.0.0.1 --port 1344 --service echo --scenario reqmod-small --connections 16
 *        --seconds 8 --warmup 2 [--threads 1]
 * Scenarios as IcapLoad.java: reqmod-small (a GET, null-body, Allow: 204); respmod-SIZE (a response of SIZE random
 * bytes, e.g. 1k, 64k, 1m, with Allow: 204 as Squid sends it); respmod-SIZE-echo (without Allow: 204: the whole body
 * must come back in a 200). Every answer is read whole and checked (status 2xx, framing, an echo's body size).
 * Prints: RESULT requests=.. seconds=.. rps=.. p50_ms=.. p99_ms=.. errors=.. reconnects=..
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char *host = "127.0.0.1", *service = "echo", *scenario = "reqmod-small";
static int port = 1344, conns = 16, nthreads = 1;
static double seconds = 8, warmup = 2;
static char *request;
static size_t request_len;
static long body_size; /* RESPMOD body bytes */
static int must_echo;
static int64_t measure_from, measure_to;
static atomic_long errors, reconnects, errors_shown;

static int64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t) t.tv_sec * 1000000000 + t.tv_nsec;
}

static void fail(const char *what) {
  atomic_fetch_add(&errors, 1);
  if (atomic_fetch_add(&errors_shown, 1) < 5) fprintf(stderr, "error: %s\n", what);
}

static void build_request(void) {
  char req_head[512], icap_head[512];
  snprintf(req_head, sizeof req_head,
           "GET http://127.0.0.1:8080/1k.bin HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n"
           "User-Agent: Mozilla/5.0 (X11; Linux x86_64) IcapLoad/1.0\r\n"
           "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n\r\n");
  snprintf(icap_head, sizeof icap_head, "icap://%s:%d/%s ICAP/1.0\r\nHost: %s:%d\r\nX-Client-IP: 127.0.0.1\r\n",
           host, port, service, host, port);
  size_t req_len = strlen(req_head);
  if (strcmp(scenario, "reqmod-small") == 0) {
    request = malloc(2048);
    request_len = (size_t) snprintf(request, 2048, "REQMOD %sAllow: 204\r\nEncapsulated: req-hdr=0, null-body=%zu\r\n\r\n%s",
                                    icap_head, req_len, req_head);
    return;
  }
  long n;
  char unit;
  int used = 0;
  if (sscanf(scenario, "respmod-%ld%c%n", &n, &unit, &used) != 2 || (unit != 'k' && unit != 'm')
      || (scenario[used] != 0 && strcmp(scenario + used, "-echo") != 0)) {
    fprintf(stderr, "unknown scenario %s (reqmod-small, respmod-64k, respmod-1m-echo ...)\n", scenario);
    exit(2);
  }
  must_echo = scenario[used] != 0;
  body_size = n * (unit == 'k' ? 1024 : 1024 * 1024);
  char res_head[256];
  snprintf(res_head, sizeof res_head,
           "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %ld\r\n\r\n", body_size);
  size_t res_len = strlen(res_head);
  char head[2048];
  int hl = snprintf(head, sizeof head,
                    "RESPMOD %s%sEncapsulated: req-hdr=0, res-hdr=%zu, res-body=%zu\r\n\r\n%s%s%lx\r\n", icap_head,
                    must_echo ? "" : "Allow: 204\r\n", req_len, req_len + res_len, req_head, res_head, body_size);
  static const char tail[] = "\r\n0\r\n\r\n";
  request_len = (size_t) hl + (size_t) body_size + sizeof tail - 1;
  request = malloc(request_len);
  memcpy(request, head, (size_t) hl);
  uint64_t x = 42; /* random bytes (xorshift), the same every run */
  for (long i = 0; i < body_size; i++) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    request[hl + i] = (char) (x >> 24);
  }
  memcpy(request + hl + body_size, tail, sizeof tail - 1);
}

/* What the answer parser waits for. */
enum state { HEAD, SKIP, CHUNK_LINE, CHUNK_DATA, CHUNK_END, TRAILER };

struct conn {
  int fd;
  size_t sent;           /* bytes of the request written */
  int64_t started;       /* when the request began */
  enum state st;
  char line[65536];      /* the ICAP head, or a chunk-size / trailer line */
  size_t line_len;
  long long skip;        /* bytes to skip (encapsulated HTTP heads, chunk data) */
  int status, has_body, close_after, connected_once;
  long long body;        /* body bytes read */
};

struct worker {
  pthread_t thread;
  int first, count; /* its connections */
  int64_t *lat;
  size_t nlat, cap;
};

static int set_events(int ep, struct conn *c, uint32_t ev, int op) {
  struct epoll_event e = {.events = ev, .data.ptr = c};
  return epoll_ctl(ep, op, c->fd, &e);
}

static int open_conn(int ep, struct conn *c) {
  if (c->connected_once) atomic_fetch_add(&reconnects, 1);
  c->connected_once = 1;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return -1;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
  inet_pton(AF_INET, host, &a.sin_addr);
  if (connect(c->fd, (struct sockaddr *) &a, sizeof a) < 0 && errno != EINPROGRESS) {
    close(c->fd);
    c->fd = -1;
    return -1;
  }
  c->sent = 0;
  c->st = HEAD;
  c->line_len = 0;
  c->started = now_ns();
  return set_events(ep, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_ADD); /* EPOLLOUT: the connect's end */
}

static void close_conn(int ep, struct conn *c) {
  if (c->fd >= 0) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
  }
  c->fd = -1;
}

/* Writes what is left of the request; returns -1 on error. Asks for EPOLLOUT only while the socket is full. */
static int send_more(int ep, struct conn *c, int registered_out) {
  while (c->sent < request_len) {
    ssize_t n = send(c->fd, request + c->sent, request_len - c->sent, MSG_NOSIGNAL);
    if (n > 0) { c->sent += (size_t) n; continue; }
    if (n < 0 && errno == EAGAIN) {
      return registered_out ? 0 : set_events(ep, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
    }
    return -1;
  }
  return registered_out ? set_events(ep, c, EPOLLIN, EPOLL_CTL_MOD) : 0;
}

static void start_request(int ep, struct conn *c) {
  c->sent = 0;
  c->st = HEAD;
  c->line_len = 0;
  c->started = now_ns();
  if (send_more(ep, c, 0) < 0) {
    if (now_ns() < measure_to) fail("send failed");
    close_conn(ep, c);
  }
}

/* Parses the ICAP head in c->line; returns 0 or -1 (with the reason reported). */
static int parse_head(struct conn *c) {
  c->line[c->line_len] = 0;
  if (strncmp(c->line, "ICAP/", 5) != 0) { fail("status line"); return -1; }
  char *sp = strchr(c->line, ' ');
  if (!sp) { fail("status line"); return -1; }
  c->status = atoi(sp + 1);
  if (c->status == 100) { fail("unexpected 100 Continue"); return -1; }
  c->close_after = 0;
  c->has_body = 0;
  c->skip = 0;
  int encapsulated = 0;
  for (char *l = strstr(c->line, "\r\n"); l && l[2] != '\r' && l[2] != 0; l = strstr(l + 2, "\r\n")) {
    char *name = l + 2, *colon = strchr(name, ':'), *end = strstr(name, "\r\n");
    if (!colon || (end && colon > end)) { fail("header line"); return -1; }
    size_t nl = (size_t) (colon - name);
    char *v = colon + 1;
    while (*v == ' ') v++;
    if (nl == 12 && strncasecmp(name, "Encapsulated", 12) == 0) {
      encapsulated = 1;
      char *last = v, *comma;
      while ((comma = strchr(last, ',')) && (!end || comma < end)) last = comma + 1;
      while (*last == ' ') last++;
      char *eq = strchr(last, '=');
      if (!eq) { fail("Encapsulated"); return -1; }
      c->skip = atoll(eq + 1);
      if (strncmp(last, "res-body", 8) == 0 || strncmp(last, "req-body", 8) == 0 || strncmp(last, "opt-body", 8) == 0) {
        c->has_body = 1;
      } else if (strncmp(last, "null-body", 9) != 0) {
        fail("Encapsulated");
        return -1;
      }
    } else if (nl == 10 && strncasecmp(name, "Connection", 10) == 0 && strncasecmp(v, "close", 5) == 0) {
      c->close_after = 1;
    }
  }
  if (must_echo && c->status == 200 && !c->has_body) { fail("200 without body"); return -1; }
  (void) encapsulated;
  c->body = 0;
  return 0;
}

/* One answer read whole: count it and start the next request (or reconnect). */
static void done(int ep, struct worker *w, struct conn *c) {
  int64_t end = now_ns();
  if (c->status < 200 || c->status > 299 || (must_echo && c->status != 200)) {
    char m[64];
    snprintf(m, sizeof m, "ICAP status %d", c->status);
    fail(m);
  } else if (c->status == 200 && body_size > 0 && c->body != body_size && !strncmp(scenario, "respmod", 7)) {
    fail("echoed body of the wrong size");
  } else if (c->started >= measure_from && end <= measure_to) {
    if (w->nlat == w->cap) {
      w->cap = w->cap ? w->cap * 2 : 1 << 16;
      w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
    }
    w->lat[w->nlat++] = end - c->started;
  }
  if (end >= measure_to) { close_conn(ep, c); return; }
  if (c->close_after) {
    close_conn(ep, c);
    if (open_conn(ep, c) < 0) fail("connect failed");
    return;
  }
  start_request(ep, c);
}

/* Takes in bytes of the answer; returns -1 on a protocol error. */
static int consume(int ep, struct worker *w, struct conn *c, const char *p, size_t n) {
  while (n > 0 && c->fd >= 0) {
    switch (c->st) {
      case HEAD: {
        /* the head ends at CRLF CRLF: copy up to it */
        size_t i = 0;
        int found = 0;
        for (; i < n; i++) {
          if (c->line_len >= sizeof c->line - 1) { fail("head too long"); return -1; }
          c->line[c->line_len++] = p[i];
          if (c->line_len >= 4 && p[i] == '\n' && !memcmp(c->line + c->line_len - 4, "\r\n\r\n", 4)) {
            found = 1;
            i++;
            break;
          }
        }
        p += i; n -= i;
        if (!found) break;
        if (parse_head(c) < 0) return -1;
        c->line_len = 0;
        c->st = SKIP;
        if (c->skip == 0 && !c->has_body) { done(ep, w, c); }
        else if (c->skip == 0) c->st = CHUNK_LINE;
        break;
      }
      case SKIP:
      case CHUNK_DATA: {
        size_t k = (size_t) ((long long) n < c->skip ? (long long) n : c->skip);
        c->skip -= (long long) k;
        if (c->st == CHUNK_DATA) c->body += (long long) k;
        p += k; n -= k;
        if (c->skip == 0) {
          if (c->st == CHUNK_DATA) c->st = CHUNK_END;
          else if (c->has_body) c->st = CHUNK_LINE;
          else done(ep, w, c);
        }
        break;
      }
      case CHUNK_LINE:
      case CHUNK_END:
      case TRAILER: {
        const char *lf = memchr(p, '\n', n);
        size_t k = lf ? (size_t) (lf - p) + 1 : n;
        if (c->line_len + k >= 4096) { fail("line too long"); return -1; }
        memcpy(c->line + c->line_len, p, k);
        c->line_len += k;
        p += k; n -= k;
        if (!lf) break;
        c->line[c->line_len] = 0;
        int empty = c->line_len <= 2;
        c->line_len = 0;
        if (c->st == CHUNK_END) {
          if (!empty) { fail("no CRLF after chunk"); return -1; }
          c->st = CHUNK_LINE;
        } else if (c->st == CHUNK_LINE) {
          char *endp;
          long long size = strtoll(c->line, &endp, 16);
          if (endp == c->line || size < 0) { fail("chunk size line"); return -1; }
          if (size == 0) c->st = TRAILER;
          else { c->skip = size; c->st = CHUNK_DATA; }
        } else if (empty) {
          done(ep, w, c);
        }
        break;
      }
    }
  }
  return 0;
}

static void *run(void *arg) {
  struct worker *w = arg;
  int ep = epoll_create1(0);
  struct conn *cs = calloc((size_t) w->count, sizeof *cs);
  for (int i = 0; i < w->count; i++) {
    cs[i].fd = -1;
    if (open_conn(ep, &cs[i]) < 0) fail("connect failed");
  }
  static __thread char buf[1 << 16];
  struct epoll_event evs[256];
  while (now_ns() < measure_to) {
    int n = epoll_wait(ep, evs, 256, 100);
    for (int i = 0; i < n; i++) {
      struct conn *c = evs[i].data.ptr;
      if (c->fd < 0) continue;
      if (evs[i].events & (EPOLLERR | EPOLLHUP) && !(evs[i].events & EPOLLIN)) {
        if (now_ns() < measure_to) fail("connection failed");
        close_conn(ep, c);
        continue;
      }
      if (evs[i].events & EPOLLOUT) {
        if (send_more(ep, c, 1) < 0) {
          if (now_ns() < measure_to) fail("send failed");
          close_conn(ep, c);
          continue;
        }
      }
      if (evs[i].events & EPOLLIN) {
        ssize_t r = recv(c->fd, buf, sizeof buf, 0);
        if (r > 0) {
          if (consume(ep, w, c, buf, (size_t) r) < 0) close_conn(ep, c);
        } else if (r == 0 || errno != EAGAIN) {
          if (now_ns() < measure_to) fail(r == 0 ? "connection closed by the server" : "recv failed");
          close_conn(ep, c);
        }
      }
    }
    for (int i = 0; i < w->count; i++) { /* a failed connection comes back (after IcapLoad's 10 ms) */
      if (cs[i].fd < 0 && now_ns() < measure_to) {
        usleep(10000);
        if (open_conn(ep, &cs[i]) < 0) fail("connect failed");
      }
    }
  }
  for (int i = 0; i < w->count; i++) close_conn(ep, &cs[i]);
  close(ep);
  free(cs);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
  return (x > y) - (x < y);
}

static int64_t pct(const int64_t *s, size_t n, double p) { /* nearest rank */
  if (n == 0) return 0;
  long rank = (long) ((p / 100.0) * (double) n + 0.999999999);
  if (rank < 1) rank = 1;
  if ((size_t) rank > n) rank = (long) n;
  return s[rank - 1];
}

int main(int argc, char **argv) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *k = argv[i], *v = argv[i + 1];
    if (!strcmp(k, "--host")) host = v;
    else if (!strcmp(k, "--port")) port = atoi(v);
    else if (!strcmp(k, "--service")) service = v;
    else if (!strcmp(k, "--scenario")) scenario = v;
    else if (!strcmp(k, "--connections")) conns = atoi(v);
    else if (!strcmp(k, "--seconds")) seconds = atof(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--threads")) nthreads = atoi(v);
    else { fprintf(stderr, "unknown option %s\n", k); return 2; }
  }
  if (conns < 1 || nthreads < 1 || seconds <= 0) { fprintf(stderr, "bad options\n"); return 2; }
  if (nthreads > conns) nthreads = conns;
  build_request();
  int64_t t0 = now_ns();
  measure_from = t0 + (int64_t) (warmup * 1e9);
  measure_to = measure_from + (int64_t) (seconds * 1e9);
  struct worker *ws = calloc((size_t) nthreads, sizeof *ws);
  for (int t = 0, first = 0; t < nthreads; t++) {
    ws[t].first = first;
    ws[t].count = conns / nthreads + (t < conns % nthreads);
    first += ws[t].count;
    pthread_create(&ws[t].thread, NULL, run, &ws[t]);
  }
  size_t total = 0;
  for (int t = 0; t < nthreads; t++) { pthread_join(ws[t].thread, NULL); total += ws[t].nlat; }
  int64_t *all = malloc((total ? total : 1) * sizeof *all);
  size_t pos = 0;
  for (int t = 0; t < nthreads; t++) { memcpy(all + pos, ws[t].lat, ws[t].nlat * sizeof *all); pos += ws[t].nlat; }
  qsort(all, total, sizeof *all, cmp);
  printf("RESULT requests=%zu seconds=%.1f rps=%.1f p50_ms=%.3f p99_ms=%.3f errors=%ld reconnects=%ld\n", total,
         seconds, (double) total / seconds, (double) pct(all, total, 50) / 1e6, (double) pct(all, total, 99) / 1e6,
         atomic_load(&errors), atomic_load(&reconnects));
  return 0;
}
