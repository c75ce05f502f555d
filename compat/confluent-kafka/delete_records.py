#!/usr/bin/python3
"""DeleteRecords from a real client against an Eddy broker, for issue 10 (driven by delete-records.test.ts).

No Python client installed here has DeleteRecords: kafka-python 2.0.2 has no KafkaAdminClient.delete_records (added
in 2.1) and no DeleteRecords request class, and confluent-kafka-python 1.7.0 has no AdminClient.delete_records
(added in 2.4). The librdkafka under confluent-kafka 1.7.0 (2.0.2, the system library) does have it
(rd_kafka_DeleteRecords, since 1.6), so this script calls librdkafka's admin API through ctypes: the request is
built, sent, retried and parsed by librdkafka itself, on the same library confluent-kafka uses. The data and the
checks go through confluent-kafka's Producer and Consumer.

- 100 messages into partition 0 of a 2-partition topic (acks=all); DeleteRecords before offset 40: the result gives
  low watermark 40, get_watermark_offsets gives (40, 100), and a consumer from OFFSET_BEGINNING starts at 40 with
  the values produced there.
- RD_KAFKA_OFFSET_END (-1): the low watermark moves to the high watermark (100).
- An offset beyond the high watermark: OFFSET_OUT_OF_RANGE for that partition, nothing moved; partition 1 (empty)
  to offset 0: NO_ERROR, low watermark 0. (A partition missing from the metadata never reaches the broker:
  librdkafka fails the whole request itself, so that case is left to the kafkajs and wire tests.)
Prints {"ok", "problems", "stats"} as JSON.

Usage: delete_records.py --bootstrap 127.0.0.1:PORT --topic T
"""
import argparse
import ctypes
import ctypes.util
import json
import sys

from confluent_kafka import Consumer, Producer, TopicPartition, OFFSET_BEGINNING
from confluent_kafka.admin import AdminClient, NewTopic

RD_KAFKA_PRODUCER = 0
RD_KAFKA_OFFSET_END = -1
RD_KAFKA_EVENT_DELETERECORDS_RESULT = 0x69  # RD_KAFKA_EVENT_DELETERECORDS_RESULT (105)


class TopicPartitionC(ctypes.Structure):
    _fields_ = [
        ('topic', ctypes.c_char_p),
        ('partition', ctypes.c_int32),
        ('offset', ctypes.c_int64),
        ('metadata', ctypes.c_void_p),
        ('metadata_size', ctypes.c_size_t),
        ('opaque', ctypes.c_void_p),
        ('err', ctypes.c_int),
        ('_private', ctypes.c_void_p),
    ]


class TopicPartitionListC(ctypes.Structure):
    _fields_ = [('cnt', ctypes.c_int), ('size', ctypes.c_int), ('elems', ctypes.POINTER(TopicPartitionC))]


