"""Kafka clients over TLS, SASL (PLAIN, SCRAM) and mTLS, for the listener
tests: managing SCRAM users with the admin clients, producing and consuming,
and the errors a bad login gets. Loopback test traffic only."""
import argparse
import json
import sys
import time

from common import fail


def confluent_config(a):
    c = {"bootstrap.servers": a.bootstrap, "security.protocol": a.protocol}
    if a.mechanism:
        c.update({"sasl.mechanism": a.mechanism, "sasl.username": a.user, "sasl.password": a.password})
    if a.ca:
        c["ssl.ca.location"] = a.ca
    if a.cert:
        c.update({"ssl.certificate.location": a.cert, "ssl.key.location": a.key})
    return c


def python_config(a):
    c = {"bootstrap_servers": a.bootstrap, "security_protocol": a.protocol}
    if a.mechanism:
        c.update({"sasl_mechanism": a.mechanism, "sasl_plain_username": a.user, "sasl_plain_password": a.password})
    if a.ca:
        c["ssl_cafile"] = a.ca
    if a.cert:
        c.update({"ssl_certfile": a.cert, "ssl_keyfile": a.key})
    return c


def alter_user(a):
    if a.client == "confluent":
        from confluent_kafka.admin import (AdminClient, ScramCredentialInfo, ScramMechanism,
                                           UserScramCredentialUpsertion)
        mech = getattr(ScramMechanism, a.scram.replace("-", "_"))
        admin = AdminClient(confluent_config(a))
        up = UserScramCredentialUpsertion(a.new_user, ScramCredentialInfo(mech, a.iterations), a.new_password.encode())
        for user, fut in admin.alter_user_scram_credentials([up]).items():
            try:
                fut.result(30)
            except Exception as e:  # noqa: BLE001 - reported to the test
                print(f"REFUSED {user}: {e}")
                return
        print(f"OK altered {a.new_user}")
    else:
        from kafka.admin import KafkaAdminClient, UserScramCredentialUpsertion
        admin = KafkaAdminClient(**python_config(a))
        up = UserScramCredentialUpsertion(a.new_user, a.scram, a.new_password, iterations=a.iterations)
        result = admin.alter_user_scram_credentials([up])
        admin.close()
        if result.get(a.new_user):
            print(f"REFUSED {a.new_user}: {result[a.new_user]}")
        else:
            print(f"OK altered {a.new_user}")


def describe_users(a):
    from kafka.admin import KafkaAdminClient
    admin = KafkaAdminClient(**python_config(a))
    described = admin.describe_user_scram_credentials(a.users or None)
    admin.close()
    out = {u: {"error": d["error"], "mechanisms": [[ci["mechanism"].name, ci["iterations"]]
                                                    for ci in d["credential_infos"]]}
           for u, d in described.items()}
    print("USERS " + json.dumps(out, sort_keys=True))


def produce_consume(a):
    values = [f"{a.client}-{i}".encode() for i in range(a.count)]
    if a.client == "confluent":
        from confluent_kafka import Consumer, Producer
        producer = Producer({**confluent_config(a), "acks": "all"})
        errors = []
        for v in values:
            producer.produce(a.topic, value=v, on_delivery=lambda err, _m: err and errors.append(str(err)))
        if producer.flush(60) or errors:
            fail(f"produce: {errors[:3]}")
        consumer = Consumer({**confluent_config(a), "group.id": f"g-{a.topic}", "auto.offset.reset": "earliest"})
        consumer.subscribe([a.topic])
        got, deadline = [], time.time() + 60
        while len(got) < a.count and time.time() < deadline:
            m = consumer.poll(0.5)
            if m is not None and not m.error():
                got.append(m.value())
        consumer.close()
    else:
        from kafka import KafkaConsumer, KafkaProducer
        producer = KafkaProducer(acks="all", **python_config(a))
        for v in values:
            producer.send(a.topic, value=v).get(timeout=30)
        producer.close()
        consumer = KafkaConsumer(a.topic, auto_offset_reset="earliest", consumer_timeout_ms=20000,
                                 group_id=f"g-{a.topic}", **python_config(a))
        got = [m.value for m in consumer][: a.count]
        consumer.close()
    if sorted(got) != sorted(values):
        fail(f"consumed {len(got)} of {a.count} records")
    print(f"OK {a.count}")


def expect_failure(a):
    """Produce one record; print the error that stops it (FAIL if it is delivered)."""
    if a.client == "confluent":
        from confluent_kafka import Producer
        errors = []
        producer = Producer({**confluent_config(a), "error_cb": lambda e: errors.append(f"{e.name()}: {e.str()}")})
        delivered = []
        producer.produce(a.topic, value=b"must-not-arrive",
                         on_delivery=lambda err, m: delivered.append(err is None))
        deadline = time.time() + 20
        while not errors and time.time() < deadline:
            producer.poll(0.2)
        producer.purge()
        producer.flush(5)
        if any(delivered):
            fail("a record was delivered")
        print("ERROR " + " | ".join(errors))
    else:
        import logging
        from kafka import KafkaProducer

        # kafka-python logs a failed login and keeps retrying the bootstrap:
        # the broker's error is in its log records.
        seen = []

        class Capture(logging.Handler):
            def emit(self, record):
                seen.append(record.getMessage())

        logging.getLogger("kafka").addHandler(Capture())
        logging.getLogger("kafka").setLevel(logging.INFO)
        try:
            producer = KafkaProducer(**python_config(a), max_block_ms=10000)
            producer.send(a.topic, value=b"must-not-arrive").get(timeout=10)
        except Exception as e:  # noqa: BLE001 - reported to the test
            logged = " | ".join(m for m in seen if "uthentication" in m or "SASL" in m)
            print(f"ERROR {type(e).__name__}: {e} | {logged}")
            return
        fail("a record was delivered")


def metadata(a):
    from confluent_kafka.admin import AdminClient
    md = AdminClient(confluent_config(a)).list_topics(timeout=20)
    print("BROKERS " + ",".join(f"{b.id}={b.host}:{b.port}" for b in sorted(md.brokers.values(), key=lambda b: b.id)))


def count_records(a):
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(**python_config(a), consumer_timeout_ms=3000, enable_auto_commit=False)
    tp = TopicPartition(a.topic, 0)
    consumer.assign([tp])
    end = consumer.end_offsets([tp])[tp]
    consumer.close()
    print(f"COUNT {end}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["alter-user", "describe-users", "produce-consume",
                                        "expect-failure", "metadata", "count-records"])
    p.add_argument("--client", choices=["confluent", "kafka-python"], default="confluent")
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--protocol", default="PLAINTEXT")
    p.add_argument("--mechanism")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--ca")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--topic")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--new-user")
    p.add_argument("--new-password")
    p.add_argument("--scram", default="SCRAM-SHA-512")
    p.add_argument("--iterations", type=int, default=4096)
    p.add_argument("--users", nargs="*")
    a = p.parse_args()
    {"alter-user": alter_user, "describe-users": describe_users, "produce-consume": produce_consume,
     "expect-failure": expect_failure, "metadata": metadata, "count-records": count_records}[a.command](a)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
