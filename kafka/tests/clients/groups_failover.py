"""A confluent-kafka consumer group across a coordinator change.

Two members consume --count records of a 2-partition topic, committing
synchronously as they go, print CONSUMED with their member ids and create
--ready-file. The test
then kills the coordinator (the metadata leader) and creates --pause-file;
the members keep polling meanwhile. Then --count more records are produced
and consumed. Checks: every record read at least once (at-least-once), no
record read twice (every commit was acknowledged before the kill), no
rebalance after the kill (the members keep their ids and assignments and
librdkafka's rebalance count stays), the committed offsets are the end
offsets, and a new member of the group after everyone left reads nothing.
"""
import argparse
import json
import os
import time
from collections import Counter

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from common import fail

PARTITIONS = 2


class Member:
    def __init__(self, args, name):
        self.name = name
        self.topic = args.topic
        self.assigns = 0
        self.rebalances = None
        self.pending = {}
        self.consumer = Consumer({
            "bootstrap.servers": args.bootstrap,
            "group.id": args.group,
            "client.id": name,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "statistics.interval.ms": 500,
            "stats_cb": self.stats,
        })
        self.consumer.subscribe([args.topic], on_assign=self.on_assign,
                                on_revoke=self.on_revoke)

    def stats(self, raw):
        cgrp = json.loads(raw).get("cgrp") or {}
        if "rebalance_cnt" in cgrp:
            self.rebalances = cgrp["rebalance_cnt"]

    def on_assign(self, consumer, partitions):
        self.assigns += 1

    def poll(self, seen):
        msg = self.consumer.poll(0.1)
        if msg is None or msg.error() is not None:
            return
        seen[msg.key()] += 1
        self.pending[msg.partition()] = msg.offset() + 1
        if sum(seen.values()) % 25 == 0:
            self.commit()

    def commit(self):
        """Commits what was read; on failure (e.g. a rebalance or the
        coordinator moving) the offsets stay pending for the next try."""
        if not self.pending:
            return True
        offsets = [TopicPartition(self.topic, p, o) for p, o in self.pending.items()]
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException:
            return False
        self.pending = {}
        return True

    def on_revoke(self, consumer, partitions):
        self.commit()


def produce(bootstrap, topic, start, count):
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for i in range(start, start + count):
        producer.produce(topic, key=str(i).encode(), value=b"v", partition=i % PARTITIONS)
    if producer.flush(60):
        fail("produce did not complete")


def consume_until(members, seen, keys, timeout, what):
    deadline = time.time() + timeout
    while not all(k in seen for k in keys):
        if time.time() > deadline:
            missing = [k for k in keys if k not in seen]
            fail(f"{what}: {len(missing)} records never read, e.g. {missing[:5]}")
        for m in members:
            m.poll(seen)
    # Every member polls while any commit is retried (a rebalance needs
    # every member to poll).
    deadline = time.time() + 60
    while not all([m.commit() for m in members]):
        if time.time() > deadline:
            fail(f"{what}: commits never succeeded")
        for m in members:
            m.poll(seen)


def retried(what, call):
    """Retries a call that may meet a partition leader that just died."""
    deadline = time.time() + 60
    while True:
        try:
            return call()
        except KafkaException as e:
            if time.time() > deadline:
                fail(f"{what}: {e}")
            time.sleep(0.5)


def end_offsets_committed(member, topic):
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    committed = retried("committed", lambda: member.consumer.committed(parts, timeout=10))
    for tp in committed:
        _, high = retried("watermarks", lambda: member.consumer.get_watermark_offsets(
            TopicPartition(topic, tp.partition), timeout=10))
        if tp.offset != high:
            fail(f"partition {tp.partition}: committed {tp.offset}, end {high}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="failover")
    parser.add_argument("--group", default="failover-group")
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--pause-file", required=True)
    args = parser.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    admin.create_topics([NewTopic(args.topic, PARTITIONS, 1)])[args.topic].result(timeout=30)
    produce(args.bootstrap, args.topic, 0, args.count)
    members = [Member(args, "m1"), Member(args, "m2")]
    seen = Counter()
    first = [str(i).encode() for i in range(args.count)]
    consume_until(members, seen, first, 90, "before the kill")
    deadline = time.time() + 30
    while not all(m.consumer.assignment() for m in members) or any(
            m.rebalances is None for m in members):
        if time.time() > deadline:
            fail("the members never both held partitions")
        for m in members:
            m.poll(seen)
    ids = [m.consumer.memberid() for m in members]
    assigns = [m.assigns for m in members]
    rebalances = [m.rebalances for m in members]
    print(f"CONSUMED {sum(seen.values())} members={ids} assigns={assigns} "
          f"rebalances={rebalances}", flush=True)
    with open(args.ready_file, "w") as f:
        f.write("consumed")
    deadline = time.time() + 120
    while not os.path.exists(args.pause_file):
        if time.time() > deadline:
            fail(f"{args.pause_file} never appeared")
        for m in members:
            m.poll(seen)
    produce(args.bootstrap, args.topic, args.count, args.count)
    second = [str(i).encode() for i in range(args.count, 2 * args.count)]
    consume_until(members, seen, second, 120, "after the kill")
    time.sleep(2)  # a statistics interval or more, so rebalance counts are fresh
    for m in members:
        m.consumer.poll(0.1)
    twice = {k: n for k, n in seen.items() if n > 1}
    if twice:
        fail(f"{len(twice)} records read more than once, e.g. {list(twice.items())[:5]}")
    after = ([m.consumer.memberid() for m in members], [m.assigns for m in members],
             [m.rebalances for m in members])
    if after != (ids, assigns, rebalances):
        fail(f"the group rebalanced: before {(ids, assigns, rebalances)}, after {after}")
    end_offsets_committed(members[0], args.topic)
    for m in members:
        m.consumer.close()
    late = Member(args, "late")
    again = Counter()
    deadline = time.time() + 8
    while time.time() < deadline:
        late.poll(again)
    late.consumer.close()
    if again:
        fail(f"a new member re-read {sum(again.values())} committed records")
    print(f"OK read {len(seen)} records once, no rebalance: members={ids} "
          f"assigns={assigns} rebalances={rebalances}", flush=True)


if __name__ == "__main__":
    main()
