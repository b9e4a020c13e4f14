"""Committed offsets with kafka-python: commit as a group without members,
read them back, or hold a group open (a live member) for a while."""
import argparse
import sys
import time

from common import fail


def consumer(bootstrap, group, topics=()):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=f"offsets-{group}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
    )


def commit(c, topic, offset):
    from kafka import TopicPartition
    from kafka.structs import OffsetAndMetadata

    c.commit({TopicPartition(topic, 0): OffsetAndMetadata(offset, "", -1)})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["commit", "committed", "hold"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    if args.action == "commit":
        c = consumer(args.bootstrap, args.group)
        commit(c, args.topic, args.offset)
        c.close()
        print(f"OK committed {args.offset}")
    elif args.action == "committed":
        from kafka import TopicPartition

        c = consumer(args.bootstrap, args.group)
        print(f"committed={c.committed(TopicPartition(args.topic, 0))}")
        c.close()
    else:
        c = consumer(args.bootstrap, args.group, [args.topic])
        deadline = time.time() + 30
        while not c.assignment():
            if time.time() > deadline:
                fail("no assignment")
            c.poll(timeout_ms=200)
        commit(c, args.topic, args.offset)
        print(f"OK holding {args.offset}", flush=True)
        end = time.time() + args.seconds
        while time.time() < end:
            c.poll(timeout_ms=200)
        c.close()


if __name__ == "__main__":
    sys.exit(main())
