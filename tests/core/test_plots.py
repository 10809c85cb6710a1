"""Plots of one experiment: every figure renders for every verdict (from real short runs)
as valid, full-size, non-blank, deterministic PNG, SVG and PDF, and reads as documented:
absolute scales by default, captions in the SVG, no solid black panels."""

from __future__ import annotations

import io
import threading
import xml.etree.ElementTree as ET
from typing import Any, cast

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.image import imread

from core import plots, theory
from core.errors import NotFound, SpecError
from core.plots import captions, experiment, histograms, units, updates
from core.result import ResultDict
from core.run_result import RunResult
from core.spec import ExperimentSpec
from core.train import run_experiment

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG_NS = "{http://www.w3.org/2000/svg}"
WIDTH = 800
HEIGHTS = {
    "gradient-profile": 640,
    "gradient-heatmap": 500,
    "training-curves": 420,
    "activations": 800,
    "update-ratio": 500,
    "gradient-histograms": 640,
}
SPIRAL = {"dataset": "spiral", "n_samples": 300}
GAUSSIAN = {"dataset": "gaussian", "n_samples": 200, "n_features": 20}
#: Tiny runs chosen for the verdict each gives today (the set is checked below, not each).
KINDS: dict[str, dict[str, Any]] = {
    "vanishing": {"depth": 10, "activation": "sigmoid", "init": "xavier_normal"},
    "healthy": {"activation": "relu", "init": "he_normal"},
    "exploding": {"depth": 10, "width": 32, "activation": "tanh", "init": "normal"},
    "diverged": {"activation": "relu", "init": "he_normal", "learning_rate": 10.0},
    "saturated": {
        "depth": 2,
        "width": 64,
        "activation": "tanh",
        "init": "normal",
        "data": GAUSSIAN,
    },
    "dead_units": {"depth": 4, "activation": "relu", "init": "he_normal", "learning_rate": 2.0},
    "batch_norm": {"activation": "relu", "init": "he_normal", "batch_norm": True},
    "residual": {"activation": "tanh", "init": "xavier_normal", "residual": True},
}


def tiny_spec(
    learning_rate: float = 0.05, data: dict[str, Any] | None = None, **model: Any
) -> ExperimentSpec:
    return ExperimentSpec.model_validate(
        {
            "model": {"depth": 6, "width": 12, **model},
            "data": data or {"dataset": "moons", "n_samples": 200},
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
    return out


def png_image(data: bytes) -> np.ndarray:
    assert data[:8] == PNG_MAGIC
    return np.asarray(imread(io.BytesIO(data), format="png"))


def check_svg(data: bytes, height_px: int) -> ET.Element:
    root = ET.fromstring(data)
    assert root.tag.endswith("svg")
    assert root.attrib["width"] == f"{WIDTH * 0.72:g}pt"  # 100 px per inch, 72 pt per inch
    assert float(root.attrib["height"].removesuffix("pt")) == pytest.approx(height_px * 0.72)
    assert b"<script" not in data
    assert len(root) > 1  # more than the metadata
    return root


def test_the_runs_cover_the_verdicts(runs: dict[str, tuple[ExperimentSpec, ResultDict]]) -> None:
    verdicts = {r["diagnosis"]["verdict"] for _, r in runs.values() if r["diagnosis"]}
    assert len(verdicts) >= 4, verdicts
    assert runs["diverged"][1]["summary"]["diverged_at_step"] is not None
    assert runs["vanishing"][1]["diagnosis"]["verdict"] == "vanishing"  # type: ignore[index]


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
    # No solid black panels (the activations heatmap of a sigmoid run was two).
    assert float((image[..., :3].max(axis=-1) < 0.1).mean()) < 0.05
    root = check_svg(plots.render(name, result, "svg", prediction), HEIGHTS[name])
    text = captions.EXPERIMENT[name]  # type: ignore[index]
    assert root.findtext(f"{SVG_NS}title") == text.title
    assert root.findtext(f"{SVG_NS}desc") == text.caption


@pytest.mark.parametrize("name", plots.PLOTS)
def test_pdf_and_same_data_same_bytes(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]], name: str
) -> None:
    spec, result = runs["vanishing"]
    prediction = theory.predict(spec)
    for fmt in plots.FORMATS:
        first = plots.render(name, result, fmt, prediction)
        assert first == plots.render(name, result, fmt, prediction), fmt
    pdf = plots.render(name, result, "pdf", prediction)
    assert pdf.startswith(b"%PDF-")
    assert b"CreationDate" not in pdf
    zoomed = plots.render(name, result, "png", prediction, "auto")
    assert png_image(zoomed).shape[:2] == (HEIGHTS[name], WIDTH)


