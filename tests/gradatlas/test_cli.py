"""The ``gradatlas`` command line, in-process through ``main`` and once as the console script."""

from __future__ import annotations

import io
import json
import math
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.result_io import load_npz
from core.spec import LAYER_STATS, ExperimentSpec
from gradatlas import examples
from gradatlas.cli import main
from gradatlas.cli.local import GracefulInterrupt

TINY: dict[str, Any] = {
    "name": "tiny",
    "seed": 3,
    "model": {"depth": 2, "width": 8, "activation": "tanh"},
    "data": {"dataset": "moons", "n_samples": 200},
    "training": {"batch_size": 32, "epochs": 1},
    "recording": {"every_steps": 2, "histogram_bins": 10},
}
RESULT_KEYS = {"layers", "steps", "stats", "metrics", "summary", "diagnosis"}


def write_spec(tmp_path: Path, spec: dict[str, Any]) -> Path:
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    return path


def nan_for_none(rows: list[list[float | None]]) -> np.ndarray:
    return np.array([[math.nan if v is None else v for v in row] for row in rows])


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, TINY)), "--out", str(out), "--quiet"]) == 0
    return out


def test_run_writes_a_contract_result(tiny_run: Path) -> None:
    result = json.loads((tiny_run / "result.json").read_text())
    assert set(result) >= RESULT_KEYS
    spec = ExperimentSpec.model_validate(TINY)
    assert [layer["fan_in"] for layer in result["layers"]] == [2, 8, 8]
    assert [layer["fan_out"] for layer in result["layers"]] == [8, 8, 2]
    assert result["steps"] == spec.record_steps
    assert set(LAYER_STATS) <= set(result["stats"])
    for name in LAYER_STATS:
        rows = result["stats"][name]
        assert len(rows) == len(result["steps"])
        assert all(len(row) == spec.model.depth + 1 for row in rows)
    assert result["metrics"]["epoch"] == [1]
    assert 0.0 <= result["summary"]["final_val_accuracy"] <= 1.0
    assert result["summary"]["steps_run"] == spec.total_steps
    saved = ExperimentSpec.model_validate_json((tiny_run / "spec.json").read_text())
    assert saved == spec


def test_npz_holds_the_same_numbers_as_json(tiny_run: Path) -> None:
    result = json.loads((tiny_run / "result.json").read_text())
    arrays = load_npz(tiny_run / "result.npz")
    np.testing.assert_array_equal(arrays["steps"], result["steps"])
    for name in LAYER_STATS:
        np.testing.assert_array_equal(arrays[f"stats.{name}"], nan_for_none(result["stats"][name]))
    np.testing.assert_array_equal(
        arrays["layers.fan_in"], [layer["fan_in"] for layer in result["layers"]]
    )
    np.testing.assert_array_equal(arrays["metrics.val_accuracy"], result["metrics"]["val_accuracy"])
    np.testing.assert_array_equal(
        arrays["grad_histogram.counts"], np.asarray(result["grad_histogram"]["counts"])
    )
    assert arrays["summary"] == result["summary"]


def test_same_spec_same_result(tiny_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["run", str(write_spec(tmp_path, TINY)), "--out", str(again), "--quiet"]) == 0
    first = json.loads((tiny_run / "result.json").read_text())
    second = json.loads((again / "result.json").read_text())
    assert first["stats"] == second["stats"]
    assert first["metrics"] == second["metrics"]


def test_run_prints_a_summary_and_a_progress_bar(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(write_spec(tmp_path, TINY)), "--out", str(tmp_path / "o")]) == 0
    captured = capsys.readouterr()
    total = ExperimentSpec.model_validate(TINY).total_steps
    assert f"tiny: {total}/{total} steps" in captured.out
    assert "decay per layer" in captured.out
    assert "final accuracy" in captured.out
    assert f"{total}/{total}" in captured.err  # tqdm's bar, on stderr


