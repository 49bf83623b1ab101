"""The timer behind notebook 05 and bench/: its records, its settings, its errors.

No assertion on a time: speed targets live in the benchmarks' tables.
"""

import pytest
import torch

from imbloss.benchmark import interleaved, loss_cost, markdown


def test_interleaved_times_both_sides_every_step_and_reports_the_pairwise_ratio():
    calls = {"ours": 0, "theirs": 0}

    def counting(key):
        def loss(x, t):
            calls[key] += 1
            return (x * t).sum()

        return loss

    x, t = torch.ones(4, requires_grad=True), torch.ones(4)
    out = interleaved(counting("ours"), counting("theirs"), x, t, repeats=5, warmup=2)
    assert calls == {"ours": 7, "theirs": 7}
    assert set(out) == {"ours_ms", "theirs_ms", "ratio", "min_ratio"}
    assert all(value > 0 for value in out.values())


def test_loss_cost_gives_a_row_per_loss_and_column_and_restores_the_settings():
    threads = torch.get_num_threads()
    cost = loss_cost(["ce", "ldam"], n=64, repeats=2, warmup=0, columns=("kept", "flushed"))
    assert [r["loss"] for r in cost["rows"]] == ["ce", "ldam"]
    assert all({"kept", "flushed"} <= set(r) and r["target"] == 1.3 for r in cost["rows"])
    assert torch.get_num_threads() == threads
    tiny = torch.tensor(torch.finfo(torch.float32).tiny)
    assert (tiny / 2).item() > 0  # denormals are not flushed afterwards
    table = markdown(cost["rows"])
    assert table.splitlines()[0] == "| loss | loss ms | CE ms | kept | flushed | target |"
    assert len(table.splitlines()) == 4


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"losses": ["ce", "nope"]}, r"unknown losses \['nope'\]"),
        ({"columns": ("kept", "warm")}, r"columns \['kept', 'warm'\]"),
        ({"repeats": 0}, "repeats must be an integer >= 1; got 0"),
    ],
)
def test_loss_cost_names_the_bad_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        loss_cost(n=16, warmup=0, **{"repeats": 1, **kwargs})
