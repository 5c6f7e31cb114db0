"""Webhook requests over aiohttp: addresses checked and pinned by `ssrf.PinnedResolver`,
redirects never followed, the environment's proxies ignored (a proxy would connect for us to
addresses we never checked)."""

from __future__ import annotations

import aiohttp

from shards.triggers.delivery import Response
from shards.triggers.ssrf import PinnedResolver, check_url

MAX_RESPONSE_BYTES = 64 * 1024  # read (and drop) so the connection can be reused


class WebhookClient:
    def __init__(self, *, allow_private: bool) -> None:
        connector = aiohttp.TCPConnector(
            resolver=PinnedResolver(allow_private=allow_private),
            limit=256,
            keepalive_timeout=30,
        )
        self._session = aiohttp.ClientSession(connector=connector, trust_env=False)
        self._allow_private = allow_private

    async def send(
        self, url: str, body: bytes, headers: dict[str, str], timeout_s: float
    ) -> Response:
        # aiohttp never asks the resolver about an address literal: check those here (the URL
        # may come from an environment variable, unchecked at definition time).
        check_url(url, allow_private=self._allow_private)
        async with self._session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_s),
        ) as resp:
            await resp.content.read(MAX_RESPONSE_BYTES)
            return Response(resp.status, resp.headers.get("retry-after"))

    async def close(self) -> None:
        await self._session.close()
