"""Create a topic with kafka-python's admin client."""
import argparse
import sys

from common import create_topic


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=1)
    args = parser.parse_args()
    create_topic(args.bootstrap, args.topic, args.partitions)
    print(f"OK created {args.topic}")


if __name__ == "__main__":
    sys.exit(main())
