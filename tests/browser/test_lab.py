"""The lab end to end in headless Chromium, against a real redis-server, worker and API.

Every step saves a screenshot under var/artifacts/browser/.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from core.views import PLOT_NAMES, SWEEP_PLOT_NAMES

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

Shot = Callable[[Page, str], Path]
RUN_TIMEOUT_MS = 120_000


def open_lab(page: Page, query: str = "") -> None:
    page.goto(f"/{query}")
    page.wait_for_function("document.body.dataset.ready !== undefined")
    assert page.evaluate("document.body.dataset.ready") == "true", page.inner_text("#banner")


def text(page: Page, selector: str) -> str:
    """The element's text as written (inner_text would follow CSS's text-transform)."""
    return page.locator(selector).text_content() or ""


def value(page: Page, path: str) -> str:
    return page.input_value(f"[data-path='{path}']")


def test_a_preset_runs_live_and_a_remedy_starts_the_next_run(page: Page, shot: Shot) -> None:
    open_lab(page)
    page.select_option("#preset", "sigmoid-deep")
    assert value(page, "model.activation") == "sigmoid"
    assert value(page, "model.depth") == "20"
    page.fill("[data-path='training.epochs']", "80")
    shot(page, "1-preset")
    page.click("#run")
    expect(page.locator("#run-status")).to_have_text("running", timeout=RUN_TIMEOUT_MS)
    # The profile redraws from the event stream while the run is still running.
    steps_while_running: set[str] = set()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = text(page, "#run-status")
        step = page.get_attribute("#profile", "data-step")
        if status == "running" and step is not None:
            steps_while_running.add(step)
            if len(steps_while_running) == 2:
                shot(page, "2-live-profile")
        if status != "running" and status != "queued":
            break
        page.wait_for_timeout(100)
    assert len(steps_while_running) >= 2, steps_while_running
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#verdict-panel")).to_be_visible()
    verdict = text(page, "#verdict")
    assert verdict == "vanishing"
    remedy = page.locator("#remedies button.remedy").first
    expect(remedy).to_be_visible()
    assert "Rerun with" in remedy.inner_text()
    label = page.get_attribute("#profile", "aria-label") or ""
    assert "Gradient profile at step" in label
    shot(page, "3-verdict")
    first_run = text(page, "#run-title")
    remedy.click()
    expect(page.locator("#run-title")).not_to_have_text(first_run, timeout=10_000)
    assert text(page, "#run-status") in ("queued", "running", "succeeded")
    run_id = page.evaluate("new URLSearchParams(location.search).get('run')")
    assert run_id
    assert run_id in text(page, "#run-title")
    shot(page, "4-remedy-run")


def test_a_shared_link_reproduces_the_spec_and_seed(page: Page, shot: Shot) -> None:
    query = (
        "?model.depth=7&model.width=16&model.activation=tanh&model.init=he_uniform"
        "&seed=42&training.epochs=2&data.dataset=moons&data.n_samples=200"
    )
    open_lab(page, query)
    assert value(page, "model.depth") == "7"
    assert value(page, "model.activation") == "tanh"
    assert value(page, "model.init") == "he_uniform"
    assert value(page, "seed") == "42"
    shot(page, "1-opened")
    submits = lambda r: r.method == "POST" and r.url.endswith("/v1/experiments")  # noqa: E731
    with page.expect_request(submits) as req:
        page.click("#run")
    sent: dict[str, Any] = json.loads(req.value.post_data or "{}")
    assert sent["seed"] == 42
    assert sent["model"]["depth"] == 7
    assert sent["model"]["width"] == 16
    assert sent["model"]["activation"] == "tanh"
    assert sent["model"]["init"] == "he_uniform"
    assert sent["data"] == {**sent["data"], "dataset": "moons", "n_samples": 200}
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_TIMEOUT_MS)
    # The link now names the run, and opening it again shows the same spec and run.
    again = page.url
    assert "run=" in again
    assert "model.depth=7" in again
    page.goto(again)
    page.wait_for_function("document.body.dataset.ready === 'true'")
    assert value(page, "model.depth") == "7"
    assert value(page, "seed") == "42"
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=10_000)
    shot(page, "2-reopened")


def test_a_bad_value_is_shown_beside_its_field(page: Page, shot: Shot) -> None:
    open_lab(page, "?model.depth=3&training.epochs=1")
    page.fill("[data-path='model.depth']", "100000")
    page.click("#run")
    error = page.locator("#f-model-depth-error")
    expect(error).to_contain_text("less than or equal", timeout=10_000)
    assert page.get_attribute("[data-path='model.depth']", "aria-invalid") == "true"
    shot(page, "1-field-error")


def test_the_sweep_page_builds_a_grid_and_shows_its_figures(page: Page, shot: Shot) -> None:
    base = "model.width=8&data.dataset=moons&data.n_samples=100&training.epochs=1"
    open_lab(page, f"?page=sweep&{base}")
    page.fill("#axis1-values", "sigmoid, relu")
    page.select_option("#axis2-path", "model.depth")
    page.fill("#axis2-values", "2, 4")
    shot(page, "1-builder")
    page.click("#sweep-run")
    expect(page.locator("#sweep-view")).to_be_visible(timeout=10_000)
    expect(page.locator("#sweep-rows tr")).to_have_count(4)
    expect(page.locator("#sweep-status")).to_have_text("succeeded", timeout=RUN_TIMEOUT_MS)
    figures = page.locator("#sweep-figures img")
    expect(figures).to_have_count(len(SWEEP_PLOT_NAMES), timeout=10_000)
    page.wait_for_function(
        "[...document.querySelectorAll('#sweep-figures img')].every(i => i.naturalWidth > 0)",
        timeout=60_000,
    )
    for alt in figures.evaluate_all("imgs => imgs.map(i => i.alt)"):
        assert alt
    shot(page, "2-figures")


def test_the_experiment_page_shows_every_figure_with_its_caption(
    page: Page, shot: Shot, service: str
) -> None:
    import httpx

    spec = {"model": {"depth": 2, "width": 8, "activation": "relu"}, "training": {"epochs": 1},
            "data": {"dataset": "moons", "n_samples": 100}}  # fmt: skip
    exp = httpx.post(f"{service}/v1/experiments", json=spec).json()
    page.goto("/?page=experiments")
    expect(page.locator("#experiments tr").first).to_be_visible(timeout=10_000)
    page.goto(f"/?page=experiment&id={exp['id']}")
    page.wait_for_function("document.body.dataset.ready !== undefined")
    # Reload until it has run (the page shows what the run has now).
    for _ in range(60):
        if page.locator("#exp-figures img").count():
            break
        page.wait_for_timeout(500)
        page.reload()
        page.wait_for_function("document.body.dataset.ready !== undefined")
    page.wait_for_function(
        "(n) => { const i = [...document.querySelectorAll('#exp-figures img')];"
        " return i.length === n && i.every(x => x.complete && x.naturalWidth > 0); }",
        arg=len(PLOT_NAMES),
        timeout=60_000,
    )
    for caption in page.locator("#exp-figures figcaption").all_inner_texts():
        assert caption.strip()
    shot(page, "1-figures")


def test_teacher_mode_walks_the_claims(page: Page, shot: Shot) -> None:
    open_lab(page, "?lesson=2&hide=compare")
    expect(page.locator("#lesson")).to_be_visible()
    assert "depth" in page.inner_text("#lesson .lesson-title").lower()
    assert value(page, "model.depth") == "3"  # the shallow network first
    expect(page.locator("[data-part='compare']")).to_be_hidden()
    page.click("#lesson-next")
    assert "lesson=3" in page.url
    assert value(page, "model.depth") == "20"
    shot(page, "1-lesson")


def test_an_api_key_is_asked_once_and_kept_for_the_tab(page: Page, shot: Shot) -> None:
    seen: list[str | None] = []

    def needs_key(route: Route) -> None:
        auth = route.request.headers.get("authorization")
        seen.append(auth)
        if auth != "Bearer s3cret":
            route.fulfill(status=401, content_type="application/problem+json",
                          body=json.dumps({"status": 401, "title": "Unauthorized",
                                           "detail": "An API key is required."}))  # fmt: skip
        else:
            route.continue_()

    page.route("**/openapi.json", needs_key)
    page.goto("/")
    expect(page.locator("#key-dialog")).to_be_visible(timeout=10_000)
    shot(page, "1-asked")
    page.fill("#key-input", "s3cret")
    page.click("#key-dialog button[value='ok']")
    page.wait_for_function("document.body.dataset.ready === 'true'")
    assert seen == [None, "Bearer s3cret"]
    assert page.evaluate("sessionStorage.getItem('gradatlas-api-key')") == "s3cret"
    page.reload()
    page.wait_for_function("document.body.dataset.ready === 'true'")
    assert seen[-1] == "Bearer s3cret"
    expect(page.locator("#key-dialog")).to_be_hidden()


@pytest.mark.parametrize(("path", "ready"), [("/docs", ".opblock"), ("/redoc", "h1")])
def test_the_api_docs_render_with_the_network_blocked(
    page: Page, shot: Shot, path: str, ready: str
) -> None:
    page.goto(path)
    page.wait_for_selector(ready, timeout=30_000)
    assert "gradatlas" in page.inner_text("body")
    assert "/v1/experiments" in page.inner_text("body")
    shot(page, f"1-{path.strip('/')}")
