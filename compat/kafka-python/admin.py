#!/usr/bin/python3
"""kafka-python 2.0.2 KafkaAdminClient against an Eddy broker (driven by kafka-python.test.ts).

create_topics (3 partitions), a duplicate create (TopicAlreadyExistsError), list_topics, describe through
metadata (KafkaConsumer.partitions_for_topic), delete_topics. Prints {"ok", "problems", "stats"} as JSON.

Usage: admin.py --bootstrap 127.0.0.1:PORT --topic T
"""
import argparse
import json
import sys
import time

from kafka import KafkaConsumer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import TopicAlreadyExistsError


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000,
                             api_version_auto_timeout_ms=10000, client_id='compat-kafka-python-admin')
    try:
        resp = admin.create_topics([NewTopic(args.topic, num_partitions=3, replication_factor=1)], timeout_ms=10000)
        errs = [(t, code) for (t, code, *_rest) in resp.topic_errors if code != 0]
        if errs:
            problems.append('create_topics errors: %r' % (errs,))
    except Exception as e:  # noqa: BLE001
        problems.append('create_topics raised %r' % (e,))

    try:
        admin.create_topics([NewTopic(args.topic, num_partitions=3, replication_factor=1)], timeout_ms=10000)
        problems.append('duplicate create_topics did not raise')
    except TopicAlreadyExistsError:
        stats['duplicate'] = 'TopicAlreadyExistsError'
    except Exception as e:  # noqa: BLE001
        problems.append('duplicate create_topics raised %r, expected TopicAlreadyExistsError' % (e,))

    topics = admin.list_topics()
    stats['listed'] = args.topic in topics
    if args.topic not in topics:
        problems.append('list_topics does not include %s: %r' % (args.topic, topics))

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=None, api_version_auto_timeout_ms=10000)
    parts = None
    deadline = time.monotonic() + 20
    while parts is None and time.monotonic() < deadline:
        consumer.topics()  # forces a metadata refresh
        parts = consumer.partitions_for_topic(args.topic)
    consumer.close()
    stats['partitions'] = sorted(parts) if parts else None
    if parts != {0, 1, 2}:
        problems.append('partitions_for_topic = %r, expected {0, 1, 2}' % (parts,))

    try:
        resp = admin.delete_topics([args.topic], timeout_ms=10000)
        errs = [(t, code) for (t, code, *_rest) in resp.topic_error_codes if code != 0]
        if errs:
            problems.append('delete_topics errors: %r' % (errs,))
    except Exception as e:  # noqa: BLE001
        problems.append('delete_topics raised %r' % (e,))
    topics = admin.list_topics()
    if args.topic in topics:
        problems.append('%s still listed after delete_topics' % args.topic)
    admin.close()
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
