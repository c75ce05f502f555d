#!/usr/bin/python3
"""confluent-kafka-python (librdkafka) against Eddy's fault injection (issue 11).

The test driving this script sets fault rules on the broker over its HTTP admin listener before (and, for the
stall, during) a run; the script then does one thing a real application does and reports how the client fared:

  produce   one message with acks=all: delivered despite the injected errors (retries, metadata refreshes)
  consume   assign() partition 0 at the beginning and read --count messages despite injected Fetch errors

It prints `started` once the client has been created and the message handed to it, then, as its last line,
{"ok", "problems", "stats"} with stats: delivered offset or messages read, elapsed seconds, client errors.

Usage: faults.py --bootstrap 127.0.0.1:PORT --topic T --mode produce|consume [--count N] [--timeout S] [--settle S]
"""
import argparse
import json
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition


def produce(args, problems, stats, client_errors):
    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'acks': 'all',
        'linger.ms': 0,
        'retry.backoff.ms': 50,
        'reconnect.backoff.ms': 50,
        'reconnect.backoff.max.ms': 500,
        'message.timeout.ms': int(args.timeout * 1000),
        'error_cb': lambda err: client_errors.append(str(err)),
    })
    reports = []
    started = time.monotonic()
    producer.produce(args.topic, value=b'through-faults', partition=0, on_delivery=lambda err, msg: reports.append((err, msg)))
    print('started', flush=True)
    deadline = started + args.timeout
    while not reports and time.monotonic() < deadline:
        producer.poll(0.05)
    stats['elapsed'] = time.monotonic() - started
    if not reports:
        problems.append('no delivery report before the timeout')
        return
    err, msg = reports[0]
    if err is not None:
        problems.append('delivery failed: %s' % err)
        return
    stats['offset'] = msg.offset()
    stats['partition'] = msg.partition()
    # Keep serving the client a moment: librdkafka's leader query after a NOT_LEADER runs on a timer
    # (topic.metadata.refresh.fast.interval.ms), which may fire after the retried Produce succeeded.
    settle = time.monotonic() + args.settle
    while time.monotonic() < settle:
        producer.poll(0.05)


def consume(args, problems, stats, client_errors):
    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'faults-compat',
        'enable.auto.commit': False,
        'fetch.wait.max.ms': 100,
        'fetch.error.backoff.ms': 50,
        'error_cb': lambda err: client_errors.append(str(err)),
    })
    consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    print('started', flush=True)
    started = time.monotonic()
    deadline = started + args.timeout
    values = []
    while len(values) < args.count and time.monotonic() < deadline:
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error():
            client_errors.append(str(msg.error()))
            continue
        values.append(msg.value().decode())
    consumer.close()
    stats['elapsed'] = time.monotonic() - started
    stats['values'] = values
    if len(values) != args.count:
        problems.append('read %d of %d messages' % (len(values), args.count))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--mode', required=True, choices=['produce', 'consume'])
    ap.add_argument('--count', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=30.0)
    ap.add_argument('--settle', type=float, default=0.0, help='seconds to keep polling after the delivery report')
    args = ap.parse_args()
    problems, stats, client_errors = [], {}, []
    if args.mode == 'produce':
        produce(args, problems, stats, client_errors)
    else:
        consume(args, problems, stats, client_errors)
    stats['clientErrors'] = client_errors
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}), flush=True)


if __name__ == '__main__':
    main()
