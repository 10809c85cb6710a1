"""The browser suite's service (redis-server, a Celery worker, uvicorn) and its Chromium.

Chromium is Debian's (scripts/ensure-chromium.sh installs it), driven by Playwright's
Python package; Playwright never downloads a browser here. Screenshots of each step go to
var/artifacts/browser/ (printed at the end of the run).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from service_procs import Proc, RedisServer, service_env

CHROMIUM = os.environ.get("GRADATLAS_CHROMIUM", "/usr/bin/chromium")
#: As root, without a sandbox; and no background traffic to a network this machine lacks.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "artifacts" / "browser"

if not shutil.which(CHROMIUM):  # pragma: no cover - make test installs it
    pytest.skip(f"{CHROMIUM} is missing: scripts/ensure-chromium.sh", allow_module_level=True)


@pytest.fixture(scope="module")
def service(
    start_redis: Callable[[], RedisServer],
    start_worker: Callable[..., Proc],
    start_api: Callable[..., tuple[Proc, str]],
) -> str:
    """redis-server, one worker and the API, with frequent progress; the API's base URL."""
    redis = start_redis()
    env = service_env(redis.url, GRADATLAS_PROGRESS_EVERY_S="0.2")
    start_worker(env)
    _, url = start_api(env)
    return url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Browser, service: str) -> Iterator[Page]:
    """A fresh tab that may reach the service and nothing else."""
    context = browser.new_context(base_url=service, viewport={"width": 1280, "height": 900})
    context.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith(service) else route.abort(),
    )
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    # An error answer the page handles is logged as "Failed to load resource": not a fault.
    tab.on(
        "console",
        lambda m: (
            errors.append(m.text)
            if m.type == "error" and not m.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    context.close()
    assert not errors, f"the page threw: {errors}"


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Page, str], Path]:
    """Save a screenshot of a step as a test artefact; its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test = request.node.name.removeprefix("test_")

    def take(tab: Page, step: str) -> Path:
        path = ARTIFACTS / f"{test}-{step}.png"
        tab.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        return path

    return take
