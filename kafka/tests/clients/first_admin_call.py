"""confluent-kafka's AdminClient.create_topics as the very first call to a
cluster that has just formed: librdkafka first asks Metadata for the brokers
only and waits for a controller id, so an answer without the controller or
the brokers makes the call hang until its timeout."""
import argparse
import sys

from confluent_kafka.admin import AdminClient, NewTopic

from common import fail


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--timeout", type=float, default=20.0)
    args = parser.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.create_topics(
        [NewTopic(args.topic, 3, 1)], operation_timeout=args.timeout, request_timeout=args.timeout
    )
    try:
        futures[args.topic].result(timeout=args.timeout)
    except Exception as e:  # noqa: BLE001 - the message is the test's output
        fail(f"create_topics as the first call: {type(e).__name__}: {e}")
    metadata = admin.list_topics(timeout=args.timeout)
    if args.topic not in metadata.topics:
        fail(f"{args.topic} missing from Metadata after creation")
    print(f"OK created {args.topic}; brokers={sorted(metadata.brokers)} controller={metadata.controller_id}")


if __name__ == "__main__":
    sys.exit(main())
