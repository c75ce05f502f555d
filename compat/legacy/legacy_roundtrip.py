#!/usr/bin/python3
"""kafka-python 2.0.2 pinned to an old broker version, so it speaks the legacy message formats (issue 12), against
an Eddy broker (driven by legacy-formats.test.ts).

- produce: KafkaProducer(api_version=V) sends --count keyed messages (null and empty keys and values included,
  CreateTime timestamps for magic 1): api_version (0, 10, 0) writes magic-1 message sets with Produce v2, (0, 9)
  magic 0 with Produce v1; with --compression gzip each batch is one wrapper with nested inner messages. Every future
  is checked; the (partition, offset) of each message is written to --acks-file as JSON lines.
- consume: KafkaConsumer(api_version=V, group_id=None) assign + seek_to_beginning reads --count messages
  (Fetch v2 reads magic 1, Fetch v1 magic 0: Eddy down-converts) and writes them to --out as JSON lines
  (partition, offset, key, value hex, timestamp).
Prints {"ok", "problems", "stats"} as JSON.

Usage: legacy_roundtrip.py produce|consume --bootstrap H:P --topic T --api-version 0.10.0 --count N
       [--compression none|gzip] [--acks-file F] [--out F] [--max-partition-fetch-bytes B]
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def message(i):
    """The i-th message: key, value (UTF-8 text, so kcat -J can print it), timestamp (ms). Every 97th (from 1) has a
    null key, every 89th a null value (unless its key is null: kafka-python needs one), every 53rd an empty key, every 61st an empty value."""
    key = None if i % 97 == 1 else (b'' if i % 53 == 0 else ('key-%d' % i).encode())
    value = None if i % 89 == 0 and key is not None else (b'' if i % 61 == 0 else ('value-%d|' % i + 'ab\u00e9\u65e5:' * (i % 40)).encode())
    return key, value, 1_700_000_000_000 + i


def produce(args, problems, stats):
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, api_version=args.api_version, acks='all',
                             compression_type=None if args.compression == 'none' else args.compression,
                             linger_ms=5, retries=0)
    futures = []
    for i in range(args.count):
        key, value, ts = message(i)
        futures.append(producer.send(args.topic, key=key, value=value, timestamp_ms=ts, partition=i % 3))
    producer.flush(60)
    acked = []
    for i, f in enumerate(futures):
        try:
            md = f.get(timeout=30)
            acked.append({'i': i, 'partition': md.partition, 'offset': md.offset})
        except Exception as e:  # noqa: BLE001 - every failure is a problem to report
            problems.append('message %d: %r' % (i, e))
    producer.close(10)
    with open(args.acks_file, 'w') as fh:
        for a in acked:
            fh.write(json.dumps(a) + '\n')
    stats['acked'] = len(acked)


def consume(args, problems, stats):
    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, api_version=args.api_version, group_id=None,
                             enable_auto_commit=False, check_crcs=True,
                             max_partition_fetch_bytes=args.max_partition_fetch_bytes)
    parts = [TopicPartition(args.topic, p) for p in range(3)]
    consumer.assign(parts)
    consumer.seek_to_beginning(*parts)
    got = []
    deadline = time.monotonic() + 60
    while len(got) < args.count and time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            for r in records:
                got.append({'partition': tp.partition, 'offset': r.offset,
                            'key': None if r.key is None else r.key.hex(),
                            'value': None if r.value is None else r.value.hex(),
                            'timestamp': r.timestamp, 'timestamp_type': r.timestamp_type})
    consumer.close()
    if len(got) != args.count:
        problems.append('consumed %d of %d' % (len(got), args.count))
    with open(args.out, 'w') as fh:
        for g in got:
            fh.write(json.dumps(g) + '\n')
    stats['consumed'] = len(got)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['produce', 'consume'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--api-version', required=True)
    ap.add_argument('--count', type=int, required=True)
    ap.add_argument('--compression', default='none')
    ap.add_argument('--acks-file')
    ap.add_argument('--out')
    ap.add_argument('--max-partition-fetch-bytes', type=int, default=1048576)
    args = ap.parse_args()
    args.api_version = tuple(int(x) for x in args.api_version.split('.'))
    problems, stats = [], {}
    if args.mode == 'produce':
        produce(args, problems, stats)
    else:
        consume(args, problems, stats)
    print(json.dumps({'ok': not problems, 'problems': problems[:20], 'stats': stats}))


if __name__ == '__main__':
    sys.exit(main())
