"""How Flask serves the built UI (api/web.py): the client-side router owns every non-API path,
hashed assets are cached for good, the shell is always revalidated. No browser needed."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from api.web import register_web


def _app(dist: Path) -> Flask:
    app = Flask(__name__)
    register_web(app, dist)
    return app


def _dist(tmp_path: Path) -> Path:
    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><div id=app></div>", encoding="utf-8")
    (tmp_path / "assets" / "index-abc123.js").write_text("console.log(1)", encoding="utf-8")
    (tmp_path / "favicon.svg").write_text("<svg/>", encoding="utf-8")
    return tmp_path


def test_client_routes_get_the_app_shell_revalidated_every_time(tmp_path: Path) -> None:
    client = _app(_dist(tmp_path)).test_client()
    for url in ("/", "/inbox?tab=group", "/tasks/12", "/requests/3", "/index.html"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert b'id=app' in r.data
        assert r.headers["Cache-Control"] == "no-cache"


def test_hashed_assets_are_cached_for_a_year(tmp_path: Path) -> None:
    client = _app(_dist(tmp_path)).test_client()
    r = client.get("/assets/index-abc123.js")
    assert r.status_code == 200
    assert "immutable" in r.headers["Cache-Control"]
    assert client.get("/favicon.svg").status_code == 200


def test_missing_assets_and_api_paths_are_404_not_the_shell(tmp_path: Path) -> None:
    client = _app(_dist(tmp_path)).test_client()
    assert client.get("/assets/index-old999.js").status_code == 404
    assert client.get("/api/v1/nope").status_code == 404
    assert client.get("/api").status_code == 404


def test_without_a_build_it_says_how_to_build(tmp_path: Path) -> None:
    r = _app(tmp_path / "missing").test_client().get("/inbox")
    assert r.status_code == 200
    assert "not built yet" in r.get_data(as_text=True)


def test_api_docs_render_in_the_browser_without_any_cdn(browser: Any, base_url: str, artifacts: Path) -> None:
    """/api/docs is Swagger UI served from the build (web/dist/swagger-ui): an intranet server
    has no CDN, so every request the page makes stays on this server."""
    from urllib.parse import urlparse

    context = browser.new_context(locale="zh-CN")
    page = context.new_page()
    hosts: set[str] = set()
    page.on("request", lambda req: hosts.add(urlparse(req.url).netloc))
    page.goto(f"{base_url}/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    page.locator(".opblock").first.wait_for()
    assert page.locator(".opblock").count() > 50  # every operation of the OpenAPI document is listed
    page.screenshot(path=str(artifacts / "api-docs.png"))
    context.close()
    assert hosts == {urlparse(base_url).netloc}
