"""Service-task operators: the Python functions BPMN service tasks call.

A model names one with `<spiffworkflow:serviceTaskOperator id="settlement/reconcile"
resultVariable="reconciliation">` and its parameters (expressions evaluated in the sandbox).
Operators are trusted code of this project (not model scripts): they take keyword arguments
with the evaluated parameters and return JSON-able data (Decimals allowed), which the task
stores in its result variable. In BPMN unit tests they are not called: the test data stands in.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

Operator = Callable[..., Any]
REGISTRY: dict[str, Operator] = {}


def operator(name: str) -> Callable[[Operator], Operator]:
    """Register a function as the service-task operator `name`."""

    def deco(fn: Operator) -> Operator:
        if name in REGISTRY and REGISTRY[name] is not fn:
            raise ValueError(f"service operator '{name}' registered twice")
        REGISTRY[name] = fn
        return fn

    return deco


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
