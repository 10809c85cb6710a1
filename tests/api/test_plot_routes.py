"""Experiment and comparison plots over HTTP: images, caching, ETag/304, problems."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from insight_support import TINY, VANISHING, check_image, finished, is_problem, service, submit
from service_procs import RedisServer

from api.routers.compare import MAX_COMPARE
from api.services.figures import NAMESPACE, experiment_plot_key
from core.plots import FORMATS, PLOTS, captions
from core.store import Store, encode_result


@pytest.fixture(scope="module")
def app(redis_server: RedisServer) -> Iterator[tuple[TestClient, Store]]:
    with service(redis_server) as pair:
        yield pair


@pytest.fixture(scope="module")
def done(app: tuple[TestClient, Store]) -> str:
    c, store = app
    return finished(c, store, VANISHING)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("name", list(PLOTS))
def test_every_plot_of_a_finished_experiment(
    app: tuple[TestClient, Store], done: str, name: str, fmt: str
) -> None:
    c, store = app
    r = c.get(f"/v1/experiments/{done}/plots/{name}.{fmt}")
    data = check_image(r, fmt)
    assert r.headers["etag"].startswith('"')
    assert "max-age" in r.headers["cache-control"]
    # Rendered once and kept in the store.
    assert store.get_blob(NAMESPACE, experiment_plot_key(done, name, fmt)) == data
    if name == "gradient-profile" and fmt == "svg":
        # Matplotlib writes each text as a comment: the theory's line is in the legend.
        assert b"mean-field theory (step 0)" in data


def test_etag_304_and_the_cached_bytes_are_served(app: tuple[TestClient, Store], done: str) -> None:
    c, store = app
    url = f"/v1/experiments/{done}/plots/update-ratio.png"
    first = c.get(url)
    etag = first.headers["etag"]
    again = c.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag
    assert c.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    # The answer comes from the cache, not a new render.
    key = experiment_plot_key(done, "update-ratio", "png")
    store.put_blob(NAMESPACE, key, first.content[:-1] + b"!", ttl_s=60)
    assert c.get(url).content.endswith(b"!")
    store.put_blob(NAMESPACE, key, first.content, ttl_s=60)
    # Another format is another figure with another tag.
    assert c.get(url.replace(".png", ".svg")).headers["etag"] != etag


def test_unknown_names_and_formats_are_404_listing_the_valid_ones(
    app: tuple[TestClient, Store], done: str
) -> None:
    c, _ = app
    for bad in ("gradient-profil.png", "gradient-profile.jpg", "gradient-profile", ".png"):
        body = is_problem(c.get(f"/v1/experiments/{done}/plots/{bad}"), 404)
        assert body["plots"] == list(PLOTS)
        assert body["formats"] == ["png", "svg", "pdf"]
        assert "gradient-profile.{png,svg,pdf}" in body["detail"]
    body = is_problem(c.get("/v1/experiments/000000000000000000000000/plots/activations.png"), 404)
    assert "000000000000000000000000" in body["detail"]


def test_queued_is_409_and_running_is_rendered_but_not_cached(
    app: tuple[TestClient, Store], done: str
) -> None:
    c, store = app
    exp_id = submit(c, VANISHING)
    body = is_problem(c.get(f"/v1/experiments/{exp_id}/plots/gradient-profile.png"), 409)
    assert "queued" in body["detail"]
    # Running, with a partial result (here: a finished one's, which has the same shape).
    claim = store.claim(exp_id, worker="w@test", max_attempts=3, lease_s=60)
    assert claim.outcome == "run"
    partial = store.load_result(done)
    assert partial is not None
    del partial["theory"]  # a partial result carries no theory: the API computes it
    store.renew(exp_id, claim.attempt, lease_s=60, result=encode_result(partial))
    r = c.get(f"/v1/experiments/{exp_id}/plots/gradient-profile.svg")
    data = check_image(r, "svg")
    assert b"mean-field theory (step 0)" in data
    assert r.headers["cache-control"] == "no-store"
    assert "etag" not in r.headers
    assert store.get_blob(NAMESPACE, experiment_plot_key(exp_id, "gradient-profile", "svg")) is None


def test_deleting_an_experiment_deletes_its_cached_plots(app: tuple[TestClient, Store]) -> None:
    c, store = app
    exp_id = finished(c, store)
    url = f"/v1/experiments/{exp_id}/plots/training-curves.png"
    etag = c.get(url).headers["etag"]
    key = experiment_plot_key(exp_id, "training-curves", "png")
    assert store.get_blob(NAMESPACE, key) is not None
    assert c.delete(f"/v1/experiments/{exp_id}").status_code == 204
    assert store.get_blob(NAMESPACE, key) is None
    is_problem(c.get(url), 404)
    is_problem(c.get(url, headers={"If-None-Match": etag}), 404)


def test_compare_overlays_experiments_with_etag(app: tuple[TestClient, Store], done: str) -> None:
    c, store = app
    other = finished(c, store, TINY)
    for fmt in ("png", "svg"):
        r = c.get(f"/v1/compare/plots/gradient-profile.{fmt}", params={"ids": f"{done},{other}"})
        data = check_image(r, fmt)
        if fmt == "svg":
            assert b"sigmoid-8" in data
            assert b"tiny" in data
        again = c.get(
            f"/v1/compare/plots/gradient-profile.{fmt}",
            params={"ids": f"{done},{other}"},
            headers={"If-None-Match": r.headers["etag"]},
        )
        assert again.status_code == 304
    # Order matters (colours and legend): another order is another figure.
    swapped = c.get("/v1/compare/plots/gradient-profile.png", params={"ids": f"{other},{done}"})
    assert swapped.headers["etag"] != r.headers["etag"]


def test_compare_problems_name_the_id(app: tuple[TestClient, Store], done: str) -> None:
    c, _ = app
    url = "/v1/compare/plots/gradient-profile.png"
    missing = "0" * 24
    body = is_problem(c.get(url, params={"ids": f"{done},{missing}"}), 404)
    assert missing in body["detail"]
    queued = submit(c, TINY)
    body = is_problem(c.get(url, params={"ids": f"{done},{queued}"}), 409)
    assert queued in body["detail"]
    for ids in ("", " , ", ",".join(f"{i:024x}" for i in range(MAX_COMPARE + 1))):
        body = is_problem(c.get(url, params={"ids": ids}), 422)
        assert [e["field"] for e in body["errors"]] == ["ids"]
    assert str(MAX_COMPARE) in body["detail"]
    body = is_problem(c.get("/v1/compare/plots/training-curves.png", params={"ids": done}), 404)
    assert body["plots"] == ["gradient-profile"]


def test_the_plot_list_gives_each_figure_its_caption_and_urls(
    app: tuple[TestClient, Store], done: str
) -> None:
    c, _ = app
    r = c.get(f"/v1/experiments/{done}/plots")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["experiment_id"] == done
    assert [p["name"] for p in body["plots"]] == list(PLOTS)
    for entry in body["plots"]:
        text = captions.EXPERIMENT[entry["name"]]
        assert (entry["title"], entry["caption"]) == (text.title, text.caption)
        assert set(entry["urls"]) == set(FORMATS)
        svg = check_image(c.get(entry["urls"]["svg"]), "svg")
        assert text.caption.split(",")[0].encode() in svg  # the same words, in <desc>
    is_problem(c.get("/v1/experiments/000000000000000000000000/plots"), 404)


def test_pdf_is_a_pdf_and_scale_auto_is_another_cached_figure(
    app: tuple[TestClient, Store], done: str
) -> None:
    c, store = app
    url = f"/v1/experiments/{done}/plots/gradient-heatmap"
    pdf = c.get(f"{url}.pdf")
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-")
    absolute = c.get(f"{url}.png")
    zoomed = c.get(f"{url}.png", params={"scale": "auto"})
    check_image(zoomed, "png")
    assert zoomed.content != absolute.content
    assert zoomed.headers["etag"] != absolute.headers["etag"]
    assert c.get(f"{url}.png", params={"scale": "absolute"}).content == absolute.content
    key = experiment_plot_key(done, "gradient-heatmap", "png", "auto")
    assert store.get_blob(NAMESPACE, key) == zoomed.content
    body = is_problem(c.get(f"{url}.png", params={"scale": "log"}), 422)
    assert [e["field"] for e in body["errors"]] == ["scale"]
