"""Retention checks with confluent-kafka against one partition (--partition) of a topic.

create:  creates the topic with the given configs and checks DescribeConfigs.
produce: writes --count records of --size bytes (value starts with the zero
         padded record number), flushing every --per-request records so each
         produce request is one stored entry (flush ignores linger.ms); with
         --pause-file it then prints PAUSED, waits for the file and writes
         --more records with the same producer.
check:   waits until the earliest offset reaches --min-earliest and the latest
         equals --count, checks that a fetch below the log start fails with
         OFFSET_OUT_OF_RANGE, then reads everything from the log start and
         checks the records are the newest ones, in order.
"""
import argparse
import os
import sys
import time
import uuid

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic

from common import fail


def create(args):
    configs = dict(kv.split("=", 1) for kv in args.config)
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics([NewTopic(args.topic, args.partitions, 1, config=configs)])
    futures[args.topic].result(timeout=30)
    resource = ConfigResource(ConfigResource.Type.TOPIC, args.topic)
    described = admin.describe_configs([resource])[resource].result(timeout=30)
    for key, value in configs.items():
        shown = described.get(key)
        if shown is None or shown.value != value:
            fail(f"DescribeConfigs shows {key}={shown and shown.value}, expected {value}")
    print(f"OK created {args.topic} with {configs}")


def produce(args):
    config = {"bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 5000}
    if args.idempotent:
        config["enable.idempotence"] = True
    producer = Producer(config)
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    def send(first, count):
        for i in range(first, first + count):
            value = f"{i:08d}".encode().ljust(args.size, b".")
            producer.produce(args.topic, key=str(i).encode(), value=value,
                             partition=args.partition,
                             on_delivery=on_delivery)
            if (i + 1) % args.per_request == 0:
                producer.flush(30)
        if producer.flush(30) != 0 or errors:
            fail(f"produce failed: {errors[:3]}")

    send(0, args.count)
    total = args.count
    if args.pause_file:
        # The same producer (same id, sequences running on) continues once
        # the test created the file.
        print("PAUSED", flush=True)
        deadline = time.time() + 120
        while not os.path.exists(args.pause_file):
            if time.time() > deadline:
                fail(f"{args.pause_file} never appeared")
            producer.poll(0.1)
        send(args.count, args.more)
        total += args.more
    print(f"OK produced {total}", flush=True)


def consumer(bootstrap, reset):
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"retention-{uuid.uuid4()}",
        "enable.auto.commit": False,
        "auto.offset.reset": reset,
        "enable.partition.eof": True,
    })


def expect_out_of_range(args):
    c = consumer(args.bootstrap, "error")
    c.assign([TopicPartition(args.topic, args.partition, 0)])
    deadline = time.time() + 20
    try:
        while time.time() < deadline:
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error() is None:
                fail(f"read offset {msg.offset()} below the log start")
            code = msg.error().code()
            if code in (KafkaError._AUTO_OFFSET_RESET, KafkaError.OFFSET_OUT_OF_RANGE):
                return
            if code != KafkaError._PARTITION_EOF:
                fail(f"unexpected error {msg.error()}")
        fail("no OFFSET_OUT_OF_RANGE for a fetch below the log start")
    finally:
        c.close()


def check(args):
    c = consumer(args.bootstrap, "earliest")
    tp = TopicPartition(args.topic, args.partition)
    deadline = time.time() + args.timeout
    while True:
        low, high = c.get_watermark_offsets(tp, timeout=10)
        if low >= args.min_earliest and high == args.count:
            break
        if time.time() > deadline:
            fail(f"watermarks ({low}, {high}): wanted earliest >= {args.min_earliest}, "
                 f"latest {args.count}")
        time.sleep(0.2)
    expect_out_of_range(args)
    # Assigned below the log start: the broker answers OFFSET_OUT_OF_RANGE and
    # the client resets to the earliest offset.
    c.assign([TopicPartition(args.topic, args.partition, 0)])
    offsets = []
    deadline = time.time() + 30
    while time.time() < deadline:
        msg = c.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                break
            fail(f"consume: {msg.error()}")
        number = int(msg.value()[:8])
        if number != msg.offset() or msg.key() != str(number).encode():
            fail(f"offset {msg.offset()} holds record {number} key {msg.key()}")
        offsets.append(msg.offset())
    c.close()
    if not offsets or offsets[0] < low or offsets != list(range(offsets[0], args.count)):
        fail(f"read offsets {offsets[:3]}..{offsets[-3:]} from log start {low} to {args.count}")
    print(f"OK earliest={low} latest={high} read={len(offsets)} first={offsets[0]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["create", "produce", "check"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--config", action="append", default=[])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--per-request", type=int, default=5)
    parser.add_argument("--min-earliest", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=20)
    parser.add_argument("--idempotent", action="store_true")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--pause-file")
    parser.add_argument("--more", type=int, default=0)
    args = parser.parse_args()
    {"create": create, "produce": produce, "check": check}[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
