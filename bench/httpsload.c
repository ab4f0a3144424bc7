/*
 * Closed-loop HTTPS load generator through a forward proxy, in C (epoll, non-blocking sockets, OpenSSL): what wrk
 * cannot do, a CONNECT and then TLS inside the tunnel. Each connection: TCP to the proxy, CONNECT host:port, the 200,
 * a TLS handshake with the name in the SNI (the certificate verified against --cafile and the name), then GETs on
 * the kept-alive connection, one in flight (--mode requests), or one GET and a close (--mode handshakes: a new
 * tunnel and handshake each time). Without --proxy it goes straight to the origin (the plain TLS baseline).
 * Every answer is read whole (Content-Length or chunked) and must be a 200.
 * Build: gcc -O2 -pthread -o httpsload bench/httpsload.c -lssl -lcrypto
 * Usage: httpsload [--proxy 127.0.0.1:3128] --target 127.0.0.1:8443 --sni origin.bench.test --cafile ca.pem
 *        --path /1k.bin [--mode requests|handshakes] [--sni-count N] --connections 32 --seconds 8 --warmup 2
 *        [--threads 1]
 * --sni-count N: the SNI is --sni with %d replaced by 0..N-1, a new one for each handshake, in turn (cold caches:
 * each name is new to the proxy until the count wraps round).
 * --plain: plain HTTP through the proxy (absolute-form GET http://TARGET/PATH, no CONNECT, no TLS, no --cafile).
 * --auth-file F: Proxy-Authorization values, one a line; each new connection takes the next on its first request
 * (one login per connection, as Negotiate: a Kerberos token is good once, so a connection ends when none is left),
 * or, with --auth-every, the same on every request (Basic), the lines used in turn. In --plain mode "handshake" is
 * a connection's first answer, its login included, from the connect.
 * Prints: RESULT requests=.. seconds=.. rps=.. p50_ms=.. p99_ms=.. handshakes=.. hs_p50_ms=.. hs_p99_ms=.. errors=..
 * (latency of a request: from its first byte written to its answer's last read; of a handshake: from the TCP
 * connect to the handshake's end, the CONNECT included).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
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

static const char *proxy_spec, *target = "127.0.0.1:443", *sni = "localhost", *cafile, *path = "/";
static int handshake_mode, sni_count, conns = 32, nthreads = 1;
static int plain, auth_every;       /* --plain: plain HTTP through the proxy, no CONNECT, no TLS */
static char **auth_lines;           /* --auth-file: Proxy-Authorization values, one per connection in turn */
static long auth_n;
static atomic_long auth_next;
static double seconds = 8, warmup = 2;
static struct sockaddr_in dest;
static int64_t measure_from, measure_to;
static atomic_long errors, errors_shown, sni_next;
static SSL_CTX *ctx;

enum state { TCP, CONNECT_SEND, CONNECT_READ, HANDSHAKE, REQ_SEND, RESP_READ, DONE };

typedef struct { int64_t *v; size_t n, cap; } samples;

typedef struct conn {
  int fd;
  enum state st;
  SSL *ssl;
  char out[16384];
  const char *auth; /* this connection's Proxy-Authorization value, or NULL */
  size_t out_len, out_off;
  char in[65536];
  size_t in_len;
  /* response parsing */
  int head_done, chunked, chunk_state; /* chunk_state: 0 size line, 1 data, 2 CRLF after data, 3 trailers */
  long long remaining; /* body bytes left (Content-Length), or of the current chunk */
  int64_t t_start, t_hs;
  int requests_here;
} conn;

typedef struct {
  int ep;
  conn *c;
  int n;
  samples req, hs;
} worker;

static int64_t now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void add(samples *s, int64_t x) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 65536;
    s->v = realloc(s->v, s->cap * sizeof(int64_t));
    if (!s->v) { perror("realloc"); exit(1); }
  }
  s->v[s->n++] = x;
}

static void fail(conn *c, const char *why) {
  long n = atomic_fetch_add(&errors, 1);
  if (n < 5) fprintf(stderr, "httpsload: %s (state %d, errno %d)\n", why, c->st, errno);
  (void)errors_shown;
}

