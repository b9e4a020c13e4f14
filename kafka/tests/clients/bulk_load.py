"""Fills a topic with a given amount of data, then reads it all back
(loopback test traffic only): the large-data start test of the broker.

Modes:
  produce   create the topic (--partitions) and produce --mb megabytes in
            records of --record-bytes (value "<seq>:" padded), acks=all;
            print "OK produced=<records> bytes=<bytes>".
  verify    consume every partition from the beginning and check that each
            of seq 0..--records-1 is there exactly once, in order per
            partition; print "OK read=<records>".
  watermarks  while a broker restarts: ask for the high watermark of every
            partition of the comma-separated --topic list until each has
            answered --records/--partitions three times in a row; any other
            answer is wrong data (errors are fine: the client retries).
            Print "WATCHING" once started, then "OK answers=<n>".
"""
import argparse
import os
import time

from common import create_topic, fail


def produce(args):
    from confluent_kafka import Producer

    create_topic(args.bootstrap, args.topic, args.partitions)
    p = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "linger.ms": 20,
        "batch.size": 1000000,
        "message.max.bytes": 1000000,
        "queue.buffering.max.kbytes": 262144,
        "message.timeout.ms": 120000,
    })
    count = (args.mb * 1024 * 1024) // args.record_bytes
    errors = []
    acked = [0]

    def on_delivery(err, _msg):
        if err is not None:
            errors.append(str(err))
        else:
            acked[0] += 1

    # Incompressible bytes: raft-engine compresses what it stores.
    noise = os.urandom(4 * 1024 * 1024)
    for seq in range(count):
        head = f"{seq}:".encode()
        start = (seq * 7919) % (len(noise) - args.record_bytes)
        value = head + noise[start:start + args.record_bytes - len(head)]
        while True:
            try:
                p.produce(args.topic, value=value, partition=seq % args.partitions,
                          on_delivery=on_delivery)
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    left = p.flush(120)
    if left or errors:
        fail(f"{left} undelivered, errors: {errors[:5]}")
    print(f"OK produced={acked[0]} bytes={count * args.record_bytes}", flush=True)


def verify(args):
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"bulk-verify-{time.time()}",
        "enable.auto.commit": False,
        "fetch.max.bytes": 52428800,
        "max.partition.fetch.bytes": 10485760,
    })
    c.assign([TopicPartition(args.topic, p, 0) for p in range(args.partitions)])
    last = {}
    seen = 0
    deadline = time.time() + args.timeout
    while seen < args.records and time.time() < deadline:
        for msg in c.consume(num_messages=1000, timeout=1.0):
            if msg.error() is not None:
                fail(f"consume: {msg.error()}")
            seq = int(msg.value().split(b":", 1)[0])
            part = msg.partition()
            if seq % args.partitions != part:
                fail(f"seq {seq} in partition {part}")
            if seq <= last.get(part, -1) or seq != last.get(part, part - args.partitions) + args.partitions:
                fail(f"partition {part}: seq {seq} after {last.get(part)}")
            last[part] = seq
            seen += 1
    c.close()
    if seen != args.records:
        fail(f"read {seen} of {args.records} records")
    print(f"OK read={seen}", flush=True)


def watermarks(args):
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    c = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": f"bulk-watermarks-{time.time()}",
        "reconnect.backoff.max.ms": 200,
        "topic.metadata.refresh.interval.ms": 500,
    })
    expected = args.records // args.partitions
    tps = [(t, p) for t in args.topic.split(",") for p in range(args.partitions)]
    good = {tp: 0 for tp in tps}
    answers = 0
    print("WATCHING", flush=True)
    deadline = time.time() + args.timeout
    while min(good.values()) < 3:
        if time.time() > deadline:
            fail(f"no steady answers in {args.timeout}s: {good}")
        for tp in tps:
            try:
                low, high = c.get_watermark_offsets(TopicPartition(*tp), timeout=1.0, cached=False)
            except KafkaException:
                good[tp] = 0
                continue
            answers += 1
            if high != expected or low != 0:
                fail(f"{tp[0]}-{tp[1]} answered low={low} high={high}, expected 0 and {expected}")
            good[tp] += 1
        time.sleep(0.05)
    c.close()
    print(f"OK answers={answers}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["produce", "verify", "watermarks"])
    ap.add_argument("--bootstrap", required=True)
    ap.add_argument("--topic", required=True)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--mb", type=int, default=64)
    ap.add_argument("--record-bytes", type=int, default=8192)
    ap.add_argument("--records", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=170)
    args = ap.parse_args()
    if args.mode == "produce":
        produce(args)
    elif args.mode == "verify":
        verify(args)
    else:
        watermarks(args)


if __name__ == "__main__":
    main()
