#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) round trip against an Eddy broker.

Producer (acks=all) sends N keyed messages with headers and records each delivery report; a Consumer with
assign() at OFFSET_BEGINNING (group.id is mandatory in the config even without subscribe; nothing is
committed) reads them back; the two are compared byte for byte. Prints {"ok", "problems", "stats"} as JSON.

Usage: roundtrip.py --bootstrap 127.0.0.1:PORT --topic T --count N [--compression none|gzip|snappy|lz4|zstd]
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

SAMPLES = 5


def make_value(i):
    if i % 97 == 3:
        return None
    if i % 89 == 5:
        return b''
    length = (i * 7919) % 900 if i % 500 != 11 else 30000 + i % 1000
    return b'#%d|' % i + bytes(((i * 13 + j * 5) % 256) for j in range(length))


def make_key(i):
    if i % 61 == 9:
        return None
    if i % 67 == 4:
        return b''  # empty, not null
    return ('ключ-%d' % (i % 41)).encode('utf-8')


def make_headers(i):
    headers = [('idx', str(i).encode()), ('bin', bytes([0, 1, 255, i % 256]))]
    if i % 4 == 0:
        headers.append(('dup', b'a'))
        headers.append(('dup', b'b'))
    # No None header values: confluent-kafka 1.7.0 then aborts the interpreter at exit with a refcount error
    # (client bug, compat/FINDINGS.md F2).
    return headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, default=5000)
    ap.add_argument('--compression', default='none')
    ap.add_argument('--partitions', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=120.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    problems, stats, log = [], {}, []

    def on_error(err):
        log.append(str(err))

    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'acks': 'all',
        'compression.type': args.compression,
        'linger.ms': 5,
        'message.timeout.ms': 60000,
        'error_cb': on_error,
    })
    acked, failed = {}, []

    # Headers are not available in a delivery report (librdkafka hands them over on produce), so each
    # callback is bound to its message index.
    def on_delivery(i, err, msg):
        if err is not None:
            failed.append('#%d: %s' % (i, err))
        else:
            acked[i] = (msg.partition(), msg.offset())

    for i in range(args.count):
        while True:
            try:
                producer.produce(args.topic, key=make_key(i), value=make_value(i), headers=make_headers(i),
                                 on_delivery=lambda err, msg, i=i: on_delivery(i, err, msg))
                break
            except BufferError:
                producer.poll(0.1)
                if time.monotonic() > deadline:
                    raise
        producer.poll(0)
    remaining = producer.flush(max(1.0, deadline - time.monotonic()))
    if remaining:
        problems.append('%d messages still undelivered after flush' % remaining)
    if failed:
        problems.append('%d deliveries failed, e.g. %s' % (len(failed), '; '.join(failed[:SAMPLES])))
    stats['acked'] = len(acked)

    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'compat-confluent-unused',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'auto.offset.reset': 'earliest',
        'check.crcs': True,
        'fetch.wait.max.ms': 100,
        'error_cb': on_error,
    })
    md = consumer.list_topics(args.topic, timeout=max(1.0, min(30.0, deadline - time.monotonic())))
    tmd = md.topics.get(args.topic)
    parts = sorted(tmd.partitions.keys()) if tmd is not None and tmd.error is None else []
    stats['partitions'] = parts
    if len(parts) != args.partitions:
        problems.append('expected %d partitions, metadata has %s (%s)' % (
            args.partitions, parts, tmd.error if tmd is not None else 'no topic'))
    watermarks = {}
    for p in parts:
        lo, hi = consumer.get_watermark_offsets(TopicPartition(args.topic, p), timeout=10)
        watermarks[str(p)] = [lo, hi]
    stats['watermarks'] = watermarks
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in parts])
    consumed = []
    errors = []
    while len(consumed) < len(acked) and time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() != KafkaError._PARTITION_EOF:
                errors.append(str(msg.error()))
            continue
        consumed.append((msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers() or []))
    consumer.close()
    stats['consumed'] = len(consumed)
    if errors:
        problems.append('%d consumer errors, e.g. %s' % (len(errors), '; '.join(errors[:SAMPLES])))
    if len(consumed) < len(acked):
        problems.append('consumed only %d of %d before the deadline' % (len(consumed), len(acked)))

    seen = {}
    mismatches, unknown, dups = [], [], []
    for (p, o, k, v, h) in consumed:
        i = int(dict(h).get('idx', b'-1').decode())
        if i not in acked:
            unknown.append('p%d@%d' % (p, o))
            continue
        if i in seen:
            dups.append('#%d at %s and p%d@%d' % (i, seen[i], p, o))
        seen[i] = (p, o)
        if acked[i] != (p, o):
            mismatches.append('#%d acked at %s, read at p%d@%d' % (i, acked[i], p, o))
        elif (k, v, list(h)) != (make_key(i), make_value(i), make_headers(i)):
            mismatches.append('#%d at p%d@%d: key %r/%r value-equal %s headers %r/%r' % (
                i, p, o, k, make_key(i), v == make_value(i), h, make_headers(i)))
    missing = [i for i in acked if i not in seen]
    for name, items in (('unknown records', unknown), ('duplicates', dups), ('mismatches', mismatches),
                        ('missing', ['#%d' % i for i in missing])):
        if items:
            problems.append('%d %s, e.g. %s' % (len(items), name, '; '.join(items[:SAMPLES])))
    by_part = {}
    for (p, o, *_rest) in consumed:
        by_part.setdefault(p, []).append(o)
    for p, offsets in sorted(by_part.items()):
        offsets.sort()
        if offsets != list(range(len(offsets))):
            problems.append('partition %d offsets not contiguous from 0: first %s' % (p, offsets[:10]))
        if watermarks.get(str(p), [None, None])[1] != len(offsets):
            problems.append('partition %d: high watermark %s but %d records' % (p, watermarks.get(str(p)), len(offsets)))
    stats['per_partition'] = {str(p): len(o) for p, o in sorted(by_part.items())}
    stats['client_errors'] = log[:SAMPLES]
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
