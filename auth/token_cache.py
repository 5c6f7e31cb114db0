"""Verified tokens, remembered: a token that verified is not verified again on every request.

    cache = TokenCache(size=10_000, ttl=60)
    claims = await verify(token, ring, settings, now, cache)   # verify() consults it

An entry is the claims of one exact token string (a tampered token is another string, so
it never hits), kept at most `ttl` seconds. A hit still checks exp/nbf/iat/iss/aud against
`now` (`check_claims`, cheap), so expiry stays exact to the second. The whole cache is
dropped when the key ring's generation changes (a JWKS fetch replaced the keys): a key
removed by rotation stops its tokens at once. Tokens that fail are never cached.
The session built from a remembered token (per requested role) is kept with it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

DEFAULT_SIZE = 10_000
DEFAULT_TTL_S = 60.0
MAX_DERIVED = 16  # sessions per token: one per role the caller asks for


class TokenCache:
    def __init__(self, size: int = DEFAULT_SIZE, ttl: float = DEFAULT_TTL_S) -> None:
        self.size = size
        self.ttl = ttl
        self.generation = 0  # of the key ring the entries were verified against
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, token: str, generation: int, now: float) -> dict[str, Any] | None:
        """The claims `token` verified to, if it did within `ttl` under this key generation."""
        if generation != self.generation:
            self._entries.clear()
            self.generation = generation
            return None
        entry = self._entries.get(token)
        if entry is None:
            return None
        if now >= entry.expires or now < entry.expires - self.ttl:  # stale, or clock went back
            del self._entries[token]
            return None
        self._entries.move_to_end(token)
        return entry.claims

    def put(self, token: str, generation: int, claims: dict[str, Any], now: float) -> None:
        if self.ttl <= 0 or self.size <= 0:
            return
        if generation != self.generation:
            self._entries.clear()
            self.generation = generation
        self._entries[token] = _Entry(now + self.ttl, claims)
        self._entries.move_to_end(token)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def derived(self, token: str, key: object) -> Any:
        """What was worked out from a remembered token's claims before (the session for a
        requested role), or None. Call right after `get`/`put`: no expiry is checked here."""
        entry = self._entries.get(token)
        return entry.derived.get(key) if entry is not None else None

    def derive(self, token: str, key: object, value: Any) -> None:
        entry = self._entries.get(token)
        if entry is not None and len(entry.derived) < MAX_DERIVED:
            entry.derived[key] = value


class _Entry:
    __slots__ = ("claims", "derived", "expires")

    def __init__(self, expires: float, claims: dict[str, Any]) -> None:
        self.expires = expires
        self.claims = claims
        self.derived: dict[object, Any] = {}
