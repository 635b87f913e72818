"""The errors the script sandbox raises (engine/sandbox.py) and its `re` (engine/script_regex.py)."""
from __future__ import annotations


class ScriptError(Exception):
    """Base of every error the sandbox itself raises; a script's own exceptions pass through.

    `lineno` (when known) is the offending line of the script."""


class ScriptSyntaxError(ScriptError, SyntaxError):
    """Source that does not parse. Also a SyntaxError: Spiff reads its lineno, and DMN relies on
    validate() raising SyntaxError to decide whether a cell like `< 500` needs the input prepended."""


class ScriptSecurityError(ScriptError):
    """The script tried something the sandbox forbids (import, underscore attribute, open, ...)."""


class ScriptTimeout(ScriptError):
    """The script ran past its wall-clock limit."""


class ScriptResourceError(ScriptError):
    """The script would allocate an unreasonably large string, list or integer."""
