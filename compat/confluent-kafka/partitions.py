#!/usr/bin/python3
"""confluent-kafka-python AdminClient (librdkafka) create_partitions against an Eddy broker, for issue 10 (driven by
partitions.test.ts).

- create_partitions grows a 2-partition topic to 5: list_topics shows 5 partitions, each led by this broker, and a
  Producer delivers to partition 4.
- validate_only=True succeeds and adds nothing.
- Kafka 3.9's refusals, with their messages: a smaller count and the same count (INVALID_PARTITIONS), an unknown
  topic (UNKNOWN_TOPIC_OR_PART), a replica assignment naming another broker and one with too few entries
  (INVALID_REPLICA_ASSIGNMENT).
- A replica assignment naming this broker for each new partition is accepted.
confluent-kafka 1.7.0 has no describe_cluster (added in 2.3.0). Prints {"ok", "problems", "stats"} as JSON.

Usage: partitions.py --bootstrap 127.0.0.1:PORT --prefix P
"""
import argparse
import json
import sys

from confluent_kafka import KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic


def outcome(futures, name):
    """(error code name or None, error string or None) of one topic's future."""
    try:
        futures[name].result(timeout=30)
        return None, None
    except KafkaException as e:
        err = e.args[0]
        return err.name(), err.str()


def grow(admin, name, count, assignment=None, validate_only=False):
    # 1.7.0 refuses replica_assignment=None: the keyword is given only with an assignment.
    partitions = NewPartitions(name, count) if assignment is None else NewPartitions(name, count, replica_assignment=assignment)
    futures = admin.create_partitions([partitions],
                                      validate_only=validate_only, operation_timeout=10, request_timeout=15)
    return outcome(futures, name)


def partitions_of(admin, name):
    md = admin.list_topics(topic=name, timeout=15)
    t = md.topics.get(name)
    if t is None or t.error is not None:
        return None
    return {p.id: (p.leader, list(p.replicas), list(p.isrs)) for p in t.partitions.values()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--prefix', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    admin = AdminClient({'bootstrap.servers': args.bootstrap, 'client.id': 'compat-confluent-partitions'})

    grown, fixed = args.prefix + '-grown', args.prefix + '-fixed'
    futures = admin.create_topics([NewTopic(grown, num_partitions=2, replication_factor=1),
                                   NewTopic(fixed, num_partitions=3, replication_factor=1)],
                                  operation_timeout=10, request_timeout=15)
    for name in (grown, fixed):
        code, msg = outcome(futures, name)
        if code is not None:
            problems.append('create_topics %s: %s %s' % (name, code, msg))

    code, msg = grow(admin, grown, 5)
    stats['grow'] = code or 'NO_ERROR'
    if code is not None:
        problems.append('create_partitions %s -> 5: %s %s' % (grown, code, msg))
    parts = partitions_of(admin, grown)
    stats['partitions after grow'] = sorted(parts) if parts else None
    if parts is None or sorted(parts) != [0, 1, 2, 3, 4]:
        problems.append('list_topics %s after growing: %r' % (grown, parts))
    elif any(v != (1, [1], [1]) for v in parts.values()):
        problems.append('partitions of %s not led by broker 1: %r' % (grown, parts))

    delivered = []
    producer = Producer({'bootstrap.servers': args.bootstrap, 'acks': 'all'})
    producer.produce(grown, value=b'on-4', partition=4, on_delivery=lambda err, m: delivered.append((err, m.partition(), m.offset())))
    producer.flush(30)
    stats['delivered'] = [(str(e) if e else None, p, o) for (e, p, o) in delivered]
    if len(delivered) != 1 or delivered[0][0] is not None or delivered[0][1:] != (4, 0):
        problems.append('produce to new partition 4: %r' % (stats['delivered'],))

    code, msg = grow(admin, fixed, 6, validate_only=True)
    stats['validate_only'] = code or 'NO_ERROR'
    if code is not None:
        problems.append('validate_only create_partitions: %s %s' % (code, msg))
    parts = partitions_of(admin, fixed)
    if parts is None or sorted(parts) != [0, 1, 2]:
        problems.append('validate_only changed %s: %r' % (fixed, parts))

    refused = [
        (fixed, 2, None, 'INVALID_PARTITIONS', 'The topic %s currently has 3 partition(s); 2 would not be an increase.' % fixed),
        (fixed, 3, None, 'INVALID_PARTITIONS', 'Topic already has 3 partition(s).'),
        (args.prefix + '-missing', 2, None, 'UNKNOWN_TOPIC_OR_PART', None),
        (fixed, 4, [[2]], 'INVALID_REPLICA_ASSIGNMENT',
         'The manual partition assignment includes broker 2, but no such broker is registered.'),
        (fixed, 5, [[1]], 'INVALID_REPLICA_ASSIGNMENT',
         'Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.'),
    ]
    for i, (name, count, assignment, want_code, want_msg) in enumerate(refused):
        code, msg = grow(admin, name, count, assignment)
        stats['refused-%d' % i] = [code, msg]
        if code != want_code or (want_msg is not None and msg != want_msg):
            problems.append('create_partitions %s -> %d %r: got %s %r, expected %s %r'
                            % (name, count, assignment, code, msg, want_code, want_msg))
    parts = partitions_of(admin, fixed)
    if parts is None or sorted(parts) != [0, 1, 2]:
        problems.append('refused growths changed %s: %r' % (fixed, parts))

    code, msg = grow(admin, fixed, 5, [[1], [1]])
    stats['manual'] = code or 'NO_ERROR'
    parts = partitions_of(admin, fixed)
    if code is not None or parts is None or sorted(parts) != [0, 1, 2, 3, 4]:
        problems.append('manual assignment [[1], [1]]: %s %s, partitions %r' % (code, msg, parts))

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
