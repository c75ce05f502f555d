#!/usr/bin/python3
"""confluent-kafka-python AdminClient (librdkafka) CreateTopics and Metadata against an Eddy broker, for issue 7
(driven by admin.test.ts).

- create_topics with config {'compression.type': 'lz4'} succeeds (librdkafka's 0081 test failed on it), and so do
  the other Kafka values and the KIP-390 levels; an invalid one ('LZ4', a level out of range) fails with
  INVALID_CONFIG and Kafka's message.
- list_topics(topic='__consumer_offsets') does not create it; create_topics('__cluster_metadata') is refused with
  INVALID_REQUEST, '__consumer_offsets' with TOPIC_ALREADY_EXISTS.
Prints {"ok", "problems", "stats"} as JSON.

Usage: admin.py --bootstrap 127.0.0.1:PORT --prefix P
"""
import argparse
import json
import sys

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, NewTopic


def create(admin, name, config):
    """Returns (error code name or None, error string or None) of a one-topic create_topics."""
    futures = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, config=config)],
                                  operation_timeout=10, request_timeout=15)
    try:
        futures[name].result(timeout=30)
        return None, None
    except KafkaException as e:
        err = e.args[0]
        return err.name(), err.str()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--prefix', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    admin = AdminClient({'bootstrap.servers': args.bootstrap, 'client.id': 'compat-confluent-admin'})

    accepted = [
        {'compression.type': 'lz4'},
        {'compression.type': 'zstd', 'compression.zstd.level': '-5'},
        {'compression.type': 'gzip', 'compression.gzip.level': '9'},
        {'compression.type': 'uncompressed'},
        {'compression.lz4.level': '17', 'remote.log.copy.disable': 'true', 'preallocate': 'TRUE'},
    ]
    for i, config in enumerate(accepted):
        name = '%s-ok-%d' % (args.prefix, i)
        code, msg = create(admin, name, config)
        stats['accepted-%d' % i] = code or 'NO_ERROR'
        if code is not None:
            problems.append('create_topics %s %r failed: %s %s' % (name, config, code, msg))

    refused = [
        ({'compression.type': 'LZ4'}, 'INVALID_CONFIG',
         'Invalid value LZ4 for configuration compression.type: String must be one of: '
         'uncompressed, zstd, lz4, snappy, gzip, producer'),
        ({'compression.lz4.level': '18'}, 'INVALID_CONFIG',
         'Invalid value 18 for configuration compression.lz4.level: Value must be no more than 17'),
    ]
    for i, (config, want_code, want_msg) in enumerate(refused):
        name = '%s-bad-%d' % (args.prefix, i)
        code, msg = create(admin, name, config)
        stats['refused-%d' % i] = [code, msg]
        if code != want_code or want_msg not in (msg or ''):
            problems.append('create_topics %r: got %s %r, expected %s %r' % (config, code, msg, want_code, want_msg))

    # Reserved names.
    md = admin.list_topics(topic='__consumer_offsets', timeout=15)
    t = md.topics.get('__consumer_offsets')
    stats['metadata __consumer_offsets'] = t.error.name() if t is not None and t.error is not None else repr(t)
    if t is None or t.error is None or t.error.code() != KafkaError.UNKNOWN_TOPIC_OR_PART:
        problems.append('list_topics(__consumer_offsets) = %r, expected UNKNOWN_TOPIC_OR_PART' % (t,))
    listed = admin.list_topics(timeout=15).topics
    if '__consumer_offsets' in listed:
        problems.append('__consumer_offsets was created by a metadata request: %r' % (sorted(listed),))
    for name in ('%s-ok-0' % args.prefix,):
        if name not in listed:
            problems.append('%s missing from list_topics: %r' % (name, sorted(listed)))

    code, msg = create(admin, '__cluster_metadata', {})
    stats['create __cluster_metadata'] = [code, msg]
    if code != 'INVALID_REQUEST' or msg != 'Creation of internal topic __cluster_metadata is prohibited.':
        problems.append('create __cluster_metadata: %s %r' % (code, msg))
    code, msg = create(admin, '__consumer_offsets', {})
    stats['create __consumer_offsets'] = [code, msg]
    if code != 'TOPIC_ALREADY_EXISTS':
        problems.append('create __consumer_offsets: %s %r, expected TOPIC_ALREADY_EXISTS' % (code, msg))

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