static void set_events(worker *w, conn *c, uint32_t ev) {
  struct epoll_event e = {.events = ev, .data.ptr = c};
  epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
}

static void open_conn(worker *w, conn *c);

static void close_conn(worker *w, conn *c) {
  if (c->ssl) { SSL_free(c->ssl); c->ssl = NULL; }
  if (c->fd >= 0) { epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL); close(c->fd); c->fd = -1; }
}

static void restart(worker *w, conn *c) {
  close_conn(w, c);
  open_conn(w, c);
}

static void start_tls(worker *w, conn *c) {
  char name[256];
  if (sni_count > 0) {
    long k = atomic_fetch_add(&sni_next, 1) % sni_count;
    snprintf(name, sizeof name, sni, (int)k);
  } else {
    snprintf(name, sizeof name, "%s", sni);
  }
  c->ssl = SSL_new(ctx);
  SSL_set_fd(c->ssl, c->fd);
  SSL_set_tlsext_host_name(c->ssl, name);
  SSL_set1_host(c->ssl, name);
  c->st = HANDSHAKE;
  set_events(w, c, EPOLLIN | EPOLLOUT);
}

static void send_request(worker *w, conn *c) {
  if (plain) {
    /* Absolute-form through the proxy; the credentials on the connection's first request (one login per
       connection, as Negotiate), or on every request with --auth-every (Basic). */
    int with_auth = c->auth && (auth_every || c->requests_here == 0);
    c->out_len = (size_t)snprintf(c->out, sizeof c->out, "GET http://%s%s HTTP/1.1\r\nHost: %s\r\n%s%s%s%s\r\n",
        target, path, target, with_auth ? "Proxy-Authorization: " : "", with_auth ? c->auth : "",
        with_auth ? "\r\n" : "", handshake_mode ? "Connection: close\r\n" : "");
    c->out_off = 0;
    c->st = REQ_SEND;
    c->in_len = 0;
    c->head_done = 0;
    c->t_start = now_us();
    set_events(w, c, EPOLLIN | EPOLLOUT);
    return;
  }
  /* The port in Host unless it is 443, as browsers send it: the proxies forward by it. */
  const char *port = strrchr(target, ':');
  int default_port = port && !strcmp(port, ":443");
  c->out_len = (size_t)snprintf(c->out, sizeof c->out, "GET %s HTTP/1.1\r\nHost: %s%s\r\n%s\r\n", path,
      SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name), default_port || !port ? "" : port,
      handshake_mode ? "Connection: close\r\n" : "");
  c->out_off = 0;
  c->st = REQ_SEND;
  c->in_len = 0;
  c->head_done = 0;
  c->t_start = now_us();
  set_events(w, c, EPOLLIN | EPOLLOUT);
}

static void open_conn(worker *w, conn *c) {
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->st = TCP;
  c->ssl = NULL;
  c->requests_here = 0;
  c->t_hs = now_us();
  if (connect(c->fd, (struct sockaddr *)&dest, sizeof dest) < 0 && errno != EINPROGRESS) {
    fail(c, "connect");
  }
  struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
  epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &e);
}

