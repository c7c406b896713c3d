"""``/.well-known/tdmguard-head.json``: the head of the holder's registry audit log when the
declaration was written (entry number, hash, date, content digest), published so that anyone
can later run ``tdmguard registry verify --pin SEQ:HASH`` (or compare a snapshot's head) and
see whether entries were deleted or the whole chain was recomputed since."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["HEAD_PATH", "PublishedHead", "render_head_json"]

HEAD_PATH = "/.well-known/tdmguard-head.json"


@dataclass(frozen=True, slots=True)
class PublishedHead:
    seq: int
    hash: str
    at: str  # ISO 8601 UTC: when the head was read
    content_digest: str | None = None

    @property
    def pin(self) -> str:
        return f"{self.seq}:{self.hash}"

    def to_json(self) -> dict[str, object]:
        return {"seq": self.seq, "hash": self.hash, "pin": self.pin, "at": self.at,
                "content_digest": self.content_digest}


def render_head_json(holder: str, head: PublishedHead) -> str:
    body = {"holder": holder, "audit_head": head.to_json(),
            "verify": f"tdmguard registry verify --pin {head.pin}"}
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
