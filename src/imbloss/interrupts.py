"""Ctrl-C that no moment can lose: recorded by a handler, raised again at the next check.

Python turns SIGINT into a ``KeyboardInterrupt`` wherever the main thread happens to be.
Raised inside a finaliser, a callback or the interpreter's shutdown (joblib's worker pool
joins its threads there), it is printed as "Exception ignored" and lost: a sweep
interrupted between its last result and its exit ended with status 0. Inside
:func:`recorded` the handler also sets a flag, which :func:`check` raises again at the
sweep's next boundary, and :func:`settle` ends the block for good: it blocks SIGINT for the
rest of the process and raises for an interrupt that came before.
"""

from __future__ import annotations

import contextlib
import signal
import threading

_pending = threading.Event()
_depth = 0


def _handler(signum, frame) -> None:
    _pending.set()
    raise KeyboardInterrupt


@contextlib.contextmanager
def recorded():
    """Inside the block, Ctrl-C raises ``KeyboardInterrupt`` and is recorded for :func:`check`.

    Outside the main thread (where no handler can be set) the block changes nothing, nor in
    a process that ignores SIGINT: one started in the background by a non-interactive shell
    (``cmd &`` in a script) or by ``nohup``-like tools keeps ignoring it, as Python itself
    does when it starts with SIGINT ignored.
    """
    global _depth
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    ):
        yield
        return
    previous = signal.signal(signal.SIGINT, _handler)
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        signal.signal(signal.SIGINT, previous)
        if _depth == 0:
            _pending.clear()


def check() -> None:
    """Raise ``KeyboardInterrupt`` if Ctrl-C came inside :func:`recorded`, even if it was lost."""
    if _pending.is_set():
        raise KeyboardInterrupt


def settle() -> None:
    """Block SIGINT from here to the process's exit, then :func:`check` (a command's last step).

    After this nothing can be interrupted half-way, and an interrupt that came before is
    raised, so a command ends either with its result or with its interrupted status.
    """
    if hasattr(signal, "pthread_sigmask"):  # not on Windows
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        if signal.SIGINT in signal.sigpending():
            _pending.set()
    check()


def unblock() -> None:
    """Undo :func:`settle`'s block (for a command run as a function, not as the program)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
