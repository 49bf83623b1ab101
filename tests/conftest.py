"""Shared test setup: few CPU threads (the machine is shared), a small hypothesis budget, a
line every ``$IMBLOSS_TEST_HEARTBEAT_S`` seconds (default 60) naming a test that runs long,
such as one that executes notebooks, with its time so far, and the ``device`` and ``dtype``
fixtures of the loss tests.

As kornia's ``BaseTester`` does, a loss test that takes ``device`` runs once per device: the
CPU always, CUDA and MPS where present (skipped, and listed as skipped, where not), so the
first machine with a GPU runs the loss suite there. ``dtype`` is float32 and float64; a test
of half precision names bfloat16 / float16 itself, with tolerances it states."""

import os
import signal
import threading
import time

import pytest
import torch
from hypothesis import settings

torch.set_num_threads(1)

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA")),
    pytest.param(
        "mps", marks=pytest.mark.skipif(not torch.backends.mps.is_available(), reason="no MPS")
    ),
]


@pytest.fixture(scope="session", params=DEVICES)
def device(request) -> torch.device:
    """Every device present (session scope, so hypothesis tests may take it)."""
    return torch.device(request.param)


@pytest.fixture(scope="session", params=[torch.float32, torch.float64], ids=str)
def dtype(request, device) -> torch.dtype:
    """float32 and float64 (MPS has no float64: skipped there)."""
    if device.type == "mps" and request.param == torch.float64:
        pytest.skip("MPS has no float64")
    return request.param


@pytest.fixture
def ctrl_c_as_in_a_terminal():
    """SIGINT handled as in a foreground program (``KeyboardInterrupt``) for the test, whatever
    pytest inherited: started in the background of a script, it ignores SIGINT, and so would
    :func:`imbloss.interrupts.recorded`. The previous handler is put back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.fixture(scope="session")
def executed():
    """``executed[stem]``: the executed copy of a notebook, executed on demand
    (:class:`_book_build.Executed`)."""
    from _book_build import Executed

    return Executed()


@pytest.fixture(scope="session")
def html(executed):
    """``_build/html``, built from the executed notebooks when stale."""
    from _book_build import built_html

    return built_html(executed)


settings.register_profile("imbloss", max_examples=40, deadline=None, derandomize=True)
settings.load_profile("imbloss")

HEARTBEAT_S = float(os.environ.get("IMBLOSS_TEST_HEARTBEAT_S", "60"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    reporter = item.config.pluginmanager.get_plugin("terminalreporter")
    capture = item.config.pluginmanager.get_plugin("capturemanager")
    done, start = threading.Event(), time.monotonic()

    def beat() -> None:
        while not done.wait(HEARTBEAT_S):
            with capture.global_and_fixture_disabled():  # past the test's captured output
                reporter.write_line(f"  ... {item.nodeid}: {time.monotonic() - start:.0f} s so far")

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        return (yield)
    finally:
        done.set()
        thread.join()
