"""The verdict table: activation x init x depth x batch norm x residual x data, each a real run.

Every case trains a small network for a few seconds at most (the whole table
about 2 s on one core) and asserts the verdict and severity docs/insight.md §
Diagnosis gives it, and that the evidence carries the numbers.
"""

from __future__ import annotations

import json

import pytest
from verdict_cases import CASES, case_spec

from core.train import train


@pytest.mark.parametrize("case", sorted(CASES))
def test_verdict_of_a_real_run(case: str) -> None:
    spec = case_spec(case)
    run = train(spec)
    d = run.diagnosis
    assert d is not None
    *_, verdict, severity = CASES[case]
    assert (d["verdict"], d["severity"]) == (verdict, severity), d["evidence"]
    json.dumps(d, allow_nan=False)
    if verdict != "diverged":
        ratio = run.summary["backprop_ratio_log10"]
        assert ratio is not None
        assert any(f"10^{round(ratio, 1) + 0.0:+.1f}" in e for e in d["evidence"])
    if verdict == "healthy":
        assert d["remedies"] == [] or all("weight_decay" in str(r) for r in d["remedies"])
    else:
        assert d["remedies"], "a problem comes with remedies"


def test_batch_norm_growth_is_healthy_with_a_note() -> None:
    run = train(case_spec("sigmoid-batchnorm-deep"))
    d = run.diagnosis
    assert d is not None
    ratio = run.summary["backprop_ratio_log10"]
    assert ratio is not None
    assert ratio > 1
    assert d["verdict"] == "healthy"  # ...and the run learns: not an explosion
    assert any("Yang et al. 2019" in n for n in d["notes"])
