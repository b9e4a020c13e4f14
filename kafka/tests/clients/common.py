"""Helpers shared by the client scripts (loopback test traffic only)."""
import sys
import time


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def create_topic(bootstrap, topic, partitions):
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="chronik-test-admin")
    try:
        result = admin.create_topics([NewTopic(topic, partitions, 1)])
        for t in getattr(result, "topic_errors", None) or result.get("topics", []):
            code = t[1] if isinstance(t, tuple) else t.get("error_code", 0)
            if code != 0:
                fail(f"create topic {topic}: error code {code}")
    finally:
        admin.close()


def wait_until(predicate, timeout_s, what):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    fail(f"timed out waiting for {what}")
