#!/usr/bin/python3
"""kafka-python 2.0.2 consumer group against an Eddy broker: commit and resume (driven by groups.test.ts).

Produces N messages; a KafkaConsumer(group_id=G, enable_auto_commit=False) consumes about half, commit()s
synchronously (OffsetCommit v2) and closes (LeaveGroup v1); committed() (OffsetFetch v1) shows those positions;
a second KafkaConsumer in the same group resumes exactly there (JoinGroup v2, SyncGroup v1, Heartbeat v1) and
consumes the rest. Checks: every message exactly once across both, the second consumer's first offset per
partition equals the first one's commit. Prints {"ok", "problems", "stats"} as JSON. Every wait is bounded.

Usage: groups.py --bootstrap 127.0.0.1:PORT --topic T --group G --count N
"""
import argparse
import json
import logging
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def consumer(bootstrap, group):
    return KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id='compat-kpy-group',
        enable_auto_commit=False,
        auto_offset_reset='earliest',
        session_timeout_ms=6000,
        heartbeat_interval_ms=1000,
        max_poll_records=50,
        consumer_timeout_ms=1000,
    )


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--group', required=True)
    ap.add_argument('--count', type=int, default=1000)
    ap.add_argument('--timeout', type=float, default=120.0)
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    deadline = time.monotonic() + args.timeout
    problems = []
    stats = {}

    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks='all')
    for i in range(args.count):
        producer.send(args.topic, key=b'k%d' % i, value=b'%d' % i)
    producer.flush(timeout=30)
    producer.close()

    seen = {}  # value -> (partition, offset)
    duplicates = []

    def take(records):
        for r in records:
            if r.value in seen:
                duplicates.append(r.value.decode())
            seen[r.value] = (r.partition, r.offset)

    # Phase 1: consume about half, commit synchronously, close.
    c1 = consumer(args.bootstrap, args.group)
    c1.subscribe([args.topic])
    half = args.count // 2
    while len(seen) < half and time.monotonic() < deadline:
        for records in c1.poll(timeout_ms=500).values():
            take(records)
    first_phase = len(seen)
    assignment = sorted(tp.partition for tp in c1.assignment())
    positions = {tp.partition: c1.position(tp) for tp in c1.assignment()}
    c1.commit()
    committed = {p: c1.committed(TopicPartition(args.topic, p)) for p in assignment}
    c1.close(autocommit=False)
    stats['phase1'] = {'consumed': first_phase, 'assignment': assignment, 'committed': committed}
    if committed != positions:
        problems.append('committed %r != positions %r' % (committed, positions))

    # Phase 2: a new consumer in the same group resumes from the committed offsets.
    c2 = consumer(args.bootstrap, args.group)
    c2.subscribe([args.topic])
    first_offsets = {}
    while len(seen) < args.count and time.monotonic() < deadline:
        for tp, records in c2.poll(timeout_ms=500).items():
            if records and tp.partition not in first_offsets:
                first_offsets[tp.partition] = records[0].offset
            take(records)
    resumed_committed = {p: c2.committed(TopicPartition(args.topic, p)) for p in assignment}
    c2.commit()
    c2.close(autocommit=False)
    stats['phase2'] = {'consumed': len(seen) - first_phase, 'first_offsets': first_offsets}

    if resumed_committed != committed:
        problems.append('second consumer sees committed %r, expected %r' % (resumed_committed, committed))
    for p, off in first_offsets.items():
        if committed.get(p) is not None and off != committed[p]:
            problems.append('partition %d resumed at %d, committed %d' % (p, off, committed[p]))
    if duplicates:
        problems.append('%d duplicates, e.g. %r' % (len(duplicates), duplicates[:5]))
    missing = [i for i in range(args.count) if b'%d' % i not in seen]
    if missing:
        problems.append('%d messages never consumed, e.g. %r' % (len(missing), missing[:5]))
    if first_phase == 0 or first_phase >= args.count:
        problems.append('phase 1 consumed %d of %d: the resume was not exercised' % (first_phase, args.count))

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))


if __name__ == '__main__':
    main()