def test_run_reads_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(TINY)))
    assert main(["run", "-", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    assert (tmp_path / "o" / "result.npz").is_file()
    assert capsys.readouterr().out == ""


def test_bad_spec_exits_2_naming_every_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = {**TINY, "model": {"depth": 0, "width": 8, "activation": "sigmoidd", "widht": 3}}
    out = tmp_path / "out"
    assert main(["run", str(write_spec(tmp_path, bad)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "model.depth" in err
    assert "model.activation" in err
    assert "model.widht" in err
    assert not out.exists()


@pytest.mark.parametrize(
    ("text", "needle"),
    [("{not json", "spec: Invalid JSON"), ('{"model": {"activation": "relu"}}', "model.depth")],
)
def test_unparseable_or_incomplete_spec_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, needle: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    assert main(["run", str(path), "--out", str(tmp_path / "o")]) == 2
    assert needle in capsys.readouterr().err


def test_missing_spec_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nope.json"), "--out", str(tmp_path)]) == 2
    assert "nope.json" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["run"]) == 2
    assert main(["spec"]) == 2
    assert main(["--help"]) == 0
    assert "run" in capsys.readouterr().out


@pytest.mark.parametrize("name", examples.names())
def test_spec_example_round_trips(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--example", name]) == 0
    printed = capsys.readouterr().out
    assert ExperimentSpec.model_validate_json(printed) == examples.load(name)


def test_spec_list_names_every_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == examples.names()


def test_unknown_example_lists_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--example", "sigmoid-deeep"]) == 2
    err = capsys.readouterr().err
    assert "sigmoid-deeep" in err
    assert all(name in err for name in examples.names())


def test_spec_schema_is_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["spec", "--schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "model" in schema["properties"]


def test_first_interrupt_asks_to_stop_second_aborts() -> None:
    previous = signal.getsignal(signal.SIGINT)
    with GracefulInterrupt() as interrupt:
        interrupt(signal.SIGINT, None)
        assert interrupt.requested
        with pytest.raises(KeyboardInterrupt):
            interrupt(signal.SIGINT, None)
        assert signal.getsignal(signal.SIGINT) is interrupt
    assert signal.getsignal(signal.SIGINT) is previous


def test_console_script(tmp_path: Path) -> None:
    script = shutil.which("gradatlas", path=str(Path(sys.executable).parent))
    if script is None:
        pytest.skip("the gradatlas console script is not installed beside this Python")
    out = tmp_path / "out"
    done = subprocess.run(
        [script, "run", "-", "--out", str(out)],
        input=json.dumps(TINY),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "final accuracy" in done.stdout
    assert set(json.loads((out / "result.json").read_text())) >= RESULT_KEYS

    listed = subprocess.run(
        [script, "spec", "--list"], capture_output=True, text=True, timeout=60, check=False
    )
    assert listed.returncode == 0
    assert "sigmoid-deep" in listed.stdout


def test_python_m_gradatlas_cli() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "gradatlas.cli", "spec", "--example", "sigmoid-deep"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert ExperimentSpec.model_validate_json(done.stdout) == examples.load("sigmoid-deep")


@pytest.mark.parametrize("argv", [["spec", "--list"], ["--help"], ["submit", "--help"]])
def test_light_subcommands_load_no_engine_and_no_http_client(argv: list[str]) -> None:
    probe = (
        "import sys; from gradatlas.cli import main; code = main(sys.argv[1:]); "
        "print(code, sorted(m for m in ('numpy', 'httpx', 'core.train', 'matplotlib') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.stdout.splitlines()[-1] == "0 []", done.stderr


def test_a_local_run_reports_its_diagnosis_and_remedies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vanishing = {**TINY, "model": {"depth": 10, "width": 16, "activation": "sigmoid"}}
    assert main(["run", str(write_spec(tmp_path, vanishing)), "--out", str(tmp_path / "o")]) == 0
    lines = capsys.readouterr().out.splitlines()
    result = json.loads((tmp_path / "o" / "result.json").read_text())
    diagnosis = result["diagnosis"]
    verdict = lines.index(f"  verdict: {diagnosis['verdict']}")
    assert lines[verdict + 1] == f"    {diagnosis['evidence'][0]}"
    assert lines[verdict + 2] == "  remedies (try one: change the spec and run it again):"
    assert len(lines) == verdict + 3 + len(diagnosis["remedies"]) + 1  # + "wrote ..."
    assert lines[verdict + 3].startswith("    0  model.")


def test_the_sweep_table_names_both_ratios_and_both_decays() -> None:
    from typing import cast

    from core.views import SWEEP_EXAMPLE
    from gradatlas.cli.report import sweep_lines
    from gradatlas.types import Sweep

    lines = sweep_lines(cast(Sweep, SWEEP_EXAMPLE))
    header, row = lines[1], lines[2]
    for column in (
        "BACKPROP 0/LAST",
        "BACKPROP /LAYER",
        "WEIGHT-GRAD 0/LAST",
        "WEIGHT-GRAD /LAYER",
    ):
        assert column in header
    # Each number under its own column: 10^-11.90 back-propagated, 0.25 its decay, ...
    cells = row.split()
    assert cells[:3] == ["model.activation=sigmoid", "model.depth=20", "succeeded"]
    assert cells[3:7] == ["10^-11.90", "0.25", "10^-11.80", "0.24"]
