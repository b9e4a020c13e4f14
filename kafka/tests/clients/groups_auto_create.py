"""Auto-created topics with librdkafka (confluent-kafka).

produce:   a producer writes --count records to --topic, which nobody
           created; every delivery must succeed, and the topic then exists
           with the broker's num.partitions.
no-create: a consumer with allow.auto.create.topics=false subscribes to
           --topic for a few seconds; the topic must still not exist.
"""
import argparse
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient

from common import fail


def topics(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    return admin.list_topics(timeout=30).topics


def produce(args):
    if args.topic in topics(args.bootstrap):
        fail(f"{args.topic} exists before the test")
    errors = []
    delivered = []

    def report(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            delivered.append(msg.offset())

    producer = Producer({"bootstrap.servers": args.bootstrap, "acks": "all"})
    for i in range(args.count):
        producer.produce(args.topic, key=str(i).encode(), value=f"v{i}".encode(),
                         on_delivery=report)
        producer.poll(0)
    left = producer.flush(60)
    if left or errors or len(delivered) != args.count:
        fail(f"left={left} errors={errors[:5]} delivered={len(delivered)}")
    meta = topics(args.bootstrap).get(args.topic)
    if meta is None or meta.error is not None:
        fail(f"{args.topic} not listed after producing: {meta}")
    print(f"OK produced {len(delivered)} to {args.topic} partitions={len(meta.partitions)}",
          flush=True)


def no_create(args):
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"no-create-{args.topic}",
        "allow.auto.create.topics": False,
        "auto.offset.reset": "earliest",
    })
    consumer.subscribe([args.topic])
    deadline = time.time() + args.seconds
    while time.time() < deadline:
        consumer.poll(0.2)
    consumer.close()
    if args.topic in topics(args.bootstrap):
        fail(f"{args.topic} was created by a consumer that does not allow it")
    print(f"OK {args.topic} not created", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["produce", "no-create"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    {"produce": produce, "no-create": no_create}[args.mode](args)


if __name__ == "__main__":
    main()
