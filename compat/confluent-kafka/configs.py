#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) AdminClient describe_configs / alter_configs against an Eddy broker
(issue 10, driven by configs.test.ts).

- describe_configs of a topic created with retention.ms=60000: that value with source DYNAMIC_TOPIC_CONFIG and
  is_default False; segment.bytes 1073741824, DEFAULT_CONFIG, is_default True, synonym log.segment.bytes.
- describe_configs of broker 1: message.max.bytes DEFAULT_CONFIG, not read-only; log.retention.hours read-only.
- alter_configs of the broker (message.max.bytes) shows as DYNAMIC_BROKER_CONFIG on the broker and in the topic's
  max.message.bytes; alter_configs of the topic replaces its set; retention.ms=-5, cleanup.policy=bogus and an unknown
  name fail with INVALID_CONFIG and Kafka's message; an unknown topic with UNKNOWN_TOPIC_OR_PART.
Prints {"ok", "problems", "stats"} as JSON.

Usage: configs.py --bootstrap 127.0.0.1:PORT --topic T
"""
import argparse
import json
import sys

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic


def describe(admin, restype, name):
    """{config name: ConfigEntry} of one resource, or (error name, message)."""
    resource = ConfigResource(restype, name)
    try:
        return admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=30)
    except KafkaException as e:
        err = e.args[0]
        return (err.name(), err.str())


def alter(admin, restype, name, configs):
    resource = ConfigResource(restype, name, set_config=configs)
    try:
        admin.alter_configs([resource], request_timeout=15)[resource].result(timeout=30)
        return None
    except KafkaException as e:
        err = e.args[0]
        return (err.name(), err.str())


def summary(entry):
    return {
        'value': entry.value,
        'source': ConfigSource(entry.source).name,
        'is_default': entry.is_default,
        'is_read_only': entry.is_read_only,
        'synonyms': sorted((s.name, s.value, ConfigSource(s.source).name) for s in entry.synonyms.values()),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    args = ap.parse_args()
    problems, stats = [], {}

    def check(label, got, want):
        stats[label] = got
        if got != want:
            problems.append('%s: got %r, expected %r' % (label, got, want))

    admin = AdminClient({'bootstrap.servers': args.bootstrap, 'client.id': 'compat-confluent-configs'})
    futures = admin.create_topics([NewTopic(args.topic, num_partitions=1, replication_factor=1,
                                            config={'retention.ms': '60000'})], operation_timeout=10, request_timeout=15)
    futures[args.topic].result(timeout=30)

    configs = describe(admin, 'topic', args.topic)
    check('topic config count', len(configs), 36)
    check('retention.ms', summary(configs['retention.ms']),
          {'value': '60000', 'source': 'DYNAMIC_TOPIC_CONFIG', 'is_default': False, 'is_read_only': False,
           'synonyms': [('retention.ms', '60000', 'DYNAMIC_TOPIC_CONFIG')]})
    check('segment.bytes', summary(configs['segment.bytes']),
          {'value': '1073741824', 'source': 'DEFAULT_CONFIG', 'is_default': True, 'is_read_only': False,
           'synonyms': [('log.segment.bytes', '1073741824', 'DEFAULT_CONFIG')]})

    broker = describe(admin, 'broker', '1')
    check('broker message.max.bytes', summary(broker['message.max.bytes'])['source'], 'DEFAULT_CONFIG')
    check('broker message.max.bytes read-only', broker['message.max.bytes'].is_read_only, False)
    check('broker log.retention.hours read-only', broker['log.retention.hours'].is_read_only, True)

    check('alter broker message.max.bytes', alter(admin, 'broker', '1', {'message.max.bytes': '3000000'}), None)
    broker = describe(admin, 'broker', '1')
    check('broker message.max.bytes after alter', (broker['message.max.bytes'].value, summary(broker['message.max.bytes'])['source']),
          ('3000000', 'DYNAMIC_BROKER_CONFIG'))
    topic = describe(admin, 'topic', args.topic)
    check('topic max.message.bytes after broker alter', (topic['max.message.bytes'].value, summary(topic['max.message.bytes'])['source']),
          ('3000000', 'DYNAMIC_BROKER_CONFIG'))
    check('alter broker read-only', alter(admin, 'broker', '1', {'log.retention.hours': '1'}),
          ('INVALID_REQUEST', 'Cannot update these configs dynamically: Set(log.retention.hours)'))

    check('alter topic', alter(admin, 'topic', args.topic, {'cleanup.policy': 'compact,delete'}), None)
    topic = describe(admin, 'topic', args.topic)
    check('after alter: retention.ms', (topic['retention.ms'].value, summary(topic['retention.ms'])['source']), ('604800000', 'DEFAULT_CONFIG'))
    check('after alter: cleanup.policy', (topic['cleanup.policy'].value, summary(topic['cleanup.policy'])['source']),
          ('compact,delete', 'DYNAMIC_TOPIC_CONFIG'))

    refused = [
        ({'retention.ms': '-5'}, 'Invalid value -5 for configuration retention.ms: Value must be at least -1'),
        ({'cleanup.policy': 'bogus'}, 'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete'),
        ({'no.such.config': '1'}, 'Unknown topic config name: no.such.config'),
    ]
    for config, message in refused:
        check('alter %r' % (config,), alter(admin, 'topic', args.topic, config), ('INVALID_CONFIG', message))
    check('alter unknown topic', alter(admin, 'topic', args.topic + '-missing', {'retention.ms': '1000'}),
          ('UNKNOWN_TOPIC_OR_PART', "The topic '%s-missing' does not exist." % args.topic))
    missing = describe(admin, 'topic', args.topic + '-missing')
    check('describe unknown topic', missing[0] if isinstance(missing, tuple) else missing, 'UNKNOWN_TOPIC_OR_PART')

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
