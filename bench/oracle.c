/*
 * A minimal C peer for the socket benchmark: the ceiling that the machine and the kernel allow for
 * the same workload (see bench/peers/workload.mjs), with no runtime in the way.
 *
 *   oracle server <address> [<cert.pem> <key.pem>]
 *   oracle client <address> <round-trips|one-way|latency> <warmup-ms> <duration-ms> [<ca.pem>]
 *
 * <address> is a Unix socket path, "tcp:<ipv4>:<port>" or "tls:<ipv4>:<port>". A TCP or TLS server
 * given port 0 takes a free port and names it in its ready line ({"ready":true,"port":N}). TLS
 * needs the build with -DORACLE_TLS (and -lssl -lcrypto): the server presents <cert.pem>, the client
 * verifies it against <ca.pem> and the IP address it connects to, and sends no certificate.
 *
 * Wire format: node-ipc's, JSON {"type":…,"data":…} frames ended by "\f". The server echoes
 * "echo" frames byte for byte, counts "one" frames and answers "sync" with
 * {"type":"count","data":{"count":N}}. It batches: every reply produced by one read() goes out in
 * one write(). The client validates every echo byte for byte (type, payload and order), and in
 * round-trip mode keeps 64 requests in flight. Blocking sockets, one connection at a time; TCP
 * sockets with TCP_NODELAY, as node-ipc 14 and ipc-streams set it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#ifdef ORACLE_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#define DELIM '\f'
#define WINDOW 64
#define BUFSIZE (1 << 16)
static const char PAYLOAD[] = "ipc-streams/bench:0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ";

static void die(const char *what) {
  printf("{\"error\":\"oracle: %s: %s\"}\n", what, strerror(errno));
  fflush(stdout);
  exit(1);
}

static void fail(const char *what) {
  printf("{\"error\":\"oracle: %s\"}\n", what);
  fflush(stdout);
  exit(1);
}

/* One connection: a socket, and its TLS session when the address is tls:. */
struct conn {
  int fd;
#ifdef ORACLE_TLS
  SSL *ssl;
#endif
};

#ifdef ORACLE_TLS
static void tls_fail(const char *what) {
  char detail[256];
  ERR_error_string_n(ERR_get_error(), detail, sizeof detail);
  printf("{\"error\":\"oracle: %s: %s\"}\n", what, detail);
  fflush(stdout);
  exit(1);
}
#endif

static ssize_t conn_read(struct conn *c, char *data, size_t length) {
#ifdef ORACLE_TLS
  if (c->ssl != NULL) {
    int n = SSL_read(c->ssl, data, length > INT32_MAX ? INT32_MAX : (int)length);
    if (n > 0) return n;
    int error = SSL_get_error(c->ssl, n);
    if (error == SSL_ERROR_ZERO_RETURN) return 0;
    if (error == SSL_ERROR_SYSCALL && errno == 0) return 0; /* the peer closed without close_notify */
    errno = EIO;
    return -1;
  }
#endif
  return read(c->fd, data, length);
}

static void write_all(struct conn *c, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n;
#ifdef ORACLE_TLS
    if (c->ssl != NULL) {
      int written = SSL_write(c->ssl, data, length > INT32_MAX ? INT32_MAX : (int)length);
      if (written <= 0) tls_fail("SSL_write");
      n = written;
    } else
#endif
      n = write(c->fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    data += n;
    length -= (size_t)n;
  }
}

static void conn_close(struct conn *c) {
#ifdef ORACLE_TLS
  if (c->ssl != NULL) SSL_free(c->ssl);
  c->ssl = NULL;
#endif
  close(c->fd);
}

/* A parsed <address>: a Unix socket path, or an IPv4 address and port with or without TLS. */
struct address {
  int network, tls;
  struct sockaddr_un un;
  struct sockaddr_in in;
};

