"""kafka-python's producer (idempotent by default in 3.x) and confluent-kafka's with
enable.idempotence: every record is stored exactly once, offsets consecutive."""
import argparse
import sys
import time

from common import create_topic, fail


def consume_all(bootstrap, topic, expected):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    records = []
    deadline = time.time() + 30
    while time.time() < deadline and len(records) < expected:
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
    end = time.time() + 0.5
    while time.time() < end:
        for batch in consumer.poll(timeout_ms=100).values():
            records.extend(batch)
    consumer.close()
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    create_topic(args.bootstrap, args.topic, 1)

    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all",
                             enable_idempotence=True, linger_ms=2)
    futures = [producer.send(args.topic, value=f"kp-{i}".encode(), partition=0)
               for i in range(args.count)]
    producer.flush(30)
    for f in futures:
        f.get(timeout=10)
    producer.close()

    from confluent_kafka import Producer

    errors = []
    cp = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True,
                   "acks": "all"})
    for i in range(args.count):
        cp.produce(args.topic, value=f"ck-{i}".encode(), partition=0,
                   on_delivery=lambda err, msg: err and errors.append(str(err)))
        cp.poll(0)
    if cp.flush(30) or errors:
        fail(f"confluent idempotent produce failed: {errors[:3]}")

    records = consume_all(args.bootstrap, args.topic, 2 * args.count)
    values = [r.value.decode() for r in records]
    expected = [f"kp-{i}" for i in range(args.count)] + [f"ck-{i}" for i in range(args.count)]
    if values != expected:
        fail(f"read {len(values)} records, expected {len(expected)} in order, exactly once")
    if [r.offset for r in records] != list(range(len(expected))):
        fail("offsets are not consecutive")
    print(f"OK {len(expected)} idempotent records stored exactly once")


if __name__ == "__main__":
    sys.exit(main())
