"""Serves the built browser UI (web/dist) at / and lets the client-side router own every
non-API path. The API is the only way the UI reaches data."""
from __future__ import annotations

from pathlib import Path

from flask import Flask, Response, send_from_directory

from api.config import ROOT

DIST = ROOT / "web" / "dist"


def register_web(app: Flask, dist: Path = DIST) -> None:
    @app.get("/")
    @app.get("/<path:path>")
    def spa(path: str = "") -> Response:
        if path.startswith("api/"):
            from werkzeug.exceptions import NotFound

            raise NotFound()
        if path and (dist / path).is_file():
            return send_from_directory(dist, path)
        if not (dist / "index.html").is_file():
            return Response("<h1>新能源审批平台</h1><p>The web UI is not built yet: run <code>make run</code>.</p>",
                            mimetype="text/html")
        return send_from_directory(dist, "index.html")
