"""``gradatlas plot RESULT.json NAME --out FILE``: every figure of a local run, in the
format ``--out`` names, with no service; bad suffixes and names are exit status 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from core import plots
from core.result_io import load_json
from gradatlas.cli import main
from gradatlas.cli.plot import plot_format

SPEC: dict[str, Any] = {
    "name": "local-plots",
    "seed": 2,
    "model": {"depth": 5, "width": 8, "activation": "sigmoid", "init": "xavier_normal"},
    "data": {"dataset": "moons", "n_samples": 120},
    "training": {"batch_size": 32, "epochs": 1},
    "recording": {"every_steps": 1},
}
MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "svg": b"<?xml", "pdf": b"%PDF-"}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("local")
    spec = tmp / "spec-in.json"
    spec.write_text(json.dumps(SPEC))
    assert main(["run", str(spec), "--out", str(tmp / "run"), "--quiet"]) == 0
    return tmp / "run"


@pytest.mark.parametrize("name", plots.PLOTS)
def test_every_figure_of_a_local_run_in_every_format(
    run_dir: Path, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    result = load_json(run_dir / "result.json")
    for fmt in plots.FORMATS:
        out = tmp_path / f"{name}.{fmt.upper() if fmt == 'svg' else fmt}"
        assert main(["plot", str(run_dir / "result.json"), name, "--out", str(out)]) == 0
        data = out.read_bytes()
        assert data.startswith(MAGIC[fmt]), fmt
        # The same figure the service would draw from the same result.
        assert data == plots.render(name, result, fmt, result.get("theory"))
    assert f"wrote {out}" in capsys.readouterr().out


def test_scale_and_stdout(
    run_dir: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    source = str(run_dir / "result.json")
    result = load_json(run_dir / "result.json")
    assert main(["plot", source, "gradient-heatmap", "--out", "-", "--format", "svg"]) == 0
    assert capsysbinary.readouterr().out == plots.render("gradient-heatmap", result, "svg")
    assert main(["plot", source, "gradient-heatmap", "--out", "-", "--scale", "auto"]) == 0
    zoomed = capsysbinary.readouterr().out
    assert zoomed == plots.render("gradient-heatmap", result, "png", None, "auto")
    assert zoomed != plots.render("gradient-heatmap", result, "png")


def test_the_theory_comes_from_the_spec_beside_a_result_without_one(
    run_dir: Path, tmp_path: Path
) -> None:
    result = load_json(run_dir / "result.json")
    assert "theory" in result
    bare = tmp_path / "result.json"
    bare.write_text(json.dumps({k: v for k, v in result.items() if k != "theory"}))
    out = tmp_path / "p.svg"
    assert main(["plot", str(bare), "gradient-profile", "--out", str(out)]) == 0
    assert b"mean-field theory (step 0)" not in out.read_bytes()  # no spec.json beside it
    (tmp_path / "spec.json").write_text((run_dir / "spec.json").read_text())
    assert main(["plot", str(bare), "gradient-profile", "--out", str(out)]) == 0
    assert b"mean-field theory (step 0)" in out.read_bytes()


@pytest.mark.parametrize(
    ("out", "given", "expected"),
    [
        ("a.png", None, "png"),
        ("a.SVG", None, "svg"),
        ("dir.v2/a.pdf", "pdf", "pdf"),
        ("-", None, "png"),
        ("-", "pdf", "pdf"),
        ("noext", "svg", "svg"),
    ],
)
def test_the_format_follows_the_suffix(out: str, given: str | None, expected: str) -> None:
    assert plot_format(out, given) == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "x.jpg"], "must end in .png, .svg or .pdf"),
        (["--out", "x"], "cannot tell the format"),
        (["--out", "x.pdf", "--format", "png"], "does not match"),
    ],
)
def test_a_bad_out_is_exit_2_and_writes_nothing(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    source = str(run_dir / "result.json")
    out = [str(tmp_path / a) if a.startswith("x") else a for a in args]
    assert main(["plot", source, "activations", *out]) == 2
    assert message in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_bad_names_and_files_are_exit_2(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.png")
    assert main(["plot", str(run_dir / "result.json"), "nope", "--out", out]) == 2
    assert "gradient-histograms" in capsys.readouterr().err
    assert main(["plot", str(tmp_path / "missing.json"), "activations", "--out", out]) == 2
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "other.json").write_text('{"name": "a spec, not a result"}')
    assert main(["plot", str(tmp_path / "other.json"), "activations", "--out", out]) == 2
    assert "is not a result" in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()
