"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

    webhook-id:        the event id, the same on every attempt (receivers dedupe on it)
    webhook-timestamp: seconds since the epoch of this attempt
    webhook-signature: "v1," + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}"))

where key is the base64-decoded secret after its "whsec_" prefix, so a receiver's stock
Standard Webhooks library verifies it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from shards.triggers.definitions import secret_key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    out = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if secret:
        out["webhook-signature"] = signature(secret, msg_id, timestamp, body)
    return out
