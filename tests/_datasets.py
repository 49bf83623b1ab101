"""Small synthetic datasets the tests share (a helper module: tests import it, never each
other)."""

from __future__ import annotations

import torch

from imbloss.data import PreparedData, TensorSplit


# tiny synthetic names: the class is the first character, the rest is noise
def tiny_names(counts=(60, 24, 10), seed: int = 0) -> PreparedData:
    """A long-tailed sequence dataset a BiGRU can learn in a few epochs."""
    gen = torch.Generator().manual_seed(seed)

    def split(scale: float) -> TensorSplit:
        ys = torch.cat([torch.full((max(1, round(n * scale)),), c) for c, n in enumerate(counts)])
        lengths = torch.randint(2, 9, (len(ys),), generator=gen)
        x = torch.randint(2 + len(counts), 12, (len(ys), 8), generator=gen)
        x[:, 0] = 2 + ys
        x[torch.arange(8)[None, :] >= lengths[:, None]] = 0
        return TensorSplit(x, ys, lengths)

    return PreparedData(split(1.0), split(0.5), split(0.5), ["big", "mid", "small"], "sequence", 12)
