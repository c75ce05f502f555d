#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2): positioned reads against an Eddy broker.

On a topic that already holds data (written by roundtrip.py):
  1. full read from OFFSET_BEGINNING (reference copy);
  2. assign() at an offset in the middle of each partition: the records from there to the end are exactly
     offsets start..high watermark-1 and equal the reference copy;
  3. an offset past the high watermark with auto.offset.reset=earliest restarts at 0 (Fetch answers
     OFFSET_OUT_OF_RANGE, librdkafka resets through ListOffsets);
  4. the same with auto.offset.reset=error surfaces the out-of-range error to the application;
  5. assign() at OFFSET_END, then produce: exactly the new records arrive (ListOffsets latest + long-poll Fetch).
Prints {"ok", "problems", "stats"} as JSON. Every wait is bounded.

Usage: seek.py --bootstrap 127.0.0.1:PORT --topic T
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError, Producer, TopicPartition


def consumer(bootstrap, reset='earliest'):
    return Consumer({
        'bootstrap.servers': bootstrap,
        'group.id': 'compat-confluent-seek-unused',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
        'auto.offset.reset': reset,
        'enable.partition.eof': True,
        'fetch.wait.max.ms': 100,
    })


def read(c, want, deadline, stop_at_eof=None):
    """Polls until `want` records arrived or every partition in stop_at_eof hit EOF; returns (records, errors)."""
    records, errors, eof = [], [], set()
    while len(records) < want and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is None:
            continue
        if m.error() is not None:
            if m.error().code() == KafkaError._PARTITION_EOF:
                eof.add(m.partition())
                if stop_at_eof is not None and stop_at_eof <= eof:
                    break
            else:
                errors.append(m.error())
            continue
        records.append((m.partition(), m.offset(), m.key(), m.value(), m.headers() or []))
    return records, errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--timeout', type=float, default=90.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    problems, stats = [], {}
    t = args.topic

    c = consumer(args.bootstrap)
    md = c.list_topics(t, timeout=10)
    parts = sorted(md.topics[t].partitions.keys())
    hw = {p: c.get_watermark_offsets(TopicPartition(t, p), timeout=10)[1] for p in parts}
    stats['high_watermarks'] = {str(p): h for p, h in hw.items()}
    c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for p in parts])
    full, errors = read(c, sum(hw.values()), deadline, stop_at_eof=set(p for p in parts if hw[p] > 0))
    c.close()
    ref = {(p, o): (k, v, h) for (p, o, k, v, h) in full}
    if errors or len(ref) != sum(hw.values()):
        problems.append('reference read: %d of %d records, errors %s' % (len(ref), sum(hw.values()), errors[:3]))

    # 2. middle offsets
    c = consumer(args.bootstrap)
    starts = {p: hw[p] // 2 + 1 for p in parts if hw[p] > 2}
    c.assign([TopicPartition(t, p, o) for p, o in starts.items()])
    # Read each partition from its start offset to its end (partition EOF).
    want = sum(hw[p] - o for p, o in starts.items())
    got, errors = read(c, want, deadline, stop_at_eof=set(starts))
    c.close()
    by_p = {}
    for (p, o, k, v, h) in got:
        by_p.setdefault(p, []).append((o, k, v, h))
    for p, o0 in starts.items():
        recs = by_p.get(p, [])
        if not recs or recs[0][0] != o0:
            problems.append('partition %d assigned at %d but first record is %s' % (p, o0, recs[0][0] if recs else None))
            continue
        offs = [r[0] for r in recs]
        if offs != list(range(o0, hw[p])):
            problems.append('partition %d: offsets after %d not contiguous: %s' % (p, o0, offs[:10]))
        bad = [o for (o, k, v, h) in recs if ref.get((p, o)) != (k, v, h)]
        if bad:
            problems.append('partition %d: %d records differ from the full read, e.g. offset %d' % (p, len(bad), bad[0]))
    if errors:
        problems.append('middle reads: errors %s' % errors[:3])
    stats['middle_read'] = len(got)

    # 3. out of range -> earliest
    p0 = parts[0]
    c = consumer(args.bootstrap, reset='earliest')
    c.assign([TopicPartition(t, p0, hw[p0] + 1000)])
    got, errors = read(c, 1, deadline)
    c.close()
    stats['reset_earliest_first'] = got[0][1] if got else None
    if not got or got[0][1] != 0:
        problems.append('offset past the end with auto.offset.reset=earliest: first record %s, errors %s' % (
            got[0][1] if got else None, errors[:3]))

    # 4. out of range -> error
    c = consumer(args.bootstrap, reset='error')
    c.assign([TopicPartition(t, p0, hw[p0] + 1000)])
    errs = []
    while not errs and time.monotonic() < deadline:
        m = c.poll(0.2)
        if m is not None and m.error() is not None and m.error().code() != KafkaError._PARTITION_EOF:
            errs.append(m.error())
        elif m is not None and m.error() is None:
            problems.append('auto.offset.reset=error delivered a record at offset %d' % m.offset())
            break
    c.close()
    stats['reset_error'] = str(errs[0]) if errs else None
    if not errs or errs[0].code() != KafkaError._AUTO_OFFSET_RESET or 'out of range' not in errs[0].str().lower():
        problems.append('auto.offset.reset=error: expected _AUTO_OFFSET_RESET "Offset out of range", got %s' % (
            [str(e) for e in errs],))

    # 5. OFFSET_END then produce
    c = consumer(args.bootstrap)
    c.assign([TopicPartition(t, p0, OFFSET_END)])
    # Let the consumer resolve OFFSET_END (ListOffsets) and start fetching before anything new is written.
    settle = time.monotonic() + 1.5
    early = []
    while time.monotonic() < settle:
        m = c.poll(0.1)
        if m is not None and m.error() is None:
            early.append(m.offset())
    producer = Producer({'bootstrap.servers': args.bootstrap, 'acks': 'all'})
    for i in range(5):
        producer.produce(t, partition=p0, key=b'end', value=b'after-end-%d' % i)
    producer.flush(10)
    got, errors = read(c, 5, deadline)
    c.close()
    stats['offset_end_read'] = [(o, v.decode()) for (_p, o, _k, v, _h) in got]
    expected = [(hw[p0] + i, 'after-end-%d' % i) for i in range(5)]
    if early or stats['offset_end_read'] != expected:
        problems.append('OFFSET_END: expected %s, got %s (before producing: %s)' % (expected, stats['offset_end_read'], early))

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}, default=str))
    return 0


if __name__ == '__main__':
    sys.exit(main())
