"""Shared test setup: few CPU threads (the machine is shared) and a small hypothesis budget."""

import torch
from hypothesis import settings

torch.set_num_threads(1)

settings.register_profile("imbloss", max_examples=40, deadline=None, derandomize=True)
settings.load_profile("imbloss")
