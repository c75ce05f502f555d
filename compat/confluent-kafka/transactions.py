#!/usr/bin/python3
"""confluent-kafka-python 1.7.0 (librdkafka 2.0.2) transactional producer against an Eddy broker (issue 9).

One mode per run (the test driving it, transactions.test.ts, checks what it prints):

  commit-abort  commit / abort / commit of --per-txn messages each (message i to partition i % P), the third one
                held open while read_committed and read_uncommitted consumers look at it, then committed.
  fence         two producers with the same transactional.id: the second one's init_transactions() fences the first.
  invalid-timeout  init_transactions() with --txn-timeout-ms (above the broker's transaction.max.timeout.ms).
  open          init, begin, produce --count messages, flush, print `open`, then wait (to be killed).
  commit-hold   init, begin, produce --count messages, with --offsets-group also send_offsets_to_transaction()
                offset 1000 + p for every partition p of --topic for that group, commit, print `committed`, then
                wait (to be killed).
  produce       one committed transaction of --count messages, then exit.
  read          reads every partition from the beginning with --isolation until --expect messages arrived and
                every partition is at its end, or --timeout; prints what it read.
  committed     the committed offsets of --offsets-group for every partition of --topic (consumer.committed(),
                which librdkafka sends with require_stable).

Messages are value `<prefix>#<i>` with header idx=<i>, sent to partition i % P. Every mode but open/commit-hold
prints one JSON line {"ok", "problems", "stats"} last; `ok` only covers the checks done here, the test asserts
the stats it needs itself.

Usage: transactions.py MODE --bootstrap 127.0.0.1:PORT --topic T [--partitions P] ...
"""
import argparse
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

SAMPLES = 5


def value(prefix, i):
    return ('%s#%d' % (prefix, i)).encode()


def err_info(e):
    """A KafkaError as {name, code, fatal, retriable, abortable}."""
    if isinstance(e, KafkaException):
        e = e.args[0]
    return {
        'name': e.name(),
        'code': e.code(),
        'fatal': e.fatal(),
        'retriable': e.retriable(),
        'abortable': e.txn_requires_abort(),
        'str': e.str(),
    }


class Ctx:
    def __init__(self, args):
        self.args = args
        self.problems = []
        self.stats = {}
        self.client_errors = []

    def on_error(self, err):
        self.client_errors.append(str(err))

    def producer(self, tid, extra=None):
        conf = {
            'bootstrap.servers': self.args.bootstrap,
            'transactional.id': tid,
            'error_cb': self.on_error,
        }
        conf.update(extra or {})
        return Producer(conf)

    def consumer(self, isolation, group=None):
        return Consumer({
            'bootstrap.servers': self.args.bootstrap,
            'group.id': group or 'compat-txn-unused-%s' % isolation,
            'isolation.level': isolation,
            'enable.auto.commit': False,
            'auto.offset.reset': 'earliest',
            'enable.partition.eof': True,
            'check.crcs': True,
            'fetch.wait.max.ms': 100,
            'error_cb': self.on_error,
        })

    def parts(self):
        return list(range(self.args.partitions))

    def done(self):
        self.stats['client_errors'] = self.client_errors[:SAMPLES]
        print(json.dumps({'ok': not self.problems, 'problems': self.problems, 'stats': self.stats}), flush=True)
        return 0


def produce_range(ctx, producer, prefix, start, end, delivered):
    """Hands messages start..end-1 to the producer; delivery reports go into `delivered` (i -> (p, o) or error)."""
    topic, P = ctx.args.topic, ctx.args.partitions

    def on_delivery(i, err, msg):
        delivered[i] = err_info(err) if err is not None else (msg.partition(), msg.offset())

    for i in range(start, end):
        for _ in range(200):
            try:
                producer.produce(topic, value=value(prefix, i), partition=i % P, headers=[('idx', str(i).encode())],
                                 on_delivery=lambda err, msg, i=i: on_delivery(i, err, msg))
                break
            except BufferError:
                producer.poll(0.05)
        producer.poll(0)


def watermarks(ctx, consumer):
    out = {}
    for p in ctx.parts():
        lo, hi = consumer.get_watermark_offsets(TopicPartition(ctx.args.topic, p), timeout=10, cached=False)
        out[p] = hi
    return out


