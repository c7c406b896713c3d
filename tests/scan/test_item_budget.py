"""``shard.item_budget`` (one item) and ``shard.ItemBudget`` (a shard's items, armed once):
the per-item wall-clock budget (SIGALRM). Its handler is set once and left where SIGALRM
had its default action (setting it per item cost more than the timer); a handler of the
caller's own is put back after every item (``item_budget``) or run (``ItemBudget``)."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import pytest

from tdmguard.scan.shard import ItemBudget, ItemTimeoutError, item_budget


def test_an_item_over_its_budget_is_stopped_and_the_next_one_runs() -> None:
    with pytest.raises(ItemTimeoutError), item_budget(0.05):
        time.sleep(5)
    with item_budget(5.0):
        time.sleep(0.01)  # the timer was disarmed: no stray alarm


def _puts_back_a_callers_handler(use_budget: Callable[[], None]) -> None:
    """After ``use_budget`` a handler the caller had set is SIGALRM's handler again."""
    calls: list[int] = []

    def mine(signum: int, _frame: object) -> None:
        calls.append(signum)

    before = signal.signal(signal.SIGALRM, mine)
    try:
        use_budget()
        assert signal.getsignal(signal.SIGALRM) is mine
        signal.raise_signal(signal.SIGALRM)
        assert calls == [signal.SIGALRM]
    finally:
        signal.signal(signal.SIGALRM, before)


def _alarm_after_kills(budget_code: str) -> None:
    """In a fresh process, an alarm after ``budget_code`` ran keeps its default action."""
    code = (f"import signal\n{budget_code}\n"
            "signal.raise_signal(signal.SIGALRM)\nprint('survived')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == -signal.SIGALRM and "survived" not in done.stdout


def _one_item() -> None:
    with item_budget(5.0):
        pass


def _one_run() -> None:
    with ItemBudget(5.0) as budget:
        budget.start()
        budget.stop()


def test_a_callers_own_handler_is_put_back() -> None:
    _puts_back_a_callers_handler(_one_item)


def test_an_alarm_outside_any_budget_keeps_its_default_action() -> None:
    _alarm_after_kills("from tdmguard.scan.shard import item_budget\n"
                       "with item_budget(5.0):\n    pass")


# --- ItemBudget: armed once for a shard's items ----------------------------------------


def test_a_stuck_item_of_a_run_ends_on_time_and_every_item_gets_its_whole_budget() -> None:
    """The timer is armed once for the run: an item that starts after it was set still
    gets its whole budget (the early alarm is set again for its deadline), a stuck item
    ends close to its deadline, and time between items is no item's."""
    with ItemBudget(0.3) as budget:
        assert budget.active
        budget.start()
        time.sleep(0.2)  # in time
        budget.stop()
        budget.start()  # started 0.2 s after the timer was set: its deadline is 0.5 s
        time.sleep(0.25)  # the alarm at 0.3 s is early for this item: no timeout
        budget.stop()
        time.sleep(0.4)  # between items: alarms come and go, none is anyone's timeout
        for _ in range(2):  # a stuck item, then the next one: it has a timer again
            t0 = time.monotonic()
            with pytest.raises(ItemTimeoutError):
                budget.start()
                try:
                    time.sleep(5)
                finally:
                    budget.stop()
            assert 0.25 <= time.monotonic() - t0 < 0.6
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)  # disarmed when the run ends


def test_a_run_puts_back_a_callers_own_handler_and_outside_it_alarms_act_as_before() -> None:
    _puts_back_a_callers_handler(_one_run)
    _alarm_after_kills("from tdmguard.scan.shard import ItemBudget\n"
                       "with ItemBudget(5.0) as b:\n    b.start()\n    b.stop()")


def test_no_budget_off_the_main_thread_or_at_zero() -> None:
    assert not ItemBudget(0).__enter__().active
    seen: list[bool] = []

    def run() -> None:
        with ItemBudget(5.0) as budget:
            seen.append(budget.active)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [False]


def test_an_alarm_that_fires_as_a_budget_closes_never_ends_the_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timer can fire just as an item or a run ends, its handler running right after the
    timer is disarmed: for one item that is the item's timeout (and the budget still
    closes); for a shard's run it is dropped (not set again, not the default action)."""
    real = signal.setitimer

    def fires_as_disarmed(which: int, seconds: float, interval: float = 0.0) -> object:
        out = real(which, seconds, interval)
        if seconds == 0:
            signal.raise_signal(signal.SIGALRM)
        return out

    monkeypatch.setattr(signal, "setitimer", fires_as_disarmed)
    with pytest.raises(ItemTimeoutError), item_budget(5.0):
        pass
    with ItemBudget(5.0) as budget:
        budget.start()
        budget.stop()
    monkeypatch.undo()
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    with item_budget(5.0):  # the first budget closed: nothing open is left behind
        time.sleep(0.01)
