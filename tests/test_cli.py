"""Command line: errors name the bad option; train and sweep run end to end on tiny digits."""

from __future__ import annotations

import subprocess
import sys

import pytest

from imbloss.cli import build_parser, main, train_config_from_args
from imbloss.train import RunResult, TrainConfig

TINY = ["--dataset", "digits", "--imbalance-ratio", "10", "--epochs", "2", "--quiet"]


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
    assert "lr must be a number in (0.0, inf]; got -1.0" in capsys.readouterr().err


def test_a_loss_flag_the_loss_does_not_take_is_an_error(capsys) -> None:
    assert main(["train", *TINY, "--loss", "ce", "--gamma", "2"]) == 2
    assert "unknown keyword(s) ['gamma']" in capsys.readouterr().err


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
    out = tmp_path / "r.json"
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


def test_sweep_smoke_prints_summary_and_paired_table(tmp_path, capsys) -> None:
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
    assert "paired with CE" in printed and "balanced_softmax" in printed


def test_python_dash_m_runs_the_same_command_line() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "imbloss", "train", "--help"], capture_output=True, text=True
    )
    assert done.returncode == 0 and "--max-margin" in done.stdout