/* Parses what is in c->in: returns 1 when the answer is whole, 0 when more is needed, -1 on a bad answer. */
static int parse(conn *c) {
  if (!c->head_done) {
    char *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
    if (!end) return c->in_len == sizeof c->in ? -1 : 0;
    size_t head = (size_t)(end - c->in) + 4;
    if (c->in_len < 12 || memcmp(c->in + 9, "200", 3) != 0) return -1;
    c->chunked = 0;
    c->remaining = -1;
    char *hend = c->in + head;
    char *nl = memchr(c->in, '\n', head); /* the status line's end */
    while (nl && nl + 1 < hend) {
      char *l = nl + 1;
      nl = memchr(l, '\n', (size_t)(hend - l));
      size_t ll = nl ? (size_t)(nl - l) : (size_t)(hend - l);
      if (ll >= 15 && !strncasecmp(l, "content-length:", 15)) c->remaining = atoll(l + 15);
      else if (ll >= 18 && !strncasecmp(l, "transfer-encoding:", 18) && memmem(l, ll, "chunked", 7)) c->chunked = 1;
    }
    if (!c->chunked && c->remaining < 0) return -1; /* no framing we can end on */
    c->head_done = 1;
    c->chunk_state = 0;
    memmove(c->in, c->in + head, c->in_len - head);
    c->in_len -= head;
  }
  if (!c->chunked) {
    long long take = (long long)c->in_len < c->remaining ? (long long)c->in_len : c->remaining;
    c->remaining -= take;
    memmove(c->in, c->in + take, c->in_len - (size_t)take);
    c->in_len -= (size_t)take;
    return c->remaining == 0 ? 1 : 0;
  }
  for (;;) {
    if (c->chunk_state == 1) {
      long long take = (long long)c->in_len < c->remaining ? (long long)c->in_len : c->remaining;
      c->remaining -= take;
      memmove(c->in, c->in + take, c->in_len - (size_t)take);
      c->in_len -= (size_t)take;
      if (c->remaining > 0) return 0;
      c->chunk_state = 2;
    }
    char *nl = memchr(c->in, '\n', c->in_len);
    if (!nl) return c->in_len == sizeof c->in ? -1 : 0;
    size_t line = (size_t)(nl - c->in) + 1;
    if (c->chunk_state == 0) {
      c->remaining = strtoll(c->in, NULL, 16);
      c->chunk_state = c->remaining == 0 ? 3 : 1;
    } else if (c->chunk_state == 2) {
      c->chunk_state = 0;
    } else if (c->chunk_state == 3 && line <= 2) {
      memmove(c->in, c->in + line, c->in_len - line);
      c->in_len -= line;
      return 1;
    }
    memmove(c->in, c->in + line, c->in_len - line);
    c->in_len -= line;
  }
}