def drain(ctx, consumer, ends, into, deadline, quiet=0.0):
    """Polls until every partition reported EOF at an offset >= ends[p] (then `quiet` more seconds) or deadline."""
    at_eof = set()
    quiet_until = None
    while time.monotonic() < deadline:
        if len(at_eof) == len(ends):
            if quiet_until is None:
                quiet_until = time.monotonic() + quiet
            if time.monotonic() >= quiet_until:
                break
        msg = consumer.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                if msg.offset() >= ends[msg.partition()]:
                    at_eof.add(msg.partition())
            else:
                ctx.problems.append('consumer error: %s' % msg.error())
            continue
        h = dict(msg.headers() or [])
        into.append({'p': msg.partition(), 'o': msg.offset(), 'v': msg.value().decode(), 'idx': int(h.get('idx', b'-1'))})
    return sorted(at_eof)


def positions(ctx, consumer):
    return {str(tp.partition): tp.offset for tp in consumer.position([TopicPartition(ctx.args.topic, p) for p in ctx.parts()])}


def expected_layout(ctx, txns):
    """[(prefix, start, end, visible)] -> per partition the list of (offset, value) a reader should see, plus the
    log end offset: every transaction takes its records' offsets, then one control record (its marker)."""
    P = ctx.args.partitions
    layout = {p: [] for p in range(P)}
    next_offset = {p: 0 for p in range(P)}
    for (prefix, start, end, visible) in txns:
        for i in range(start, end):
            p = i % P
            if visible:
                layout[p].append((next_offset[p], value(prefix, i).decode()))
            next_offset[p] += 1
        for p in range(P):
            next_offset[p] += 1  # the COMMIT or ABORT marker
    return layout, next_offset


def check_read(ctx, label, records, layout):
    got = {p: [] for p in layout}
    for r in records:
        got.setdefault(r['p'], []).append((r['o'], r['v']))
    for p in sorted(got):
        if got[p] != layout.get(p, []):
            g, w = got[p], layout.get(p, [])
            first = next((k for k in range(max(len(g), len(w))) if (g[k] if k < len(g) else None) != (w[k] if k < len(w) else None)), None)
            ctx.problems.append('%s: partition %d read %d records, expected %d; first difference at #%s: got %s, expected %s' % (
                label, p, len(g), len(w), first, g[first] if first is not None and first < len(g) else None,
                w[first] if first is not None and first < len(w) else None))


