#!/usr/bin/python3
"""kafka-python 2.0.2 round trip against an Eddy broker (driven by kafka-python.test.ts).

Produces N keyed messages with headers (KafkaProducer, acks='all'), checks every future, then reads the topic
back with a group-less KafkaConsumer (assign + seek_to_beginning) and compares byte for byte. Prints one JSON
object on stdout: {"ok": bool, "problems": [...], "stats": {...}}. Every wait is bounded.

Usage: roundtrip.py --bootstrap 127.0.0.1:PORT --topic T --count N [--compression none|gzip] [--partitions P]
       [--max-partition-fetch-bytes B]
"""
import argparse
import json
import logging
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

SAMPLES = 5


def make_value(i):
    """Binary-safe values of varied length: every byte value occurs; some empty, some null (tombstones)."""
    if i % 97 == 3:
        return None
    if i % 89 == 5:
        return b''
    length = (i * 7919) % 700 if i % 500 != 11 else 20000 + i % 1000
    prefix = b'#%d|' % i
    return prefix + bytes(((i * 31 + j * 7) % 256) for j in range(length))


def make_key(i):
    if i % 61 == 9:
        return None
    if i % 67 == 4:
        return b''  # empty, not null
    return ('key-%d-ü' % (i % 37)).encode('utf-8')


def make_headers(i):
    headers = [('idx', str(i).encode()), ('bin', bytes([0, 255, i % 256, 10, 13]))]
    if i % 3 == 0:
        headers.append(('empty', b''))
    return headers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--count', type=int, default=2000)
    ap.add_argument('--compression', default='none')
    ap.add_argument('--partitions', type=int, default=3)
    ap.add_argument('--timeout', type=float, default=90.0)
    ap.add_argument('--max-partition-fetch-bytes', type=int, default=1048576)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    deadline = time.monotonic() + args.timeout
    problems = []
    stats = {}

    producer = KafkaProducer(
        bootstrap_servers=args.bootstrap,
        acks='all',
        compression_type=None if args.compression == 'none' else args.compression,
        linger_ms=5,
        request_timeout_ms=30000,
        api_version_auto_timeout_ms=10000,
        max_block_ms=30000,
    )
    stats['api_version'] = '.'.join(str(x) for x in producer.config['api_version'])
    futures = []
    for i in range(args.count):
        futures.append(producer.send(args.topic, key=make_key(i), value=make_value(i), headers=make_headers(i)))
    producer.flush(timeout=max(1.0, deadline - time.monotonic()))
    acked = {}  # index -> (partition, offset)
    failed = []
    for i, f in enumerate(futures):
        try:
            md = f.get(timeout=max(0.1, deadline - time.monotonic()))
            acked[i] = (md.partition, md.offset)
        except Exception as e:  # noqa: BLE001 - report every failed send
            failed.append('#%d: %r' % (i, e))
    producer.close(timeout=10)
    if failed:
        problems.append('%d sends failed, e.g. %s' % (len(failed), '; '.join(failed[:SAMPLES])))
    stats['acked'] = len(acked)

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset='earliest',
        api_version_auto_timeout_ms=10000,
        request_timeout_ms=30000,
        fetch_max_wait_ms=100,
        max_partition_fetch_bytes=args.max_partition_fetch_bytes,
        fetch_max_bytes=max(args.max_partition_fetch_bytes, 1024),
        check_crcs=True,
    )
    parts = None
    while parts is None and time.monotonic() < deadline:
        parts = consumer.partitions_for_topic(args.topic)
        if parts is None:
            time.sleep(0.1)
    if parts is None:
        problems.append('consumer never saw metadata for %s' % args.topic)
        parts = set()
    stats['partitions'] = sorted(parts)
    if len(parts) != args.partitions:
        problems.append('expected %d partitions, metadata has %s' % (args.partitions, sorted(parts)))
    tps = [TopicPartition(args.topic, p) for p in sorted(parts)]
    consumed = []
    if tps:
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        end_offsets = consumer.end_offsets(tps)
        begin_offsets = consumer.beginning_offsets(tps)
        stats['end_offsets'] = {str(tp.partition): o for tp, o in end_offsets.items()}
        stats['beginning_offsets'] = {str(tp.partition): o for tp, o in begin_offsets.items()}
        while len(consumed) < len(acked) and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for _tp, recs in batch.items():
                consumed.extend(recs)
        if len(consumed) < len(acked):
            problems.append('consumed only %d of %d before the deadline' % (len(consumed), len(acked)))
    consumer.close()
    stats['consumed'] = len(consumed)

    # Compare: position, key, value, headers.
    seen = {}
    mismatches, unknown, dups = [], [], []
    for r in consumed:
        hdr = dict(r.headers)
        try:
            i = int(hdr.get('idx', b'-1').decode())
        except ValueError:
            i = -1
        if i not in acked:
            unknown.append('p%d@%d' % (r.partition, r.offset))
            continue
        if i in seen:
            dups.append('#%d at p%d@%d and p%d@%d' % ((i,) + seen[i] + (r.partition, r.offset)))
        seen[i] = (r.partition, r.offset)
        want = (make_key(i), make_value(i), make_headers(i))
        got = (r.key, r.value, [(k, v) for k, v in r.headers])
        if acked[i] != (r.partition, r.offset):
            mismatches.append('#%d acked at %s, read at p%d@%d' % (i, acked[i], r.partition, r.offset))
        elif got != want:
            mismatches.append('#%d at p%d@%d: key %r/%r value-equal %s headers %r/%r' % (
                i, r.partition, r.offset, got[0], want[0], got[1] == want[1], got[2], want[2]))
    missing = [i for i in acked if i not in seen]
    for name, items in (('unknown records', unknown), ('duplicates', dups), ('mismatches', mismatches),
                        ('missing', ['#%d' % i for i in missing])):
        if items:
            problems.append('%d %s, e.g. %s' % (len(items), name, '; '.join(items[:SAMPLES])))

    # Offsets contiguous from 0 per partition, and they match the end offsets.
    by_part = {}
    for r in consumed:
        by_part.setdefault(r.partition, []).append(r.offset)
    for p, offsets in sorted(by_part.items()):
        offsets.sort()
        if offsets != list(range(len(offsets))):
            problems.append('partition %d offsets not contiguous from 0: first %s' % (p, offsets[:10]))
        end = stats.get('end_offsets', {}).get(str(p))
        if end != len(offsets):
            problems.append('partition %d: end offset %s but %d records' % (p, end, len(offsets)))
    stats['per_partition'] = {str(p): len(o) for p, o in sorted(by_part.items())}

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
