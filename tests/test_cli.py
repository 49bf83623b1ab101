"""Command line: errors name the bad option; train and sweep run end to end on tiny digits.

Every expected failure is checked as a user meets it, in a subprocess: the exit status of
:data:`imbloss.errors.EXIT_CODES`, a message that says what to do, and no traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
import torch

import imbloss as imbloss_package
from imbloss.cli import build_parser, main, train_config_from_args
from imbloss.errors import EXIT_CODES
from imbloss.store import RunStore
from imbloss.sweep import expand, load_spec
from imbloss.train import RunResult, TrainConfig

TINY = ["--dataset", "digits", "--imbalance-ratio", "10", "--epochs", "2", "--quiet"]
TINY_SPEC = "base: {dataset: digits, epochs: 1, batch_size: 64, hidden_size: 16}\n"


# the subprocesses import the imbloss these tests import, from any working folder
SOURCE = str(Path(imbloss_package.__file__).parents[1])
PATH_ENV = {"PYTHONPATH": os.pathsep.join([SOURCE, os.environ.get("PYTHONPATH", "")])}


def imbloss(*args: str, env: dict | None = None, cwd: Path | None = None):
    """Run ``python -m imbloss ARGS`` as a user would; returns the finished process."""
    return subprocess.run(
        [sys.executable, "-m", "imbloss", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **PATH_ENV, **(env or {})},
        cwd=cwd,
        timeout=300,
    )


def failed_cleanly(done, status: int) -> str:
    """Assert the exit status and a short message without a traceback; return stderr."""
    assert done.returncode == status, done.stderr
    assert status in EXIT_CODES
    assert "Traceback" not in done.stderr and "Warning" not in done.stderr, done.stderr
    assert 1 <= len(done.stderr.strip().splitlines()) <= 2, done.stderr
    return done.stderr


def test_unknown_option_is_named_with_a_suggestion_and_the_valid_ones(capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["train", "--gama", "2"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--gama (did you mean --gamma?)" in err
    assert "valid options are" in err and "'--max-margin'" in err


def test_bad_choice_and_bad_value_are_named(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["train", "--loss", "focall"])
    assert "invalid choice: 'focall'" in capsys.readouterr().err
    assert main(["train", *TINY, "--lr", "-1"]) == 2
    assert "lr must be a number in (0.0, inf); got -1.0" in capsys.readouterr().err
    assert main(["train", *TINY, "--weight-decay", "inf"]) == 2
    assert "weight_decay must be a number in [0.0, inf); got inf" in capsys.readouterr().err


def test_a_loss_flag_the_loss_does_not_take_is_an_error(capsys) -> None:
    assert main(["train", *TINY, "--loss", "ce", "--gamma", "2"]) == 2
    assert "unknown keyword(s) ['gamma']" in capsys.readouterr().err


def test_label_smoothing_flag_reaches_every_softmax_loss_and_is_checked(capsys) -> None:
    """--label-smoothing is a loss keyword of every softmax loss; a value outside [0, 1]
    exits 2 naming it."""
    for loss in ("ce", "cb_focal", "ghm", "ldam"):
        args = build_parser().parse_args(["train", "--loss", loss, "--label-smoothing", "0.1"])
        assert train_config_from_args(args).loss_kwargs == {"label_smoothing": 0.1}
    assert main(["train", *TINY, "--loss", "focal", "--label-smoothing", "1.5"]) == 2
    assert "label_smoothing must be a number in [0.0, 1.0]; got 1.5" in capsys.readouterr().err


def test_flags_map_to_the_config_and_only_given_ones_reach_the_loss() -> None:
    args = build_parser().parse_args(
        ["train", "--loss", "ldam", "--max-margin", "0.3", "--epochs", "4", "--split-seed", "7"]
    )
    config = train_config_from_args(args)
    assert config.loss == "ldam" and config.epochs == 4
    assert config.loss_kwargs == {"max_margin": 0.3}
    assert config.dataset_kwargs == {"seed": 7}
    assert config.lr == TrainConfig().lr  # untouched default


def test_train_smoke_prints_the_three_metrics_and_writes_json(tmp_path, capsys) -> None:
    out = tmp_path / "new" / "dir" / "r.json"  # folders that do not exist yet
    code = main(["train", *TINY, "--loss", "focal", "--gamma", "2", "--output", str(out)])
    assert code == 0
    printed = capsys.readouterr().out
    for words in ("test accuracy", "balanced accuracy", "macro-F1"):
        assert words in printed
    result = RunResult.load(out)
    assert result.config["loss_kwargs"] == {"gamma": 2.0}


def test_sweep_config_error_names_the_key(tmp_path, capsys) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text("losses: [ce]\nepochs: 3\n")
    assert main(["sweep", "--config", str(spec), "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "['epochs']" in err and "valid keys are" in err and "'base'" in err


def test_sweep_smoke_prints_the_comparison_with_ce(tmp_path, capsys) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(
        "base: {dataset: digits, epochs: 1, batch_size: 64, hidden_size: 16}\n"
        "losses: [ce, balanced_softmax]\nseeds: 2\n"
    )
    code = main(
        [
            "sweep",
            "--config",
            str(spec),
            "--results-dir",
            str(tmp_path / "r"),
            "--n-jobs",
            "1",
            "--quiet",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "4 results in" in printed
    assert "against CE, paired by seed" in printed and "balanced_softmax" in printed


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = imbloss("train", "--help")
    assert done.returncode == 0 and "--max-margin" in done.stdout


def test_help_states_every_default_and_the_exit_statuses() -> None:
    (commands,) = [a for a in build_parser()._actions if a.dest == "command"]
    for name, parser in commands.choices.items():
        for action in parser._actions:
            if action.nargs != 0:  # an option with a value (not a switch such as --quiet)
                said = "default: " in action.help or "is required" in action.help
                assert said, (name, action.option_strings, action.help)
    options = {a.option_strings[0]: a.help for a in commands.choices["train"]._actions}
    config = TrainConfig()
    assert options["--epochs"].endswith(f"(default: {config.epochs})")
    assert options["--lr"].endswith(f"(default: {config.lr})")
    assert options["--gamma"].endswith("(default: 2.0)")
    assert "load average" in options["--num-threads"]
    for parser in (build_parser(), *commands.choices.values()):
        for status, meaning in EXIT_CODES.items():
            assert f"{status:>3}  {meaning}" in parser.format_help()


def test_version_is_the_package_metadata_version() -> None:
    done = imbloss("--version")
    assert done.returncode == 0 and done.stdout.split() == ["imbloss", metadata.version("imbloss")]


def test_bad_value_exits_2_with_the_usage_line() -> None:
    err = imbloss("train", "--dataset", "digits", "--epochs", "0").stderr
    assert err.splitlines()[0].startswith("usage: imbloss train")
    assert "epochs must be an integer >= 1; got 0" in err and "Traceback" not in err


def test_missing_config_exits_3_and_names_the_profile(tmp_path) -> None:
    err = failed_cleanly(imbloss("sweep", "--config", "configs/ci.yaml", cwd=tmp_path), 3)
    assert "--config configs/ci.yaml: no such file" in err and "--profile ci" in err


def test_config_that_is_not_yaml_exits_3_with_the_line(tmp_path) -> None:
    spec = tmp_path / "broken.yaml"
    spec.write_text("base: {dataset: digits\nlosses: [ce]\n")
    err = failed_cleanly(imbloss("sweep", "--config", str(spec)), 3)
    assert f"--config {spec} is not valid YAML" in err and "line 2" in err


def test_debug_shows_the_traceback(tmp_path) -> None:
    done = imbloss("sweep", "--config", str(tmp_path / "none.yaml"), "--debug")
    assert done.returncode == 1 and "Traceback" in done.stderr and "ConfigError" in done.stderr
    done = imbloss("sweep", "--config", str(tmp_path / "none.yaml"), env={"IMBLOSS_DEBUG": "1"})
    assert "Traceback" in done.stderr


@pytest.mark.parametrize("folder", ["empty", "absent"])
def test_names_folder_that_is_empty_or_absent_exits_4(tmp_path, folder) -> None:
    (tmp_path / "empty").mkdir()
    env = {"IMBLOSS_NAMES_DIR": str(tmp_path / folder)}
    err = failed_cleanly(imbloss("train", "--epochs", "1", env=env), 4)
    assert f"$IMBLOSS_NAMES_DIR='{tmp_path / folder}'" in err
    assert "set IMBLOSS_NAMES_DIR to a folder holding" in err and "root=" not in err


def test_offline_without_data_exits_4_and_says_what_to_set(tmp_path) -> None:
    env = {
        "IMBLOSS_NAMES_DIR": "",
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "https_proxy": "http://127.0.0.1:9",  # nothing listens there: as if offline
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "no_proxy": "",
        "NO_PROXY": "",
    }
    err = failed_cleanly(imbloss("train", "--epochs", "1", env=env), 4)
    assert "could not download the names data" in err
    assert "offline, set IMBLOSS_NAMES_DIR" in err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_cuda_on_a_cpu_machine_exits_5_before_any_run(tmp_path) -> None:
    err = failed_cleanly(imbloss("train", *TINY, "--device", "cuda"), 5)
    assert "CUDA is not available; use --device auto or --device cpu" in err
    spec = tmp_path / "cuda.yaml"
    spec.write_text(TINY_SPEC.replace("hidden_size: 16", "hidden_size: 16, device: cuda"))
    spec.write_text(spec.read_text() + "losses: [ce, focal]\nseeds: 2\n")
    results = tmp_path / "results"
    err = failed_cleanly(imbloss("sweep", "--config", str(spec), "--results-dir", str(results)), 5)
    assert "no run was started" in err
    assert not list(results.rglob("*.json"))


@pytest.mark.slow
def test_failed_runs_are_one_line_each_and_exit_1(tmp_path) -> None:
    spec = tmp_path / "bad.yaml"
    # a class weight of the wrong length passes the config check and fails in training
    spec.write_text(
        TINY_SPEC + "losses: [ce, focal]\nseeds: 1\ngrid: {focal: {weight: [[1, 2]]}}\n"
    )
    results = tmp_path / "results"
    done = imbloss("sweep", "--config", str(spec), "--results-dir", str(results), "--quiet")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr and "RuntimeWarning" not in done.stderr
    assert done.stderr.count("FAILED digits-focal-s0") == 1
    assert f"1 run(s) failed; their configs and tracebacks are in {results / 'failed'}" in (
        done.stderr
    )
    (report,) = (results / "failed").glob("*.json")
    assert "Traceback" in json.loads(report.read_text())["traceback"]


@pytest.mark.slow
def test_progress_in_a_piped_log_is_plain_lines(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 2\n")
    done = imbloss("sweep", "--config", str(spec), "--results-dir", str(tmp_path / "r"))
    assert done.returncode == 0, done.stderr
    assert "\r" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("sweep:   0%") and "0/2" in lines[0]
    assert lines[-1].startswith("sweep: 100%") and "2/2" in lines[-1]
    train = imbloss("train", *[a for a in TINY if a != "--quiet"])
    assert train.returncode == 0 and "\r" not in train.stderr
    assert train.stderr.startswith("digits ce seed 0:   0%")


def _default_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _sweep_process(spec: Path, results: Path, **streams) -> subprocess.Popen:
    """``imbloss sweep`` in a session of its own, so that a signal can reach all its processes
    as a terminal's Ctrl-C does, with SIGINT at its default as in a terminal (a pytest started
    in the background of a script ignores SIGINT, and its children would inherit that)."""
    command = [sys.executable, "-m", "imbloss", "sweep", "--config", str(spec)]
    command += ["--results-dir", str(results), "--n-jobs", "2"]
    return subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **PATH_ENV},
        start_new_session=True,
        preexec_fn=_default_ctrl_c,
        **{"stdout": subprocess.PIPE, **streams},
    )


def _wait_for_line(process: subprocess.Popen, words: str) -> None:
    """Read the process's stderr until a line holds ``words`` (an error if it ends first)."""
    for line in process.stderr:
        if words in line:
            return
    raise AssertionError(f"the sweep ended (status {process.wait()}) without {words!r}")


