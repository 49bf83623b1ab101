"""Shared test setup: few CPU threads (the machine is shared), a small hypothesis budget, and
a line every ``$IMBLOSS_TEST_HEARTBEAT_S`` seconds (default 60) naming a test that runs long,
such as one that executes notebooks, with its time so far."""

import os
import threading
import time

import pytest
import torch
from hypothesis import settings

torch.set_num_threads(1)

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
