"""Partition admin APIs through the admin clients that offer them.

producers: an idempotent confluent-kafka producer writes 5 records to
           partition 0; kafka-python's describe_producers shows it (id, epoch 0,
           last sequence 4, a timestamp) on the leader, nothing on partition
           1, and NOT_LEADER_OR_FOLLOWER from a follower (--follower).
logdirs:   kafka-python's describe_log_dirs lists, for every broker, its data
           directory (--dir ID=PATH) holding every partition of the topic,
           partition 0 with bytes.
elect:     one election of --partition (--type preferred|unclean) through
           --client kafka-python|confluent (--timeout-ms: kafka-python only);
           prints RESULT <error code>.
"""
import argparse
import time

from confluent_kafka import ElectionType, Producer
from confluent_kafka import TopicPartition as CkTopicPartition
from confluent_kafka.admin import AdminClient
from kafka import KafkaAdminClient, TopicPartition
from kafka.errors import KafkaError, NotLeaderForPartitionError

from common import fail


def kafka_python_admin(args):
    return KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="partadmin")


def producers(args):
    producer = Producer({"bootstrap.servers": args.bootstrap, "enable.idempotence": True,
                         "acks": "all"})
    for i in range(5):
        producer.produce(args.topic, value=f"v{i}".encode(), partition=0)
    if producer.flush(30) != 0:
        fail("produce did not complete")
    admin = kafka_python_admin(args)
    p0, p1 = TopicPartition(args.topic, 0), TopicPartition(args.topic, 1)
    states = admin.describe_producers([p0, p1])
    active = states[p0].active_producers
    if len(active) != 1:
        fail(f"expected one producer on partition 0, got {active}")
    state = active[0]
    if state.producer_epoch != 0 or state.last_sequence != 4 or state.last_timestamp <= 0:
        fail(f"unexpected producer state {state}")
    if states[p1].active_producers:
        fail(f"partition 1 has producers: {states[p1]}")
    try:
        admin.describe_producers([p0], broker_id=args.follower)
        fail("a follower answered DescribeProducers")
    except NotLeaderForPartitionError:
        pass
    admin.close()
    print(f"OK producers {state.producer_id} epoch 0 last_sequence 4")


def logdirs(args):
    expected = {int(k): v for k, v in (d.split("=", 1) for d in args.dir)}
    admin = kafka_python_admin(args)
    answers = admin.describe_log_dirs()
    admin.close()
    seen = set()
    for answer in answers:
        broker = answer["broker"]
        dirs = answer["log_dirs"]
        if len(dirs) != 1:
            fail(f"broker {broker}: expected one log dir, got {dirs}")
        d = dirs[0]
        if d["error_code"] != 0 or d["log_dir"] != expected[broker]:
            fail(f"broker {broker}: log dir {d['log_dir']} (error {d['error_code']}), expected {expected[broker]}")
        sizes = {p["partition_index"]: p["partition_size"]
                 for t in d["topics"] if t["name"] == args.topic for p in t["partitions"]}
        if sorted(sizes) != list(range(args.partitions)) or sizes[0] <= 0:
            fail(f"broker {broker}: partitions {sizes}")
        seen.add(broker)
    if seen != set(expected):
        fail(f"answers from {seen}, expected {set(expected)}")
    print(f"OK log dirs of brokers {sorted(seen)}")


def elect(args):
    if args.client == "kafka-python":
        kind = 0 if args.type == "preferred" else 1
        # Right after a broker died the admin client may still reach for it
        # (or for an old controller): retry as an application would.
        deadline = time.time() + 30
        while True:
            try:
                admin = kafka_python_admin(args)
                response = admin.elect_leaders(kind, {args.topic: [args.partition]},
                                               timeout_ms=args.timeout_ms, raise_errors=False)
                admin.close()
                break
            except KafkaError as e:
                if time.time() > deadline:
                    fail(f"elect_leaders kept failing: {e!r}")
                time.sleep(0.5)
        codes = [p.error_code for r in response.replica_election_results
                 for p in r.partition_result]
        if len(codes) != 1:
            fail(f"unexpected response {response}")
        print(f"RESULT {codes[0]}")
        return
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    kind = ElectionType.PREFERRED if args.type == "preferred" else ElectionType.UNCLEAN
    tp = CkTopicPartition(args.topic, args.partition)
    # confluent-kafka 2.16 refuses its documented timeout arguments: the
    # broker waits for the default operation timeout (socket.timeout.ms).
    result = admin.elect_leaders(kind, [tp]).result()
    (error,) = result.values()
    print(f"RESULT {0 if error is None else error.code()}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["producers", "logdirs", "elect"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--partition", type=int, default=0)
    parser.add_argument("--follower", type=int)
    parser.add_argument("--dir", action="append", default=[])
    parser.add_argument("--client", default="kafka-python")
    parser.add_argument("--type", default="preferred")
    parser.add_argument("--timeout-ms", type=int, default=5000)
    args = parser.parse_args()
    {"producers": producers, "logdirs": logdirs, "elect": elect}[args.action](args)


if __name__ == "__main__":
    main()
