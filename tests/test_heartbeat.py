"""A test that runs long is named, with its time so far, while it runs (conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_long_test_gets_a_line_per_interval_past_its_captured_output(tmp_path) -> None:
    (tmp_path / "test_long.py").write_text(
        "import time\n\ndef test_long():\n    print('captured')\n    time.sleep(1.3)\n"
    )
    path = os.pathsep.join([str(TESTS), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path, "IMBLOSS_TEST_HEARTBEAT_S": "0.5"},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    beats = [line for line in done.stdout.splitlines() if "test_long.py::test_long:" in line]
    assert len(beats) == 2 and all(line.endswith(" s so far") for line in beats), done.stdout
    assert "captured" not in done.stdout  # the test's own output stays captured
