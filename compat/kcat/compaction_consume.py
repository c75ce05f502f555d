#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2): reads a whole partition of a compacted topic from the start
(assign at OFFSET_BEGINNING, CRC checks on) and reports each key's last value, the offsets read, and problems
(a consumer error, offsets not increasing). Prints {"ok", "problems", "stats"} as JSON on its last line.

Usage: compaction_consume.py --bootstrap 127.0.0.1:PORT --topic T --partition P
"""
import argparse
import json
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--bootstrap', required=True)
    parser.add_argument('--topic', required=True)
    parser.add_argument('--partition', type=int, default=0)
    parser.add_argument('--timeout', type=float, default=60.0)
    args = parser.parse_args()

    consumer = Consumer({
        'bootstrap.servers': args.bootstrap,
        'group.id': 'compaction-reader',
        'enable.auto.commit': False,
        'enable.partition.eof': True,
        'check.crcs': True,
    })
    consumer.assign([TopicPartition(args.topic, args.partition, OFFSET_BEGINNING)])
    problems = []
    latest = {}
    offsets = []
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                break
            problems.append('consumer error: %s' % msg.error())
            break
        if offsets and msg.offset() <= offsets[-1]:
            problems.append('offset %d after %d' % (msg.offset(), offsets[-1]))
        offsets.append(msg.offset())
        key = msg.key().decode('utf-8') if msg.key() is not None else None
        latest[key] = msg.value().decode('utf-8') if msg.value() is not None else None
    else:
        problems.append('timed out before the end of the partition')
    consumer.close()
    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': {'latest': latest, 'count': len(offsets)}}))


if __name__ == '__main__':
    main()
