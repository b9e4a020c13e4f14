"""Create a 3-partition topic, produce N records with confluent-kafka (acks=all),
consume them all with kafka-python, and check order per partition, keys, headers."""
import argparse
import sys
import time

from common import create_topic, fail


def produce(bootstrap, topic, count, batch_messages=None):
    from confluent_kafka import Producer

    config = {
        "bootstrap.servers": bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "enable.idempotence": True,
    }
    if batch_messages:
        config["batch.num.messages"] = batch_messages
    producer = Producer(config)
    delivered = []
    errors = []

    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append((msg.partition(), msg.offset()))

    for i in range(count):
        while True:
            try:
                producer.produce(
                    topic,
                    key=f"key-{i % 97}".encode(),
                    value=f"value-{i}".encode(),
                    headers=[("seq", str(i).encode()), ("origin", b"chronik-test")],
                    on_delivery=on_delivery,
                )
                break
            except BufferError:
                producer.poll(0.1)
        producer.poll(0)
    remaining = producer.flush(60)
    if remaining or errors:
        fail(f"produce: {remaining} undelivered, errors: {errors[:5]}")
    if len(delivered) != count:
        fail(f"produce: {len(delivered)} delivery reports for {count} records")
    return delivered


def consume(bootstrap, topic, count, partitions):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        client_id="chronik-test-consumer",
    )
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records = []
    deadline = time.time() + 60
    while len(records) < count and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
            records.extend(batch)
    consumer.close()
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--consume-bootstrap", help="consume from these brokers (default: --bootstrap)")
    parser.add_argument("--batch-messages", type=int,
                        help="at most this many records per batch (each batch is one Raft entry)")
    args = parser.parse_args()

    create_topic(args.bootstrap, args.topic, args.partitions)
    delivered = produce(args.bootstrap, args.topic, args.count, args.batch_messages)
    used = {p for p, _ in delivered}
    if len(used) != args.partitions:
        fail(f"records landed in partitions {sorted(used)}, expected {args.partitions}")

    records = consume(args.consume_bootstrap or args.bootstrap, args.topic, args.count, args.partitions)
    if len(records) != args.count:
        fail(f"consumed {len(records)} of {args.count}")
    last_seq = {}
    last_offset = {}
    seen = set()
    for r in records:
        headers = dict(r.headers)
        seq = int(headers["seq"])
        if headers.get("origin") != b"chronik-test":
            fail(f"header origin lost at {r.partition}/{r.offset}: {r.headers}")
        if r.key != f"key-{seq % 97}".encode() or r.value != f"value-{seq}".encode():
            fail(f"key/value mismatch at {r.partition}/{r.offset}: {r.key} {r.value}")
        if seq <= last_seq.get(r.partition, -1):
            fail(f"order broken in partition {r.partition}: seq {seq} after {last_seq[r.partition]}")
        if r.offset != last_offset.get(r.partition, -1) + 1:
            fail(f"offset gap in partition {r.partition}: {r.offset} after {last_offset.get(r.partition)}")
        last_seq[r.partition] = seq
        last_offset[r.partition] = r.offset
        seen.add(seq)
    if len(seen) != args.count:
        fail(f"{len(seen)} distinct records of {args.count}")
    print(f"OK produced and consumed {args.count} records over {len(used)} partitions")


if __name__ == "__main__":
    sys.exit(main())
