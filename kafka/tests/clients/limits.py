"""Requests a broker must refuse without harm, printing what it answered.

create:  CreateTopics with kafka-python (which, unlike librdkafka, sends any
         partition count), optionally validate_only; prints
         "RESULT error_code=N message=..." for the topic.
produce: one record through confluent-kafka with a timestamp --skew-ms away
         from now; prints "RESULT error=<Kafka error name or NONE>".
grow:    CreatePartitions to --partitions with kafka-python, optionally
         validate_only; prints "RESULT error_code=N message=...".
watermarks: prints "RESULT low=N high=M" of partition 0.
brokers: prints "RESULT brokers=N", the brokers Metadata lists.
"""
import argparse
import sys
import time

from common import fail


def print_result(topic, result, field):
    """Prints topic's error code from a kafka-python admin answer (a dict or a
    response object whose entries are tuples, dicts or objects)."""
    entries = result.get(field, []) if isinstance(result, dict) else getattr(result, field, [])
    for t in entries:
        if isinstance(t, tuple):
            name, code, message = t[0], t[1], t[2] if len(t) > 2 else ""
        elif isinstance(t, dict):
            name, code, message = t.get("name"), t.get("error_code"), t.get("error_message")
        else:
            name, code, message = t.name, t.error_code, getattr(t, "error_message", "")
        if name == topic:
            print(f"RESULT error_code={code} message={message}")
            return
    fail(f"no result for {topic} in {result}")


def create(args):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="chronik-limits",
                             request_timeout_ms=30000)
    try:
        result = admin.create_topics(
            {args.topic: {"num_partitions": args.partitions, "replication_factor": 1}},
            timeout_ms=10000, validate_only=args.validate_only, raise_errors=False)
    finally:
        admin.close()
    print_result(args.topic, result, "topics")


def produce(args):
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all",
                         "message.timeout.ms": 20000, "retries": 0})
    outcome = []

    def on_delivery(err, _msg):
        outcome.append("NONE" if err is None else err.name())

    timestamp = int(time.time() * 1000) + args.skew_ms
    producer.produce(args.topic, value=b"v", timestamp=timestamp, on_delivery=on_delivery)
    producer.flush(30)
    if not outcome:
        fail("no delivery report")
    print(f"RESULT error={outcome[0]}")


def grow(args):
    from kafka.admin import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="chronik-limits",
                             request_timeout_ms=30000)
    try:
        result = admin.create_partitions({args.topic: args.partitions},
                                         timeout_ms=10000, validate_only=args.validate_only,
                                         raise_errors=False)
    finally:
        admin.close()
    print_result(args.topic, result, "results")


def watermarks(args):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": args.bootstrap, "group.id": "chronik-limits"})
    try:
        low, high = c.get_watermark_offsets(TopicPartition(args.topic, 0), timeout=10)
    finally:
        c.close()
    print(f"RESULT low={low} high={high}")


def brokers(args):
    from confluent_kafka.admin import AdminClient

    metadata = AdminClient({"bootstrap.servers": args.bootstrap}).list_topics(timeout=10)
    print(f"RESULT brokers={len(metadata.brokers)}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["create", "grow", "produce", "watermarks", "brokers"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--validate-only", action="store_true")
    parser.add_argument("--skew-ms", type=int, default=0)
    args = parser.parse_args()
    actions = {"create": create, "grow": grow, "produce": produce,
               "watermarks": watermarks, "brokers": brokers}
    actions[args.action](args)


if __name__ == "__main__":
    sys.exit(main())
