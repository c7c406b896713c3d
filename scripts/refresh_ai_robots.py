"""Refresh ``src/tdmguard/data/ai_robots.json`` from ai.robots.txt's ``robots.json``.

Usage::

    python scripts/refresh_ai_robots.py PATH_OR_URL [--source-date YYYY-MM-DD] [--source LABEL]

PATH_OR_URL is a local copy of ``robots.json`` (e.g. ``../shared/data/ai-robots-txt/robots.json``)
or its raw URL in the ``ai-robots-txt/ai.robots.txt`` repository. The date is the date of the
upstream commit (default: today). Review the diff before committing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path

from tdmguard.crawlers import build_agent_table

OUT = Path(__file__).resolve().parents[1] / "src/tdmguard/data/ai_robots.json"


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("robots_json")
    ap.add_argument("--source-date", default=dt.date.today().isoformat())
    ap.add_argument("--source", default="ai-robots-txt/ai.robots.txt robots.json")
    args = ap.parse_args()
    if args.robots_json.startswith(("http://", "https://")):
        import httpx

        data = httpx.get(args.robots_json, follow_redirects=True, timeout=30).json()
    else:
        data = json.loads(Path(args.robots_json).read_text("utf-8"))
    doc = build_agent_table(data, source=args.source, source_date=args.source_date)
    OUT.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", "utf-8")
    print(f"wrote {len(doc['agents'])} agents to {OUT}")  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
