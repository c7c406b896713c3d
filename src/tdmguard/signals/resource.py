"""A fetched (or deliberately not fetched) web resource, as the pure signal readers see it.
Built by ``signals/fetch.py``; tests build them directly."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass

from tdmguard.signals.headers import HeaderPairs, header_values

__all__ = ["PARSER_VERSION", "Resource", "RetrievalOutcome"]

PARSER_VERSION = "tdmguard-signals/1"


class RetrievalOutcome(enum.StrEnum):
    """RFC 9309 section 2.3.1 terms, used for every resource."""

    SUCCESS = "success"  # 2xx
    UNAVAILABLE = "unavailable"  # 4xx: the resource does not exist
    UNREACHABLE = "unreachable"  # 5xx, network error, timeout, too many redirects
    NOT_FETCHED = "not-fetched"  # we chose not to fetch (robots.txt disallows our agent)


@dataclass(frozen=True, slots=True)
class Resource:
    """``status`` is None when no HTTP response came back. ``body`` is at most the
    fetcher's cap (``truncated`` then). ``digest`` is the SHA-256 of ``body``."""

    url: str
    status: int | None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    fetched_at: str = ""
    final_url: str = ""
    error: str = ""
    truncated: bool = False
    digest: str = ""
    skipped_reason: str = ""

    @classmethod
    def make(
        cls,
        url: str,
        status: int | None,
        headers: HeaderPairs = (),
        body: bytes = b"",
        *,
        fetched_at: str = "",
        final_url: str = "",
        error: str = "",
        truncated: bool = False,
        skipped_reason: str = "",
        digest: str | None = None,
    ) -> Resource:
        """``digest`` defaults to the SHA-256 of ``body``; pass one for resources whose
        body was not read (a media file: the header block is what was observed)."""
        if digest is None:
            digest = hashlib.sha256(body).hexdigest() if (body or status is not None) else ""
        return cls(
            url=url,
            status=status,
            headers=tuple(headers),
            body=body,
            fetched_at=fetched_at,
            final_url=final_url or url,
            error=error,
            truncated=truncated,
            digest=digest,
            skipped_reason=skipped_reason,
        )

    @property
    def outcome(self) -> RetrievalOutcome:
        if self.skipped_reason:
            return RetrievalOutcome.NOT_FETCHED
        if self.status is None or self.status >= 500:
            return RetrievalOutcome.UNREACHABLE
        if 200 <= self.status < 300:
            return RetrievalOutcome.SUCCESS
        # 4xx, and 3xx left over (a redirect we did not follow within limits) are read as
        # "unavailable" except redirect loops, which the fetcher reports as unreachable.
        return RetrievalOutcome.UNAVAILABLE

    @property
    def content_type(self) -> str:
        """The media type, lower-cased, without parameters ("" when absent)."""
        values = header_values(self.headers, "content-type")
        return values[-1].split(";", 1)[0].strip().lower() if values else ""

    @property
    def charset(self) -> str:
        values = header_values(self.headers, "content-type")
        for param in values[-1].split(";")[1:] if values else []:
            key, _, val = param.partition("=")
            if key.strip().lower() == "charset":
                return val.strip().strip('"') or "utf-8"
        return "utf-8"

    def looks_like_html(self) -> bool:
        """A single-page-app fallback served in place of a text or JSON file (section 13,
        item 4): an HTML media type, or a body that starts like an HTML document."""
        if self.content_type in ("text/html", "application/xhtml+xml"):
            return True
        head = self.body[:512].lstrip().lower()
        return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body"))

    def describe(self) -> str:
        if self.skipped_reason:
            return f"not fetched: {self.skipped_reason}"
        if self.status is None:
            return f"unreachable: {self.error or 'no response'}"
        return f"HTTP {self.status}"
