"""``shard.item_budget``: the per-item wall-clock budget (SIGALRM). Its handler is set once
and left where SIGALRM had its default action (setting it per item cost more than the
timer); a handler of the caller's own is put back after every item."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

from tdmguard.scan.shard import ItemTimeoutError, item_budget


def test_an_item_over_its_budget_is_stopped_and_the_next_one_runs() -> None:
    with pytest.raises(ItemTimeoutError), item_budget(0.05):
        time.sleep(5)
    with item_budget(5.0):
        time.sleep(0.01)  # the timer was disarmed: no stray alarm


def test_a_callers_own_handler_is_put_back() -> None:
    calls: list[int] = []

    def mine(signum: int, _frame: object) -> None:
        calls.append(signum)

    before = signal.signal(signal.SIGALRM, mine)
    try:
        with item_budget(5.0):
            pass
        assert signal.getsignal(signal.SIGALRM) is mine
        signal.raise_signal(signal.SIGALRM)
        assert calls == [signal.SIGALRM]
    finally:
        signal.signal(signal.SIGALRM, before)


def test_an_alarm_outside_any_budget_keeps_its_default_action() -> None:
    code = ("import signal\nfrom tdmguard.scan.shard import item_budget\n"
            "with item_budget(5.0):\n    pass\n"
            "signal.raise_signal(signal.SIGALRM)\nprint('survived')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == -signal.SIGALRM and "survived" not in done.stdout
