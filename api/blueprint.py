"""flask-smorest's Blueprint, parsing JSON bodies with exact decimals (webargs uses plain
json.loads, which would turn 0.1 into a float before any validation)."""
from __future__ import annotations

import json
from typing import Any

import flask
import flask_smorest
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request

from forms import json_loads


class ExactJsonParser(FlaskParser):
    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            return core.missing
        data = req.get_data(cache=True)
        # webargs turns only JSONDecodeError/UnicodeDecodeError into its 400; anything else raised
        # here would be a 500.
        try:
            return json_loads(data.decode("utf-8"))
        except json.JSONDecodeError as exc:
            if not data.strip():
                raise  # webargs: an empty body is a missing one
            abort(400, exc=exc, messages={"json": [f"invalid JSON: {exc.msg}"]})
        except UnicodeDecodeError as exc:
            abort(400, exc=exc, messages={"json": [f"the request body is not UTF-8: {exc.reason}"]})
        except RecursionError:  # [[[[...]]]] 100,000 deep
            abort(400, messages={"json": ["the JSON document is nested too deeply"]})


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = ExactJsonParser()
