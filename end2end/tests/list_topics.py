"""Prints the topics on each local cluster as JSON ({"sandbox": [...], "prod": [...]}), read as
the portal's principal with the local stack's development credentials. Used by demo.spec.ts to
check what the demo put on the clusters.

    python list_topics.py
"""
import json
import os

from confluent_kafka.admin import AdminClient

clusters = {"sandbox": "EBP_SANDBOX_PORT", "prod": "EBP_PROD_PORT"}
defaults = {"sandbox": "19092", "prod": "29092"}
seen = {}
for name, port in clusters.items():
    admin = AdminClient({
        "bootstrap.servers": f"127.0.0.1:{os.environ.get(port, defaults[name])}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": "portal-admin",
        "sasl.password": os.environ.get(
            f"PORTAL__KAFKA__ENVIRONMENTS__{name.upper()}__SASL_PASSWORD", "portal-admin-secret"
        ),
    })
    seen[name] = sorted(admin.list_topics(timeout=10).topics)
print(json.dumps(seen))
