#!/usr/bin/python3
"""kafka-python 2.0.2 and Eddy's reserved topic names, for issue 7 (driven by reserved-names.test.ts).

- A producer asking metadata for __consumer_offsets (auto-creation allowed) gets no partitions and creates nothing.
- describe_topics(['__consumer_offsets']) reports UNKNOWN_TOPIC_OR_PARTITION (3) with is_internal true.
- create_topics: __cluster_metadata → INVALID_REQUEST (42), __consumer_offsets → TOPIC_ALREADY_EXISTS (36),
  __consumer.offsets → INVALID_TOPIC_EXCEPTION (17); an ordinary __ name is created.
Prints {"ok", "problems", "stats"} as JSON.

Usage: reserved_names.py --bootstrap 127.0.0.1:PORT
"""
import argparse
import json
import sys

from kafka import KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, KafkaTimeoutError


def create_code(admin, name):
    """The per-topic error code of a create_topics (raised or returned, depending on the client's version)."""
    try:
        resp = admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)], timeout_ms=10000)
    except KafkaError as e:
        return getattr(e, 'errno', None), type(e).__name__
    codes = [(t, code) for (t, code, *_rest) in resp.topic_errors]
    return codes[0][1], None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    args = ap.parse_args()
    problems, stats = [], {}

    producer = KafkaProducer(bootstrap_servers=args.bootstrap, max_block_ms=3000, api_version_auto_timeout_ms=10000)
    try:
        parts = producer.partitions_for('__consumer_offsets')
        stats['producer partitions'] = sorted(parts) if parts else None
        if parts:
            problems.append('producer found partitions for __consumer_offsets: %r' % (parts,))
    except KafkaTimeoutError:
        stats['producer partitions'] = 'KafkaTimeoutError'
    producer.close()

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000,
                             api_version_auto_timeout_ms=10000, client_id='compat-kafka-python-reserved')
    described = admin.describe_topics(['__consumer_offsets'])
    stats['describe'] = [(t['topic'], t['error_code'], t['is_internal']) for t in described]
    if [(t['error_code'], t['is_internal']) for t in described] != [(3, True)]:
        problems.append('describe_topics(__consumer_offsets) = %r' % (described,))

    expected = {'__cluster_metadata': 42, '__consumer_offsets': 36, '__consumer.offsets': 17, '__kpy-ordinary': 0}
    for name, want in expected.items():
        code, raised = create_code(admin, name)
        stats['create %s' % name] = [code, raised]
        if code != want:
            problems.append('create_topics(%s) = %r (%s), expected %d' % (name, code, raised, want))

    topics = admin.list_topics()
    stats['listed'] = sorted(topics)
    if '__consumer_offsets' in topics or '__cluster_metadata' in topics:
        problems.append('a reserved topic was created: %r' % (sorted(topics),))
    if '__kpy-ordinary' not in topics:
        problems.append('__kpy-ordinary missing from list_topics: %r' % (sorted(topics),))
    admin.close()

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
