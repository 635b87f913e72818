"""Instructions shown above a task's form: Markdown with Jinja placeholders from task data.

Rendered in Jinja's immutable sandbox like the schemas, but as plain text (no JSON escaping);
the browser renders the Markdown safely. A broken template never hides the task: the error
is shown in place of the text."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

_env = ImmutableSandboxedEnvironment(autoescape=False)


def render_instructions(text: str, task_data: Mapping[str, Any]) -> str:
    if "{" not in text:
        return text
    try:
        return _env.from_string(text).render(dict(task_data))
    except TemplateError as exc:
        return f"{text}\n\n> 模板错误 / template error: {exc}"
    except Exception as exc:  # template code can raise anything; it must not break the task page
        return f"{text}\n\n> 模板错误 / template error: {type(exc).__name__}: {exc}"
