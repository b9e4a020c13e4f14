"""The nemesis's clients (confluent-kafka; loopback or test-namespace traffic only).

Every observation is one JSON line on stdout (the checker's history):

  create   create --topic with --partitions partitions.
  produce  an idempotent acks=all producer sending r-<seq> to partition
           seq % partitions at --rate records/s until --stop-file exists;
           prints {"t":"ack","p","o","k"} per acknowledged record and
           {"t":"fail","p","k","err"} per failed (indeterminate) one.
  group    a consumer-group member of --group: prints {"t":"consumed",...}
           per record and {"t":"commit","g","p","o"} per acknowledged commit,
           until --stop-file exists.
  read     a fresh consumer reads every partition from offset 0 up to its
           high watermark ({"t":"read","p","o","k"}), then prints the
           --group's committed offsets ({"t":"committed","g","p","o"}).
  probe    one record per partition produced and read back; exits 0 if both
           worked within --timeout seconds.
"""
import argparse
import json
import os
import sys
import time

from common import create_topic, fail


def emit(**fields):
    print(json.dumps(fields, separators=(",", ":")), flush=True)


def stopped(args):
    return args.stop_file and os.path.exists(args.stop_file)


def new_producer(args, timeout_ms, fatal):
    from confluent_kafka import Producer

    def on_error(err):
        if err.fatal():
            fatal.append(str(err))

    return Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
        # Long enough that a record is retried through a fault rather than
        # failed: a failed record is only indeterminate.
        "message.timeout.ms": timeout_ms,
        "retry.backoff.ms": 200,
        "topic.metadata.refresh.interval.ms": 1000,
        "error_cb": on_error,
    })


def produce(args):
    fatal = []
    producer = new_producer(args, 120000, fatal)

    def on_delivery(err, msg):
        key = msg.key().decode()
        if err is not None:
            emit(t="fail", p=msg.partition(), k=key, err=str(err))
        else:
            emit(t="ack", p=msg.partition(), o=msg.offset(), k=key)

    seq = 0
    interval = 1.0 / args.rate
    next_at = time.time()
    deadline = time.time() + args.max_seconds
    while not stopped(args) and time.time() < deadline:
        if fatal:
            # An idempotent producer that hit a fatal error cannot go on: its
            # queued records are reported failed and a new one takes over.
            print(f"fatal producer error, starting a new producer: {fatal}", file=sys.stderr)
            producer.flush(30)
            fatal.clear()
            producer = new_producer(args, 120000, fatal)
        now = time.time()
        if now < next_at:
            producer.poll(next_at - now)
            continue
        key = f"r-{seq}"
        try:
            producer.produce(args.topic, key=key.encode(), value=key.encode(),
                             partition=seq % args.partitions, on_delivery=on_delivery)
            seq += 1
            next_at += interval
        except BufferError:
            producer.poll(0.1)
        except Exception as e:  # a fatal error raised by produce()
            print(f"produce: {e}", file=sys.stderr)
            fatal.append(str(e))
        producer.poll(0)
    left = producer.flush(150)
    print(f"OK produced {seq}, {left} unresolved", file=sys.stderr)


def group(args):
    from confluent_kafka import Consumer, KafkaException

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": 30000,
        "topic.metadata.refresh.interval.ms": 1000,
    })
    consumer.subscribe([args.topic])
    last_commit = time.time()
    while not stopped(args):
        try:
            msg = consumer.poll(0.5)
            if msg is not None and msg.error() is None:
                emit(t="consumed", g=args.group, p=msg.partition(), o=msg.offset(),
                     k=msg.key().decode())
            if time.time() - last_commit >= 1.0:
                last_commit = time.time()
                commit(consumer, args.group)
        except KafkaException as e:
            print(f"group: {e}", file=sys.stderr)
    commit(consumer, args.group)
    consumer.close()
    print("OK group stopped", file=sys.stderr)