def mode_commit_abort(ctx):
    a = ctx.args
    n = a.per_txn
    deadline = time.monotonic() + a.timeout
    producer = ctx.producer('compat-txn-commit-abort')
    producer.init_transactions(30)
    delivered = {}
    # 1: committed.
    producer.begin_transaction()
    produce_range(ctx, producer, 'c1', 0, n, delivered)
    producer.commit_transaction(30)
    # 2: aborted (flushed first, so its records are in the log before the abort).
    producer.begin_transaction()
    produce_range(ctx, producer, 'a2', n, 2 * n, delivered)
    producer.flush(30)
    producer.abort_transaction(30)
    # 3: produced and flushed, held open.
    producer.begin_transaction()
    produce_range(ctx, producer, 'c3', 2 * n, 3 * n, delivered)
    remaining = producer.flush(30)
    if remaining:
        ctx.problems.append('%d messages of the open transaction undelivered' % remaining)
    failed = [(i, d) for i, d in delivered.items() if isinstance(d, dict)]
    if failed:
        ctx.problems.append('%d deliveries failed, e.g. %s' % (len(failed), failed[:SAMPLES]))
    ctx.stats['delivered'] = len(delivered) - len(failed)
    # First offsets of the open transaction, per partition, from its delivery reports.
    first_open = {}
    for i in range(2 * n, 3 * n):
        d = delivered.get(i)
        if isinstance(d, tuple):
            first_open[d[0]] = min(first_open.get(d[0], d[1]), d[1])
    ctx.stats['open_first_offsets'] = {str(p): o for p, o in sorted(first_open.items())}

    rc = ctx.consumer('read_committed', 'compat-txn-rc-live')
    ru = ctx.consumer('read_uncommitted', 'compat-txn-ru-live')
    ctx.stats['open_lso'] = {str(p): o for p, o in watermarks(ctx, rc).items()}
    ctx.stats['open_hw'] = {str(p): o for p, o in watermarks(ctx, ru).items()}

    rc.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in ctx.parts()])
    before = []
    lso = {p: int(o) for p, o in ctx.stats['open_lso'].items()}
    ctx.stats['open_eof'] = drain(ctx, rc, {int(p): o for p, o in lso.items()}, before, min(deadline, time.monotonic() + 20), quiet=2.0)
    layout_open, _ = expected_layout(ctx, [('c1', 0, n, True), ('a2', n, 2 * n, False)])
    check_read(ctx, 'read_committed while the third transaction is open', before, layout_open)
    ctx.stats['open_rc_read'] = len(before)
    ctx.stats['open_rc_positions'] = positions(ctx, rc)

    producer.commit_transaction(30)
    # EndTxn is answered once PrepareCommit is durable, before the markers are written (Kafka does the same), so
    # the COMMIT marker lands shortly after commit_transaction() returns: sample until every partition has one more
    # record (the marker) and LSO = high watermark, for at most 5 s.
    settle_until = time.monotonic() + 5
    with_marker = {p: o + 1 for p, o in ctx.stats['open_hw'].items()}
    while True:
        ctx.stats['committed_hw'] = {str(p): o for p, o in watermarks(ctx, ru).items()}
        ctx.stats['committed_lso'] = {str(p): o for p, o in watermarks(ctx, rc).items()}
        settled = ctx.stats['committed_hw'] == with_marker and ctx.stats['committed_lso'] == with_marker
        if settled or time.monotonic() > settle_until:
            break
        time.sleep(0.05)
    after = []
    hw = {p: int(o) for p, o in ctx.stats['committed_hw'].items()}
    ctx.stats['live_eof'] = drain(ctx, rc, {int(p): o for p, o in hw.items()}, after, min(deadline, time.monotonic() + 20), quiet=0.5)
    layout, ends = expected_layout(ctx, [('c1', 0, n, True), ('a2', n, 2 * n, False), ('c3', 2 * n, 3 * n, True)])
    check_read(ctx, 'read_committed after the commit (same consumer)', before + after, layout)
    ctx.stats['live_rc_positions'] = positions(ctx, rc)
    rc.close()
    ru.close()
    producer.flush(10)
    ctx.stats['expected_end'] = {str(p): o for p, o in ends.items()}

    # Fresh readers from the beginning, in a group, committing what they consumed.
    for isolation, txns in (('read_committed', [('c1', 0, n, True), ('a2', n, 2 * n, False), ('c3', 2 * n, 3 * n, True)]),
                            ('read_uncommitted', [('c1', 0, n, True), ('a2', n, 2 * n, True), ('c3', 2 * n, 3 * n, True)])):
        group = 'compat-txn-%s' % isolation
        c = ctx.consumer(isolation, group)
        c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in ctx.parts()])
        records = []
        ctx.stats['%s_eof' % isolation] = drain(ctx, c, ends, records, min(deadline, time.monotonic() + 20), quiet=0.5)
        layout, _ = expected_layout(ctx, txns)
        check_read(ctx, isolation, records, layout)
        ctx.stats['%s_read' % isolation] = len(records)
        ctx.stats['%s_positions' % isolation] = positions(ctx, c)
        c.commit(asynchronous=False)
        ctx.stats['%s_committed' % isolation] = {
            str(tp.partition): tp.offset
            for tp in c.committed([TopicPartition(a.topic, p) for p in ctx.parts()], timeout=10)}
        c.close()
    return ctx.done()


