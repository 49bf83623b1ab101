"""Progress bars show wherever the work runs: a notebook's kernel, a terminal, a piped log."""

from __future__ import annotations

import io
import sys
import types

import tqdm.std

from imbloss import progress as progress_module
from imbloss.progress import progress


def _piped(monkeypatch) -> io.StringIO:
    """stderr is a file, as in a log, a pipe or a notebook kernel (never a terminal).

    Set in the test itself: pytest sets its own sys.stderr between a fixture and the test.
    """
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    return stream


def test_a_piped_log_gets_plain_lines_at_most_every_interval(monkeypatch) -> None:
    piped = _piped(monkeypatch)
    now = [0.0]
    monkeypatch.setattr(tqdm.std, "time", lambda: now[0])  # tqdm's clock
    for _ in progress(range(12), desc="sweep", unit="run"):
        now[0] += 10.0  # every run takes 10 s
    lines = piped.getvalue().splitlines()
    assert "\r" not in piped.getvalue() and all(line.startswith("sweep: ") for line in lines)
    assert "0/12" in lines[0] and "12/12" in lines[-1]
    assert len(lines) == 1 + 120 // progress_module.PIPED_INTERVAL_S  # the first, one per 30 s


def test_in_a_notebook_kernel_the_bar_shows_although_stderr_is_no_terminal(monkeypatch) -> None:
    piped = _piped(monkeypatch)
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    for _ in progress(range(3), desc="sweep", mininterval=0):
        pass
    assert "\r" in piped.getvalue() and "3/3" in piped.getvalue()  # tqdm's own live bar


def test_quiet_shows_nothing_but_written_lines_still_show(monkeypatch) -> None:
    piped = _piped(monkeypatch)
    bar = progress(range(3), desc="sweep", quiet=True)
    for _ in bar:
        bar.write("FAILED run 1", file=sys.stderr)
    assert piped.getvalue() == "FAILED run 1\n" * 3
