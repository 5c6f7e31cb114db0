"""The gateway's trigger registry refuses unsafe or unknown definitions before storing."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.settings import TriggerSettings
from gateway.triggers import TriggerRegistry
from shards.errors import BadRequest


class NoStore:
    """A cluster client that must not be written to."""

    def __init__(self) -> None:
        self.on_revival: list[Any] = []

    async def write(self, *args: Any, **kwargs: Any) -> None:
        raise AssertionError("a refused definition must not be stored")


def definition(url: str, collection: str = "users.User") -> dict[str, Any]:
    return {"name": "t", "collection": collection, "ops": ["INSERT"], "url": url}


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080/x", "http://[::ffff:10.0.0.1]/x", "http://0x7f.1/x"]
)
async def test_private_webhook_urls_are_refused_at_definition(url: str) -> None:
    registry = TriggerRegistry(NoStore(), TriggerSettings())  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match="ALLOW_PRIVATE"):
        await registry.put(definition(url), known=["users.User"])


async def test_unknown_collections_are_refused() -> None:
    registry = TriggerRegistry(NoStore(), TriggerSettings())  # type: ignore[arg-type]
    with pytest.raises(BadRequest, match=r"no collection 'users\.Usr'"):
        await registry.put(definition("https://h.example.com", "users.Usr"), known=["users.User"])
