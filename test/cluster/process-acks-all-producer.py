#!/usr/bin/python3
# A bounded acks=all stream through confluent-kafka-python 1.7.0 (librdkafka 2.0.2) for the process-level cluster
# tests (process-failover.test.ts, process-network-faults.test.ts): message i has the unique value "m-<i>" and goes
# to partition i % partitions. Every delivery report is one JSON line on stdout:
#   {"v": "m-7", "p": 1, "o": 2}            acknowledged at (partition, offset)
#   {"v": "m-8", "p": 2, "err": "..."}      reported failed
# then {"done": true, "acked": A, "failed": F, "unresolved": U, "seconds": S} (U: still in flight when flush gave
# up). librdkafka's error callback goes to stderr as {"client_error": ...}. The test reads stdout as it comes.
import argparse
import json
import sys
import time

from confluent_kafka import Producer

parser = argparse.ArgumentParser()
parser.add_argument('--bootstrap', required=True)
parser.add_argument('--topic', required=True)
parser.add_argument('--count', type=int, default=20000)
parser.add_argument('--partitions', type=int, default=3)
parser.add_argument('--rate', type=int, default=2000, help='messages per second, at most')
parser.add_argument('--idempotence', default='true')
parser.add_argument('--message-timeout-ms', type=int, default=60000)
args = parser.parse_args()

out = sys.stdout
acked = 0
failed = 0


def emit(obj):
    out.write(json.dumps(obj) + '\n')


def on_delivery(err, msg):
    global acked, failed
    value = msg.value().decode()
    if err is None:
        acked += 1
        emit({'v': value, 'p': msg.partition(), 'o': msg.offset()})
    else:
        failed += 1
        emit({'v': value, 'p': msg.partition(), 'err': str(err)})


def on_error(err):
    sys.stderr.write(json.dumps({'client_error': str(err), 'fatal': err.fatal()}) + '\n')
    sys.stderr.flush()


producer = Producer({
    'bootstrap.servers': args.bootstrap,
    'client.id': 'process-acks-all-producer',
    'acks': 'all',
    'enable.idempotence': args.idempotence == 'true',
    'message.timeout.ms': args.message_timeout_ms,
    'request.timeout.ms': 5000,
    'retry.backoff.ms': 100,
    'linger.ms': 5,
    'topic.metadata.refresh.interval.ms': 1000,
    'error_cb': on_error,
})

started = time.monotonic()
step = 50
for i in range(args.count):
    while True:
        try:
            producer.produce(args.topic, value=('m-%d' % i).encode(), partition=i % args.partitions, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    if i % step == step - 1:
        producer.poll(0)
        out.flush()
        # Pace the stream: message i is not sent before i / rate seconds.
        ahead = (i + 1) / args.rate - (time.monotonic() - started)
        if ahead > 0:
            time.sleep(ahead)

unresolved = producer.flush(args.message_timeout_ms / 1000 + 10)
emit({'done': True, 'acked': acked, 'failed': failed, 'unresolved': unresolved, 'seconds': round(time.monotonic() - started, 3)})
out.flush()
