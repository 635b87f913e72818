"""JSON in and out of the API: exact decimals both ways (money never passes through float),
ISO 8601 datetimes, Chinese characters as they are."""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask.json.provider import DefaultJSONProvider

from forms import json_dumps, json_loads


def _default(o: Any) -> Any:
    if isinstance(o, (dt.datetime, dt.date)):
        return o.isoformat()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


class ApiJSONProvider(DefaultJSONProvider):
    ensure_ascii = False
    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("ensure_ascii", False)
        kwargs.pop("default", None)
        return json_dumps(obj, default=_default, **kwargs)

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return json_loads(s)
        except RecursionError:  # [[[[...]]]] 100,000 deep: bad input (400), not a server error
            raise ValueError("the JSON document is nested too deeply") from None
