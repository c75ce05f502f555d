"""confluent-kafka-python against a SASL/TLS listener: produce N messages, consume them back in a group.

Usage: security_roundtrip.py <bootstrap> <topic> <security.protocol> <mechanism|-> <user|-> <password|-> <ca file|-> <count> <expect ok|fail>

With `fail`, the client must get no data through: produce errors (or times out) and the consumer sees nothing.
Prints one JSON line: {"ok": bool, "problems": [...], "stats": {...}}.
"""
import json
import sys
import time

from confluent_kafka import Consumer, KafkaException, Producer

bootstrap, topic, protocol, mechanism, user, password, ca, count, expect = sys.argv[1:10]
count = int(count)
problems = []
stats = {}

conf = {"bootstrap.servers": bootstrap, "security.protocol": protocol, "socket.timeout.ms": 5000}
if mechanism != "-":
    conf.update({"sasl.mechanism": mechanism, "sasl.username": user, "sasl.password": password})
if ca != "-":
    conf.update({"ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "none"})

errors = []


def on_error(err):
    errors.append(str(err))


producer = Producer({**conf, "error_cb": on_error, "message.timeout.ms": 10000 if expect == "ok" else 4000, "acks": "all"})
delivered = []
failed = []


def on_delivery(err, msg):
    if err is not None:
        failed.append(str(err))
    else:
        delivered.append(msg.offset())


for i in range(count):
    producer.produce(topic, key=str(i).encode(), value=("value-%d" % i).encode(), on_delivery=on_delivery)
producer.flush(15)
stats["delivered"] = len(delivered)
stats["delivery_failures"] = len(failed)

consumer = Consumer({**conf, "group.id": topic + "-group", "auto.offset.reset": "earliest", "error_cb": on_error})
consumer.subscribe([topic])
values = []
deadline = time.time() + (30 if expect == "ok" else 6)
while time.time() < deadline and len(values) < count:
    msg = consumer.poll(0.5)
    if msg is None:
        continue
    if msg.error():
        errors.append(str(msg.error()))
        continue
    values.append(msg.value().decode())
consumer.close()
stats["consumed"] = len(values)
stats["errors"] = errors[:5]

if expect == "ok":
    if len(delivered) != count:
        problems.append("delivered %d of %d: %s" % (len(delivered), count, failed[:3]))
    if sorted(values) != sorted("value-%d" % i for i in range(count)):
        problems.append("consumed %d of %d" % (len(values), count))
else:
    if delivered:
        problems.append("a refused client delivered %d messages" % len(delivered))
    if values:
        problems.append("a refused client consumed %d messages" % len(values))
    if not errors and not failed:
        problems.append("a refused client saw no error")

print(json.dumps({"ok": not problems, "problems": problems, "stats": stats}))