def commit(consumer, group_id):
    from confluent_kafka import KafkaException

    try:
        done = consumer.commit(asynchronous=False)
    except KafkaException as e:
        # Nothing to commit, or the commit failed: not acknowledged.
        print(f"commit: {e}", file=sys.stderr)
        return
    for tp in done or []:
        if tp.error is None and tp.offset >= 0:
            emit(t="commit", g=group_id, p=tp.partition, o=tp.offset)


def watermarks(consumer, topic, partitions, deadline):
    from confluent_kafka import TopicPartition

    highs = {}
    while len(highs) < partitions and time.time() < deadline:
        for p in range(partitions):
            if p in highs:
                continue
            try:
                _, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=5)
                highs[p] = high
            except Exception as e:
                print(f"watermarks of {p}: {e}", file=sys.stderr)
                time.sleep(0.5)
    return highs


def read(args):
    from confluent_kafka import Consumer, TopicPartition, OFFSET_BEGINNING

    deadline = time.time() + args.timeout
    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"nemesis-reader-{os.getpid()}",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    })
    highs = watermarks(consumer, args.topic, args.partitions, deadline)
    if len(highs) < args.partitions:
        fail(f"no high watermarks for every partition: {highs}")
    consumer.assign([TopicPartition(args.topic, p, OFFSET_BEGINNING) for p in highs])
    next_offset = {p: 0 for p in highs}
    while any(next_offset[p] < highs[p] for p in highs):
        if time.time() > deadline:
            fail(f"read up to {next_offset}, high watermarks {highs}")
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        emit(t="read", p=msg.partition(), o=msg.offset(), k=msg.key().decode())
        next_offset[msg.partition()] = max(next_offset[msg.partition()], msg.offset() + 1)
    consumer.close()
    if args.group:
        committed_offsets(args, deadline)
    print(f"OK read up to {highs}", file=sys.stderr)


def committed_offsets(args, deadline):
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "enable.auto.commit": False})
    while time.time() < deadline:
        try:
            tps = consumer.committed(
                [TopicPartition(args.topic, p) for p in range(args.partitions)], timeout=10)
            for tp in tps:
                if tp.offset >= 0:
                    emit(t="committed", g=args.group, p=tp.partition, o=tp.offset)
            consumer.close()
            return
        except Exception as e:
            print(f"committed: {e}", file=sys.stderr)
            time.sleep(0.5)
    fail("no committed offsets")


def probe(args):
    from confluent_kafka import Consumer, TopicPartition

    fatal = []
    producer = new_producer(args, int(args.timeout * 1000), fatal)
    acked = {}

    def on_delivery(err, msg):
        if err is None:
            acked[msg.partition()] = msg.offset()

    tag = f"probe-{os.getpid()}-{time.time()}"
    for p in range(args.partitions):
        producer.produce(args.topic, key=f"{tag}-{p}".encode(), value=tag.encode(), partition=p,
                         on_delivery=on_delivery)
    producer.flush(args.timeout)
    if len(acked) < args.partitions:
        fail(f"probe acknowledged on {sorted(acked)} only")
    consumer = Consumer({"bootstrap.servers": args.bootstrap,
                         "group.id": f"nemesis-probe-{os.getpid()}",
                         "enable.auto.commit": False})
    consumer.assign([TopicPartition(args.topic, p, o) for p, o in acked.items()])
    seen = set()
    deadline = time.time() + args.timeout
    while len(seen) < len(acked) and time.time() < deadline:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None and msg.value().decode() == tag:
            seen.add(msg.partition())
    consumer.close()
    if len(seen) < len(acked):
        fail(f"probe read back from {sorted(seen)} only")
    print("OK probe")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["create", "produce", "group", "read", "probe"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--group")
    parser.add_argument("--stop-file")
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--max-seconds", type=float, default=3600.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if args.mode == "create":
        create_topic(args.bootstrap, args.topic, args.partitions)
        print("OK created")
    else:
        {"produce": produce, "group": group, "read": read, "probe": probe}[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