def test_every_plot_has_a_caption() -> None:
    assert set(captions.EXPERIMENT) == set(plots.PLOTS)
    assert set(captions.SWEEP) == set(plots.SWEEP_PLOTS)
    for text in [*captions.EXPERIMENT.values(), *captions.SWEEP.values()]:
        assert text.title
        assert len(text.caption) > 150  # a paragraph, not a label


def test_the_theory_line_is_drawn_only_when_given(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    spec, result = runs["vanishing"]
    with_theory = plots.render("gradient-profile", result, "svg", theory.predict(spec))
    without = plots.render("gradient-profile", result, "svg")
    assert with_theory != without
    assert len(with_theory) > len(without)


# --- what the figures show -----------------------------------------------------------------


def arrays(result: ResultDict) -> RunResult:
    return RunResult.from_json(result)


def test_a_level_profile_spans_six_decades_unless_zoomed(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    result = arrays(runs["healthy"][1])
    for ax in experiment.gradient_profile(result).axes:
        lo, hi = ax.get_ylim()
        assert hi - lo >= 6.0
    spans = [
        np.subtract(*ax.get_ylim()[::-1])
        for ax in experiment.gradient_profile(result, None, "auto").axes
    ]
    assert min(spans) < 6.0
    # A vanishing profile is wider than six decades and is shown whole.
    deep = arrays(runs["vanishing"][1])
    top = experiment.gradient_profile(deep).axes[0]
    measured = np.log10(deep.stat("grad_norm")[0])
    assert top.get_ylim()[0] <= measured.min()
    assert top.get_ylim()[1] >= measured.max()


def heat_mesh(result: RunResult, scale: Any = "absolute") -> QuadMesh:
    fig = experiment.gradient_heatmap(result, None, scale)
    return next(c for c in fig.axes[0].collections if isinstance(c, QuadMesh))


def test_heatmap_colours_are_decades_from_the_last_hidden_layer_the_same_for_every_run(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    for _, result in runs.values():
        r = arrays(result)
        mesh = heat_mesh(r)
        assert (mesh.norm.vmin, mesh.norm.vmax) == (
            -experiment.HEAT_DECADES,
            experiment.HEAT_DECADES,
        )
        rel = experiment.relative_to_last_hidden(r)
        depth = r.n_layers - 1
        finite = np.isfinite(rel[:, depth - 1])
        assert np.all(rel[finite, depth - 1] == 0.0)
    deep = arrays(runs["vanishing"][1])
    expected = deep.summary["gradient_ratio_log10"]
    assert experiment.relative_to_last_hidden(deep)[0, 0] == pytest.approx(expected)
    zoomed = heat_mesh(deep, "auto")
    assert zoomed.norm.vmax == pytest.approx(
        np.nanmax(np.abs(experiment.relative_to_last_hidden(deep)))
    )


def with_stat(result: ResultDict, name: str, value: float | None) -> ResultDict:
    """A copy of a real result with statistic ``name`` set to ``value`` (None: removed)."""
    stats = dict(result["stats"])
    stats.pop(name, None)
    if value is not None:
        stats[name] = [[value] * len(result["layers"]) for _ in result["steps"]]
    return cast(ResultDict, {**result, "stats": stats})


def test_activations_show_the_derivative_when_recorded_and_say_none_for_zero_shares(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    spec, result = runs["vanishing"]
    prediction = theory.predict(spec)
    absent = plots.render(
        "activations", with_stat(result, "derivative_rms", None), "svg", prediction
    )
    assert b"not recorded" in absent
    present = plots.render(
        "activations", with_stat(result, "derivative_rms", 0.22), "svg", prediction
    )
    assert b"not recorded" not in present
    assert b"sigmoid's largest" in present  # the 0.25 ceiling, drawn from the theory
    # A sigmoid never outputs exactly 0: no dead unit, said in words.
    assert b"none: no hidden unit was dead" in present
    # A small share goes on a log scale; a large one stays linear.
    small = units.activations(arrays(with_stat(result, "saturation", 0.01)))
    large = units.activations(arrays(with_stat(result, "saturation", 0.6)))
    assert small.axes[1].get_yscale() == "log"
    assert large.axes[1].get_yscale() == "linear"


def test_update_ratios_are_smoothed_with_a_moving_median() -> None:
    data = np.full((21, 2), -3.0)
    data[10, 0] = 2.0  # one wild step
    data[4, 1] = np.nan
    out = updates.smooth(data, 5)
    assert np.allclose(out, -3.0)
    assert updates.smooth(data, 1)[10, 0] == 2.0
    assert np.isnan(updates.smooth(np.full((9, 1), np.nan), 3)).all()


def test_histogram_ridges_crop_to_the_occupied_bins_when_zoomed(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    result = arrays(runs["vanishing"][1])
    edges = result.grad_histogram.bin_edges_log10
    full = histograms.gradient_histograms(result).axes[0].get_xlim()
    assert full == (edges[0], edges[-1])
    lo, hi = histograms.gradient_histograms(result, None, "auto").axes[0].get_xlim()
    assert edges[0] <= lo < hi <= edges[-1]
    assert hi - lo < edges[-1] - edges[0]


def test_renders_from_several_threads_match(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    _, result = runs["vanishing"]
    names = ("gradient-heatmap", "update-ratio", "gradient-histograms")
    expected = {name: plots.render(name, result, "svg") for name in names}
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
    r["grad_histogram"] = {**result["grad_histogram"], "steps": [], "counts": []}
    return cast(ResultDict, r)


@pytest.mark.parametrize("make", [holey, no_records])
@pytest.mark.parametrize("name", plots.PLOTS)
def test_missing_values_still_render(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]], make: Any, name: str
) -> None:
    image = png_image(plots.render(name, make(runs["vanishing"][1]), "png"))
    assert image.shape[:2] == (HEIGHTS[name], WIDTH)
    assert float(image[..., :3].var()) > 0.001


# --- the derivatives demo, and bad names ---------------------------------------------------


def test_derivatives_demo() -> None:
    data = plots.render_derivatives(["sigmoid", "relu", "tanh"], "png")
    image = png_image(data)
    assert image.shape[:2] == (640, WIDTH)
    assert data == plots.render_derivatives(["sigmoid", "relu", "tanh"], "png")
    root = check_svg(plots.render_derivatives(["swish"], "svg", x_range=(-3.0, 3.0)), 640)
    assert root.findtext(f"{SVG_NS}desc") == captions.DERIVATIVES.caption
    with pytest.raises(SpecError) as info:
        plots.render_derivatives(["softsign"], "png", x_range=(2.0, 1.0))
    assert {e.field for e in info.value.errors} == {"names", "x_range"}


def test_unknown_names_formats_and_scales_are_not_found(
    runs: dict[str, tuple[ExperimentSpec, ResultDict]],
) -> None:
    _, result = runs["vanishing"]
    with pytest.raises(NotFound, match="gradient-profile"):
        plots.render("histogram", result, "png")
    with pytest.raises(NotFound, match="png, svg, pdf"):
        plots.render("gradient-profile", result, "jpg")
    with pytest.raises(NotFound, match="absolute or auto"):
        plots.render("gradient-profile", result, "png", None, "log")
    with pytest.raises(NotFound):
        plots.render_sweep("nope", [], "png")
