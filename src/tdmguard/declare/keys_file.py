"""``/.well-known/tdmguard-keys.json``: the holder's public signing keys, published with its
declaration so AI developers can pin the key that signs its registry snapshots
(``tdmguard registry pull --trust``)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from tdmguard.signing import PublicKey

__all__ = ["KEYS_PATH", "render_keys_json"]

KEYS_PATH = "/.well-known/tdmguard-keys.json"


def render_keys_json(holder: str, keys: Sequence[PublicKey]) -> str:
    body = {
        "holder": holder,
        "keys": [k.to_json() | {"use": "registry-snapshots"} for k in keys],
    }
    return json.dumps(body, indent=2, ensure_ascii=False) + "\n"
