"""Topic and broker configs with confluent-kafka's AdminClient: creation
with configs (a bad one refused naming the key, validate_only), describe
with sources and synonyms, incremental alter (SET, APPEND, SUBTRACT, DELETE)
and the legacy alter_configs, and a broker dynamic default.

retention: creates two topics, writes records stamped 30 minutes ago, and
checks they stay until retention.ms is lowered with the admin client, on one
topic by its own config and on the other by the dynamic broker default
log.retention.ms, without recreating either.
"""
import argparse
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource,
                                   ConfigSource, NewTopic)

from common import fail

TOPIC = ConfigResource.Type.TOPIC
BROKER = ConfigResource.Type.BROKER


def describe(admin, rtype, name):
    resource = ConfigResource(rtype, name)
    return admin.describe_configs([resource])[resource].result(timeout=30)


def expect(configs, key, value, source):
    entry = configs.get(key)
    if entry is None or entry.value != value or entry.source != source.value:
        fail(f"{key}: expected {value} from {source}, got {entry and (entry.value, entry.source)}")


def incremental(admin, rtype, name, *entries):
    resource = ConfigResource(rtype, name, incremental_configs=list(entries))
    admin.incremental_alter_configs([resource])[resource].result(timeout=30)


def entry(key, value, op):
    return ConfigEntry(key, value, incremental_operation=op)


def configs_main(admin, topic, broker):
    fs = admin.create_topics([NewTopic(topic, 1, 3, config={"cleanup.policy": "compact"})])
    fs[topic].result(timeout=30)
    bad = admin.create_topics([NewTopic(topic + "-bad", 1, 3, config={"compression.type": "brotli"})])
    try:
        bad[topic + "-bad"].result(timeout=30)
        fail("compression.type=brotli was accepted")
    except KafkaException as e:
        if e.args[0].name() != "INVALID_CONFIG" or "compression.type" not in str(e):
            fail(f"unexpected refusal: {e}")
    dry = admin.create_topics([NewTopic(topic + "-dry", 1, 3, config={"retention.ms": "1"})],
                              validate_only=True)
    dry[topic + "-dry"].result(timeout=30)
    if topic + "-dry" in admin.list_topics(timeout=10).topics:
        fail("validate_only created the topic")
    configs = describe(admin, TOPIC, topic)
    expect(configs, "cleanup.policy", "compact", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    expect(configs, "retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG)
    synonyms = configs["cleanup.policy"].synonyms
    if "log.cleanup.policy" not in synonyms:
        fail(f"cleanup.policy synonyms: {synonyms}")
    incremental(admin, TOPIC, topic,
                entry("cleanup.policy", "delete", AlterConfigOpType.APPEND),
                entry("retention.ms", "100000", AlterConfigOpType.SET))
    configs = describe(admin, TOPIC, topic)
    expect(configs, "cleanup.policy", "compact,delete", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    expect(configs, "retention.ms", "100000", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    incremental(admin, TOPIC, topic,
                entry("cleanup.policy", "compact", AlterConfigOpType.SUBTRACT),
                entry("retention.ms", None, AlterConfigOpType.DELETE))
    configs = describe(admin, TOPIC, topic)
    expect(configs, "cleanup.policy", "delete", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    expect(configs, "retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG)
    try:
        incremental(admin, TOPIC, topic, entry("retention.hours", "1", AlterConfigOpType.SET))
        fail("an unknown key was accepted")
    except KafkaException as e:
        if "retention.hours" not in str(e):
            fail(f"the refusal does not name the key: {e}")
    legacy = ConfigResource(TOPIC, topic, set_config={"min.insync.replicas": "2"})
    admin.alter_configs([legacy])[legacy].result(timeout=30)
    configs = describe(admin, TOPIC, topic)
    expect(configs, "min.insync.replicas", "2", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    expect(configs, "cleanup.policy", "delete", ConfigSource.DEFAULT_CONFIG)
    incremental(admin, BROKER, broker, entry("compression.type", "zstd", AlterConfigOpType.SET))
    expect(describe(admin, TOPIC, topic), "compression.type", "zstd",
           ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    brokers = describe(admin, BROKER, broker)
    expect(brokers, "compression.type", "zstd", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    if not brokers["auto.create.topics.enable"].is_read_only:
        fail("auto.create.topics.enable is static: read-only")
    incremental(admin, BROKER, broker, entry("compression.type", None, AlterConfigOpType.DELETE))
    print("OK confluent configs")


def earliest(bootstrap, topic):
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "config-watermarks"})
    try:
        low, _high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        return low
    finally:
        consumer.close()


def wait_earliest(bootstrap, topic, at_least, timeout_s):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        low = earliest(bootstrap, topic)
        if low >= at_least:
            return low
        time.sleep(0.5)
    fail(f"{topic}: the log start never reached {at_least} (now {earliest(bootstrap, topic)})")


def retention_main(admin, bootstrap, topic, broker):
    names = [topic + "-own", topic + "-default"]
    for f in admin.create_topics([NewTopic(n, 1, 3) for n in names]).values():
        f.result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all"})
    old = int(time.time() * 1000) - 30 * 60 * 1000
    for name in names:
        for i in range(10):
            producer.produce(name, value=b"old-%d" % i, partition=0, timestamp=old)
        if producer.flush(30) != 0:
            fail("produce of old records failed")
        producer.produce(name, value=b"new", partition=0)
        if producer.flush(30) != 0:
            fail("produce of the new record failed")
    # Retention runs every 2 s: with the default 7 days nothing goes.
    time.sleep(5)
    for name in names:
        if earliest(bootstrap, name) != 0:
            fail(f"{name} lost records under the default retention")
    incremental(admin, TOPIC, names[0], entry("retention.ms", "60000", AlterConfigOpType.SET))
    wait_earliest(bootstrap, names[0], 10, 30)
    if earliest(bootstrap, names[1]) != 0:
        fail(f"{names[1]} lost records to another topic's config")
    incremental(admin, BROKER, broker, entry("log.retention.ms", "60000", AlterConfigOpType.SET))
    expect(describe(admin, TOPIC, names[1]), "retention.ms", "60000",
           ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG)
    wait_earliest(bootstrap, names[1], 10, 30)
    incremental(admin, BROKER, broker, entry("log.retention.ms", None, AlterConfigOpType.DELETE))
    print("OK retention changed in place")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("action", choices=["configs", "retention"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--broker", default="1")
    args = p.parse_args()
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    if args.action == "configs":
        configs_main(admin, args.topic, args.broker)
    else:
        retention_main(admin, args.bootstrap, args.topic, args.broker)


if __name__ == "__main__":
    main()
