#!/usr/bin/python3
"""kafka-python 2.0.2 KafkaAdminClient describe_configs / alter_configs against an Eddy broker (issue 10, driven by
configs.test.ts).

- describe_configs of a topic created with retention.ms=60000: retention.ms is that value with source
  DYNAMIC_TOPIC_CONFIG (1), segment.bytes Kafka's default with source DEFAULT_CONFIG (5) and its synonym
  log.segment.bytes, all 36 topic configs listed; an unknown topic answers UNKNOWN_TOPIC_OR_PARTITION (3).
- describe_configs of broker 1: message.max.bytes 1048588, log.retention.hours read-only.
- alter_configs replaces the topic's set (retention.ms back to the default), refuses retention.ms=-5,
  cleanup.policy=bogus and an unknown name with INVALID_CONFIG (40) and Kafka's message.
Prints {"ok", "problems", "stats"} as JSON.

Usage: configs.py --bootstrap 127.0.0.1:PORT --topic T
"""
import argparse
import json
import sys

from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic


def entries(response):
    """{name: (value, read_only, source, sensitive, synonyms)} of the first resource, and its error code."""
    resource = response.resources[0]
    error_code, configs = resource[0], resource[4]
    out = {}
    for c in configs:
        # DescribeConfigs v1/v2: (name, value, read_only, config_source, is_sensitive, synonyms)
        out[c[0]] = (c[1], c[2], c[3], c[4], [tuple(s) for s in c[5]])
    return error_code, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    args = ap.parse_args()
    problems, stats = [], {}
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, request_timeout_ms=30000,
                             api_version_auto_timeout_ms=10000, client_id='compat-kafka-python-configs')

    def check(label, got, want):
        stats[label] = got
        if got != want:
            problems.append('%s: got %r, expected %r' % (label, got, want))

    admin.create_topics([NewTopic(args.topic, num_partitions=1, replication_factor=1,
                                  topic_configs={'retention.ms': '60000'})], timeout_ms=10000)

    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic)], include_synonyms=True)
    code, configs = entries(resp)
    check('describe topic error', code, 0)
    check('topic config count', len(configs), 36)
    check('retention.ms', configs.get('retention.ms'),
          ('60000', False, 1, False, [('retention.ms', '60000', 1)]))
    check('segment.bytes', configs.get('segment.bytes'),
          ('1073741824', False, 5, False, [('log.segment.bytes', '1073741824', 5)]))

    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic + '-missing')])
    check('describe unknown topic error', resp.resources[0][0], 3)

    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, '1',
                                                    configs={'message.max.bytes': None, 'log.retention.hours': None})])
    code, configs = entries(resp)
    check('describe broker error', code, 0)
    check('broker message.max.bytes', (configs['message.max.bytes'][0], configs['message.max.bytes'][1]), ('1048588', False))
    check('broker log.retention.hours', (configs['log.retention.hours'][0], configs['log.retention.hours'][1]), ('168', True))

    resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic, configs={'cleanup.policy': 'compact'})])
    check('alter topic', [tuple(r[:2]) for r in resp.resources], [(0, None)])
    [resp] = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic,
                                                    configs={'retention.ms': None, 'cleanup.policy': None})])
    code, configs = entries(resp)
    check('after alter: retention.ms', configs['retention.ms'][:3], ('604800000', False, 5))
    check('after alter: cleanup.policy', configs['cleanup.policy'][:3], ('compact', False, 1))

    refused = [
        ({'retention.ms': '-5'}, 'Invalid value -5 for configuration retention.ms: Value must be at least -1'),
        ({'cleanup.policy': 'bogus'}, 'Invalid value bogus for configuration cleanup.policy: String must be one of: compact, delete'),
        ({'no.such.config': '1'}, 'Unknown topic config name: no.such.config'),
    ]
    for config, message in refused:
        resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic, configs=config)])
        check('alter %r' % (config,), [tuple(r[:2]) for r in resp.resources], [(40, message)])

    admin.close()
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': stats}))
    return 0


if __name__ == '__main__':
    sys.exit(main())
