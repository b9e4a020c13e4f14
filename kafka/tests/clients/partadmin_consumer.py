"""A librdkafka consumer (confluent-kafka) keeps its position across a
partition leader kill through OffsetForLeaderEpoch (KIP-320).

Produces --count records to partition 0 (idempotent, acks=all), consumes
them from offset 0 with auto.offset.reset=error (any reset is an error), or
with --start end positions itself at the end (ListOffsets), prints
CONSUMED <n> and waits for --go-file (the test kills the leader meanwhile),
then produces --count more and consumes them. Checks every
record arrives once, in order, that librdkafka queried the new leader for
epoch validation and that it succeeded, and that no truncation was detected.
"""
import argparse
import logging
import os
import time

from confluent_kafka import OFFSET_END, Consumer, KafkaError, Producer, TopicPartition

from common import fail


class Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines = []

    def emit(self, record):
        self.lines.append(record.getMessage())


def produce(producer, topic, first, count):
    errors = []

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(err)

    for i in range(first, first + count):
        producer.produce(topic, value=f"{i:08d}".encode(), partition=0, on_delivery=on_delivery)
        if i % 500 == 0:
            producer.poll(0)
    if producer.flush(60) != 0 or errors:
        fail(f"produce failed: {errors[:3]}")


def consume_until(consumer, expected_next, last, deadline_s):
    deadline = time.time() + deadline_s
    while expected_next < last:
        if time.time() > deadline:
            fail(f"timed out at offset {expected_next} of {last}")
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            if msg.error().code() == KafkaError._PARTITION_EOF:
                continue
            fail(f"consumer error: {msg.error()}")
        value = int(msg.value())
        if msg.offset() != expected_next or value != expected_next:
            fail(f"expected offset and value {expected_next}, got {msg.offset()} / {value}")
        expected_next += 1
    return expected_next


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--go-file", required=True)
    parser.add_argument("--start", choices=["beginning", "end"], default="beginning")
    args = parser.parse_args()

    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True,
                         "acks": "all", "linger.ms": 5})
    produce(producer, args.topic, 0, args.count)

    lines = Lines()
    logger = logging.getLogger("librdkafka")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(lines)
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "partadmin-validated",
        "enable.auto.commit": False,
        "auto.offset.reset": "error",
        "topic.metadata.refresh.interval.ms": 1000,
        "debug": "fetch",
        "logger": logger,
    })
    if args.start == "end":
        # The position comes from ListOffsets (leader epoch 0), not from a record.
        tp = TopicPartition(args.topic, 0, OFFSET_END)
        consumer.assign([tp])
        deadline = time.time() + 60
        fetching = f"at offset {args.count} (leader epoch"
        while not any(fetching in l for l in lines.lines):
            if time.time() > deadline:
                fail(f"the consumer never fetched from the end: {lines.lines[-10:]}")
            msg = consumer.poll(0.2)
            if msg is not None and not msg.error():
                fail(f"unexpected record at offset {msg.offset()}")
        position = args.count
    else:
        consumer.assign([TopicPartition(args.topic, 0, 0)])
        position = consume_until(consumer, 0, args.count, 60)
    print(f"CONSUMED {position}", flush=True)
    while not os.path.exists(args.go_file):
        consumer.poll(0.1)
    produce(producer, args.topic, args.count, args.count)
    position = consume_until(consumer, position, 2 * args.count, 90)
    # Nothing more than what was produced.
    extra = consumer.poll(2.0)
    if extra is not None and not extra.error():
        fail(f"unexpected record at offset {extra.offset()}")
    consumer.close()
    queried = [l for l in lines.lines if "querying broker for epoch validation" in l]
    succeeded = [l for l in lines.lines if "offset and epoch validation succeeded" in l]
    truncated = [l for l in lines.lines if "truncation" in l.lower()]
    if truncated:
        fail(f"truncation detected: {truncated[:3]}")
    if not queried or not succeeded:
        relevant = [l for l in lines.lines if "valid" in l.lower() or "epoch" in l.lower()]
        fail(f"no epoch validation after the leader change: {relevant[-20:]}")
    print(f"OK consumed {position} in order, validated: {succeeded[-1]}")


if __name__ == "__main__":
    main()
