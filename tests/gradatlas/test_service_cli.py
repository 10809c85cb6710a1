"""The service subcommands of ``gradatlas`` against a real API over a real Redis.

Most tests serve the API with uvicorn in a thread over the session's
redis-server and, where a run must finish, run it with the worker's
``ExperimentRunner`` in-process (as test_http.py does). The ``e2e`` ones start
redis-server, a Celery worker and uvicorn as docker-compose.yml runs them
(conftest.py) and follow runs with ``--wait``.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from service_procs import BIN, Proc, RedisServer, free_port, serve, service_env

from api.app import create_app
from core.settings import Settings
from core.store import Store
from gradatlas.cli import main
from worker.runner import ExperimentRunner

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: Depth-10 sigmoid with Xavier: vanishes in 8 steps (a fraction of a second).
VANISHING: dict[str, Any] = {
    "name": "cli-vanishing",
    "seed": 1,
    "model": {"depth": 10, "width": 16, "activation": "sigmoid", "init": "xavier_normal"},
    "data": {"dataset": "moons", "n_samples": 200},
    "training": {"epochs": 2, "batch_size": 50},
}
TINY_SWEEP: dict[str, Any] = {
    "name": "cli-sweep",
    "base": {
        "seed": 2,
        "model": {"width": 8, "activation": "tanh"},
        "data": {"dataset": "moons", "n_samples": 200},
        "training": {"epochs": 2, "batch_size": 50},
    },
    "grid": {"model.depth": [2, 6]},
}

Run = Callable[..., tuple[int, str, str]]


def write_json(path: Path, body: Any) -> str:
    path.write_text(json.dumps(body))
    return str(path)


def dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Run:
    """``gradatlas ARGS --url URL`` in-process: (exit status, stdout, stderr)."""

    def run(*args: str, url: str | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        code = main([*args, *(["--url", url] if url else [])])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def url(settings: Settings, store: Store) -> Iterator[str]:
    """The API with no worker: experiments stay queued unless a test runs them."""
    with serve(create_app(settings, store=store)) as base:
        yield base


@pytest.fixture
def finished(cli: Run, url: str, store: Store, settings: Settings, tmp_path: Path) -> str:
    """The id of VANISHING, submitted with the CLI and run as a worker would."""
    code, out, _ = cli("submit", write_json(tmp_path / "spec.json", VANISHING), url=url)
    assert code == 0
    exp_id = out.strip()
    assert ExperimentRunner(store, settings).run(exp_id).kind == "succeeded"
    return exp_id


# ---------------------------------------------------------------- no worker


def test_submit_status_list_cancel_and_wait(
    cli: Run, url: str, store: Store, tmp_path: Path
) -> None:
    code, out, _ = cli(
        "submit", write_json(tmp_path / "s.json", VANISHING), "--name", "x1", url=url
    )
    assert code == 0
    exp_id = out.strip()
    record = store.get(exp_id)
    assert (record.status, record.spec.name) == ("queued", "x1")

    code, out, _ = cli("status", exp_id, url=url)
    assert code == 0
    assert "status: queued, step 0/8 (0%)" in out
    code, out, _ = cli("status", exp_id, "--json", url=url)
    assert json.loads(out)["spec"]["name"] == "x1"
    code, out, _ = cli("list", "--status", "queued", url=url)
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines()[1:]] == [[exp_id, "queued"]]
    assert cli("list", "--status", "running", url=url)[1] == "no experiments\n"

    code, out, _ = cli("cancel", exp_id, url=url)
    assert (code, out) == (0, f"{exp_id} cancelled\n")
    assert store.get(exp_id).status == "cancelled"
    code, out, _ = cli("wait", exp_id, url=url)
    assert code == 1
    assert out.splitlines()[0] == f"{exp_id} x1: cancelled"
    code, _, err = cli("cancel", exp_id, url=url)
    assert code == 2
    assert err.startswith("ERROR 409 Conflict: ")


def test_a_bad_spec_prints_each_field_and_exits_2(cli: Run, url: str, tmp_path: Path) -> None:
    bad = {**VANISHING, "model": {"depth": 0, "activation": "softmax"}}
    code, out, err = cli("submit", write_json(tmp_path / "bad.json", bad), url=url)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0].startswith("ERROR 422 Invalid experiment spec: 2 fields are invalid")
    fields = sorted(line.split(":")[0].strip() for line in lines[1:])
    assert fields == ["model.activation", "model.depth"]
    assert cli("list", url=url)[1] == "no experiments\n"


def test_not_found_and_conflicts_exit_2(cli: Run, url: str, tmp_path: Path) -> None:
    code, _, err = cli("status", "0193nope", url=url)
    assert code == 2
    assert err.startswith("ERROR 404 Not found: ")
    exp_id = cli("submit", write_json(tmp_path / "s.json", VANISHING), url=url)[1].strip()
    for args in (("stats", exp_id, "--out", str(tmp_path / "s.json")), ("remedy", exp_id, "0")):
        code, out, err = cli(*args, url=url)
        assert (code, out) == (2, ""), args
        assert err.startswith("ERROR 409 Conflict: "), err


def test_wait_gives_up_after_its_timeout(cli: Run, url: str, tmp_path: Path) -> None:
    exp_id = cli("submit", write_json(tmp_path / "s.json", VANISHING), url=url)[1].strip()
    code, _, err = cli("wait", exp_id, "--timeout", "0.2", url=url)
    assert code == 124
    assert f"experiment {exp_id} still queued" in err


def test_a_finished_run_reports_its_diagnosis(cli: Run, url: str, finished: str) -> None:
    code, out, _ = cli("wait", finished, url=url)
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"{finished} cli-vanishing: succeeded"
    assert "  steps: 8/8" in lines
    verdict = lines.index("  verdict: vanishing")
    assert lines[verdict + 1].startswith("    At step 0 the back-propagated gradient at layer 0")
    assert lines[verdict + 2] == f"  remedies (try one: gradatlas remedy {finished} K):"
    assert lines[verdict + 3] == "    0  model.activation=relu model.init=he_normal"
    assert cli("status", finished, url=url)[1].count("verdict: vanishing") == 1


def test_the_service_reports_a_run_as_gradatlas_run_does(
    cli: Run, url: str, finished: str, tmp_path: Path
) -> None:
    spec = write_json(tmp_path / "spec.json", VANISHING)
    code, here, _ = cli("run", spec, "--out", str(tmp_path / "out"))
    assert code == 0
    code, there, _ = cli("wait", finished, url=url)
    assert code == 0
    # Past the heads (the run's name and steps; the experiment's id, status and steps),
    # the same lines, but for how to try a remedy.
    here_lines, there_lines = here.splitlines()[1:-1], there.splitlines()[2:]
    assert here_lines[0].startswith("  step-0 gradient ratio, layer 0 / layer 9: 10^")
    hint = here_lines.index("  remedies (try one: change the spec and run it again):")
    assert there_lines[hint] == f"  remedies (try one: gradatlas remedy {finished} K):"
    del here_lines[hint], there_lines[hint]
    assert here_lines == there_lines


def test_stats_and_plots_are_what_the_api_serves(
    cli: Run, url: str, finished: str, tmp_path: Path
) -> None:
    out = tmp_path / "stats.json"
    assert cli("stats", finished, "--out", str(out), url=url)[0] == 0
    served = httpx.get(f"{url}/v1/experiments/{finished}/stats").json()
    assert json.loads(out.read_text()) == served
    assert served["summary"]["steps_run"] == 8

    png, svg = tmp_path / "profile.png", tmp_path / "heatmap.svg"
    assert cli("plot", finished, "gradient-profile", "--out", str(png), url=url)[0] == 0
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert cli("plot", finished, "gradient-heatmap", "--out", str(svg), url=url)[0] == 0
    assert b"<svg" in svg.read_bytes()[:500]

    code, _, err = cli("plot", finished, "nope", "--out", str(tmp_path / "n.png"), url=url)
    assert code == 2
    assert err.startswith("ERROR 404 Not found: ")
    assert "gradient-profile" in err
    assert not (tmp_path / "n.png").exists()

    # The format follows --out: a .pdf is a PDF, served as such, with the zoomed scale too.
    pdf = tmp_path / "heatmap.pdf"
    assert cli("plot", finished, "gradient-heatmap", "--out", str(pdf), url=url)[0] == 0
    assert (
        pdf.read_bytes()
        == httpx.get(f"{url}/v1/experiments/{finished}/plots/gradient-heatmap.pdf").content
    )
    assert pdf.read_bytes().startswith(b"%PDF-")
    zoomed = tmp_path / "zoomed.svg"
    args = ("plot", finished, "gradient-heatmap", "--out", str(zoomed), "--scale", "auto")
    assert cli(*args, url=url)[0] == 0
    assert zoomed.read_bytes() != svg.read_bytes()
    for bad in ("x.jpg", "x"):
        code, _, err = cli("plot", finished, "activations", "--out", str(tmp_path / bad), url=url)
        assert code == 2
        assert ".png, .svg or .pdf" in err
        assert not (tmp_path / bad).exists()
    code, _, err = cli(
        "plot", finished, "activations", "--out", str(pdf), "--format", "svg", url=url
    )
    assert code == 2
    assert "does not match" in err


def test_remedy_submits_the_changed_spec(cli: Run, url: str, finished: str, store: Store) -> None:
    code, out, _ = cli("remedy", finished, "0", url=url)
    assert code == 0
    new = store.get(out.strip())
    assert (new.spec.model.activation, new.spec.model.init) == ("relu", "he_normal")
    assert new.spec.name == "cli-vanishing +remedy 0"
    assert f"remedy 0 of {finished}" in cli("status", new.id, url=url)[1]
    code, _, err = cli("remedy", finished, "9", url=url)
    assert code == 2
    assert err.startswith("ERROR 404 Not found: ")
    assert "there is no remedy 9" in err


def test_bad_local_input_exits_2_before_any_request(cli: Run, tmp_path: Path) -> None:
    nowhere = dead_url()  # a request would exit 3
    (tmp_path / "text.json").write_text("{not json")
    for path, why in [
        (tmp_path / "missing.json", "cannot read"),
        (tmp_path / "text.json", "is not JSON"),
        (Path(write_json(tmp_path / "list.json", [1])), "must hold a JSON object"),
    ]:
        code, out, err = cli("submit", str(path), url=nowhere)
        assert (code, out) == (2, "")
        assert why in err
    assert cli("list", url="localhost:8000")[0] == 2  # no scheme


def test_an_unreachable_service_exits_3(
    cli: Run, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    nowhere = dead_url()
    monkeypatch.setenv("GRADATLAS_URL", nowhere)
    code, out, err = cli("list")
    assert (code, out) == (3, "")
    first, hint = err.splitlines()
    assert first.startswith(f"ERROR cannot reach the service at {nowhere}: ")
    assert "Connection refused" in first
    assert hint == "is the service running? `make run`"
    # The console script, as a person runs it.
    proc = subprocess.run(
        [str(BIN / "gradatlas"), "status", "x", "--url", nowhere],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 3
    assert "is the service running?" in proc.stderr


def test_a_service_without_redis_exits_3(cli: Run) -> None:
    no_redis = Settings(redis_url=f"redis://127.0.0.1:{free_port()}/0", redis_socket_timeout_s=0.5)
    with serve(create_app(no_redis)) as url:
        code, out, err = cli("list", url=url)
        assert (code, out) == (3, "")
        assert err.startswith("ERROR 503 ")


# ---------------------------------------------------------------- a real worker


@pytest.fixture(scope="module")
def service_url(
    start_redis: Callable[[], RedisServer],
    start_worker: Callable[..., Proc],
    start_api: Callable[..., tuple[Proc, str]],
) -> str:
    env = service_env(start_redis().url, GRADATLAS_PROGRESS_EVERY_S="0.1")
    start_worker(env)
    return start_api(env)[1]


@pytest.mark.e2e
def test_submit_wait_then_remedy_wait(cli: Run, service_url: str, tmp_path: Path) -> None:
    spec = write_json(tmp_path / "spec.json", VANISHING)
    code, out, err = cli("submit", spec, "--wait", url=service_url)
    assert code == 0, err
    exp_id, report = out.splitlines()[0], out.splitlines()[1:]
    assert report[0] == f"{exp_id} cli-vanishing: succeeded"
    assert "  verdict: vanishing" in report
    assert "    0  model.activation=relu model.init=he_normal" in report
    assert "8/8" in err  # the progress bar reached the end

    code, out, err = cli("remedy", exp_id, "0", "--wait", url=service_url)
    assert code == 0, err
    new_id = out.splitlines()[0]
    assert new_id != exp_id
    assert out.splitlines()[1] == f"{new_id} cli-vanishing +remedy 0: succeeded"
    body = httpx.get(f"{service_url}/v1/experiments/{new_id}").json()
    assert body["meta"] == {"derived_from": exp_id, "remedy": "0"}


@pytest.mark.e2e
def test_sweep_wait_prints_the_table(cli: Run, service_url: str, tmp_path: Path) -> None:
    code, out, err = cli(
        "sweep", write_json(tmp_path / "sweep.json", TINY_SWEEP), "--wait", url=service_url
    )
    assert code == 0, err
    lines = out.splitlines()
    sweep_id = lines[0]
    assert lines[1] == f"{sweep_id} cli-sweep: succeeded (2 succeeded)"
    assert lines[2].split() == [
        *("PARAMS", "STATUS", "BACKPROP", "0/LAST", "BACKPROP", "/LAYER"),
        *("WEIGHT-GRAD", "0/LAST", "WEIGHT-GRAD", "/LAYER", "VAL", "ACC", "VERDICT", "ID"),
    ]
    assert [line.split()[:2] for line in lines[3:]] == [
        ["model.depth=2", "succeeded"],
        ["model.depth=6", "succeeded"],
    ]
    assert "2/2" in err
