#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2): message size limits against an Eddy broker.

1. A ~990 KB message (below both librdkafka's message.max.bytes and the broker's 1048588) is delivered and
   read back whole.
2. A 1.5 MB message, allowed by the client (message.max.bytes=2000000), is refused by the broker: the delivery
   report carries MSG_SIZE_TOO_LARGE ("Broker: Message size too large") and nothing is stored.
Prints {"ok", "problems", "stats"} as JSON.

Usage: limits.py --bootstrap 127.0.0.1:PORT --topic T   (T: an existing 1-partition topic)
"""
import argparse
import json
import sys

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    reports = []
    producer = Producer({
        'bootstrap.servers': args.bootstrap,
        'acks': 'all',
        'message.max.bytes': 2000000,
        'message.timeout.ms': 30000,
        'retries': 0,
    })
    big = bytes((i * 7) % 256 for i in range(990 * 1024))
    too_big = b'x' * (1500 * 1024)
    producer.produce(args.topic, partition=0, key=b'big', value=big,
                     on_delivery=lambda err, msg: reports.append(('big', err, msg.offset())))
    producer.flush(30)
    producer.produce(args.topic, partition=0, key=b'too-big', value=too_big,
                     on_delivery=lambda err, msg: reports.append(('too-big', err, msg.offset())))
    producer.flush(30)
    stats['reports'] = [(name, str(err), off) for (name, err, off) in reports]
    by_name = {name: (err, off) for (name, err, off) in reports}
    if 'big' not in by_name or by_name['big'][0] is not None or by_name['big'][1] != 0:
        problems.append('990 KB message: expected delivery at offset 0, got %r' % (by_name.get('big'),))
    err = by_name.get('too-big', (None, None))[0]
    if err is None or err.code() != KafkaError.MSG_SIZE_TOO_LARGE:
        problems.append('1.5 MB message: expected MSG_SIZE_TOO_LARGE, got %r' % (by_name.get('too-big'),))

    c = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'compat-confluent-limits-unused',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'check.crcs': True,
    })
    lo, hi = c.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10)
    stats['watermarks'] = [lo, hi]
    if (lo, hi) != (0, 1):
        problems.append('expected watermarks (0, 1) (only the 990 KB message stored), got (%d, %d)' % (lo, hi))
    c.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
    got = None
    for _ in range(100):
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error() is None:
            got = m
            break
        if m.error().code() != KafkaError._PARTITION_EOF:
            problems.append('consumer error %s' % m.error())
            break
    c.close()
    if got is None or got.value() != big or got.key() != b'big':
        problems.append('990 KB message not read back intact (len %s)' % (len(got.value()) if got is not None else None))
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
