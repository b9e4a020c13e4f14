"""Produce load for `chronik-bench kafka` (loopback only): one confluent-kafka
producer, acks=all, fixed-size values, as fast as the cluster acknowledges for
--seconds. Latency is produce() call to delivery report (includes client-side
batching and queueing, like kafka-producer-perf-test). Prints one JSON line."""
import argparse
import json
import sys
import time


def main():
    from confluent_kafka import Producer
    from confluent_kafka.admin import AdminClient, NewTopic

    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="bench")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--payload", type=int, default=1024)
    args = parser.parse_args()

    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    for f in admin.create_topics([NewTopic(args.topic, args.partitions, 1)]).values():
        f.result(30)
    deadline = time.time() + 30
    while time.time() < deadline:
        t = admin.list_topics(topic=args.topic, timeout=5).topics.get(args.topic)
        if t and t.error is None and all(p.leader >= 0 for p in t.partitions.values()):
            break
        time.sleep(0.1)

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "acks": "all",
        "linger.ms": 5,
        "batch.size": 1048576,
        "queue.buffering.max.messages": 200000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": True,
    })
    value = b"v" * args.payload
    latencies = []
    errors = [0]
    now = time.perf_counter

    def report(sent_at):
        def on_delivery(err, _msg):
            if err is not None:
                errors[0] += 1
            else:
                latencies.append(now() - sent_at)
        return on_delivery

    start = now()
    end = start + args.seconds
    sent = 0
    while now() < end:
        try:
            producer.produce(args.topic, value=value, on_delivery=report(now()))
            sent += 1
        except BufferError:
            producer.poll(0.001)
        if sent % 1000 == 0:
            producer.poll(0)
    producer.flush(60)
    elapsed = now() - start
    latencies.sort()

    def pct(p):
        if not latencies:
            return float("nan")
        return latencies[round((len(latencies) - 1) * p)] * 1000.0

    print(json.dumps({
        "acked": len(latencies),
        "errors": errors[0],
        "elapsed_s": elapsed,
        "msgs_per_s": len(latencies) / elapsed,
        "mb_per_s": len(latencies) * args.payload / elapsed / 1e6,
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
    }))


if __name__ == "__main__":
    sys.exit(main())
