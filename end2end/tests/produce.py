"""Writes messages to a topic on the local sandbox cluster at a steady rate, as the portal's
principal (the local stack's development credentials), creating the topic if it is missing.
Used by health.spec.ts so the health chart has live traffic to show.

    python produce.py <topic> <seconds> <messages per second>
"""
import os
import sys
import time

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic

topic, seconds, rate = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
conf = {
    "bootstrap.servers": f"127.0.0.1:{os.environ.get('EBP_SANDBOX_PORT', '19092')}",
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanism": "SCRAM-SHA-512",
    "sasl.username": "portal-admin",
    "sasl.password": os.environ.get("PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__SASL_PASSWORD", "portal-admin-secret"),
}
admin = AdminClient(conf)
for future in admin.create_topics([NewTopic(topic, 3, 1)]).values():
    try:
        future.result()
    except KafkaException as error:
        if error.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
            raise
deadline = time.time() + 30
while topic not in admin.list_topics(timeout=10).topics and time.time() < deadline:
    time.sleep(0.5)
producer = Producer(conf)
end = time.time() + seconds
while time.time() < end:
    producer.produce(topic, b'{"e2e": true}')
    producer.poll(0)
    time.sleep(1.0 / rate)
producer.flush(10)
