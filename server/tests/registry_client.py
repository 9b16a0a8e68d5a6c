"""An unmodified third-party client against the portal's schema registry and the real broker.

Confluent's own Python client (PyPI `confluent-kafka`) serializes a record with the approved
Avro schema (looked up, never registered), produces it with the application's SCRAM credentials,
consumes it back and deserializes it through the registry. A schema that was not approved is
refused, whether the serializer looks it up or tries to register it.

Configuration comes from the environment; prints one line per check and exits non-zero on the
first failure.
"""

import json
import os
import sys
import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext, SerializationError

env = os.environ
topic = env["TOPIC"]
user, password = env["KAFKA_USER"], env["KAFKA_PASSWORD"]
registry = SchemaRegistryClient({"url": env["REGISTRY_URL"], "basic.auth.user.info": f"{user}:{password}"})
kafka = {
    "bootstrap.servers": env["BOOTSTRAP"],
    "security.protocol": "SASL_PLAINTEXT",
    "sasl.mechanisms": "SCRAM-SHA-512",
    "sasl.username": user,
    "sasl.password": password,
}
context = SerializationContext(topic, MessageField.VALUE)
approved = env["APPROVED_SCHEMA"]

serialize = AvroSerializer(registry, approved, conf={"auto.register.schemas": False})
payload = serialize({"order_id": "o-42"}, context)
producer = Producer({**kafka, "message.timeout.ms": 10000})
delivered = []
producer.produce(topic, value=payload, on_delivery=lambda err, msg: delivered.append(err))
producer.flush(15)
if delivered != [None]:
    sys.exit(f"produce failed: {delivered}")
print("produced one record with the approved schema")

consumer = Consumer({**kafka, "group.id": env["GROUP"] + "-" + uuid.uuid4().hex[:8], "auto.offset.reset": "earliest"})
consumer.subscribe([topic])
deserialize = AvroDeserializer(registry)
record = None
for _ in range(30):
    message = consumer.poll(1.0)
    if message is None:
        continue
    if message.error():
        sys.exit(f"consume failed: {message.error()}")
    record = deserialize(message.value(), context)
    break
consumer.close()
if record != {"order_id": "o-42"}:
    sys.exit(f"consumed {record!r}")
print("consumed it back and deserialized it through the registry")

unapproved = json.loads(approved)
unapproved["fields"].append({"name": "note", "type": ["null", "string"], "default": None})
for auto_register in (False, True):
    try:
        AvroSerializer(registry, json.dumps(unapproved), conf={"auto.register.schemas": auto_register})(
            {"order_id": "o-43", "note": None}, context
        )
    except (SchemaRegistryError, SerializationError) as refused:
        print(f"an unapproved schema is refused (auto.register.schemas={auto_register}): {refused}")
    else:
        sys.exit(f"an unapproved schema was accepted (auto.register.schemas={auto_register})")
