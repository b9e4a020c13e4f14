"""Topic and broker configs with kafka-python's KafkaAdminClient.

Creates topics with configs (a bad value and an unknown key are refused
naming the key; validate_only creates nothing), describes them with sources
and synonyms, alters them incrementally (SET, DELETE, APPEND, SUBTRACT) and
with the legacy AlterConfigs, sets a dynamic broker default that changes
a topic's effective value, and creates a topic with the default partition
count and replication factor. --static KEY=VALUE names a value of the
brokers' --config file, expected with source STATIC_BROKER_CONFIG;
--default-partitions is their num.partitions.
"""
import argparse

from kafka.admin import KafkaAdminClient
from kafka.admin._configs import AlterConfigOp, ConfigResource
from kafka.errors import InvalidConfigurationError

from common import fail


def describe(admin, rtype, name):
    got = admin.describe_configs([ConfigResource(rtype, name)], include_synonyms=True,
                                 config_filter="all")
    return got[rtype.lower()][name]


def expect(configs, key, value, source):
    entry = configs.get(key)
    if entry is None or entry["value"] != value or entry["config_source"] != source:
        fail(f"{key}: expected {value} from {source}, got {entry}")


def create_checks(admin, topic):
    admin.create_topics({topic: {"num_partitions": 1, "replication_factor": 3,
                                 "configs": {"retention.ms": "3600000",
                                             "cleanup.policy": "delete"}}})
    for bad, key in [({"retention.ms": "soon"}, "retention.ms"),
                     ({"retention.hours": "1"}, "retention.hours")]:
        try:
            admin.create_topics({topic + "-bad": {"num_partitions": 1, "replication_factor": 3,
                                                  "configs": bad}})
            fail(f"{bad} was accepted")
        except InvalidConfigurationError as e:
            if key not in str(e):
                fail(f"the refusal of {bad} does not name {key}: {e}")
    admin.create_topics({topic + "-dry": {"num_partitions": 1, "replication_factor": 3,
                                          "configs": {"retention.ms": "1000"}}},
                        validate_only=True)
    if topic + "-dry" in admin.list_topics() or topic + "-bad" in admin.list_topics():
        fail("validate_only or a refused creation created a topic")


