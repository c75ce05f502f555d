#!/usr/bin/python3
"""kafka-python 2.0.2 KafkaAdminClient create_partitions (CreatePartitions v1) and describe_cluster (Metadata)
against an Eddy broker, for issue 10 (driven by partitions.test.ts).

- create_partitions grows a 2-partition topic to 4 (no assignment: kafka-python sends null); a KafkaConsumer sees
  partitions {0, 1, 2, 3}; validate_only adds nothing; a manual assignment [[1]] for one new partition is accepted.
- Refusals raise kafka-python's error classes: a smaller count InvalidPartitionsError, an unknown topic
  UnknownTopicOrPartitionError, an assignment naming broker 2 InvalidReplicationAssignmentError.
- describe_cluster: one broker (node 1 at the bootstrap address), controller 1, a cluster id.
Prints {"ok", "problems", "stats"} as JSON.

Usage: partitions.py --bootstrap 127.0.0.1:PORT --prefix P
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewPartitions, NewTopic
from kafka.errors import InvalidPartitionsError, InvalidReplicationAssignmentError, UnknownTopicOrPartitionError


def partitions_for(bootstrap, topic, want):
    """The partition ids a fresh consumer's metadata shows for `topic` (polls until `want` or 20 s)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, api_version_auto_timeout_ms=10000)
    parts = None
    deadline = time.monotonic() + 20
    while parts != want and time.monotonic() < deadline:
        consumer.topics()  # forces a metadata refresh
        parts = consumer.partitions_for_topic(topic)
    consumer.close()
    return parts


def expect_error(problems, stats, label, error_class, fn):
    try:
        fn()
        problems.append('%s did not raise, expected %s' % (label, error_class.__name__))
        stats[label] = None
    except error_class as e:
        stats[label] = type(e).__name__
    except Exception as e:  # noqa: BLE001
        problems.append('%s raised %r, expected %s' % (label, e, error_class.__name__))
        stats[label] = repr(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--prefix', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000,
                             api_version_auto_timeout_ms=10000, client_id='compat-kafka-python-partitions')
    topic = args.prefix + '-grown'
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)], timeout_ms=10000)

    try:
        resp = admin.create_partitions({topic: NewPartitions(total_count=4)}, timeout_ms=10000)
        stats['grow'] = [(t, code, msg) for (t, code, msg) in resp.topic_errors]
        if any(code != 0 for (_t, code, _msg) in resp.topic_errors):
            problems.append('create_partitions errors: %r' % (stats['grow'],))
    except Exception as e:  # noqa: BLE001
        problems.append('create_partitions raised %r' % (e,))
    parts = partitions_for(args.bootstrap, topic, {0, 1, 2, 3})
    stats['partitions'] = sorted(parts) if parts else None
    if parts != {0, 1, 2, 3}:
        problems.append('partitions_for_topic after growth = %r, expected {0, 1, 2, 3}' % (parts,))

    try:
        admin.create_partitions({topic: NewPartitions(total_count=6)}, timeout_ms=10000, validate_only=True)
        stats['validate_only'] = 'NoError'
    except Exception as e:  # noqa: BLE001
        problems.append('validate_only create_partitions raised %r' % (e,))

    expect_error(problems, stats, 'shrink', InvalidPartitionsError,
                 lambda: admin.create_partitions({topic: NewPartitions(total_count=3)}, timeout_ms=10000))
    expect_error(problems, stats, 'unknown topic', UnknownTopicOrPartitionError,
                 lambda: admin.create_partitions({args.prefix + '-missing': NewPartitions(total_count=3)}, timeout_ms=10000))
    expect_error(problems, stats, 'other broker', InvalidReplicationAssignmentError,
                 lambda: admin.create_partitions({topic: NewPartitions(total_count=5, new_assignments=[[2]])}, timeout_ms=10000))

    try:
        admin.create_partitions({topic: NewPartitions(total_count=5, new_assignments=[[1]])}, timeout_ms=10000)
        stats['manual'] = 'NoError'
    except Exception as e:  # noqa: BLE001
        problems.append('create_partitions with assignment [[1]] raised %r' % (e,))
    parts = partitions_for(args.bootstrap, topic, {0, 1, 2, 3, 4})
    stats['partitions after manual'] = sorted(parts) if parts else None
    if parts != {0, 1, 2, 3, 4}:
        problems.append('partitions after the manual growth = %r (validate_only must not have added any)' % (parts,))

    cluster = admin.describe_cluster()
    host, port = args.bootstrap.split(':')
    brokers = [(b['node_id'], b['host'], b['port']) for b in cluster['brokers']]
    stats['describe_cluster'] = {'brokers': brokers, 'controller_id': cluster.get('controller_id'),
                                 'cluster_id': cluster.get('cluster_id')}
    if brokers != [(1, host, int(port))]:
        problems.append('describe_cluster brokers = %r' % (brokers,))
    if cluster.get('controller_id') != 1:
        problems.append('describe_cluster controller_id = %r' % (cluster.get('controller_id'),))
    if not isinstance(cluster.get('cluster_id'), str) or len(cluster['cluster_id']) != 22:
        problems.append('describe_cluster cluster_id = %r' % (cluster.get('cluster_id'),))
    admin.close()
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