static void step(worker *w, conn *c) {
  for (;;) {
    switch (c->st) {
      case TCP: {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) { errno = err; fail(c, "connect"); restart(w, c); return; }
        if (plain) {
          c->auth = NULL;
          if (auth_n > 0) {
            long k = atomic_fetch_add(&auth_next, 1);
            if (!auth_every && k >= auth_n) { /* no fresh credentials left: this connection ends */
              close_conn(w, c);
              c->st = DONE;
              return;
            }
            c->auth = auth_lines[k % auth_n];
          }
          send_request(w, c);
          continue;
        }
        if (proxy_spec) {
          c->out_len = (size_t)snprintf(c->out, sizeof c->out, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target);
          c->out_off = 0;
          c->in_len = 0;
          c->st = CONNECT_SEND;
        } else {
          start_tls(w, c);
        }
        continue;
      }
      case CONNECT_SEND: {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n < 0) { if (errno == EAGAIN) { set_events(w, c, EPOLLOUT); return; } fail(c, "send CONNECT"); restart(w, c); return; }
        c->out_off += (size_t)n;
        if (c->out_off < c->out_len) continue;
        c->st = CONNECT_READ;
        set_events(w, c, EPOLLIN);
        continue;
      }
      case CONNECT_READ: {
        /* Byte by byte up to the head's end: nothing of the TLS that follows may be read here. */
        char b;
        ssize_t n = recv(c->fd, &b, 1, 0);
        if (n < 0 && errno == EAGAIN) return;
        if (n <= 0) { fail(c, "CONNECT answer"); restart(w, c); return; }
        c->in[c->in_len++] = b;
        if (c->in_len >= 4 && !memcmp(c->in + c->in_len - 4, "\r\n\r\n", 4)) {
          if (memcmp(c->in + 9, "200", 3) != 0) { fail(c, "CONNECT refused"); restart(w, c); return; }
          start_tls(w, c);
        } else if (c->in_len == sizeof c->in) {
          fail(c, "CONNECT answer too long"); restart(w, c); return;
        }
        continue;
      }
      case DONE:
        return;
      case HANDSHAKE: {
        int r = SSL_connect(c->ssl);
        if (r == 1) {
          int64_t t = now_us();
          if (c->t_hs >= measure_from && t <= measure_to) add(&w->hs, t - c->t_hs);
          send_request(w, c);
          continue;
        }
        int e = SSL_get_error(c->ssl, r);
        if (e == SSL_ERROR_WANT_READ) { set_events(w, c, EPOLLIN); return; }
        if (e == SSL_ERROR_WANT_WRITE) { set_events(w, c, EPOLLOUT); return; }
        if (atomic_load(&errors) < 5) ERR_print_errors_fp(stderr);
        fail(c, "TLS handshake");
        restart(w, c);
        return;
      }
      case REQ_SEND: {
        if (plain) {
          ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
          if (n < 0) { if (errno == EAGAIN) { set_events(w, c, EPOLLOUT); return; } fail(c, "write"); restart(w, c); return; }
          c->out_off += (size_t)n;
          if (c->out_off < c->out_len) continue;
          c->st = RESP_READ;
          set_events(w, c, EPOLLIN);
          continue;
        }
        int r = SSL_write(c->ssl, c->out + c->out_off, (int)(c->out_len - c->out_off));
        if (r <= 0) {
          int e = SSL_get_error(c->ssl, r);
          if (e == SSL_ERROR_WANT_READ) { set_events(w, c, EPOLLIN); return; }
          if (e == SSL_ERROR_WANT_WRITE) { set_events(w, c, EPOLLOUT); return; }
          fail(c, "write");
          restart(w, c);
          return;
        }
        c->out_off += (size_t)r;
        if (c->out_off < c->out_len) continue;
        c->st = RESP_READ;
        set_events(w, c, EPOLLIN);
        continue;
      }
      case RESP_READ: {
        int r;
        if (plain) {
          ssize_t n = recv(c->fd, c->in + c->in_len, sizeof c->in - c->in_len, 0);
          if (n < 0 && errno == EAGAIN) { set_events(w, c, EPOLLIN); return; }
          if (n <= 0) { fail(c, "answer cut short"); restart(w, c); return; }
          r = (int)n;
        } else {
          r = SSL_read(c->ssl, c->in + c->in_len, (int)(sizeof c->in - c->in_len));
        }
        if (r <= 0) {
          int e = SSL_get_error(c->ssl, r);
          if (e == SSL_ERROR_WANT_READ) { set_events(w, c, EPOLLIN); return; }
          if (e == SSL_ERROR_WANT_WRITE) { set_events(w, c, EPOLLOUT); return; }
          fail(c, "answer cut short");
          restart(w, c);
          return;
        }
        c->in_len += (size_t)r;
        int p = parse(c);
        if (p < 0) {
          char why[120];
          size_t n = c->in_len < 80 ? c->in_len : 80;
          snprintf(why, sizeof why, "bad answer: %.*s", (int)n, c->in);
          for (char *q = why; *q; q++) if (*q == '\r' || *q == '\n') *q = ' ';
          fail(c, why);
          restart(w, c);
          return;
        }
        if (p == 0) continue;
        int64_t t = now_us();
        if (c->t_start >= measure_from && t <= measure_to) add(&w->req, t - c->t_start);
        /* plain: a connection's first answer, its login included, is what "handshake" measures */
        if (plain && c->requests_here == 0 && c->t_hs >= measure_from && t <= measure_to) add(&w->hs, t - c->t_hs);
        c->requests_here++;
        if (handshake_mode) { restart(w, c); return; }
        send_request(w, c);
        continue;
      }
    }
  }
}

static void *run(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->n; i++) open_conn(w, &w->c[i]);
  struct epoll_event ev[256];
  while (now_us() < measure_to) {
    int n = epoll_wait(w->ep, ev, 256, 100);
    for (int i = 0; i < n; i++) step(w, ev[i].data.ptr);
  }
  for (int i = 0; i < w->n; i++) close_conn(w, &w->c[i]);
  return NULL;
}