def load_librdkafka():
    lib = ctypes.CDLL(ctypes.util.find_library('rdkafka') or 'librdkafka.so.1')
    vp = ctypes.c_void_p
    lib.rd_kafka_version_str.restype = ctypes.c_char_p
    lib.rd_kafka_conf_new.restype = vp
    lib.rd_kafka_conf_set.argtypes = [vp, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_new.restype = vp
    lib.rd_kafka_new.argtypes = [ctypes.c_int, vp, ctypes.c_char_p, ctypes.c_size_t]
    lib.rd_kafka_destroy.argtypes = [vp]
    lib.rd_kafka_queue_new.restype = vp
    lib.rd_kafka_queue_new.argtypes = [vp]
    lib.rd_kafka_queue_destroy.argtypes = [vp]
    lib.rd_kafka_queue_poll.restype = vp
    lib.rd_kafka_queue_poll.argtypes = [vp, ctypes.c_int]
    lib.rd_kafka_topic_partition_list_new.restype = ctypes.POINTER(TopicPartitionListC)
    lib.rd_kafka_topic_partition_list_new.argtypes = [ctypes.c_int]
    lib.rd_kafka_topic_partition_list_add.restype = ctypes.POINTER(TopicPartitionC)
    lib.rd_kafka_topic_partition_list_add.argtypes = [ctypes.POINTER(TopicPartitionListC), ctypes.c_char_p, ctypes.c_int32]
    lib.rd_kafka_topic_partition_list_destroy.argtypes = [ctypes.POINTER(TopicPartitionListC)]
    lib.rd_kafka_DeleteRecords_new.restype = vp
    lib.rd_kafka_DeleteRecords_new.argtypes = [ctypes.POINTER(TopicPartitionListC)]
    lib.rd_kafka_DeleteRecords_destroy.argtypes = [vp]
    lib.rd_kafka_DeleteRecords.argtypes = [vp, ctypes.POINTER(vp), ctypes.c_size_t, vp, vp]
    lib.rd_kafka_event_type.restype = ctypes.c_int
    lib.rd_kafka_event_type.argtypes = [vp]
    lib.rd_kafka_event_error.restype = ctypes.c_int
    lib.rd_kafka_event_error.argtypes = [vp]
    lib.rd_kafka_event_error_string.restype = ctypes.c_char_p
    lib.rd_kafka_event_error_string.argtypes = [vp]
    lib.rd_kafka_event_DeleteRecords_result.restype = vp
    lib.rd_kafka_event_DeleteRecords_result.argtypes = [vp]
    lib.rd_kafka_DeleteRecords_result_offsets.restype = ctypes.POINTER(TopicPartitionListC)
    lib.rd_kafka_DeleteRecords_result_offsets.argtypes = [vp]
    lib.rd_kafka_event_destroy.argtypes = [vp]
    lib.rd_kafka_err2name.restype = ctypes.c_char_p
    lib.rd_kafka_err2name.argtypes = [ctypes.c_int]
    return lib


class DeleteRecordsClient:
    """One librdkafka handle for rd_kafka_DeleteRecords calls."""

    def __init__(self, lib, bootstrap):
        self.lib = lib
        errstr = ctypes.create_string_buffer(512)
        conf = lib.rd_kafka_conf_new()
        for k, v in (('bootstrap.servers', bootstrap), ('client.id', 'compat-delete-records')):
            if lib.rd_kafka_conf_set(conf, k.encode(), v.encode(), errstr, 512) != 0:
                raise RuntimeError(errstr.value.decode())
        self.rk = lib.rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, 512)
        if not self.rk:
            raise RuntimeError(errstr.value.decode())
        self.queue = lib.rd_kafka_queue_new(self.rk)

    def delete_records(self, topic, offsets, timeout_s=30):
        """offsets: {partition: before_offset}; returns (request error name or None, {partition: (err name, offset)})."""
        lib = self.lib
        tpl = lib.rd_kafka_topic_partition_list_new(len(offsets))
        for partition, offset in offsets.items():
            lib.rd_kafka_topic_partition_list_add(tpl, topic.encode(), partition).contents.offset = offset
        del_records = lib.rd_kafka_DeleteRecords_new(tpl)
        lib.rd_kafka_topic_partition_list_destroy(tpl)
        arr = (ctypes.c_void_p * 1)(del_records)
        lib.rd_kafka_DeleteRecords(self.rk, arr, 1, None, self.queue)
        lib.rd_kafka_DeleteRecords_destroy(del_records)
        ev = None
        for _ in range(timeout_s * 10):
            ev = lib.rd_kafka_queue_poll(self.queue, 100)
            if ev:
                break
        if not ev:
            return 'TIMED_OUT(no result event)', {}
        try:
            if lib.rd_kafka_event_type(ev) != RD_KAFKA_EVENT_DELETERECORDS_RESULT:
                return 'UNEXPECTED_EVENT %d' % lib.rd_kafka_event_type(ev), {}
            err = lib.rd_kafka_event_error(ev)
            request_error = None if err == 0 else '%s: %s' % (lib.rd_kafka_err2name(err).decode(), lib.rd_kafka_event_error_string(ev).decode())
            out = {}
            result = lib.rd_kafka_event_DeleteRecords_result(ev)
            # With a request-level error the result holds no offsets list (librdkafka asserts on reading it).
            if result and err == 0:
                parts = lib.rd_kafka_DeleteRecords_result_offsets(result).contents
                for i in range(parts.cnt):
                    e = parts.elems[i]
                    out[e.partition] = (lib.rd_kafka_err2name(e.err).decode(), e.offset)
            return request_error, out
        finally:
            lib.rd_kafka_event_destroy(ev)

    def close(self):
        self.lib.rd_kafka_queue_destroy(self.queue)
        self.lib.rd_kafka_destroy(self.rk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', required=True)
    args = ap.parse_args()
    problems = []
    stats = {}

    def check(what, got, want):
        stats[what] = got
        if got != want:
            problems.append('%s: got %r, want %r' % (what, got, want))

    lib = load_librdkafka()
    stats['librdkafka'] = lib.rd_kafka_version_str().decode()
    admin = AdminClient({'bootstrap.servers': args.bootstrap})
    admin.create_topics([NewTopic(args.topic, 2, 1)], operation_timeout=10)[args.topic].result(timeout=30)

    producer = Producer({'bootstrap.servers': args.bootstrap, 'acks': 'all', 'linger.ms': 5})
    delivered = []
    for i in range(100):
        producer.produce(args.topic, value=b'value-%d' % i, key=b'k%d' % i, partition=0,
                         on_delivery=lambda err, msg: delivered.append((err, msg.offset() if err is None else None)))
    producer.flush(30)
    check('delivered offsets are 0..99', sorted(o for e, o in delivered if e is None) == list(range(100)), True)

    client = DeleteRecordsClient(lib, args.bootstrap)
    consumer = Consumer({'bootstrap.servers': args.bootstrap, 'group.id': 'compat-delete-records',
                         'enable.auto.commit': False, 'auto.offset.reset': 'earliest'})
    try:
        err, result = client.delete_records(args.topic, {0: 40})
        check('delete before 40', (err, result), (None, {0: ('NO_ERROR', 40)}))
        check('watermarks after 40', consumer.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10), (40, 100))

        consumer.assign([TopicPartition(args.topic, 0, OFFSET_BEGINNING)])
        first = []
        for _ in range(100):
            msg = consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                first.append((msg.offset(), msg.value()))
                if len(first) >= 3:
                    break
        check('first messages read from the beginning', first, [(40, b'value-40'), (41, b'value-41'), (42, b'value-42')])
        consumer.unassign()

        err, result = client.delete_records(args.topic, {0: 500})
        check('delete beyond the high watermark', (err, result.get(0, (None,))[0]), (None, 'OFFSET_OUT_OF_RANGE'))
        check('watermarks unchanged by the refused delete', consumer.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10), (40, 100))

        err, result = client.delete_records(args.topic, {1: 0})
        check('delete an empty partition to 0', (err, result), (None, {1: ('NO_ERROR', 0)}))

        err, result = client.delete_records(args.topic, {0: RD_KAFKA_OFFSET_END})
        check('delete to the high watermark (OFFSET_END)', (err, result), (None, {0: ('NO_ERROR', 100)}))
        check('watermarks after OFFSET_END', consumer.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10), (100, 100))
    finally:
        consumer.close()
        client.close()

    print(json.dumps({'ok': not problems, 'problems': problems, 'stats': {k: v if isinstance(v, (str, int)) else repr(v) for k, v in stats.items()}}))


if __name__ == '__main__':
    try:
        main()
    except Exception as e:  # a crash is a verdict too
        print(json.dumps({'ok': False, 'problems': ['crashed: %r' % (e,)], 'stats': {}}))
        sys.exit(0)
