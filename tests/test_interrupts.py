"""Ctrl-C cannot be lost inside ``interrupts.recorded()``: a KeyboardInterrupt swallowed where
it was raised (a finaliser, a callback, the interpreter's shutdown) is raised again by check()."""

from __future__ import annotations

import signal

import pytest

from imbloss import interrupts


class _SwallowsCtrlC:
    """An object whose finaliser receives the Ctrl-C: Python prints it and goes on."""

    def __del__(self) -> None:
        signal.raise_signal(signal.SIGINT)


pytestmark = pytest.mark.usefixtures("ctrl_c_as_in_a_terminal")


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_lost_in_a_finaliser_is_raised_at_the_next_check() -> None:
    with interrupts.recorded():
        _SwallowsCtrlC()  # the KeyboardInterrupt is raised in __del__ and lost there
        with pytest.raises(KeyboardInterrupt):
            interrupts.check()
    interrupts.check()  # outside the block the record is gone
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_settle_blocks_ctrl_c_and_raises_one_that_came_before() -> None:
    try:
        with interrupts.recorded():
            interrupts.settle()  # nothing came: no error, and SIGINT is blocked from here
            signal.raise_signal(signal.SIGINT)  # pending, not delivered
            with pytest.raises(KeyboardInterrupt):
                interrupts.settle()
            assert signal.sigwait([signal.SIGINT]) == signal.SIGINT  # it was still pending
    finally:
        interrupts.unblock()


def test_a_process_that_ignores_ctrl_c_keeps_ignoring_it() -> None:
    """A sweep started in the background of a script (SIGINT ignored) is not made
    interruptible: the recording block leaves the ignored SIGINT alone."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interrupts.recorded():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            signal.raise_signal(signal.SIGINT)  # ignored: nothing raised, nothing recorded
            interrupts.check()
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGINT, previous)
