"""Runs inside the datadiligence venv (its own pins): ``python peer_datadiligence.py MODE IN OUT``.

MODE ``bulk``: ``dd.is_allowed(url=...)`` over the URLs in IN (one per line) until they are
done or the time budget in env ``DD_BUDGET_S`` is spent, sequentially and with
``DD_THREADS`` threads. MODE ``probe``: one verdict per URL. Writes JSON to OUT."""

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import datadiligence as dd


def main():
    mode, src, out = sys.argv[1:4]
    with open(src) as f:
        urls = [u for u in f.read().split("\n") if u]
    dd.load_defaults(user_agent=os.environ.get("DD_AGENT") or None)

    def one(url):
        try:
            return dd.is_allowed(url=url)
        except Exception as exc:  # datadiligence raises on some inputs; count, do not stop
            return f"error: {type(exc).__name__}"

    if mode == "probe":
        with open(out, "w") as f:
            json.dump({u: one(u) for u in urls}, f)
        return
    budget = float(os.environ.get("DD_BUDGET_S", "60"))
    threads = int(os.environ.get("DD_THREADS", "1"))
    started = time.perf_counter()
    done = 0
    results = []
    if threads == 1:
        for u in urls:
            results.append(one(u))
            done += 1
            if time.perf_counter() - started > budget:
                break
    else:
        with ThreadPoolExecutor(threads) as pool:
            batch = threads * 8
            for i in range(0, len(urls), batch):
                results.extend(pool.map(one, urls[i : i + batch]))
                done = len(results)
                if time.perf_counter() - started > budget:
                    break
    elapsed = time.perf_counter() - started
    summary = {
        "urls": done,
        "seconds": elapsed,
        "threads": threads,
        "denied": sum(1 for r in results if r is False),
        "errors": sum(1 for r in results if isinstance(r, str)),
        "version": dd.__version__,
    }
    with open(out, "w") as f:
        json.dump(summary, f)


if __name__ == "__main__":
    main()
