"""Service-task operators: the Python functions BPMN service tasks call.

A model names one with `<spiffworkflow:serviceTaskOperator id="settlement/reconcile"
resultVariable="reconciliation">` and its parameters (expressions evaluated in the sandbox).
Operators are trusted code of this project (not model scripts): they take keyword arguments
with the evaluated parameters and return JSON-able data (Decimals allowed), which the task
stores in its result variable. In BPMN unit tests they are not called: the test data stands in.

Files: an operator that makes a file (a workbook, a PDF) stores it with
``write_attachment(content, filename, content_type=None)`` and returns the ``sha256:<hex>`` ref it
gets (e.g. as its result). The file is content-addressed (the same bytes give the same ref), and
at the end of the engine step it is recorded with no uploader (the system) and linked to the
request whose data holds the ref: whoever may read the request may download it through
``GET /api/v1/attachments/<sha256>``, and a ``format: attachment`` form field shows it. Operators
read uploaded files through a reader the platform sets the same way (e.g.
``settlement.ATTACHMENT_READER``).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.attachments.service import AttachmentWriter

Operator = Callable[..., Any]
REGISTRY: dict[str, Operator] = {}
# Set by the platform once its attachment store exists (api/app.py: engine.attachments.service.make_writer).
ATTACHMENT_WRITER: AttachmentWriter | None = None


def operator(name: str) -> Callable[[Operator], Operator]:
    """Register a function as the service-task operator `name`."""

    def deco(fn: Operator) -> Operator:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"service operator '{name}' registered twice")
        REGISTRY[name] = fn
        return fn

    return deco


def write_attachment(content: bytes, filename: str, content_type: str | None = None) -> str:
    """For operators: store `content` as a file of the request being run and return its ref
    (``sha256:<hex>``) to put in the task data. `filename` is what downloads are called (Chinese
    kept; its extension and `content_type`, when given, must agree with the content: XLSX, PDF,
    CSV, ...). Raises RuntimeError when the platform has no attachment store (a BPMN unit test
    does not call operators), UnsupportedType / BadRequest / TooLarge for content it refuses."""
    if ATTACHMENT_WRITER is None:
        raise RuntimeError("no attachment store is configured to write files to")
    return ATTACHMENT_WRITER(content, filename, content_type)


@functools.cache
def load_builtin_operators() -> dict[str, Operator]:
    """Import the modules that register this project's operators (once); returns the registry."""
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{mod.name}")
    return REGISTRY


@operator("echo")
def echo(**params: Any) -> dict[str, Any]:
    """Returns its parameters: handy to try service tasks in a model."""
    return params
