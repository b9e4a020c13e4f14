"""Produce load for `chronik-bench kafka` (loopback only): one confluent-kafka
producer, acks=all, fixed-size values, as fast as the cluster acknowledges for
--seconds (throughput), then at half that rate for half the time (latency:
produce() call to delivery report, including linger.ms=5 batching). Prints one
JSON line."""
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
        "queue.buffering.max.messages": 100000,
        "queue.buffering.max.kbytes": 1048576,
        "enable.idempotence": True,
    })
    value = b"v" * args.payload
    now = time.perf_counter

    def phase(seconds, rate):
        """Produces for `seconds` (at `rate` msg/s, or as fast as possible when
        None); returns (acked, errors, elapsed incl. flush, sorted latencies)."""
        latencies = []
        errors = [0]

        def report(sent_at):
            def on_delivery(err, _msg):
                if err is not None:
                    errors[0] += 1
                else:
                    latencies.append(now() - sent_at)
            return on_delivery

        start = now()
        end = start + seconds
        sent = 0
        while True:
            t = now()
            if t >= end:
                break
            if rate is not None and sent >= (t - start) * rate:
                producer.poll(0.0005)
                continue
            try:
                producer.produce(args.topic, value=value, on_delivery=report(t))
                sent += 1
            except BufferError:
                producer.poll(0.001)
            if sent % 500 == 0:
                producer.poll(0)
        producer.flush(60)
        latencies.sort()
        return len(latencies), errors[0], now() - start, latencies

    def pct(latencies, p):
        if not latencies:
            return float("nan")
        return latencies[round((len(latencies) - 1) * p)] * 1000.0

    acked, errors, elapsed, flat_out = phase(args.seconds, None)
    rate = acked / elapsed
    # Latency at half the measured throughput, so that it shows the cluster
    # rather than the client's own backlog.
    l_acked, l_errors, _, lat = phase(max(args.seconds / 2, 2), rate / 2)
    print(json.dumps({
        "acked": acked,
        "errors": errors + l_errors,
        "elapsed_s": elapsed,
        "msgs_per_s": rate,
        "mb_per_s": rate * args.payload / 1e6,
        "saturated_p50_ms": pct(flat_out, 0.5),
        "saturated_p99_ms": pct(flat_out, 0.99),
        "latency_rate": rate / 2,
        "latency_acked": l_acked,
        "p50_ms": pct(lat, 0.5),
        "p99_ms": pct(lat, 0.99),
    }))


if __name__ == "__main__":
    sys.exit(main())
