#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) idempotent producer against an Eddy broker (issue 9).

A Producer with enable.idempotence=true sends N keyed messages (value b'#<i>|...', header idx=<i>) at a steady
pace, so that the test driving it has time to drop its connections or kill the broker mid-run. Every 1000
delivery reports it prints `progress <acked>` (the test reacts to these). Then a Consumer (assign() at
OFFSET_BEGINNING, nothing committed) reads every partition to the end and the script checks: every message
delivered and present exactly once, at its acknowledged (partition, offset), offsets contiguous from 0, and per
partition the messages in offset order are in send order. Prints {"ok", "problems", "stats"} as its last line.

Usage: idempotence.py --bootstrap 127.0.0.1:PORT --topic T --count N --partitions P [--rate MSGS_PER_S]
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

SAMPLES = 5


def make_value(i):
    return b'#%d|' % i + bytes(((i * 31 + j * 7) % 256) for j in range((i * 7919) % 120))


def make_key(i):
    return b'key-%d' % (i % 211)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, default=50000)
    ap.add_argument('--partitions', type=int, default=3)
    ap.add_argument('--rate', type=float, default=8000.0)
    ap.add_argument('--timeout', type=float, default=75.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    problems, stats, client_errors = [], {}, []

    def on_error(err):
        client_errors.append(str(err))

    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'enable.idempotence': True,
        'linger.ms': 5,
        'batch.num.messages': 500,
        'message.timeout.ms': 60000,
        'reconnect.backoff.ms': 50,
        'reconnect.backoff.max.ms': 500,
        'retry.backoff.ms': 50,
        'socket.timeout.ms': 10000,
        'error_cb': on_error,
    })
    acked, failed = {}, []
    state = {'reported': 0}

    def on_delivery(i, err, msg):
        if err is not None:
            failed.append('#%d: %s' % (i, err))
        else:
            acked[i] = (msg.partition(), msg.offset())
            if len(acked) - state['reported'] >= 1000:
                state['reported'] = len(acked)
                print('progress %d' % len(acked), flush=True)

    start = time.monotonic()
    for i in range(args.count):
        # Steady pace: message i is not handed over before start + i / rate.
        due = start + i / args.rate
        while time.monotonic() < due:
            producer.poll(min(0.01, max(0.0, due - time.monotonic())))
        while True:
            try:
                producer.produce(args.topic, key=make_key(i), value=make_value(i), headers=[('idx', str(i).encode())],
                                 on_delivery=lambda err, msg, i=i: on_delivery(i, err, msg))
                break
            except BufferError:
                producer.poll(0.05)
                if time.monotonic() > deadline:
                    raise
        producer.poll(0)
    remaining = producer.flush(max(1.0, deadline - time.monotonic()))
    stats['produce_seconds'] = round(time.monotonic() - start, 2)
    if remaining:
        problems.append('%d messages still undelivered after flush' % remaining)
    if failed:
        problems.append('%d deliveries failed, e.g. %s' % (len(failed), '; '.join(failed[:SAMPLES])))
    stats['acked'] = len(acked)
    print('produced %d' % len(acked), flush=True)

    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'compat-idempotence-unused',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'auto.offset.reset': 'earliest',
        'enable.partition.eof': True,
        'check.crcs': True,
        'fetch.wait.max.ms': 100,
        'error_cb': on_error,
    })
    parts = list(range(args.partitions))
    watermarks = {}
    for p in parts:
        lo, hi = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)
        watermarks[p] = hi
    stats['watermarks'] = {str(p): hi for p, hi in watermarks.items()}
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in parts])
    consumed = []
    consumer_errors = []
    at_eof = set()
    while len(at_eof) < len(parts) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                if msg.offset() >= watermarks[msg.partition()]:
                    at_eof.add(msg.partition())
            else:
                consumer_errors.append(str(msg.error()))
            continue
        consumed.append((msg.partition(), msg.offset(), msg.key(), msg.value(), dict(msg.headers() or [])))
    consumer.close()
    stats['consumed'] = len(consumed)
    if consumer_errors:
        problems.append('%d consumer errors, e.g. %s' % (len(consumer_errors), '; '.join(consumer_errors[:SAMPLES])))
    if len(at_eof) < len(parts):
        problems.append('did not reach the end of partitions %s before the deadline' % sorted(set(parts) - at_eof))

    seen = {}
    unknown, dups, misplaced, corrupt = [], [], [], []
    by_part = {}
    for (p, o, k, v, h) in consumed:
        i = int(h.get('idx', b'-1').decode())
        if i < 0 or i >= args.count:
            unknown.append('p%d@%d' % (p, o))
            continue
        if i in seen:
            dups.append('#%d at p%d@%d and p%d@%d' % (i, seen[i][0], seen[i][1], p, o))
        seen[i] = (p, o)
        if (k, v) != (make_key(i), make_value(i)):
            corrupt.append('#%d at p%d@%d' % (i, p, o))
        if i in acked and acked[i] != (p, o):
            misplaced.append('#%d acked at p%d@%d, read at p%d@%d' % (i, acked[i][0], acked[i][1], p, o))
        by_part.setdefault(p, []).append((o, i))
    missing = [i for i in range(args.count) if i not in seen]
    for name, items in (('unknown records', unknown), ('duplicates', dups), ('not at their acknowledged offset', misplaced),
                        ('with wrong key or value', corrupt), ('missing', ['#%d' % i for i in missing])):
        if items:
            problems.append('%d %s, e.g. %s' % (len(items), name, '; '.join(items[:SAMPLES])))
    reordered = []
    for p, entries in sorted(by_part.items()):
        entries.sort()
        offsets = [o for o, _ in entries]
        if offsets != list(range(len(offsets))):
            problems.append('partition %d offsets not contiguous from 0: first %s' % (p, offsets[:10]))
        if watermarks.get(p) != len(offsets):
            problems.append('partition %d: high watermark %s but %d records' % (p, watermarks.get(p), len(offsets)))
        # Send order: a message sent later to the same partition has a higher offset.
        for (o1, i1), (o2, i2) in zip(entries, entries[1:]):
            if i2 < i1 and len(reordered) < SAMPLES:
                reordered.append('p%d: #%d@%d after #%d@%d' % (p, i2, o2, i1, o1))
    if reordered:
        problems.append('send order broken: %s' % '; '.join(reordered))
    stats['per_partition'] = {str(p): len(e) for p, e in sorted(by_part.items())}
    stats['client_errors'] = client_errors[:SAMPLES]
    stats['client_error_count'] = len(client_errors)
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