def mode_fence(ctx):
    a = ctx.args
    n = a.count
    deadline = time.monotonic() + a.timeout
    tid = 'compat-txn-fence'
    first = ctx.producer(tid)
    first.init_transactions(30)
    first.begin_transaction()
    d1 = {}
    produce_range(ctx, first, 'A', 0, n, d1)
    ctx.stats['first_unflushed'] = first.flush(30)
    ctx.stats['first_delivered'] = sum(1 for d in d1.values() if isinstance(d, tuple))

    second = ctx.producer(tid)
    t0 = time.monotonic()
    second.init_transactions(30)
    ctx.stats['second_init_seconds'] = round(time.monotonic() - t0, 2)

    # The fenced producer goes on: more messages in its transaction, then commit.
    d2 = {}
    try:
        produce_range(ctx, first, 'Z', n, 2 * n, d2)
        ctx.stats['zombie_produce_error'] = None
    except KafkaException as e:
        ctx.stats['zombie_produce_error'] = err_info(e)
    try:
        ctx.stats['zombie_unflushed'] = first.flush(15)
        ctx.stats['zombie_flush_error'] = None
    except KafkaException as e:  # flush() raises the fatal error once it is set
        ctx.stats['zombie_flush_error'] = err_info(e)
    # Serve the delivery reports flush() left behind when it raised.
    end = time.monotonic() + 5
    while len(d2) < n and time.monotonic() < end:
        first.poll(0.1)
    ctx.stats['zombie_reports'] = len(d2)
    ctx.stats['zombie_delivered'] = sum(1 for d in d2.values() if isinstance(d, tuple))
    ctx.stats['zombie_delivery_errors'] = sorted({d['name'] for d in d2.values() if isinstance(d, dict)})
    try:
        first.commit_transaction(15)
        ctx.stats['zombie_commit_error'] = None
    except KafkaException as e:
        ctx.stats['zombie_commit_error'] = err_info(e)

    second.begin_transaction()
    d3 = {}
    produce_range(ctx, second, 'B', 2 * n, 3 * n, d3)
    second.commit_transaction(30)
    ctx.stats['second_delivered'] = sum(1 for d in d3.values() if isinstance(d, tuple))

    for isolation in ('read_committed', 'read_uncommitted'):
        probe = ctx.consumer('read_uncommitted')
        ends = watermarks(ctx, probe)
        probe.close()
        c = ctx.consumer(isolation)
        c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in ctx.parts()])
        records = []
        ctx.stats['%s_eof' % isolation] = drain(ctx, c, ends, records, min(deadline, time.monotonic() + 20), quiet=1.0)
        ctx.stats['%s_values' % isolation] = sorted(r['v'] for r in records)
        c.close()
    return ctx.done()


def mode_invalid_timeout(ctx):
    p = ctx.producer('compat-txn-invalid-timeout', {'transaction.timeout.ms': ctx.args.txn_timeout_ms})
    try:
        p.init_transactions(20)
        ctx.stats['init_error'] = None
    except KafkaException as e:
        ctx.stats['init_error'] = err_info(e)
    return ctx.done()


def hold(ctx, producer, line):
    print(line, flush=True)
    end = time.monotonic() + ctx.args.timeout
    while time.monotonic() < end:
        producer.poll(0.1)
    return 0


def mode_open(ctx):
    a = ctx.args
    producer = ctx.producer(a.tid, {'transaction.timeout.ms': a.txn_timeout_ms})
    producer.init_transactions(30)
    producer.begin_transaction()
    d = {}
    produce_range(ctx, producer, a.prefix, 0, a.count, d)
    producer.flush(30)
    ok = {i: v for i, v in d.items() if isinstance(v, tuple)}
    return hold(ctx, producer, 'open %s' % json.dumps({'delivered': len(ok), 'offsets': sorted(ok.values())}))


def mode_commit_hold(ctx):
    a = ctx.args
    producer = ctx.producer(a.tid)
    producer.init_transactions(30)
    producer.begin_transaction()
    d = {}
    produce_range(ctx, producer, a.prefix, 0, a.count, d)
    if a.offsets_group:
        group = ctx.consumer('read_committed', group=a.offsets_group)
        offsets = [TopicPartition(a.topic, p, 1000 + p) for p in ctx.parts()]
        producer.send_offsets_to_transaction(offsets, group.consumer_group_metadata(), 30)
        group.close()
    producer.commit_transaction(30)
    ok = {i: v for i, v in d.items() if isinstance(v, tuple)}
    return hold(ctx, producer, 'committed %s' % json.dumps({'delivered': len(ok), 'offsets': sorted(ok.values())}))


