"""CSRF prevention, Apollo Router's rule: run an operation only if a browser would have sent
a CORS preflight for the request first, so a page on another origin cannot make a user's
browser run it.

A request passes if its Content-Type is set and is none of the three a form or a plain fetch
can send without a preflight (text/plain, application/x-www-form-urlencoded,
multipart/form-data), or if it carries one of `required_headers` (which a page can only add
after a preflight). A GET has no Content-Type: it needs one of the headers.

[csrf]
enabled = true
required_headers = ["x-shardgate-csrf", "apollo-require-preflight", "x-apollo-operation-name"]

Refused: HTTP 400, code CSRF_ERROR (as Apollo Router).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from starlette.requests import Request

from gateway.errors import Refused

SIMPLE_CONTENT_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
DEFAULT_HEADERS = ("x-shardgate-csrf", "apollo-require-preflight", "x-apollo-operation-name")


@dataclass(frozen=True)
class CsrfSettings:
    enabled: bool = True
    required_headers: tuple[str, ...] = DEFAULT_HEADERS

    @classmethod
    def from_sources(cls, section: Mapping[str, Any] | None) -> CsrfSettings:
        s = dict(section or {})
        unknown = set(s) - {"enabled", "required_headers"}
        if unknown:
            raise ValueError(
                f"unknown setting(s) {sorted(unknown)}; known: enabled, required_headers"
            )
        enabled = s.get("enabled", True)
        headers = s.get("required_headers", DEFAULT_HEADERS)
        if not isinstance(enabled, bool):
            raise ValueError("enabled must be true or false")
        if (
            not isinstance(headers, list | tuple)
            or not headers
            or not all(isinstance(h, str) and h for h in headers)
        ):
            raise ValueError("required_headers must be a non-empty list of header names")
        return cls(enabled, tuple(h.lower() for h in headers))


def check_csrf(request: Request, settings: CsrfSettings) -> None:
    if not settings.enabled or _preflighted(request, settings.required_headers):
        return
    raise Refused(
        "This operation has been blocked as a potential Cross-Site Request Forgery (CSRF). "
        f"Send a Content-Type other than {', '.join(SIMPLE_CONTENT_TYPES)} (application/json), "
        f"or one of these headers: {', '.join(settings.required_headers)}",
        status=400,
        code="CSRF_ERROR",
    )


def _preflighted(request: Request, required: tuple[str, ...]) -> bool:
    wanted = _encoded(required)
    content_types = []
    for name, value in request.headers.raw:  # one pass; ASGI names are lower-case already
        if name in wanted:
            return True
        if name == b"content-type":
            content_types.append(value.decode("latin-1"))
    if not content_types:
        return False
    essence = ", ".join(v.strip() for v in content_types).split(";")[0].strip().lower()
    if "," in essence or "/" not in essence:  # unparsable: assume no preflight happened
        return False
    return essence not in SIMPLE_CONTENT_TYPES


@lru_cache(maxsize=8)
def _encoded(names: tuple[str, ...]) -> frozenset[bytes]:
    return frozenset(n.lower().encode("latin-1") for n in names)