def _interrupted(process: subprocess.Popen, kept: int, total: int, results: Path) -> None:
    """Send Ctrl-C to the sweep's processes; see :func:`_ended_interrupted`."""
    os.killpg(process.pid, signal.SIGINT)
    _ended_interrupted(process, kept, total, results)


def _ended_interrupted(process: subprocess.Popen, kept: int, total: int, results: Path) -> None:
    """Assert status 130, no traceback or warning, and the line that says what is kept."""
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "leaked" not in err and "Warning" not in err, err
    assert err.splitlines()[-1] == (
        f"imbloss sweep: interrupted: {kept} of {total} runs are kept in {results}; "
        "run the same sweep again to resume (finished runs are not rerun)"
    )


@pytest.mark.slow
def test_ctrl_c_while_runs_finish_keeps_them_and_the_rerun_completes_the_sweep(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce, focal]\nseeds: 3\n")
    results = tmp_path / "interrupted"
    # this test holds the last run: the sweep trains the five others, then waits for it
    last = expand(load_spec(spec))[-1][1].run_id
    held = RunStore(results).claim(last)
    sweep = _sweep_process(spec, results)
    _wait_for_line(sweep, f"waiting for run {last}")
    _interrupted(sweep, 5, 6, results)
    held.release()
    assert len(RunStore(results).run_ids()) == 5
    before = {path.name: path.stat().st_mtime_ns for path in results.glob("*.json")}
    resumed = imbloss("sweep", "--config", str(spec), "--results-dir", str(results), "--quiet")
    assert resumed.returncode == 0 and "6 results in" in resumed.stdout
    assert all(results.joinpath(name).stat().st_mtime_ns == t for name, t in before.items())
    whole = tmp_path / "whole"
    assert imbloss("sweep", "--config", str(spec), "--results-dir", str(whole)).returncode == 0
    for run_id in RunStore(whole).run_ids():
        again = RunStore(results).result(run_id)
        assert again.test_metrics == RunStore(whole).result(run_id).test_metrics


