"""The shipped example specs are valid, named after their files, and cheap to run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.spec import ExperimentSpec
from gradatlas import examples

EXAMPLE_DIR = Path(examples.__file__).parent
NAMES = examples.names()


def test_examples_are_shipped_and_described() -> None:
    assert len(NAMES) >= 8
    assert set(NAMES) == set(examples.DESCRIPTIONS)
    for members in examples.CLAIMS.values():
        assert set(members) <= set(NAMES)


def test_repo_root_symlink_points_at_the_package() -> None:
    link = EXAMPLE_DIR.parent.parent / "examples"
    if not link.exists():
        pytest.skip("not a source checkout")
    assert link.resolve() == EXAMPLE_DIR.resolve()


@pytest.mark.parametrize("name", NAMES)
def test_example_validates_and_is_named_after_its_file(name: str) -> None:
    raw = json.loads((EXAMPLE_DIR / f"{name}.json").read_text())
    spec = ExperimentSpec.model_validate(raw)
    assert raw["name"] == name
    assert spec == examples.load(name)


@pytest.mark.parametrize("name", NAMES)
def test_example_is_cheap(name: str) -> None:
    cost = examples.load(name).cost()
    # A few seconds of NumPy on one core (the deep sigmoid family, 30 epochs at width 96,
    # about 3 s), with a result of a few MB at most.
    assert cost.flops <= 1e11
    assert cost.parameters <= 200_000
    assert cost.records <= 500
    assert cost.record_values <= 200_000


@pytest.mark.parametrize("claim", sorted(examples.CLAIMS))
def test_compared_examples_differ_only_where_the_claim_says(claim: str) -> None:
    specs = [examples.load(n).model_dump() for n in examples.CLAIMS[claim]]
    if len(specs) < 2:
        return
    a, b = specs
    # Same data, training and recording, so the comparison is fair.
    for section in ("seed", "data", "training", "recording"):
        assert a[section] == b[section], section
    changed = {k for k in a["model"] if a["model"][k] != b["model"][k]}
    allowed = {
        "sigmoid-vs-relu": {"activation", "init"},
        "xavier-vs-he": {"init"},
        "batch-norm": {"batch_norm"},
        "residual": {"residual"},
        "depth": {"depth"},
    }[claim]
    assert changed == allowed


def test_unknown_example_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        examples.read_text("no-such-example")
