"""Durability checks against a replicated cluster (loopback test traffic only).

Modes:
  produce   create the topic, produce --count records (seq 0..count-1) with
            --acks (all: idempotent producer); print OK when all are acknowledged.
  verify    consume everything and check each of seq 0..count-1 exactly once,
            in order per partition.
  failover  produce idempotently with retries for --seconds, printing
            "LEADER <node id>" of partition 0 first (the test kills it), then
            check that every acknowledged record is stored exactly once.
  load      as failover, but prints "LOADING" once the topic exists and
            produces until --stop-file exists (the test crashes brokers
            meanwhile), then checks every acknowledged record exactly once.
"""
import argparse
import os
import sys
import time

from common import create_topic, fail


def leader_of(bootstrap, topic, partition):
    from confluent_kafka.admin import AdminClient

    admin = AdminClient({"bootstrap.servers": bootstrap})
    deadline = time.time() + 30
    while time.time() < deadline:
        md = admin.list_topics(topic=topic, timeout=5)
        t = md.topics.get(topic)
        if t is not None and t.error is None and partition in t.partitions:
            leader = t.partitions[partition].leader
            if leader >= 0:
                return leader
        time.sleep(0.2)
    fail(f"no leader for {topic}-{partition}")


def producer(bootstrap, acks="all"):
    from confluent_kafka import Producer

    return Producer({
        "bootstrap.servers": bootstrap,
        "acks": acks,
        # Idempotence requires acks=all.
        "enable.idempotence": acks == "all",
        "linger.ms": 5,
        "message.timeout.ms": 60000,
        "retry.backoff.ms": 100,
        "topic.metadata.refresh.interval.ms": 1000,
    })


def send(p, topic, seq, acked, errors):
    def on_delivery(err, msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked.append(int(msg.value().decode().split("-")[1]))

    while True:
        try:
            p.produce(topic, key=f"k{seq % 31}".encode(), value=f"v-{seq}".encode(),
                      on_delivery=on_delivery)
            break
        except BufferError:
            p.poll(0.05)
    p.poll(0)


def consume_all(bootstrap, topic, partitions, expected, timeout_s=60):
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             client_id="chronik-durability")
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    records = []
    deadline = time.time() + timeout_s
    while len(records) < expected and time.time() < deadline:
        for batch in consumer.poll(timeout_ms=500, max_records=5000).values():
            records.extend(batch)
    # Anything beyond `expected` would be a duplicate: poll a little longer.
    end = time.time() + 1.0
    while time.time() < end:
        for batch in consumer.poll(timeout_ms=200).values():
            records.extend(batch)
    consumer.close()
    return records


def check_exactly_once(records, wanted):
    seen = {}
    last = {}
    for r in records:
        seq = int(r.value.decode().split("-")[1])
        seen[seq] = seen.get(seq, 0) + 1
        if seq <= last.get(r.partition, -1):
            fail(f"order broken in partition {r.partition}: {seq} after {last[r.partition]}")
        last[r.partition] = seq
    dups = [s for s, n in seen.items() if n > 1]
    if dups:
        fail(f"{len(dups)} records stored twice, e.g. {dups[:5]}")
    missing = [s for s in wanted if s not in seen]
    if missing:
        fail(f"{len(missing)} acknowledged records missing, e.g. {missing[:5]}")


def load(args):
    if not args.existing_topic:
        create_topic(args.bootstrap.split(",")[0], args.topic, args.partitions)
    p, acked, errors = producer(args.bootstrap), [], []
    print("LOADING", flush=True)
    seq = 0
    deadline = time.time() + 600
    from confluent_kafka import KafkaException

    while not os.path.exists(args.stop_file) and time.time() < deadline:
        try:
            send(p, args.topic, seq, acked, errors)
        except KafkaException as e:
            # A fatal producer error (e.g. OUT_OF_ORDER_SEQUENCE after the
            # broker lost acknowledged records): stop, and check what was
            # acknowledged so the loss itself is reported.
            errors.append(str(e))
            break
        seq += 1
        if seq % 100 == 0:
            time.sleep(0.01)
    try:
        remaining = p.flush(90)
    except KafkaException as e:
        errors.append(str(e))
        remaining = len(p)
    print(f"sent {seq}, acknowledged {len(acked)}, unacknowledged {remaining}, "
          f"errors {len(errors)}: {errors[:3]}", flush=True)
    if not acked:
        fail("nothing was acknowledged")
    records = consume_all(args.bootstrap, args.topic, args.partitions, len(acked), 120)
    check_exactly_once(records, acked)
    print(f"OK {len(acked)} acknowledged records read back exactly once "
          f"({len(records)} stored)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["produce", "verify", "failover", "load"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--acks", default="all", choices=["all", "1", "0"])
    parser.add_argument("--stop-file", help="load: produce until this file exists")
    parser.add_argument("--existing-topic", action="store_true",
                        help="produce to a topic created beforehand")
    args = parser.parse_args()

    if args.mode == "produce":
        if not args.existing_topic:
            create_topic(args.bootstrap.split(",")[0], args.topic, args.partitions)
        p, acked, errors = producer(args.bootstrap, args.acks), [], []
        for seq in range(args.count):
            send(p, args.topic, seq, acked, errors)
        p.flush(60)
        if errors or len(acked) != args.count:
            fail(f"{len(acked)} of {args.count} acknowledged, errors: {errors[:5]}")
        print(f"OK produced {args.count}")
    elif args.mode == "verify":
        records = consume_all(args.bootstrap, args.topic, args.partitions, args.count)
        if len(records) != args.count:
            fail(f"consumed {len(records)} of {args.count}")
        check_exactly_once(records, range(args.count))
        print(f"OK verified {args.count}")
    elif args.mode == "load":
        load(args)
    else:
        create_topic(args.bootstrap.split(",")[0], args.topic, args.partitions)
        print(f"LEADER {leader_of(args.bootstrap, args.topic, 0)}", flush=True)
        p, acked, errors = producer(args.bootstrap), [], []
        seq = 0
        end = time.time() + args.seconds
        while time.time() < end:
            send(p, args.topic, seq, acked, errors)
            seq += 1
            if seq % 100 == 0:
                time.sleep(0.01)
        remaining = p.flush(90)
        print(f"sent {seq}, acknowledged {len(acked)}, unacknowledged {remaining}, "
              f"errors {len(errors)}: {errors[:3]}", flush=True)
        if not acked:
            fail("nothing was acknowledged")
        records = consume_all(args.bootstrap, args.topic, args.partitions, len(acked))
        check_exactly_once(records, acked)
        print(f"OK {len(acked)} acknowledged records read back exactly once "
              f"({len(records)} stored)")


if __name__ == "__main__":
    sys.exit(main())
