"""Topic configs changed with confluent-kafka's AdminClient take effect on an
existing topic, without recreating it:

- max.message.bytes lowered: a batch that was accepted before is refused
  with MESSAGE_TOO_LARGE; raised again, it is accepted;
- cleanup.policy changed from delete to compact: the log written before the
  change is compacted to the newest value of each key.
"""
import argparse
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

from common import fail


def alter(admin, topic, key, value):
    entry = ConfigEntry(key, value, incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource(ConfigResource.Type.TOPIC, topic, incremental_configs=[entry])
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)


def produce(bootstrap, topic, records):
    """Produces (key, value) pairs one batch each; returns the delivery errors."""
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 0,
                         "compression.type": "none", "message.send.max.retries": 0,
                         "enable.idempotence": False})
    errors = []

    def report(err, _msg):
        if err is not None:
            errors.append(err)

    for key, value in records:
        producer.produce(topic, key=key, value=value, on_delivery=report)
        producer.flush(30)
    return errors


def read_all(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"live-{time.time()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    consumer.assign([TopicPartition(topic, 0, 0)])
    out = []
    deadline = time.time() + 30
    while time.time() < deadline:
        msg = consumer.poll(1.0)
        if msg is None or msg.error():
            if out and out[-1][0] >= high - 1:
                break
            continue
        out.append((msg.offset(), msg.key(), msg.value()))
        if msg.offset() >= high - 1:
            break
    consumer.close()
    return out


def max_message_bytes(admin, bootstrap, topic):
    big = b"x" * 4000
    if produce(bootstrap, topic, [(b"k", big)]):
        fail("a 4000-byte record was refused under the default max.message.bytes")
    alter(admin, topic, "max.message.bytes", "1000")
    deadline = time.time() + 15
    while True:
        errors = produce(bootstrap, topic, [(b"k", big)])
        if errors and errors[0].code() == KafkaError.MSG_SIZE_TOO_LARGE:
            break
        if time.time() > deadline:
            fail(f"max.message.bytes=1000 not enforced: {errors}")
        time.sleep(0.5)
    if produce(bootstrap, topic, [(b"k", b"small")]):
        fail("a small record was refused under max.message.bytes=1000")
    alter(admin, topic, "max.message.bytes", "1048588")
    deadline = time.time() + 15
    while produce(bootstrap, topic, [(b"k", big)]):
        if time.time() > deadline:
            fail("raising max.message.bytes again did not let the record in")
        time.sleep(0.5)
    print("OK max.message.bytes changed in place")


def cleanup_policy(admin, bootstrap, topic):
    records = [(f"key-{k}".encode(), f"v{v}".encode()) for v in range(5) for k in range(10)]
    if produce(bootstrap, topic, records):
        fail("producing the keyed records failed")
    if len(read_all(bootstrap, topic)) != 50:
        fail("the delete-policy topic did not keep all 50 records")
    alter(admin, topic, "cleanup.policy", "compact")
    deadline = time.time() + 60
    while True:
        seen = read_all(bootstrap, topic)
        newest = {}
        for _, key, value in seen:
            newest[key] = value
        # The newest record of the log always stays; every key keeps v4.
        if len(seen) == 10 and all(v == b"v4" for v in newest.values()) and len(newest) == 10:
            break
        if time.time() > deadline:
            fail(f"not compacted after cleanup.policy=compact: {len(seen)} records")
        time.sleep(1)
    print("OK cleanup.policy changed in place")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    args = p.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for suffix in ("size", "policy"):
        fs = admin.create_topics([NewTopic(f"{args.topic}-{suffix}", 1, 3)])
        fs[f"{args.topic}-{suffix}"].result(timeout=30)
    max_message_bytes(admin, args.bootstrap, f"{args.topic}-size")
    cleanup_policy(admin, args.bootstrap, f"{args.topic}-policy")


if __name__ == "__main__":
    main()
