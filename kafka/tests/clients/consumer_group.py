"""A consumer group of two kafka-python members splits a 3-partition topic and commits;
a member started afterwards resumes from the committed offsets."""
import argparse
import sys
import threading
import time

from common import create_topic, fail

GROUP = "chronik-test-group"


def produce(bootstrap, topic, start, count, partitions):
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    for i in range(start, start + count):
        producer.send(topic, value=f"{i}".encode(), partition=i % partitions)
    producer.flush(30)
    producer.close()


def new_consumer(bootstrap, topic, name):
    from kafka import KafkaConsumer

    return KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=GROUP,
        client_id=name,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
    )


class Member(threading.Thread):
    def __init__(self, bootstrap, topic, name, stop):
        super().__init__(daemon=True)
        self.consumer = new_consumer(bootstrap, topic, name)
        self.stop = stop
        self.records = []
        self.assignments = []
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                polled = self.consumer.poll(timeout_ms=200)
                self.assignments.append({tp.partition for tp in self.consumer.assignment()})
                got = [r for batch in polled.values() for r in batch]
                if got:
                    self.records.extend(got)
                    self.consumer.commit()
            self.consumer.close()
        except Exception as e:  # reported by the main thread
            self.error = e


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    args = parser.parse_args()
    partitions = 3
    first, second = 300, 150

    create_topic(args.bootstrap, args.topic, partitions)
    produce(args.bootstrap, args.topic, 0, first, partitions)

    stop = threading.Event()
    a = Member(args.bootstrap, args.topic, "member-a", stop)
    a.start()
    time.sleep(1.0)
    b = Member(args.bootstrap, args.topic, "member-b", stop)
    b.start()

    def split():
        if not a.assignments or not b.assignments:
            return None
        pa, pb = a.assignments[-1], b.assignments[-1]
        if pa and pb and not (pa & pb) and (pa | pb) == set(range(partitions)):
            return pa, pb
        return None

    def done():
        seen = {(r.partition, r.offset) for r in a.records + b.records}
        return split() is not None and len(seen) >= first

    deadline = time.time() + 60
    while time.time() < deadline and not done():
        if a.error or b.error:
            fail(f"member error: {a.error or b.error}")
        time.sleep(0.1)
    if not done():
        fail(f"group did not split/consume: a={a.assignments[-1:]} b={b.assignments[-1:]} "
             f"consumed={len(a.records) + len(b.records)}")
    pa, pb = split()
    # Let the last commits land, then stop both members (they leave the group).
    time.sleep(0.5)
    stop.set()
    a.join(15)
    b.join(15)
    if a.error or b.error:
        fail(f"member error: {a.error or b.error}")
    values = {int(r.value) for r in a.records + b.records}
    if values != set(range(first)):
        fail(f"first phase consumed {len(values)} distinct of {first}")
    print(f"split: member-a {sorted(pa)}, member-b {sorted(pb)}")

    produce(args.bootstrap, args.topic, first, second, partitions)
    restarted = new_consumer(args.bootstrap, args.topic, "member-a-restarted")
    got = []
    deadline = time.time() + 30
    while time.time() < deadline and len(got) < second:
        for batch in restarted.poll(timeout_ms=200).values():
            got.extend(batch)
    # Anything older than the commits would arrive together with the new records.
    end = time.time() + 1.0
    while time.time() < end:
        for batch in restarted.poll(timeout_ms=200).values():
            got.extend(batch)
    restarted.commit()
    restarted.close()
    values = sorted(int(r.value) for r in got)
    if values != list(range(first, first + second)):
        fail(f"restarted member read {len(values)} records, first {values[:5]}: "
             "expected exactly the records after the committed offsets")
    print(f"OK group split and resume: {len(values)} new records after restart")


if __name__ == "__main__":
    sys.exit(main())
