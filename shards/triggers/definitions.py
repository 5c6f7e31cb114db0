"""A trigger definition as a value, validated once, with a redacted form for listings.

>>> t = TriggerDef.parse({"name": "new_user", "collection": "users.User",
...                       "ops": ["INSERT"], "url": "https://hooks.example.com/u",
...                       "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"})
>>> t.fires("insert", None, {"id": "u1"})
True
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from shards.errors import BadRequest

OPS = ("INSERT", "UPDATE", "DELETE")
NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
COLLECTION = re.compile(r"[A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*")
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_retries: int = 5  # attempts after the first one
    interval_s: float = 1.0  # base of the exponential backoff
    timeout_s: float = 10.0  # per request

    def __post_init__(self) -> None:
        if not 0 <= self.max_retries <= 100:
            raise BadRequest("max_retries must be between 0 and 100")
        if not 0 < self.interval_s <= 3600 or not 0 < self.timeout_s <= 300:
            raise BadRequest("interval must be in (0, 3600] s and timeout in (0, 300] s")


@dataclass(frozen=True, slots=True)
class TriggerDef:
    name: str
    collection: str  # "service.Type"
    ops: tuple[str, ...]
    url: str | None = None
    url_from_env: str | None = None  # an environment variable of the delivering shard
    headers: Mapping[str, str] = field(default_factory=dict)  # literal values
    headers_from_env: Mapping[str, str] = field(default_factory=dict)  # header -> env var
    secret: str = ""  # "whsec_" + base64 key
    columns: tuple[str, ...] = ()  # UPDATE fires only when one of these fields changed
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    paused: bool = False

    @classmethod
    def parse(cls, raw: object) -> TriggerDef:
        if not isinstance(raw, Mapping):
            raise BadRequest("a trigger definition must be an object")
        name, collection = raw.get("name"), raw.get("collection")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise BadRequest(f"trigger name {name!r}: letters, digits, '_', '-', at most 64")
        if not isinstance(collection, str) or not COLLECTION.fullmatch(collection):
            raise BadRequest(f"collection {collection!r} must look like 'service.Type'")
        ops = raw.get("ops")
        if not isinstance(ops, list | tuple) or not ops or not set(ops) <= set(OPS):
            raise BadRequest(f"ops must be a non-empty list of {', '.join(OPS)}")
        url, url_env = raw.get("url"), raw.get("url_from_env")
        if (url is None) == (url_env is None):
            raise BadRequest("give exactly one of url and url_from_env")
        if url is not None and (
            not isinstance(url, str) or not url.startswith(("http://", "https://"))
        ):
            raise BadRequest(f"url {url!r} must be an http:// or https:// URL")
        secret = raw.get("secret", "")
        if not isinstance(secret, str):
            raise BadRequest("secret must be a string")
        if secret:
            secret_key(secret)  # refuses a malformed one now, not at delivery
        retry = raw.get("retry") or {}
        if not isinstance(retry, Mapping):
            raise BadRequest("retry must be an object")
        try:
            policy = RetryPolicy(**retry)
        except TypeError as e:
            raise BadRequest(f"retry: {e}") from None
        return cls(
            name=name,
            collection=collection,
            ops=tuple(o for o in OPS if o in ops),
            url=url,
            url_from_env=_opt_str(raw, "url_from_env"),
            headers=_str_map(raw, "headers"),
            headers_from_env=_str_map(raw, "headers_from_env"),
            secret=secret,
            columns=tuple(_str_list(raw, "columns")),
            retry=policy,
            paused=raw.get("paused") is True,
        )

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["ops"], d["columns"] = list(self.ops), list(self.columns)
        d["headers"], d["headers_from_env"] = dict(self.headers), dict(self.headers_from_env)
        return d

    def redacted(self) -> dict[str, Any]:
        """For listings and logs: no secret and no literal header values (they may be tokens)."""
        d = self.as_dict()
        d["secret"] = "(set)" if self.secret else None
        d["headers"] = dict.fromkeys(self.headers, "(set)")
        return d

    def with_paused(self, paused: bool) -> TriggerDef:
        return replace(self, paused=paused)

    def fires(self, op: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> bool:
        """Whether a change ("insert" | "update" | "delete") of this collection fires."""
        if op.upper() not in self.ops:
            return False
        if op == "update" and self.columns and old is not None and new is not None:
            return any(old.get(c) != new.get(c) for c in self.columns)
        return True

    def resolve_url(self, env: Mapping[str, str] | None = None) -> str:
        if self.url is not None:
            return self.url
        value = (os.environ if env is None else env).get(self.url_from_env or "")
        if not value:
            raise LookupError(f"environment variable {self.url_from_env} is not set")
        return value

    def resolve_headers(self, env: Mapping[str, str] | None = None) -> dict[str, str]:
        env = os.environ if env is None else env
        out = dict(self.headers)
        for header, var in self.headers_from_env.items():
            if var in env:
                out[header] = env[var]
        return out


def secret_key(secret: str) -> bytes:
    """The HMAC key of a Standard Webhooks secret: base64 after the `whsec_` prefix."""
    text = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("secret must be 'whsec_' followed by base64 (24 to 64 bytes)") from None
    if not 24 <= len(key) <= 64:
        raise BadRequest("secret must be 'whsec_' followed by base64 (24 to 64 bytes)")
    return key


def dumps_defs(defs: list[TriggerDef]) -> str:
    return orjson.dumps([d.as_dict() for d in defs]).decode()


def _opt_str(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{name} must be a string")
    return value


def _str_map(raw: Mapping[str, Any], name: str) -> dict[str, str]:
    value = raw.get(name) or {}
    if not isinstance(value, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise BadRequest(f"{name} must map names to strings")
    return dict(value)


def _str_list(raw: Mapping[str, Any], name: str) -> list[str]:
    value = raw.get(name) or []
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise BadRequest(f"{name} must be a list of strings")
    return list(value)
