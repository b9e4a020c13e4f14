"""ACLs through the admin clients of kafka-python (`KafkaAdminClient`) and
confluent-kafka (`AdminClient`), and what they allow: one step per run.

  create/delete --client kp|ck --resource topic|group|cluster --name N --op OP
  describe --client kp|ck        prints `ACL <resource>:<name>:<op>` lines
  produce --topic T --expect ok|denied
  consume --topic T --group G --expect N|denied   (confluent-kafka consumer)
  topics                          prints `TOPIC <name>` for each visible topic
"""
import argparse
import sys
import time

from common import fail

PRINCIPAL = "User:ANONYMOUS"


def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(bootstrap_servers=bootstrap, client_id="chronik-acl-admin")


def kp_acl(resource, name, op):
    from kafka.admin import (ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePattern, ResourceType)

    pattern = ResourcePattern(ResourceType[resource.upper()], name, ACLResourcePatternType.LITERAL)
    return ACL(principal=PRINCIPAL, host="*", operation=ACLOperation[op.upper()],
               permission_type=ACLPermissionType.ALLOW, resource_pattern=pattern)


def kp_filter(resource, name, op):
    from kafka.admin import (ACLFilter, ACLOperation, ACLPermissionType, ACLResourcePatternType,
                             ResourcePatternFilter, ResourceType)

    pattern = ResourcePatternFilter(ResourceType[resource.upper()] if resource else ResourceType.ANY,
                                    name, ACLResourcePatternType.ANY)
    return ACLFilter(principal=None, host=None,
                     operation=ACLOperation[op.upper()] if op else ACLOperation.ANY,
                     permission_type=ACLPermissionType.ANY, resource_pattern=pattern)


def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def ck_binding(resource, name, op):
    from confluent_kafka.admin import (AclBinding, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType)

    return AclBinding(ResourceType[resource.upper()], name, ResourcePatternType.LITERAL, PRINCIPAL,
                      "*", AclOperation[op.upper()], AclPermissionType.ALLOW)


def ck_filter(resource, name, op):
    from confluent_kafka.admin import (AclBindingFilter, AclOperation, AclPermissionType,
                                       ResourcePatternType, ResourceType)

    return AclBindingFilter(ResourceType[resource.upper()] if resource else ResourceType.ANY, name,
                            ResourcePatternType.ANY, None, None,
                            AclOperation[op.upper()] if op else AclOperation.ANY,
                            AclPermissionType.ANY)


def create(args):
    if args.client == "kp":
        admin = kp_admin(args.bootstrap)
        result = admin.create_acls([kp_acl(args.resource, args.name, args.op)])
        admin.close()
        if result["failed"] or len(result["succeeded"]) != 1:
            fail(f"create_acls: {result}")
    else:
        admin = ck_admin(args.bootstrap)  # kept alive until the futures resolve
        futures = admin.create_acls([ck_binding(args.resource, args.name, args.op)],
                                    request_timeout=20)
        for f in futures.values():
            f.result()
    print("OK created")


def describe(args):
    if args.client == "kp":
        admin = kp_admin(args.bootstrap)
        acls, error = admin.describe_acls(kp_filter(None, None, None))
        admin.close()
        if error.errno != 0:
            fail(f"describe_acls: {error}")
        lines = [f"{a.resource_pattern.resource_type.name}:{a.resource_pattern.resource_name}:"
                 f"{a.operation.name}:{a.principal}" for a in acls]
    else:
        admin = ck_admin(args.bootstrap)
        acls = admin.describe_acls(ck_filter(None, None, None), request_timeout=20).result()
        # confluent-kafka names resource type 4 (Kafka's CLUSTER) BROKER.
        lines = [f"{a.restype.name.replace('BROKER', 'CLUSTER')}:{a.name}:{a.operation.name}:"
                 f"{a.principal}" for a in acls]
    for line in sorted(lines):
        print(f"ACL {line}")
    print("OK described")


def delete(args):
    if args.client == "kp":
        admin = kp_admin(args.bootstrap)
        results = admin.delete_acls([kp_filter(args.resource, args.name, args.op)])
        admin.close()
        (_, matched, error) = results[0]
        if error.errno != 0:
            fail(f"delete_acls: {error}")
        count = len(matched)
    else:
        admin = ck_admin(args.bootstrap)
        futures = admin.delete_acls([ck_filter(args.resource, args.name, args.op)],
                                    request_timeout=20)
        count = sum(len(f.result()) for f in futures.values())
    print(f"OK deleted {count}")


def produce(args):
    from kafka import KafkaProducer

    # Without idempotence the refusal is the topic's (InitProducerId would need
    # IdempotentWrite on the cluster or Write on some topic first).
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, acks="all", retries=0,
                             enable_idempotence=False,
                             max_block_ms=10000)
    try:
        producer.send(args.topic, value=b"acl-record").get(timeout=20)
        outcome = "ok"
    except Exception as e:  # the outcome is what the test asserts
        if "TopicAuthorizationFailed" not in type(e).__name__ + str(e):
            fail(f"produce failed otherwise: {type(e).__name__}: {e}")
        outcome = "denied"
    producer.close(5)
    if outcome != args.expect:
        fail(f"produce was {outcome}, expected {args.expect}")
    print(f"OK produce {outcome}")


def consume(args):
    """Reads the topic's one partition to its end in group `--group`."""
    from confluent_kafka import Consumer, KafkaError

    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": args.group,
                         "auto.offset.reset": "earliest", "enable.auto.commit": False,
                         "enable.partition.eof": True})
    consumer.subscribe([args.topic])
    got, outcome, deadline = 0, None, time.time() + 30
    while time.time() < deadline and outcome is None:
        msg = consumer.poll(0.5)
        if msg is None:
            continue
        if msg.error():
            code = msg.error().code()
            if code == KafkaError.GROUP_AUTHORIZATION_FAILED:
                outcome = "denied"
            elif code == KafkaError.TOPIC_AUTHORIZATION_FAILED:
                outcome = "topic-denied"
            elif code == KafkaError._PARTITION_EOF:
                outcome = str(got)
            else:
                fail(f"consume error: {msg.error()}")
            continue
        got += 1
    consumer.close()
    if outcome != args.expect:
        fail(f"consume ended with {outcome} after {got} records, expected {args.expect}")
    print(f"OK consume {outcome}")


def topics(args):
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=args.bootstrap)
    for name in sorted(consumer.topics()):
        print(f"TOPIC {name}")
    consumer.close()
    print("OK topics")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["create", "describe", "delete", "produce", "consume", "topics"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--client", choices=["kp", "ck"], default="kp")
    parser.add_argument("--resource")
    parser.add_argument("--name")
    parser.add_argument("--op")
    parser.add_argument("--topic")
    parser.add_argument("--group")
    parser.add_argument("--expect")
    args = parser.parse_args()
    globals()[args.step](args)


if __name__ == "__main__":
    sys.exit(main())