@pytest.mark.slow
def test_ctrl_c_before_the_first_run_exits_130_with_none_kept(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 2\n")
    results = tmp_path / "results"
    # every run is held here: the sweep can start none of them
    claims = [RunStore(results).claim(config.run_id) for _, config in expand(load_spec(spec))]
    sweep = _sweep_process(spec, results)
    _wait_for_line(sweep, "waiting for run")
    _interrupted(sweep, 0, 2, results)
    assert not list(results.glob("*.json"))
    for claim in claims:
        claim.release()


@pytest.mark.slow
def test_ctrl_c_after_the_last_result_exits_130_with_every_run_kept(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 2\n")
    results = tmp_path / "results"
    # a full pipe as stdout: the sweep cannot print its summary, so cannot end, until read
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    for size in (4096, 1):
        with contextlib.suppress(BlockingIOError):
            while True:
                os.write(write_end, b"x" * size)
    sweep = _sweep_process(spec, results, stdout=write_end)
    os.close(write_end)
    while len(list(results.glob("*.json"))) < 2:
        assert sweep.poll() is None, "the sweep ended"
        time.sleep(0.05)
    os.killpg(sweep.pid, signal.SIGINT)
    with os.fdopen(read_end, "rb") as stdout:
        stdout.read()  # let the sweep end
    _ended_interrupted(sweep, 2, 2, results)
    assert len(RunStore(results).run_ids()) == 2


@pytest.mark.slow
def test_a_sweep_heals_damaged_runs_with_one_line_each_and_exit_0(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 3\n")
    results = tmp_path / "results"
    assert imbloss("sweep", "--config", str(spec), "--results-dir", str(results)).returncode == 0
    first, second, third = RunStore(results).run_ids()
    (results / f"{first}.npz").write_bytes(b"")  # an empty file
    (results / f"{second}.json").write_text('{"run_id": "trunc')  # a torn write
    (results / f"{third}.npz").write_bytes((results / f"{first}.json").read_bytes())  # a mix-up
    done = imbloss("sweep", "--config", str(spec), "--results-dir", str(results), "--quiet")
    assert done.returncode == 0 and "3 results in" in done.stdout, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 3 and "Traceback" not in done.stderr, done.stderr
    for run_id, line in zip((first, second, third), sorted(lines)):
        assert line.startswith(f"imbloss sweep: warning: {results / run_id}.json: damaged run")
        assert line.endswith("the run will be trained again")
    assert RunStore(results).run_ids() == [first, second, third]
    assert len(list((results / "damaged").iterdir())) == 6  # kept, not deleted


@pytest.mark.slow
def test_two_sweeps_on_one_folder_train_each_run_once(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce, focal]\nseeds: 2\n")
    results = tmp_path / "results"
    sweeps = [_sweep_process(spec, results) for _ in range(2)]
    trained = 0
    for sweep in sweeps:
        out, err = sweep.communicate(timeout=300)
        assert sweep.returncode == 0 and "4 results in" in out, err
        # each batch of runs a sweep trains ends with a line "sweep: 100%|...| k/k"
        trained += sum(
            int(line.split("|")[2].split("/")[0])
            for line in err.splitlines()
            if line.startswith("sweep: 100%")
        )
    assert trained == 4
    assert len(RunStore(results).run_ids()) == 4 and not (results / "damaged").exists()


@pytest.mark.slow
def test_a_run_of_imbloss_train_results_dir_is_a_sweep_run(tmp_path) -> None:
    results = tmp_path / "results"
    done = imbloss("train", *TINY, "--results-dir", str(results))
    assert done.returncode == 0 and "recorded in" in done.stdout, done.stderr
    (run_id,) = RunStore(results).run_ids()
    written = (results / f"{run_id}.json").stat().st_mtime_ns
    spec = tmp_path / "same.yaml"
    spec.write_text(
        "base: {dataset: digits, epochs: 2, dataset_kwargs: {imbalance_ratio: 10.0}}\n"
        "losses: [ce]\nseeds: [0]\n"
    )
    swept = imbloss("sweep", "--config", str(spec), "--results-dir", str(results), "--quiet")
    assert swept.returncode == 0 and "1 results in" in swept.stdout, swept.stderr
    assert (results / f"{run_id}.json").stat().st_mtime_ns == written  # not trained again


def test_an_unknown_metric_is_refused_before_any_run(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 2\n")
    results = tmp_path / "results"
    done = imbloss("sweep", "--config", str(spec), "--results-dir", str(results), "--metric", "f1")
    assert done.returncode == 2 and "invalid choice: 'f1'" in done.stderr
    assert not results.exists()


def test_divergence_is_one_line_with_the_epoch_and_what_to_lower() -> None:
    err = failed_cleanly(imbloss("train", *TINY, "--lr", "1e30"), 6)
    assert "training diverged: the loss became nan in epoch 1" in err
    assert "lower the learning rate (--lr)" in err


def test_divergence_that_breaks_the_loss_is_the_same_one_line() -> None:
    """GHM-C cannot bin the NaN gradient norms of diverged logits: its error becomes the
    divergence line, not a bincount traceback."""
    err = failed_cleanly(imbloss("train", *TINY, "--loss", "ghm", "--lr", "1e30"), 6)
    assert "training diverged: the logits became non-finite in epoch 1" in err
    assert "bincount" not in err and "lower the learning rate (--lr)" in err


def _children(pid: int) -> set[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    children = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields_ = stat.read_text().rpartition(")")[2].split()
            if int(fields_[1]) == pid:
                children.add(int(stat.parent.name))
    return children


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM])
def test_a_killed_sweep_leaves_no_worker_behind(tmp_path, kill) -> None:
    spec = tmp_path / "endless.yaml"  # runs that would outlive any test
    spec.write_text(TINY_SPEC.replace("epochs: 1", "epochs: 100000") + "losses: [ce]\nseeds: 2\n")
    sweep = _sweep_process(spec, tmp_path / "results")
    while len(_children(sweep.pid)) < 2:  # the two workers (and loky's resource tracker)
        assert sweep.poll() is None, sweep.communicate()[1]
        time.sleep(0.1)
    left = _children(sweep.pid)
    sweep.send_signal(kill)
    sweep.communicate(timeout=60)
    deadline = time.monotonic() + 240  # they end within a second or two of their sweep
    while any(map(_alive, left)) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert not [pid for pid in left if _alive(pid)]


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie waiting for its parent does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("[1, 2]", "base=[1, 2] is not valid; expected a mapping of TrainConfig fields"),
        ("{dataset_kwargs: 5}", "base={'dataset_kwargs': 5} is not valid"),
    ],
)
def test_a_spec_of_the_wrong_shape_is_one_line(tmp_path, base, message) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(f"base: {base}\nlosses: [ce]\n")
    err = imbloss("sweep", "--config", str(spec), "--results-dir", str(tmp_path / "r")).stderr
    assert message in err and "Traceback" not in err


def test_more_threads_than_cores_is_refused_before_any_run(tmp_path) -> None:
    too_many = str((os.cpu_count() or 1) + 1)
    done = imbloss("train", *TINY, "--num-threads", too_many)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith(
        f"imbloss train: error: num_threads={too_many} is more than the"
    )
    spec = tmp_path / "threads.yaml"
    spec.write_text(TINY_SPEC.replace("16}", f"16, num_threads: {too_many}}}") + "losses: [ce]\n")
    results = tmp_path / "results"
    err = imbloss("sweep", "--config", str(spec), "--results-dir", str(results)).stderr
    assert f"num_threads={too_many} is more than the" in err and "Traceback" not in err
    assert not list(results.glob("*.json"))


def test_an_unreachable_scheduler_is_one_line_before_any_run(tmp_path) -> None:
    pytest.importorskip("dask.distributed")
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 1\n")
    scheduler = "tcp://127.0.0.1:9"  # nothing listens there
    err = failed_cleanly(
        imbloss("sweep", "--config", str(spec), "--scheduler", scheduler, cwd=tmp_path), 5
    )
    assert f"scheduler {scheduler}: no answer within" in err and "no run was started" in err


@pytest.mark.slow
def test_a_run_of_another_torch_version_is_reused_with_a_note_or_rerun_when_asked(
    tmp_path,
) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 2\n")
    results = tmp_path / "results"
    sweep = ["sweep", "--config", str(spec), "--results-dir", str(results), "--quiet"]
    assert imbloss(*sweep).returncode == 0
    old, new = RunStore(results).run_ids()
    record = results / f"{old}.json"
    values = json.loads(record.read_text())
    values["versions"]["torch"] = "1.0.0"  # as if made by another torch
    record.write_text(json.dumps(values))
    reused = imbloss(*sweep)
    assert reused.returncode == 0 and "2 results in" in reused.stdout
    (line,) = reused.stderr.splitlines()
    assert line.startswith(f"imbloss sweep: warning: 1 run(s) in {results} were made by another")
    assert f"{old}: torch 1.0.0" in line and "--rerun-stale" in line
    assert RunStore(results).result(old).versions["torch"] == "1.0.0"
    rerun = imbloss(*sweep, "--rerun-stale")
    assert rerun.returncode == 0 and rerun.stderr == ""
    assert RunStore(results).result(old).versions["torch"] == torch.__version__


@pytest.mark.slow
@pytest.mark.usefixtures("ctrl_c_as_in_a_terminal")
def test_a_sweep_run_as_a_function_leaves_ctrl_c_working(tmp_path) -> None:
    spec = tmp_path / "tiny.yaml"
    spec.write_text(TINY_SPEC + "losses: [ce]\nseeds: 1\n")
    results = tmp_path / "r"
    assert main(["sweep", "--config", str(spec), "--results-dir", str(results), "--quiet"]) == 0
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, [])
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