def mode_committed(ctx):
    a = ctx.args
    c = ctx.consumer('read_committed', group=a.offsets_group)
    got = c.committed([TopicPartition(a.topic, p) for p in ctx.parts()], timeout=30)
    ctx.stats['committed'] = {str(tp.partition): tp.offset for tp in got}
    errors = [str(tp.error) for tp in got if tp.error is not None]
    if errors:
        ctx.problems.append('committed() errors: %s' % errors)
    c.close()
    return ctx.done()


def mode_produce(ctx):
    a = ctx.args
    producer = ctx.producer(a.tid)
    producer.init_transactions(30)
    producer.begin_transaction()
    d = {}
    produce_range(ctx, producer, a.prefix, 0, a.count, d)
    producer.commit_transaction(30)
    ctx.stats['delivered'] = sum(1 for v in d.values() if isinstance(v, tuple))
    ctx.stats['offsets'] = sorted(v for v in d.values() if isinstance(v, tuple))
    return ctx.done()


def mode_read(ctx):
    a = ctx.args
    start = time.monotonic()
    deadline = start + a.timeout
    c = ctx.consumer(a.isolation)
    c.assign([TopicPartition(a.topic, p, OFFSET_BEGINNING) for p in ctx.parts()])
    records = []
    at_end = set()  # partitions whose last event was an EOF (a record arriving clears it)
    first_full = None
    reached_ends = False
    # Until --expect records arrived and every partition is at its end, or the deadline. An EOF can predate a
    # marker appended since (the timed-out transaction's ABORT is written while this reads), so once every
    # partition has reported its end, keep polling until the positions have passed the high watermarks too.
    while time.monotonic() < deadline:
        if first_full is None and len(records) >= a.expect:
            first_full = time.monotonic()
        if first_full is not None and len(at_end) == a.partitions:
            reached_ends = True
        if reached_ends:
            pos = positions(ctx, c)
            hw = watermarks(ctx, c)
            if all(pos[str(p)] >= hw[p] for p in ctx.parts()):
                break
        msg = c.poll(0.2)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() == KafkaError._PARTITION_EOF:
                at_end.add(msg.partition())
            else:
                ctx.problems.append('consumer error: %s' % msg.error())
            continue
        at_end.discard(msg.partition())
        h = dict(msg.headers() or [])
        records.append({'p': msg.partition(), 'o': msg.offset(), 'v': msg.value().decode(), 'idx': int(h.get('idx', b'-1'))})
    ctx.stats['at_end'] = sorted(at_end)
    ctx.stats['seconds_to_expected'] = None if first_full is None else round(first_full - start, 2)
    ctx.stats['records'] = records
    ctx.stats['watermarks'] = {str(p): o for p, o in watermarks(ctx, c).items()}
    ctx.stats['positions'] = positions(ctx, c)
    c.close()
    probe = ctx.consumer('read_uncommitted')
    ctx.stats['high_watermarks'] = {str(p): o for p, o in watermarks(ctx, probe).items()}
    probe.close()
    return ctx.done()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['commit-abort', 'fence', 'invalid-timeout', 'open', 'commit-hold', 'produce', 'read', 'committed'])
    ap.add_argument('--bootstrap', required=True)
    ap.add_argument('--topic', default='')
    ap.add_argument('--partitions', type=int, default=3)
    ap.add_argument('--per-txn', type=int, default=300)
    ap.add_argument('--count', type=int, default=30)
    ap.add_argument('--tid', default='compat-txn')
    ap.add_argument('--prefix', default='m')
    ap.add_argument('--txn-timeout-ms', type=int, default=60000)
    ap.add_argument('--isolation', default='read_committed')
    ap.add_argument('--offsets-group', default='')
    ap.add_argument('--expect', type=int, default=0)
    ap.add_argument('--timeout', type=float, default=60.0)
    args = ap.parse_args()
    ctx = Ctx(args)
    return {
        'commit-abort': mode_commit_abort,
        'fence': mode_fence,
        'invalid-timeout': mode_invalid_timeout,
        'open': mode_open,
        'commit-hold': mode_commit_hold,
        'produce': mode_produce,
        'read': mode_read,
        'committed': mode_committed,
    }[args.mode](ctx)


if __name__ == '__main__':
    sys.exit(main())
