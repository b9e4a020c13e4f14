"""DeleteGroups, OffsetDelete and DescribeCluster through the admin clients.

kafka-python's KafkaAdminClient: delete_group_offsets (OffsetDelete) on an
empty group and on a group whose live member subscribes to the topic
(GROUP_SUBSCRIBED_TO_TOPIC), delete_groups (empty: deleted with its
offsets; live: NON_EMPTY_GROUP; unknown: GROUP_ID_NOT_FOUND), describe_cluster.
confluent-kafka's AdminClient: delete_consumer_groups and describe_cluster
(with authorized operations).
"""
import argparse
import time

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient

from common import create_topic, fail


def produce(bootstrap, topic, count):
    producer = Producer({"bootstrap.servers": bootstrap})
    for i in range(count):
        producer.produce(topic, key=str(i).encode(), value=b"x", partition=i % 2)
    if producer.flush(30):
        fail("produce did not complete")


def consume_and_close(bootstrap, topic, group, count):
    """A kafka-python member reads everything, commits and leaves."""
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                             auto_offset_reset="earliest", enable_auto_commit=False,
                             consumer_timeout_ms=15000)
    seen = 0
    for _ in consumer:
        seen += 1
        if seen == count:
            break
    consumer.commit()
    consumer.close()
    if seen != count:
        fail(f"{group} read {seen} of {count}")


def live_member(bootstrap, topic, group):
    """A confluent-kafka member that stays in the group."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe([topic])
    deadline = time.time() + 30
    while not consumer.assignment():
        if time.time() > deadline:
            fail("the live member got no assignment")
        msg = consumer.poll(0.2)
        if msg is not None and msg.error() is None:
            consumer.commit(message=msg, asynchronous=False)
    return consumer


def kafka_python_checks(args, live):
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="groups-admin")
    tp0, tp1 = TopicPartition(args.topic, 0), TopicPartition(args.topic, 1)
    result = admin.delete_group_offsets("ga-empty", [tp0])
    if result.get(tp0).__name__ != "NoError":
        fail(f"delete_group_offsets on the empty group: {result}")
    left = admin.list_group_offsets({"ga-empty": None})["ga-empty"]
    if set(left) != {tp1}:
        fail(f"offsets left after OffsetDelete: {left}")
    print("OK offset delete", flush=True)
    result = admin.delete_group_offsets("ga-live", [tp0])
    if result.get(tp0).__name__ != "GroupSubscribedToTopicError":
        fail(f"delete_group_offsets on a live group: {result}")
    print("OK offset delete refused while subscribed", flush=True)
    result = admin.delete_groups(["ga-empty", "ga-live", "ga-nope"])
    expected = {"ga-empty": "OK", "ga-live": "NonEmptyGroupError",
                "ga-nope": "GroupIdNotFoundError"}
    if result != expected:
        fail(f"delete_groups: {result}")
    left = admin.list_group_offsets({"ga-empty": None})["ga-empty"]
    if left:
        fail(f"offsets of a deleted group: {left}")
    listed = [g["group_id"] if isinstance(g, dict) else g[0] for g in admin.list_groups()]
    if "ga-empty" in listed or "ga-live" not in listed:
        fail(f"groups listed after delete: {listed}")
    print(f"OK delete_groups {sorted(result.items())}", flush=True)
    cluster = admin.describe_cluster()
    ids = sorted(b["broker_id"] for b in cluster["brokers"])
    if ids != args.brokers or cluster["controller_id"] not in ids:
        fail(f"describe_cluster (kafka-python): {cluster}")
    print(f"OK kafka-python describe_cluster brokers={ids}", flush=True)
    admin.close()


def confluent_checks(args):
    group = "ga-confluent"
    consumer = live_member(args.bootstrap, args.topic, group)
    consumer.close()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    futures = admin.delete_consumer_groups([group], request_timeout=30)
    futures[group].result(timeout=30)
    again = admin.delete_consumer_groups([group], request_timeout=30)
    try:
        again[group].result(timeout=30)
        fail("deleting a deleted group succeeded")
    except Exception as e:  # noqa: BLE001 - the client raises KafkaException
        if "GROUP_ID_NOT_FOUND" not in str(e):
            fail(f"second delete: {e}")
    print("OK confluent delete_consumer_groups", flush=True)
    cluster = admin.describe_cluster(include_authorized_operations=True).result(timeout=30)
    ids = sorted(n.id for n in cluster.nodes)
    if ids != args.brokers or cluster.controller.id not in ids or not cluster.cluster_id:
        fail(f"describe_cluster (confluent): {cluster}")
    if not cluster.authorized_operations:
        fail(f"no authorized operations: {cluster.authorized_operations}")
    ops = sorted(str(o).split(".")[-1] for o in cluster.authorized_operations)
    print(f"OK confluent describe_cluster brokers={ids} ops={ops}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", default="ga")
    parser.add_argument("--brokers", default="1,2,3")
    args = parser.parse_args()
    args.brokers = [int(b) for b in args.brokers.split(",")]
    create_topic(args.bootstrap, args.topic, 2)
    produce(args.bootstrap, args.topic, 10)
    consume_and_close(args.bootstrap, args.topic, "ga-empty", 10)
    live = live_member(args.bootstrap, args.topic, "ga-live")
    kafka_python_checks(args, live)
    live.close()
    confluent_checks(args)


if __name__ == "__main__":
    main()