static int cmp(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(samples *s, double p) {
  if (s->n == 0) return 0;
  size_t i = (size_t)(p * (double)(s->n - 1));
  return (double)s->v[i] / 1000.0;
}

static void addr(const char *spec, struct sockaddr_in *a) {
  char host[256];
  const char *colon = strrchr(spec, ':');
  if (!colon || (size_t)(colon - spec) >= sizeof host) { fprintf(stderr, "httpsload: bad address %s\n", spec); exit(2); }
  memcpy(host, spec, (size_t)(colon - spec));
  host[colon - spec] = 0;
  memset(a, 0, sizeof *a);
  a->sin_family = AF_INET;
  a->sin_port = htons((uint16_t)atoi(colon + 1));
  if (inet_pton(AF_INET, host, &a->sin_addr) != 1) { fprintf(stderr, "httpsload: %s is no IPv4 address\n", host); exit(2); }
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i += 2) {
    const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
    if (!strcmp(k, "--proxy")) proxy_spec = v;
    else if (!strcmp(k, "--target")) target = v;
    else if (!strcmp(k, "--sni")) sni = v;
    else if (!strcmp(k, "--sni-count")) sni_count = atoi(v);
    else if (!strcmp(k, "--cafile")) cafile = v;
    else if (!strcmp(k, "--path")) path = v;
    else if (!strcmp(k, "--mode")) handshake_mode = !strcmp(v, "handshakes");
    else if (!strcmp(k, "--connections")) conns = atoi(v);
    else if (!strcmp(k, "--seconds")) seconds = atof(v);
    else if (!strcmp(k, "--warmup")) warmup = atof(v);
    else if (!strcmp(k, "--threads")) nthreads = atoi(v);
    else if (!strcmp(k, "--plain")) { plain = 1; i--; }
    else if (!strcmp(k, "--auth-every")) { auth_every = 1; i--; }
    else if (!strcmp(k, "--auth-file")) {
      FILE *f = fopen(v, "r");
      if (!f) { perror(v); return 2; }
      static char line[16384];
      while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!*line) continue;
        auth_lines = realloc(auth_lines, (size_t)(auth_n + 1) * sizeof(char *));
        auth_lines[auth_n++] = strdup(line);
      }
      fclose(f);
    }
    else { fprintf(stderr, "httpsload: unknown option %s\n", k); return 2; }
  }
  if ((!cafile && !plain) || conns < 1 || nthreads < 1) { fprintf(stderr, "httpsload: --cafile is required\n"); return 2; }
  addr(proxy_spec ? proxy_spec : target, &dest);
  ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* every handshake a full one */
  SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
  static const unsigned char alpn[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
  SSL_CTX_set_alpn_protos(ctx, alpn, sizeof alpn);
  if (!plain && SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) { ERR_print_errors_fp(stderr); return 2; }
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  measure_from = now_us() + (int64_t)(warmup * 1e6);
  measure_to = measure_from + (int64_t)(seconds * 1e6);
  worker *w = calloc((size_t)nthreads, sizeof(worker));
  pthread_t *t = calloc((size_t)nthreads, sizeof(pthread_t));
  for (int i = 0; i < nthreads; i++) {
    w[i].ep = epoll_create1(0);
    w[i].n = conns / nthreads + (i < conns % nthreads);
    w[i].c = calloc((size_t)w[i].n, sizeof(conn));
    pthread_create(&t[i], NULL, run, &w[i]);
  }
  samples req = {0}, hs = {0};
  for (int i = 0; i < nthreads; i++) {
    pthread_join(t[i], NULL);
    for (size_t j = 0; j < w[i].req.n; j++) add(&req, w[i].req.v[j]);
    for (size_t j = 0; j < w[i].hs.n; j++) add(&hs, w[i].hs.v[j]);
  }
  qsort(req.v, req.n, sizeof(int64_t), cmp);
  qsort(hs.v, hs.n, sizeof(int64_t), cmp);
  printf("RESULT requests=%zu seconds=%.1f rps=%.0f p50_ms=%.3f p99_ms=%.3f handshakes=%zu hs_per_s=%.0f "
         "hs_p50_ms=%.3f hs_p99_ms=%.3f errors=%ld\n", req.n, seconds, (double)req.n / seconds, pct(&req, 0.5),
         pct(&req, 0.99), hs.n, (double)hs.n / seconds, pct(&hs, 0.5), pct(&hs, 0.99), atomic_load(&errors));
  return 0;
}