static struct address parse_address(const char *text) {
  struct address address;
  memset(&address, 0, sizeof address);
  int tcp = strncmp(text, "tcp:", 4) == 0, tls = strncmp(text, "tls:", 4) == 0;
  if (!tcp && !tls) {
    address.un.sun_family = AF_UNIX;
    if (strlen(text) >= sizeof address.un.sun_path) fail("socket path too long");
    strcpy(address.un.sun_path, text);
    return address;
  }
#ifndef ORACLE_TLS
  if (tls) fail("built without TLS (compile with -DORACLE_TLS -lssl -lcrypto)");
#endif
  address.network = 1;
  address.tls = tls;
  char host[64];
  const char *rest = text + 4, *colon = strrchr(rest, ':');
  if (colon == NULL || (size_t)(colon - rest) >= sizeof host) fail("address must be tcp:<ipv4>:<port> or tls:<ipv4>:<port>");
  memcpy(host, rest, (size_t)(colon - rest));
  host[colon - rest] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end != '\0' || port < 0 || port > 65535) fail("bad port");
  address.in.sin_family = AF_INET;
  address.in.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, host, &address.in.sin_addr) != 1) fail("host must be an IPv4 address");
  return address;
}

static void no_delay(int fd) {
  int on = 1;
  if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) < 0) die("setsockopt TCP_NODELAY");
}

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int starts_with(const char *frame, size_t length, const char *prefix) {
  size_t n = strlen(prefix);
  return length >= n && memcmp(frame, prefix, n) == 0;
}

