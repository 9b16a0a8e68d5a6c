"""Keeps the local demo alive: two demo applications produce and consume on production topics
with the credentials the portal issues to them, so health pages, charts and alerts move.

    python dev/traffic.py            (dev/run starts it after the demo data is loaded)

What it does, as the applications' team would:
  1. signs in to the portal as maria (a member of both teams), through the identity provider's
     login form, and asks the portal for a new password for each application in prod, then
     reads each password once, as the request page offers it;
  2. Claim Status Tool writes claim_status_change (Avro, through the portal's schema registry)
     steadily, 5 events a second, and a burst of decision_letter_availability events at start,
     after which that topic goes silent (its owners expect one at least every minute);
  3. Notify Service reads decision_letter_availability and keeps up, and reads
     claim_status_change with group notify-claim-status at 2 events a second, so that group
     falls further behind.
It writes the time it started producing to $EBP_STACK_DIR/traffic.started (milliseconds since
the epoch). Errors (a revoked grant, a broker restart) are logged and retried; it never exits on
its own once running.
"""
import datetime
import json
import os
import random
import sys
import threading
import time

import requests
from confluent_kafka import Consumer, KafkaException, Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

PORTAL = os.environ.get("PORTAL_URL", f"http://127.0.0.1:{os.environ.get('EBP_PORTAL_PORT', '3000')}")
BOOTSTRAP = f"127.0.0.1:{os.environ.get('EBP_PROD_PORT', '29092')}"
USER, PASSWORD = "maria", os.environ.get("EBP_TRAFFIC_PASSWORD", "maria-demo-pw")
CLAIM_STATUS_TOOL = "a0000000-0000-4000-8000-000000000002"
NOTIFY_SERVICE = "a0000000-0000-4000-8000-000000000001"
STEADY_TOPIC, STEADY_RATE = "claim_status_change", 5.0
SILENT_TOPIC, BURST = "decision_letter_availability", 40
SLOW_GROUP, SLOW_RATE = "notify-claim-status", 2.0
KEEPING_UP_GROUP = "notify-decision-letters"
PHASES = ["RECEIVED", "EVIDENCE_GATHERING", "REVIEW", "DECISION", "COMPLETE"]


def log(message):
    print(f"[traffic] {datetime.datetime.now():%H:%M:%S} {message}", flush=True)


def signed_in_session():
    """A cookie session signed in through the identity provider's login form."""
    session = requests.Session()
    form = session.get(f"{PORTAL}/auth/login?next=/", timeout=10)
    form.raise_for_status()
    if "/interaction/" not in form.url:
        raise RuntimeError(f"expected the provider's login form, got {form.url}")
    landed = session.post(
        form.url.rstrip("/") + "/login",
        data={"username": USER, "password": PASSWORD},
        timeout=10,
    )
    landed.raise_for_status()
    if not any(c.name == "portal_session" for c in session.cookies):
        raise RuntimeError("signing in gave no portal session")
    return session


def issued_password(session, application):
    """Asks for a new password for the application in prod and reads it once."""
    form = {"application": application, "environment": "prod"}
    rotated = session.post(f"{PORTAL}/api/apply/rotate-credential", data=form, timeout=10)
    if rotated.status_code not in (200, 409):
        raise RuntimeError(f"rotating {application}: HTTP {rotated.status_code} {rotated.text[:200]}")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        shown = session.post(f"{PORTAL}/api/apply/reveal-credential", data=form, timeout=10)
        if shown.status_code == 200:
            body = shown.json()
            return body["principal"], body["password"]
        time.sleep(0.5)
    raise RuntimeError(f"the new password of {application} was not set within 60 s")


def client_settings(principal, password):
    return {
        "bootstrap.servers": BOOTSTRAP,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": principal,
        "sasl.password": password,
    }


def produce(principal, password):
    producer = Producer({**client_settings(principal, password), "linger.ms": 20, "acks": "all"})
    registry = SchemaRegistryClient({"url": PORTAL, "basic.auth.user.info": f"{principal}:{password}"})
    value_schema = registry.get_latest_version(f"{STEADY_TOPIC}-value").schema.schema_str
    serialize = AvroSerializer(registry, value_schema, conf={"auto.register.schemas": False, "use.latest.version": True})

    def delivered(err, _msg):
        if err is not None:
            log(f"not delivered: {err}")

    for n in range(BURST):
        letter = {"claim_id": f"CL-{random.randint(100000, 999999)}", "letter": "decision", "sequence": n}
        producer.produce(SILENT_TOPIC, json.dumps(letter).encode(), key=letter["claim_id"], on_delivery=delivered)
    producer.flush(10)
    log(f"wrote {BURST} events to {SILENT_TOPIC}; it stays quiet from now on")

    context = SerializationContext(STEADY_TOPIC, MessageField.VALUE)
    interval = 1.0 / STEADY_RATE
    next_at = time.monotonic()
    while True:
        claim = f"CL-{random.randint(100000, 999999)}"
        event = {
            "claim_id": claim,
            "phase": random.choice(PHASES),
            "changed_on": datetime.date.today(),
            "note": None,
        }
        try:
            producer.produce(STEADY_TOPIC, serialize(event, context), key=claim, on_delivery=delivered)
        except (BufferError, KafkaException) as err:
            log(f"producing: {err}")
        producer.poll(0)
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def consume(principal, password, topic, group, rate):
    consumer = Consumer({
        **client_settings(principal, password),
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": True,
        "auto.commit.interval.ms": 1000,
    })
    consumer.subscribe([topic])
    while True:
        message = consumer.poll(1.0)
        if message is not None and message.error():
            log(f"{group}: {message.error()}")
            time.sleep(1)
        elif message is not None and rate:
            time.sleep(1.0 / rate)


def forever(name, work, *args):
    def run():
        while True:
            try:
                work(*args)
            except Exception as err:  # a revoked grant, a broker restart: try again shortly
                log(f"{name}: {err}")
                time.sleep(5)
    threading.Thread(target=run, name=name, daemon=True).start()


def main():
    session = signed_in_session()
    writer = issued_password(session, CLAIM_STATUS_TOOL)
    reader = issued_password(session, NOTIFY_SERVICE)
    log(f"signed in as {USER}; Claim Status Tool writes as {writer[0]}, Notify Service reads as {reader[0]}")
    started = os.path.join(os.environ.get("EBP_STACK_DIR", "."), "traffic.started")
    with open(started, "w") as out:
        out.write(str(int(time.time() * 1000)))
    forever("producer", produce, *writer)
    forever(KEEPING_UP_GROUP, consume, *reader, SILENT_TOPIC, KEEPING_UP_GROUP, None)
    forever(SLOW_GROUP, consume, *reader, STEADY_TOPIC, SLOW_GROUP, SLOW_RATE)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
