/*
 * End-to-end latency probe for `npm run bench` (built by scripts/bench/tools.ts with gcc and Debian's
 * librdkafka-dev).
 *
 * One process, two librdkafka handles against one broker: a producer sending fixed-size values at a fixed
 * rate (linger.ms=0, the given acks), each value starting with its send time (CLOCK_MONOTONIC, ns) and a
 * sequence number, and a consumer (legacy simple consumer, no group: only Fetch is needed) reading the same
 * partition from the beginning. Latency = receipt time - send time, for every message after the warm-up.
 * Both ends share one clock, so no synchronisation is involved.
 *
 * Bounded: stops after `count` messages or `max_seconds`, whichever comes first (or at SIGUSR1: the cleaner
 * bench stops it once its idle window after the cleaning has passed), then waits at most 5 s for the tail.
 * Prints one JSON line: {"sent":…,"received":…,"p50Ms":…,"p99Ms":…,"p999Ms":…,"maxMs":…,…}.
 *
 * With a trace file, also writes there every message's send time (CLOCK_MONOTONIC ns, the clock of Node's
 * process.hrtime) and latency (ns, 0 if never received) as two little-endian uint64s, in send order, so that the
 * caller can cut one run into time windows (scripts/bench/cleaner.ts).
 *
 * usage: latency <brokers> <topic> <rate msg/s> <count> <value bytes> <acks> <max seconds> <warmup count> [trace file]
 */
#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t) {
  for (;;) {
    uint64_t n = now_ns();
    if (n >= t) return;
    uint64_t d = t - n;
    struct timespec ts = {(time_t)(d / 1000000000ull), (long)(d % 1000000000ull)};
    nanosleep(&ts, NULL);
  }
}

static volatile int stop_consumer = 0;
static volatile sig_atomic_t stop_sending = 0;

static void on_stop_signal(int sig) {
  (void)sig;
  stop_sending = 1;
}
static volatile long received = 0;
static volatile long delivery_errors = 0;
static long expected = 0;
static long warmup = 0;
static uint64_t *lat_ns; /* indexed by sequence number */
static uint64_t *ack_ns; /* produce acknowledgement latency, indexed by sequence number */
static uint64_t *sent_ns;

struct consumer_args {
  rd_kafka_t *rk;
  rd_kafka_topic_t *rkt;
};

static void *consume_loop(void *p) {
  struct consumer_args *a = p;
  while (!stop_consumer) {
    /* One message per call: rd_kafka_consume_batch() would wait to fill its batch. */
    rd_kafka_message_t *m = rd_kafka_consume(a->rkt, 0, 100);
    if (!m) continue;
    uint64_t t = now_ns();
    if (!m->err && m->len >= 16) {
      uint64_t sent, seq;
      memcpy(&sent, m->payload, 8);
      memcpy(&seq, (char *)m->payload + 8, 8);
      if (seq < (uint64_t)expected && lat_ns[seq] == 0) {
        lat_ns[seq] = t > sent ? t - sent : 1;
        received++;
      }
    }
    rd_kafka_message_destroy(m);
  }
  return NULL;
}

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
  (void)rk;
  (void)opaque;
  if (m->err) {
    delivery_errors++;
    return;
  }
  uintptr_t seq = (uintptr_t)m->_private;
  if (seq > 0 && seq <= (uintptr_t)expected) ack_ns[seq - 1] = now_ns() - sent_ns[seq - 1];
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static double pct(uint64_t *sorted, long n, double q) {
  if (n == 0) return -1;
  long i = (long)(q * (double)(n - 1) + 0.5);
  return (double)sorted[i] / 1e6;
}