static void serve_connection(struct conn *c) {
  static char in[BUFSIZE], out[BUFSIZE * 2];
  size_t have = 0;
  uint64_t count = 0;
  for (;;) {
    ssize_t n = conn_read(c, in + have, sizeof in - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += (size_t)n;
    size_t start = 0, used = 0;
    for (size_t i = start; i < have; i++) {
      if (in[i] != DELIM) continue;
      const char *frame = in + start;
      size_t length = i - start;
      if (starts_with(frame, length, "{\"type\":\"one\"")) {
        count++;
      } else if (starts_with(frame, length, "{\"type\":\"sync\"")) {
        used += (size_t)sprintf(out + used, "{\"type\":\"count\",\"data\":{\"count\":%" PRIu64 "}}\f", count);
      } else {
        memcpy(out + used, frame, length + 1);
        used += length + 1;
      }
      start = i + 1;
    }
    if (used > 0) write_all(c, out, used);
    if (start == 0 && have == sizeof in) fail("frame larger than the buffer");
    memmove(in, in + start, have - start);
    have -= start;
  }
  conn_close(c);
}

static int server(const char *text, const char *cert, const char *key) {
  struct address address = parse_address(text);
  int listener = socket(address.network ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  unsigned port = 0;
  if (address.network) {
    int on = 1;
    if (setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) < 0) die("setsockopt SO_REUSEADDR");
    if (bind(listener, (struct sockaddr *)&address.in, sizeof address.in) < 0) die("bind");
    struct sockaddr_in bound;
    socklen_t length = sizeof bound;
    if (getsockname(listener, (struct sockaddr *)&bound, &length) < 0) die("getsockname");
    port = ntohs(bound.sin_port);
  } else {
    unlink(address.un.sun_path);
    if (bind(listener, (struct sockaddr *)&address.un, sizeof address.un) < 0) die("bind");
  }
  if (listen(listener, 16) < 0) die("listen");
#ifdef ORACLE_TLS
  SSL_CTX *context = NULL;
  if (address.tls) {
    if (cert == NULL || key == NULL) fail("a TLS server needs <cert.pem> <key.pem>");
    context = SSL_CTX_new(TLS_server_method());
    if (context == NULL) tls_fail("SSL_CTX_new");
    if (SSL_CTX_use_certificate_chain_file(context, cert) != 1) tls_fail("certificate");
    if (SSL_CTX_use_PrivateKey_file(context, key, SSL_FILETYPE_PEM) != 1) tls_fail("private key");
  }
#else
  (void)cert;
  (void)key;
#endif
  if (address.network) printf("{\"ready\":true,\"port\":%u}\n", port);
  else printf("{\"ready\":true}\n");
  fflush(stdout);
  for (;;) {
    struct conn c;
    memset(&c, 0, sizeof c);
    c.fd = accept(listener, NULL, NULL);
    if (c.fd < 0) {
      if (errno == EINTR) continue;
      die("accept");
    }
    if (address.network) no_delay(c.fd);
#ifdef ORACLE_TLS
    if (context != NULL) {
      c.ssl = SSL_new(context);
      if (c.ssl == NULL) tls_fail("SSL_new");
      SSL_set_fd(c.ssl, c.fd);
      if (SSL_accept(c.ssl) != 1) {
        /* A client that failed its handshake: drop it and wait for the next one. */
        ERR_clear_error();
        conn_close(&c);
        continue;
      }
    }
#endif
    serve_connection(&c);
  }
  return 0;
}

/* ---- client ---- */

static struct conn peer;
static char in[BUFSIZE];
static size_t have, scan;
static uint64_t next_send, next_receive;

static size_t echo_frame(char *out, uint64_t seq) {
  return (size_t)sprintf(out, "{\"type\":\"echo\",\"data\":{\"seq\":%" PRIu64 ",\"payload\":\"%s\"}}\f", seq, PAYLOAD);
}

/* The next complete frame (without its delimiter), reading as needed. */
static char *next_frame(size_t *length) {
  for (;;) {
    char *delim = memchr(in + scan, DELIM, have - scan);
    if (delim != NULL) {
      char *frame = in + scan;
      *length = (size_t)(delim - frame);
      scan = (size_t)(delim - in) + 1;
      return frame;
    }
    memmove(in, in + scan, have - scan);
    have -= scan;
    scan = 0;
    if (have == sizeof in) fail("frame larger than the buffer");
    ssize_t n = conn_read(&peer, in + have, sizeof in - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) die("read");
    if (n == 0) fail("the server ended the connection");
    have += (size_t)n;
  }
}

static void check_echo(void) {
  char expected[256];
  size_t length, want = echo_frame(expected, next_receive) - 1;
  char *frame = next_frame(&length);
  if (length != want || memcmp(frame, expected, length) != 0) fail("echo does not match (type, payload or order)");
  next_receive++;
}

static int has_data(void) { return memchr(in + scan, DELIM, have - scan) != NULL; }

static void round_trips(double duration, double *seconds, uint64_t *messages) {
  static char out[WINDOW * 256];
  uint64_t first = next_send;
  double start = now_ms(), deadline = start + duration;
  while (now_ms() < deadline) {
    size_t used = 0;
    while (next_send - next_receive < WINDOW) used += echo_frame(out + used, next_send++);
    if (used > 0) write_all(&peer, out, used);
    do check_echo();
    while (has_data());
  }
  while (next_receive < next_send) check_echo();
  *seconds = (now_ms() - start) / 1e3;
  *messages = next_send - first;
}

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static void latency(double duration, double *seconds, uint64_t *messages, double **samples) {
  size_t capacity = 1 << 16, count = 0;
  double *values = malloc(capacity * sizeof *values);
  char out[256];
  double start = now_ms(), deadline = start + duration, now = start;
  while (now < deadline) {
    double sent = now;
    write_all(&peer, out, echo_frame(out, next_send++));
    check_echo();
    now = now_ms();
    if (count == capacity) values = realloc(values, (capacity *= 2) * sizeof *values);
    values[count++] = now - sent;
  }
  *seconds = (now - start) / 1e3;
  *messages = count;
  qsort(values, count, sizeof *values, compare_doubles);
  *samples = values;
}

static void one_way(double duration, double *seconds, uint64_t *messages) {
  static char out[64 * 256];
  uint64_t first = next_send;
  double start = now_ms(), deadline = start + duration;
  while (now_ms() < deadline) {
    size_t used = 0;
    for (int i = 0; i < 64; i++) {
      used += (size_t)sprintf(out + used, "{\"type\":\"one\",\"data\":{\"seq\":%" PRIu64 ",\"payload\":\"%s\"}}\f",
                              next_send++, PAYLOAD);
    }
    write_all(&peer, out, used);
  }
  const char sync[] = "{\"type\":\"sync\",\"data\":{}}\f";
  write_all(&peer, sync, sizeof sync - 1);
  size_t length;
  char *frame = next_frame(&length);
  const char prefix[] = "{\"type\":\"count\",\"data\":{\"count\":";
  if (!starts_with(frame, length, prefix)) fail("expected a count");
  uint64_t count = strtoull(frame + sizeof prefix - 1, NULL, 10);
  if (count != next_send) fail("the server's count differs from the events sent");
  *seconds = (now_ms() - start) / 1e3;
  *messages = next_send - first;
}

static void client_connect(const char *text, const char *ca) {
  struct address address = parse_address(text);
  peer.fd = socket(address.network ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
  if (peer.fd < 0) die("socket");
  if (address.network) {
    if (connect(peer.fd, (struct sockaddr *)&address.in, sizeof address.in) < 0) die("connect");
    no_delay(peer.fd);
  } else if (connect(peer.fd, (struct sockaddr *)&address.un, sizeof address.un) < 0) {
    die("connect");
  }
#ifdef ORACLE_TLS
  if (address.tls) {
    if (ca == NULL) fail("a TLS client needs <ca.pem>");
    SSL_CTX *context = SSL_CTX_new(TLS_client_method());
    if (context == NULL) tls_fail("SSL_CTX_new");
    if (SSL_CTX_load_verify_locations(context, ca, NULL) != 1) tls_fail("CA file");
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER, NULL);
    peer.ssl = SSL_new(context);
    if (peer.ssl == NULL) tls_fail("SSL_new");
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &address.in.sin_addr, host, sizeof host);
    /* Verify the certificate's IP address SAN against the address connected to. */
    if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(peer.ssl), host) != 1) tls_fail("set1_ip_asc");
    SSL_set_fd(peer.ssl, peer.fd);
    if (SSL_connect(peer.ssl) != 1) tls_fail("TLS handshake");
  }
