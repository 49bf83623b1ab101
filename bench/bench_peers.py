"""Time imbloss against the implementations users would otherwise take, on their own terms.

Forward + backward on the CPU (float32, one thread, denormals not flushed: the settings a
training loop runs with), imbloss and the peer interleaved in one process
(:func:`imbloss.benchmark.interleaved`), eager and under ``torch.compile`` (inductor) for
both sides. The table gives ratios imbloss / peer; the target is 1.0 for every peer, and
3.0 for GHM-C (sigmoid) against plain BCE.

Peers:

* torchvision's ``sigmoid_focal_loss``: its published formula (torchvision/ops/focal_loss.py),
  written out in :mod:`imbloss.peers` because PyPI torchvision does not import beside this
  torch (the copy the parity tests prove imbloss equal to); 2 % positive
  0/1 targets, 65,536 x 80 (detection) and 8,192 x 18;
* kornia's ``focal_loss`` (softmax) and ``binary_focal_loss_with_logits``, if kornia is
  installed (``pip install imbloss[bench]``);
* mmdetection's ``GHMC`` (mmdet/models/losses/ghm_loss.py): its algorithm, one masked pass
  per bin with a host sync per bin, written out in :mod:`imbloss.peers`;
* ``F.binary_cross_entropy_with_logits``, the cost GHM-C adds to.

Below the table, the cost of sigmoid focal's input check (a min/max of the target and one
read of it on the host) on its own, as a share of an imbloss forward + backward, at both
shapes, the two interleaved.

    python bench/bench_peers.py [--repeats 30] [--no-compile] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch
import torch.nn.functional as F

from imbloss.benchmark import CLOCK, interleaved, step_seconds
from imbloss.losses import GHMCLoss, focal_loss, sigmoid_focal_loss
from imbloss.losses._checks import check_sigmoid_inputs
from imbloss.peers import mmdet_ghmc, torchvision_sigmoid_focal_loss

try:
    import kornia.losses as kornia_losses
except ImportError:  # an optional bench dependency
    kornia_losses = None

SHAPES = {"65,536 x 80": (65_536, 80), "8,192 x 18": (8_192, 18)}


def imbloss_sigmoid_focal(inputs, targets):
    """imbloss's drop-in, called as the benchmark calls torchvision's."""
    return sigmoid_focal_loss(inputs, targets, 0.25, 2.0, "mean")


def torchvision_focal(inputs, targets):
    """torchvision.ops.sigmoid_focal_loss's formula (:mod:`imbloss.peers`), its "mean"."""
    return torchvision_sigmoid_focal_loss(inputs, targets, 0.25, 2.0, "mean")


class MMDetGHMC(torch.nn.Module):
    """mmdetection's GHMC (:func:`imbloss.peers.mmdet_ghmc`, the copy the parity tests check)
    as a module holding its moving average, every element kept."""

    def __init__(self, bins: int = 10, momentum: float = 0.75) -> None:
        super().__init__()
        self.bins, self.momentum = bins, momentum
        self.register_buffer("acc_sum", torch.zeros(bins))

    def forward(self, pred, target):
        keep = torch.ones_like(target)
        return mmdet_ghmc(pred, target, keep, self.acc_sum, bins=self.bins, momentum=self.momentum)


def sigmoid_batch(n: int, c: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(n, c, generator=g)).requires_grad_()
    target = (torch.rand(n, c, generator=g) < 0.02).float()
    return logits, target