static void set(rd_kafka_conf_t *conf, const char *k, const char *v) {
  char err[256];
  if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
    fprintf(stderr, "config %s=%s: %s\n", k, v, err);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 9 && argc != 10) {
    fprintf(stderr, "usage: %s brokers topic rate count bytes acks max_seconds warmup [trace_file]\n", argv[0]);
    return 2;
  }
  const char *trace_file = argc == 10 ? argv[9] : NULL;
  struct sigaction stop_action;
  memset(&stop_action, 0, sizeof stop_action);
  stop_action.sa_handler = on_stop_signal;
  sigemptyset(&stop_action.sa_mask);
  sigaction(SIGUSR1, &stop_action, NULL);
  const char *brokers = argv[1], *topic = argv[2];
  double rate = atof(argv[3]);
  expected = atol(argv[4]);
  int bytes = atoi(argv[5]);
  const char *acks = argv[6];
  double max_seconds = atof(argv[7]);
  warmup = atol(argv[8]);
  if (bytes < 16) bytes = 16;
  lat_ns = calloc((size_t)expected, sizeof(uint64_t));
  ack_ns = calloc((size_t)expected, sizeof(uint64_t));
  sent_ns = calloc((size_t)expected, sizeof(uint64_t));
  char err[512];

  rd_kafka_conf_t *pc = rd_kafka_conf_new();
  set(pc, "bootstrap.servers", brokers);
  set(pc, "linger.ms", "0");
  set(pc, "acks", acks);
  set(pc, "enable.idempotence", "false");
  rd_kafka_conf_set_dr_msg_cb(pc, dr_cb);
  rd_kafka_t *prod = rd_kafka_new(RD_KAFKA_PRODUCER, pc, err, sizeof err);
  if (!prod) { fprintf(stderr, "producer: %s\n", err); return 1; }
  rd_kafka_topic_t *ptopic = rd_kafka_topic_new(prod, topic, NULL);

  /* Create the topic (auto-create on Metadata) and make sure it exists before the consumer starts. */
  char *v = calloc(1, (size_t)bytes);
  uint64_t seq0 = UINT64_MAX, zero = 0;
  memcpy(v, &zero, 8);
  memcpy(v + 8, &seq0, 8);
  rd_kafka_produce(ptopic, 0, RD_KAFKA_MSG_F_COPY, v, (size_t)bytes, NULL, 0, NULL);
  if (rd_kafka_flush(prod, 10000) != RD_KAFKA_RESP_ERR_NO_ERROR) { fprintf(stderr, "initial flush failed\n"); return 1; }

  rd_kafka_conf_t *cc = rd_kafka_conf_new();
  set(cc, "bootstrap.servers", brokers);
  set(cc, "fetch.wait.max.ms", "100");
  set(cc, "fetch.min.bytes", "1");
  set(cc, "fetch.error.backoff.ms", "10");
  rd_kafka_t *cons = rd_kafka_new(RD_KAFKA_CONSUMER, cc, err, sizeof err);
  if (!cons) { fprintf(stderr, "consumer: %s\n", err); return 1; }
  rd_kafka_topic_t *ctopic = rd_kafka_topic_new(cons, topic, NULL);
  if (rd_kafka_consume_start(ctopic, 0, RD_KAFKA_OFFSET_BEGINNING) == -1) {
    fprintf(stderr, "consume_start: %s\n", rd_kafka_err2str(rd_kafka_last_error()));
    return 1;
  }
  pthread_t th;
  struct consumer_args ca = {cons, ctopic};
  pthread_create(&th, NULL, consume_loop, &ca);
  usleep(300 * 1000); /* let the consumer connect and start long-polling */

  uint64_t start = now_ns();
  uint64_t deadline = start + (uint64_t)(max_seconds * 1e9);
  long sent = 0;
  for (long i = 0; i < expected; i++) {
    uint64_t due = start + (uint64_t)((double)i * 1e9 / rate);
    if (due > deadline || stop_sending) break;
    sleep_until(due);
    uint64_t t = now_ns();
    uint64_t s = (uint64_t)i;
    memcpy(v, &t, 8);
    memcpy(v + 8, &s, 8);
    sent_ns[i] = t;
    while (rd_kafka_produce(ptopic, 0, RD_KAFKA_MSG_F_COPY, v, (size_t)bytes, NULL, 0, (void *)(uintptr_t)(i + 1)) == -1) {
      rd_kafka_poll(prod, 1);
    }
    sent++;
    rd_kafka_poll(prod, 0);
  }
  uint64_t send_end = now_ns();
  rd_kafka_flush(prod, 5000);
  uint64_t tail_deadline = now_ns() + 5000000000ull;
  while (received < sent && now_ns() < tail_deadline) usleep(1000);
  stop_consumer = 1;
  pthread_join(th, NULL);

  long n = 0;
  uint64_t *sorted = malloc(sizeof(uint64_t) * (size_t)(sent > 0 ? sent : 1));
  for (long i = warmup; i < sent; i++) if (lat_ns[i]) sorted[n++] = lat_ns[i];
  qsort(sorted, (size_t)n, sizeof(uint64_t), cmp_u64);
  long na = 0;
  uint64_t *acks_sorted = malloc(sizeof(uint64_t) * (size_t)(sent > 0 ? sent : 1));
  for (long i = warmup; i < sent; i++) if (ack_ns[i]) acks_sorted[na++] = ack_ns[i];
  qsort(acks_sorted, (size_t)na, sizeof(uint64_t), cmp_u64);
  double sum = 0;
  for (long i = 0; i < n; i++) sum += (double)sorted[i];
  printf("{\"sent\":%ld,\"received\":%ld,\"measured\":%ld,\"deliveryErrors\":%ld,\"seconds\":%.3f,"
         "\"rate\":%.1f,\"meanMs\":%.3f,\"p50Ms\":%.3f,\"p99Ms\":%.3f,\"p999Ms\":%.3f,\"maxMs\":%.3f,\"ackP50Ms\":%.3f,\"ackP99Ms\":%.3f}\n",
         sent, (long)received, n, (long)delivery_errors, (double)(send_end - start) / 1e9,
         (double)sent * 1e9 / (double)(send_end - start), n ? sum / n / 1e6 : -1.0, pct(sorted, n, 0.5),
         pct(sorted, n, 0.99), pct(sorted, n, 0.999), n ? (double)sorted[n - 1] / 1e6 : -1.0, pct(acks_sorted, na, 0.5), pct(acks_sorted, na, 0.99));
  fflush(stdout);

  if (trace_file) {
    FILE *f = fopen(trace_file, "wb");
    if (!f) {
      fprintf(stderr, "cannot write %s\n", trace_file);
      return 1;
    }
    int failed = 0;
    for (long i = 0; i < sent && !failed; i++) {
      uint64_t pair[2] = {sent_ns[i], lat_ns[i]};
      failed = fwrite(pair, sizeof pair, 1, f) != 1;
    }
    if (fclose(f) != 0 || failed) {
      fprintf(stderr, "short write to %s\n", trace_file);
      return 1;
    }
  }

  rd_kafka_consume_stop(ctopic, 0);
  rd_kafka_topic_destroy(ctopic);
  rd_kafka_destroy(cons);
  rd_kafka_topic_destroy(ptopic);
  rd_kafka_destroy(prod);
  return 0;
}