#else
  (void)ca;
#endif
}

static int client(const char *text, const char *mode, double warmup, double duration, const char *ca) {
  client_connect(text, ca);
  double seconds;
  uint64_t messages;
  double *samples = NULL;
  int kind = strcmp(mode, "round-trips") == 0 ? 0 : strcmp(mode, "one-way") == 0 ? 1 : strcmp(mode, "latency") == 0 ? 2 : -1;
  if (kind < 0) fail("unknown mode");
  for (int measured = 0; measured < 2; measured++) {
    double ms = measured ? duration : warmup;
    if (kind == 0) round_trips(ms, &seconds, &messages);
    else if (kind == 1) one_way(ms, &seconds, &messages);
    else {
      free(samples);
      latency(ms, &seconds, &messages, &samples);
    }
    if (!measured) {
      printf("{\"phase\":\"measure\"}\n");
      fflush(stdout);
    }
  }
  printf("{\"result\":{\"mode\":\"%s\",\"messages\":%" PRIu64 ",\"seconds\":%.6f,\"rate\":%.3f", mode, messages, seconds,
         messages / seconds);
  if (kind == 2 && messages > 0) {
#define AT(q) (samples[(size_t)((q) * messages) < messages ? (size_t)((q) * messages) : messages - 1] * 1e3)
    printf(",\"latencyUs\":{\"p50\":%.3f,\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}", AT(0.5), AT(0.99), AT(0.999),
           samples[messages - 1] * 1e3);
  }
  printf("}}\n");
  fflush(stdout);
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 3 || argc == 5) && strcmp(argv[1], "server") == 0) {
    return server(argv[2], argc == 5 ? argv[3] : NULL, argc == 5 ? argv[4] : NULL);
  }
  if ((argc == 6 || argc == 7) && strcmp(argv[1], "client") == 0) {
    return client(argv[2], argv[3], atof(argv[4]), atof(argv[5]), argc == 7 ? argv[6] : NULL);
  }
  fprintf(stderr,
          "usage: oracle server <address> [<cert> <key>] | oracle client <address> <mode> <warmup-ms> <duration-ms> [<ca>]\n");
  return 2;
}
