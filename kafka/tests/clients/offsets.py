"""Commits or fetches one consumer group offset with kafka-python (the
coordinator is found, and retriable errors retried, as the client does).

  offsets.py --bootstrap B --group G --topic T --partition P commit --offset N
  offsets.py --bootstrap B --group G --topic T --partition P fetch

`fetch` prints "COMMITTED <offset>" (-1: none)."""
import argparse

from common import fail


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("action", choices=["commit", "fetch"])
    parser.add_argument("--offset", type=int)
    args = parser.parse_args()

    from kafka import KafkaConsumer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap, group_id=args.group,
                             enable_auto_commit=False, request_timeout_ms=20000)
    tp = TopicPartition(args.topic, args.partition)
    try:
        if args.action == "commit":
            if args.offset is None:
                fail("commit needs --offset")
            consumer.commit({tp: OffsetAndMetadata(args.offset, "", -1)})
            print(f"OK committed {args.offset}")
        else:
            committed = consumer.committed(tp)
            print(f"COMMITTED {-1 if committed is None else committed}")
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
