"""Every public loss documents itself in one form and shows its claim in a doctest.

The doctests themselves run with the suite (``--doctest-modules`` on ``src/imbloss`` in
pyproject.toml); this checks that none is missing, so a new loss cannot ship without one.
"""

from __future__ import annotations

import inspect

import pytest
from torch import nn

import imbloss.losses as losses

PUBLIC = [getattr(losses, name) for name in losses.__all__ if name != "LOSSES"]
# the function forms: what the loss computes, each argument and the tensors' shapes
FUNCTIONS = [
    f
    for f in PUBLIC
    if inspect.isfunction(f)
    and "logits" in inspect.signature(f).parameters
    or f is losses.sigmoid_focal_loss
]
MODULES = [c for c in PUBLIC if inspect.isclass(c) and issubclass(c, nn.Module)]


@pytest.mark.parametrize("obj", PUBLIC, ids=lambda o: o.__name__)
def test_every_public_name_has_a_doctest(obj) -> None:
    doc = inspect.getdoc(obj) or ""
    assert "Examples:" in doc and ">>> " in doc, f"{obj.__name__} has no Examples: doctest"


@pytest.mark.parametrize("fn", FUNCTIONS, ids=lambda o: o.__name__)
def test_every_loss_function_states_its_formula_arguments_and_shapes(fn) -> None:
    doc = inspect.getdoc(fn)
    assert ":math:" in doc, f"{fn.__name__}: no formula"
    assert "\nArgs:\n" in doc and "\nShape:\n" in doc, f"{fn.__name__}: no Args:/Shape:"
    documented = {line.split(":")[0].strip() for line in doc.split("\nArgs:\n")[1].splitlines()}
    missing = set(inspect.signature(fn).parameters) - documented
    assert not missing, f"{fn.__name__}: Args: does not name {sorted(missing)}"


def test_the_loss_family_is_found() -> None:
    """The two lists above are not empty by accident: seven loss functions, seven modules."""
    assert len(FUNCTIONS) == 7 and len(MODULES) == 7
