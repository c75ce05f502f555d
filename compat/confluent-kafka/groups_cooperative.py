#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) cooperative-sticky group through a member joining and leaving.

Phases (each produces a third of N messages with a Producer, acks=all):
  1. C1 alone (partition.assignment.strategy=cooperative-sticky) owns every partition and consumes phase 1.
  2. C2 joins: the cooperative protocol takes partitions from C1 incrementally (C1's on_revoke gets only the
     moved ones, in a second rebalance round) until each owns half; both consume phase 2.
  3. C2 closes cleanly (revoke, LeaveGroup); C1 gets C2's partitions back incrementally and consumes phase 3.
Every message is committed synchronously right after it is processed, so across the group each message must be
consumed exactly once. Prints {"ok", "problems", "stats"} as JSON. Every wait is bounded.

Usage: groups_cooperative.py --bootstrap 127.0.0.1:PORT --topic T --group G --partitions P --count N
"""
import argparse
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    ap.add_argument('--group', required=True)
    ap.add_argument('--partitions', type=int, default=4)
    ap.add_argument('--count', type=int, default=3000)
    ap.add_argument('--timeout', type=float, default=150.0)
    args = ap.parse_args()
    deadline = time.monotonic() + args.timeout
    problems = []
    stats = {'events': []}
    all_partitions = set(range(args.partitions))

    producer = Producer({'bootstrap.servers': args.bootstrap, 'acks': 'all'})

    def produce(start, end):
        for i in range(start, end):
            producer.produce(args.topic, key=b'k%d' % i, value=b'%d' % i)
            producer.poll(0)
        if producer.flush(30) != 0:
            problems.append('producer did not flush')

    owned = {'c1': set(), 'c2': set()}
    consumed = {}  # value -> consumer name
    duplicates = []

    def make(name):
        c = Consumer({
            'bootstrap.servers': args.bootstrap,
            'group.id': args.group,
            'client.id': 'compat-' + name,
            'partition.assignment.strategy': 'cooperative-sticky',
            'enable.auto.commit': False,
            'auto.offset.reset': 'earliest',
            'session.timeout.ms': 6000,
            'heartbeat.interval.ms': 500,
            'topic.metadata.refresh.interval.ms': 2000,
        })

        def on_assign(consumer, partitions):
            ps = sorted(p.partition for p in partitions)
            owned[name] |= set(ps)
            stats['events'].append([name, 'assign', ps])

        def on_revoke(consumer, partitions):
            ps = sorted(p.partition for p in partitions)
            owned[name] -= set(ps)
            stats['events'].append([name, 'revoke', ps])

        c.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
        return c

    def poll(name, c):
        msg = c.poll(0.05)
        if msg is None:
            return
        if msg.error():
            if msg.error().code() != KafkaError._PARTITION_EOF:
                problems.append('%s: %s' % (name, msg.error()))
            return
        if msg.value() in consumed:
            duplicates.append((msg.value().decode(), consumed[msg.value()], name))
        consumed[msg.value()] = name
        c.commit(message=msg, asynchronous=False)

    def run_until(members, predicate, what):
        while not predicate():
            if time.monotonic() > deadline:
                problems.append('timed out: %s (owned %r, consumed %d)' % (what, {k: sorted(v) for k, v in owned.items()}, len(consumed)))
                return False
            for name, c in members:
                poll(name, c)
        return True

    third = args.count // 3
    c1 = make('c1')
    ok = run_until([('c1', c1)], lambda: owned['c1'] == all_partitions, 'c1 owns every partition')
    produce(0, third)
    ok = ok and run_until([('c1', c1)], lambda: len(consumed) >= third, 'phase 1 consumed')

    c2 = make('c2')
    half = args.partitions // 2
    ok = ok and run_until([('c1', c1), ('c2', c2)], lambda: len(owned['c2']) == half and len(owned['c1']) == args.partitions - half, 'c2 takes half')
    revokes_c1 = [e for e in stats['events'] if e[0] == 'c1' and e[1] == 'revoke']
    # Incremental: C1 gave up only the moved partitions, never everything.
    if ok and not any(len(e[2]) < args.partitions for e in revokes_c1):
        problems.append('c1 revoked all its partitions: not an incremental (cooperative) rebalance: %r' % revokes_c1)
    produce(third, 2 * third)
    ok = ok and run_until([('c1', c1), ('c2', c2)], lambda: len(consumed) >= 2 * third, 'phase 2 consumed')
    stats['c2_consumed'] = sum(1 for v in consumed.values() if v == 'c2')

    c2.close()
    ok = ok and run_until([('c1', c1)], lambda: owned['c1'] == all_partitions, 'c1 gets everything back')
    produce(2 * third, args.count)
    ok = ok and run_until([('c1', c1)], lambda: len(consumed) >= args.count, 'phase 3 consumed')
    c1.close()

    stats['consumed'] = len(consumed)
    if duplicates:
        problems.append('%d duplicates, e.g. %r' % (len(duplicates), duplicates[:5]))
    missing = [i for i in range(args.count) if b'%d' % i not in consumed]
    if missing:
        problems.append('%d never consumed, e.g. %r' % (len(missing), missing[:5]))
    if stats['c2_consumed'] == 0:
        problems.append('c2 consumed nothing in phase 2')
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))


if __name__ == '__main__':
    main()
