/*
 * A minimal C peer for the socket benchmark: the ceiling that the machine and the kernel allow for
 * the same workload (see bench/peers/workload.mjs), with no runtime in the way.
 *
 *   oracle server <socket-path>
 *   oracle client <socket-path> <round-trips|one-way|latency> <warmup-ms> <duration-ms>
 *
 * Wire format: node-ipc's, JSON {"type":…,"data":…} frames ended by "\f". The server echoes
 * "echo" frames byte for byte, counts "one" frames and answers "sync" with
 * {"type":"count","data":{"count":N}}. It batches: every reply produced by one read() goes out in
 * one write(). The client validates every echo byte for byte (type, payload and order), and in
 * round-trip mode keeps 64 requests in flight. Blocking sockets, one connection at a time.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

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

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void write_all(int fd, const char *data, size_t length) {
  while (length > 0) {
    ssize_t n = write(fd, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    data += n;
    length -= (size_t)n;
  }
}

static struct sockaddr_un address_of(const char *path) {
  struct sockaddr_un address;
  memset(&address, 0, sizeof address);
  address.sun_family = AF_UNIX;
  if (strlen(path) >= sizeof address.sun_path) fail("socket path too long");
  strcpy(address.sun_path, path);
  return address;
}

static int starts_with(const char *frame, size_t length, const char *prefix) {
  size_t n = strlen(prefix);
  return length >= n && memcmp(frame, prefix, n) == 0;
}

static void serve_connection(int fd) {
  static char in[BUFSIZE], out[BUFSIZE * 2];
  size_t have = 0;
  uint64_t count = 0;
  for (;;) {
    ssize_t n = read(fd, in + have, sizeof in - have);
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
    if (used > 0) write_all(fd, out, used);
    if (start == 0 && have == sizeof in) fail("frame larger than the buffer");
    memmove(in, in + start, have - start);
    have -= start;
  }
  close(fd);
}

static int server(const char *path) {
  struct sockaddr_un address = address_of(path);
  int listener = socket(AF_UNIX, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  unlink(path);
  if (bind(listener, (struct sockaddr *)&address, sizeof address) < 0) die("bind");
  if (listen(listener, 16) < 0) die("listen");
  printf("{\"ready\":true}\n");
  fflush(stdout);
  for (;;) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) continue;
      die("accept");
    }
    serve_connection(fd);
  }
  return 0;
}

/* ---- client ---- */

static int fd;
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
    ssize_t n = read(fd, in + have, sizeof in - have);
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
    if (used > 0) write_all(fd, out, used);
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
    write_all(fd, out, echo_frame(out, next_send++));
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
    write_all(fd, out, used);
  }
  const char sync[] = "{\"type\":\"sync\",\"data\":{}}\f";
  write_all(fd, sync, sizeof sync - 1);
  size_t length;
  char *frame = next_frame(&length);
  const char prefix[] = "{\"type\":\"count\",\"data\":{\"count\":";
  if (!starts_with(frame, length, prefix)) fail("expected a count");
  uint64_t count = strtoull(frame + sizeof prefix - 1, NULL, 10);
  if (count != next_send) fail("the server's count differs from the events sent");
  *seconds = (now_ms() - start) / 1e3;
  *messages = next_send - first;
}

static int client(const char *path, const char *mode, double warmup, double duration) {
  struct sockaddr_un address = address_of(path);
  fd = socket(AF_UNIX, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&address, sizeof address) < 0) die("connect");
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
  if (argc == 3 && strcmp(argv[1], "server") == 0) return server(argv[2]);
  if (argc == 6 && strcmp(argv[1], "client") == 0) return client(argv[2], argv[3], atof(argv[4]), atof(argv[5]));
  fprintf(stderr, "usage: oracle server <path> | oracle client <path> <mode> <warmup-ms> <duration-ms>\n");
  return 2;
}
