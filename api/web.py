"""Serves the built browser UI (web/dist) at / and lets the client-side router own every
non-API path. The API is the only way the UI reaches data.

Caching: files under assets/ carry a content hash in their names (Vite), so browsers may keep
them for a year; index.html names the current ones and is revalidated on every visit, so a
new deployment reaches phones at the next page load."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, send_from_directory
from werkzeug.exceptions import NotFound

from api.config import ROOT

DIST = ROOT / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"


def register_web(app: Flask, dist: Path = DIST) -> None:
    def index() -> Response:
        if not (dist / "index.html").is_file():
            return Response("<h1>新能源审批平台</h1><p>The web UI is not built yet: run <code>make run</code>.</p>",
                            mimetype="text/html")
        resp = send_from_directory(dist, "index.html", max_age=0)
        resp.headers["Cache-Control"] = "no-cache"
        return resp

    @app.get("/")
    @app.get("/<path:path>")
    def spa(path: str = "") -> Response:
        if path.startswith("api/") or path == "api":
            raise NotFound()
        if path and path != "index.html" and (dist / path).is_file():
            resp = send_from_directory(dist, path)
            if path.startswith("assets/"):
                resp.headers["Cache-Control"] = IMMUTABLE
            return resp
        if path.startswith("assets/"):
            raise NotFound()  # an old hashed file: a 404, not the app shell parsed as JavaScript
        return index()
