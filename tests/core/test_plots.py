"""Plots: every plot renders for plain, batch-norm, residual and diverged runs, as valid,
full-size, non-blank, deterministic PNG and SVG."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
from typing import Any, cast

import numpy as np
import pytest
from matplotlib.image import imread

from core import plots, theory
from core.errors import NotFound, SpecError
from core.result import ResultDict
from core.spec import ExperimentSpec
from core.train import run_experiment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
WIDTH = 800
HEIGHTS = {
    "gradient-profile": 640,
    "gradient-heatmap": 500,
    "training-curves": 420,
    "activations": 640,
    "update-ratio": 500,
}
KINDS: dict[str, dict[str, Any]] = {
    "plain": {"activation": "sigmoid", "init": "xavier_normal"},
    "batch_norm": {"activation": "relu", "init": "he_normal", "batch_norm": True},
    "residual": {"activation": "tanh", "init": "xavier_normal", "residual": True},
    "diverged": {"activation": "relu", "init": "he_normal", "learning_rate": 10.0},
}


def tiny_spec(learning_rate: float = 0.05, **model: Any) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"depth": 6, "width": 12, **model},
            "data": {"dataset": "moons", "n_samples": 200},
            "training": {"epochs": 3, "batch_size": 32, "learning_rate": learning_rate},
            "recording": {"every_steps": 2},
        }
    )


@pytest.fixture(scope="module")
def runs() -> dict[str, tuple[ExperimentSpec, ResultDict]]:
    out = {}
    for kind, model in KINDS.items():
        spec = tiny_spec(**model)
        out[kind] = (spec, run_experiment(spec))
    assert out["diverged"][1]["summary"]["diverged_at_step"] is not None
    return out


def png_image(data: bytes) -> np.ndarray:
    assert data[:8] == PNG_MAGIC
    return np.asarray(imread(io.BytesIO(data), format="png"))


def check_svg(data: bytes, height_px: int) -> None:
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert root.attrib["width"] == f"{WIDTH * 0.72:g}pt"  # 100 px per inch, 72 pt per inch
    assert float(root.attrib["height"].removesuffix("pt")) == pytest.approx(height_px * 0.72)
    assert b"<script" not in data
    assert len(root) > 1  # more than the metadata


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", plots.PLOTS)
def test_every_plot_renders_png_and_svg(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]], kind: str, name: str
) -> None:
    spec, result = runs[kind]
    prediction = theory.predict(spec)
    image = png_image(plots.render(name, result, "png", prediction))
    assert image.shape[:2] == (HEIGHTS[name], WIDTH)
    assert float(image[..., :3].var()) > 0.001  # not blank
    check_svg(plots.render(name, result, "svg", prediction), HEIGHTS[name])


@pytest.mark.parametrize("fmt", plots.FORMATS)
@pytest.mark.parametrize("name", plots.PLOTS)
def test_same_data_same_bytes(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]], name: str, fmt: str
) -> None:
    spec, result = runs["plain"]
    prediction = theory.predict(spec)
    assert plots.render(name, result, fmt, prediction) == plots.render(
        name, result, fmt, prediction
    )


def test_the_theory_line_is_drawn_only_when_given(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    spec, result = runs["plain"]
    with_theory = plots.render("gradient-profile", result, "svg", theory.predict(spec))
    without = plots.render("gradient-profile", result, "svg")
    assert with_theory != without
    assert len(with_theory) > len(without)


def test_renders_from_several_threads_match(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    _, result = runs["plain"]
    expected = {
        name: plots.render(name, result, "svg") for name in ("gradient-heatmap", "update-ratio")
    }
    got: dict[str, bytes] = {}

    def work(name: str) -> None:
        got[name] = plots.render(name, result, "svg")

    threads = [threading.Thread(target=work, args=(n,)) for n in expected]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert got == expected


# --- results with holes --------------------------------------------------------------------


def holey(result: ResultDict) -> ResultDict:
    """A copy with None values, a zero gradient, and no completed epoch."""
    r: Any = {**result, "stats": {k: [list(row) for row in v] for k, v in result["stats"].items()}}
    r["stats"]["grad_norm"][1][0] = None
    r["stats"]["grad_norm"][1][1] = 0.0
    r["stats"]["backprop_norm"][-1] = [None] * len(result["layers"])
    r["stats"]["update_ratio"] = [[None] * len(result["layers"])] * len(result["steps"])
    r["metrics"] = {k: [] for k in result["metrics"]}
    return cast(ResultDict, r)


def no_records(result: ResultDict) -> ResultDict:
    r: Any = {**result, "steps": [], "stats": {k: [] for k in result["stats"]}}
    r["metrics"] = {k: [] for k in result["metrics"]}
    return cast(ResultDict, r)


@pytest.mark.parametrize("make", [holey, no_records])
@pytest.mark.parametrize("name", plots.PLOTS)
def test_missing_values_still_render(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]], make: Any, name: str
) -> None:
    image = png_image(plots.render(name, make(runs["plain"][1]), "png"))
    assert image.shape[:2] == (HEIGHTS[name], WIDTH)
    assert float(image[..., :3].var()) > 0.001


# --- derivatives, comparisons, sweeps ----------------------------------------------------


def test_derivatives_demo() -> None:
    data = plots.render_derivatives(["sigmoid", "relu", "tanh"], "png")
    image = png_image(data)
    assert image.shape[:2] == (640, WIDTH)
    assert data == plots.render_derivatives(["sigmoid", "relu", "tanh"], "png")
    check_svg(plots.render_derivatives(["swish"], "svg", x_range=(-3.0, 3.0)), 640)
    with pytest.raises(SpecError) as info:
        plots.render_derivatives(["softsign"], "png", x_range=(2.0, 1.0))
    assert {e.field for e in info.value.errors} == {"names", "x_range"}


def test_compare_overlays_several_results(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    pairs = [(kind, result) for kind, (_, result) in runs.items()]
    image = png_image(plots.render_compare(pairs, "png"))
    assert image.shape[:2] == (640, WIDTH)
    assert float(image[..., :3].var()) > 0.001
    check_svg(plots.render_compare(pairs, "svg"), 640)


def test_sweep_plots_group_by_what_varies() -> None:
    children: list[tuple[ExperimentSpec, ResultDict | None]] = []
    for activation in ("sigmoid", "relu"):
        for depth in (2, 4, 6):
            spec = tiny_spec(
                activation=activation,
                depth=depth,
                init="he_normal" if activation == "relu" else "xavier_normal",
            )
            children.append((spec, run_experiment(spec)))
    children.append((tiny_spec(activation="tanh"), None))  # still running: left out
    labels = plots.sweep.group_labels([s for s, _ in children])
    assert labels[0] == "activation=sigmoid, init=xavier_normal"
    assert labels[3] == "activation=relu, init=he_normal"
    for name in plots.SWEEP_PLOTS:
        height = 640 if name == "gradient-profiles" else 500
        image = png_image(plots.render_sweep(name, children, "png"))
        assert image.shape[:2] == (height, WIDTH)
        assert float(image[..., :3].var()) > 0.001
        check_svg(plots.render_sweep(name, children, "svg"), height)
        assert plots.render_sweep(name, children, "svg") == plots.render_sweep(
            name, children, "svg"
        )
    empty = plots.render_sweep("ratio-vs-depth", [(tiny_spec(activation="relu"), None)], "png")
    assert png_image(empty).shape[:2] == (500, WIDTH)


def test_unknown_names_and_formats_are_not_found(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    _, result = runs["plain"]
    with pytest.raises(NotFound, match="gradient-profile"):
        plots.render("histogram", result, "png")
    with pytest.raises(NotFound, match="png or svg"):
        plots.render("gradient-profile", result, "jpg")
    with pytest.raises(NotFound):
        plots.render_sweep("nope", [], "png")