def alter_checks(admin, topic, static):
    configs = describe(admin, "TOPIC", topic)
    expect(configs, "retention.ms", "3600000", "DYNAMIC_TOPIC_CONFIG")
    names = [s["name"] for s in configs["retention.ms"]["synonyms"]]
    if names != ["retention.ms", "log.retention.ms"]:
        fail(f"retention.ms synonyms: {configs['retention.ms']['synonyms']}")
    expect(configs, "segment.ms", "604800000", "DEFAULT_CONFIG")
    if configs["cleanup.policy"]["config_type"] != "LIST":
        fail(f"cleanup.policy type: {configs['cleanup.policy']}")
    for kv in static:
        key, value = kv.split("=", 1)
        expect(configs, key, value, "STATIC_BROKER_CONFIG")
    resource = ConfigResource("TOPIC", topic, {
        "retention.ms": (AlterConfigOp.SET, "7200000"),
        "cleanup.policy": (AlterConfigOp.APPEND, "compact"),
    })
    result = admin.alter_configs([resource], incremental=True)
    if result["topic"][topic] != "OK":
        fail(f"incremental alter: {result}")
    configs = describe(admin, "TOPIC", topic)
    expect(configs, "retention.ms", "7200000", "DYNAMIC_TOPIC_CONFIG")
    expect(configs, "cleanup.policy", "delete,compact", "DYNAMIC_TOPIC_CONFIG")
    resource = ConfigResource("TOPIC", topic, {
        "cleanup.policy": (AlterConfigOp.SUBTRACT, "delete"),
        "retention.ms": (AlterConfigOp.DELETE, None),
    })
    admin.alter_configs([resource], incremental=True)
    configs = describe(admin, "TOPIC", topic)
    expect(configs, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")
    expect(configs, "retention.ms", "604800000", "DEFAULT_CONFIG")
    bad = ConfigResource("TOPIC", topic, {"max.message.bytes": "lots"})
    result = admin.alter_configs([bad], incremental=True)
    if "InvalidConfiguration" not in result["topic"][topic] or "max.message.bytes" not in result["topic"][topic]:
        fail(f"an invalid value was not refused naming the key: {result}")
    dry = ConfigResource("TOPIC", topic, {"retention.ms": "5"})
    admin.alter_configs([dry], incremental=True, validate_only=True)
    expect(describe(admin, "TOPIC", topic), "retention.ms", "604800000", "DEFAULT_CONFIG")
    # The legacy AlterConfigs replaces the whole set (the client re-sends
    # the other modified keys).
    legacy = ConfigResource("TOPIC", topic, {"retention.bytes": "1048576"})
    result = admin.alter_configs([legacy], incremental=False)
    if result["topic"][topic] != "OK":
        fail(f"legacy alter: {result}")
    configs = describe(admin, "TOPIC", topic)
    expect(configs, "retention.bytes", "1048576", "DYNAMIC_TOPIC_CONFIG")
    expect(configs, "cleanup.policy", "compact", "DYNAMIC_TOPIC_CONFIG")


def broker_checks(admin, topic, broker):
    resource = ConfigResource("BROKER", broker, {"log.retention.ms": "86400000"})
    result = admin.alter_configs([resource], incremental=True)
    if result["broker"][broker] != "OK":
        fail(f"broker alter: {result}")
    configs = describe(admin, "TOPIC", topic)
    expect(configs, "retention.ms", "86400000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    synonyms = [(s["name"], s["source"]) for s in configs["retention.ms"]["synonyms"]]
    if synonyms != [("log.retention.ms", "DYNAMIC_DEFAULT_BROKER_CONFIG"),
                    ("log.retention.ms", "DEFAULT_CONFIG")]:
        fail(f"retention.ms synonyms under a broker default: {synonyms}")
    brokers = describe(admin, "BROKER", broker)
    expect(brokers, "log.retention.ms", "86400000", "DYNAMIC_DEFAULT_BROKER_CONFIG")
    if not brokers["num.partitions"]["read_only"]:
        fail("num.partitions is static: read-only")
    static = ConfigResource("BROKER", broker, {"num.partitions": "3"})
    result = admin.alter_configs([static], incremental=True, raise_on_unknown=False)
    if "num.partitions" not in result["broker"][broker]:
        fail(f"a static broker key was accepted: {result}")
    admin.alter_configs([ConfigResource("BROKER", broker, {
        "log.retention.ms": (AlterConfigOp.DELETE, None)})], incremental=True)
    expect(describe(admin, "TOPIC", topic), "retention.ms", "604800000", "DEFAULT_CONFIG")


def default_partitions_check(admin, topic, partitions):
    """A topic created with -1 partitions gets the static num.partitions."""
    result = admin.create_topics({topic: {}})
    created = result["topics"][0]
    if created["num_partitions"] != partitions or created["replication_factor"] != 3:
        fail(f"created with the defaults: {created}")
    described = admin.describe_topics([topic])[0]
    if len(described["partitions"]) != partitions:
        fail(f"{topic} has {len(described['partitions'])} partitions, not {partitions}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--broker", default="1")
    p.add_argument("--static", action="append", default=[])
    p.add_argument("--default-partitions", type=int, default=1)
    args = p.parse_args()
    admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="config-test")
    try:
        create_checks(admin, args.topic)
        alter_checks(admin, args.topic, args.static)
        admin.create_topics({args.topic + "-plain": {"num_partitions": 1,
                                                     "replication_factor": 3}})
        broker_checks(admin, args.topic + "-plain", args.broker)
        default_partitions_check(admin, args.topic + "-defaults", args.default_partitions)
    finally:
        admin.close()
    print("OK kafka-python configs")


if __name__ == "__main__":
    main()