def softmax_batch(n: int, c: int, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    logits = (2 * torch.randn(n, c, generator=g)).requires_grad_()
    return logits, torch.randint(0, c, (n,), generator=g)


def comparisons():
    """(name, shape, ours, theirs, batch, target ratio, compiles)."""
    rows = []
    for label, (n, c) in SHAPES.items():
        batch = sigmoid_batch(n, c)
        rows.append(
            (
                "sigmoid focal / torchvision",
                label,
                imbloss_sigmoid_focal,
                torchvision_focal,
                batch,
                1.0,
            )
        )
        if kornia_losses is not None:
            rows.append(
                (
                    "sigmoid focal / kornia binary",
                    label,
                    imbloss_sigmoid_focal,
                    lambda x, t: kornia_losses.binary_focal_loss_with_logits(
                        x, t, 0.25, 2.0, "mean"
                    ),
                    batch,
                    1.0,
                )
            )
    if kornia_losses is not None:
        for label, (n, c) in {"65,536 x 18": (65_536, 18), "8,192 x 80": (8_192, 80)}.items():
            rows.append(
                (
                    "softmax focal / kornia",
                    label,
                    lambda z, y: focal_loss(z, y, 2.0, reduction="sum"),
                    lambda z, y: kornia_losses.focal_loss(z, y, None, 2.0, "sum"),
                    softmax_batch(n, c),
                    1.0,
                )
            )
    batch = sigmoid_batch(65_536, 80)
    rows.append(
        (
            "GHM-C sigmoid / mmdet GHMC",
            "65,536 x 80",
            GHMCLoss(10, 0.75, use_sigmoid=True),
            MMDetGHMC(10, 0.75),
            batch,
            1.0,
        )
    )
    rows.append(
        (
            "GHM-C sigmoid / BCE",
            "65,536 x 80",
            GHMCLoss(10, 0.75, use_sigmoid=True),
            lambda x, t: F.binary_cross_entropy_with_logits(x, t),
            batch,
            3.0,
        )
    )
    return rows


def check_share(repeats: int) -> dict:
    """Median CPU time of sigmoid focal's input check alone over that of the whole step
    (forward + backward, the check included), alternated, at each shape of ``SHAPES``."""
    shares = {}
    for label, (n, c) in SHAPES.items():
        logits, target = sigmoid_batch(n, c)
        check, step = [], []
        for _ in range(repeats):
            start = CLOCK()
            check_sigmoid_inputs(logits, target, None, min_dim=0)
            check.append(CLOCK() - start)
            step.append(step_seconds(imbloss_sigmoid_focal, logits, target))
        shares[label] = round(statistics.median(check) / statistics.median(step), 4)
    return shares


def markdown(rows: list[dict], compiled: bool) -> str:
    head = "| imbloss / peer | shape | eager | " + ("compiled | " if compiled else "")
    lines = [head + "target |", "|---|---|---:|" + ("---:|" if compiled else "") + "---:|"]
    for r in rows:
        cells = [r["name"], r["shape"], _cell(r["eager"], r["target"])]
        if compiled:
            cells.append(_cell(r.get("compiled"), r["target"]))
        lines.append("| " + " | ".join(cells) + f" | {r['target']} |")
    return "\n".join(lines)


def _cell(result: dict | None, target: float) -> str:
    if result is None:
        return "n/a"
    return f"{result['ratio']:.2f}" + ("" if result["ratio"] <= target else " (over)")


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30, help="timed steps per pair")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps per pair")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled column")
    parser.add_argument("--only", default="", help="rows whose name contains this")
    parser.add_argument("--json", type=Path, help="also write the table here as JSON")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    rows = []
    for name, shape, ours, theirs, (logits, target), target_ratio in comparisons():
        if args.only not in name:
            continue
        row = {"name": name, "shape": shape, "target": target_ratio}
        times = {"repeats": args.repeats, "warmup": args.warmup}
        row["eager"] = interleaved(ours, theirs, logits, target, **times)
        if not args.no_compile:
            torch._dynamo.reset()
            compiled = torch.compile(ours), torch.compile(theirs)
            row["compiled"] = interleaved(*compiled, logits, target, **times)
        rows.append(row)
        print(name, shape, row, flush=True)
    print(
        f"\nCPU, float32, {args.threads} thread(s), torch {torch.__version__}, denormals kept, "
        f"median ratio of {args.repeats} interleaved forward + backward pairs (CPU time)\n"
    )
    print(markdown(rows, not args.no_compile))
    shares = check_share(args.repeats)
    said = ", ".join(f"{shape}: {share:.1%}" for shape, share in shares.items())
    print(f"\nsigmoid focal's input check alone, share of an imbloss step: {said}")
    if args.json:
        check = {"name": "sigmoid focal input check share", "shares": shares}
        args.json.write_text(json.dumps([*rows, check], indent=2) + "\n")
    return rows


if __name__ == "__main__":
    main()
