"""flask-smorest's Blueprint, parsing JSON bodies with exact decimals (webargs uses plain
json.loads, which would turn 0.1 into a float before any validation)."""
from __future__ import annotations

from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, is_json_request

from forms import json_loads


class ExactJsonParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        try:
            return json_loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise ValueError(f"request body is not UTF-8: {exc.reason}") from exc


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ExactJsonParser()
