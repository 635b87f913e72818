"""Sandboxed Python for BPMN script tasks, pre/post scripts, gateway conditions and DMN expressions.

Process designers write these snippets, so they are compiled with RestrictedPython (no names or
attributes starting with "_", guarded attribute access, an allow-list of builtins and modules),
run against a wall-clock deadline, and the operators that can allocate gigabytes in a single C
call (`*`, `**`, `<<`, `+`, `%`, `range()`, padding widths) are checked before they run.

What can be seen without running a script (imports off the allow-list, `getattr(x, "__class__")`,
`"{0.__class__}".format`, constant bombs such as `'x' * 10**10`) is refused when it is compiled, so
a deployment names the element. Memory growth is sampled every few milliseconds of a running
script, values written back to task data must be storable (depth, size, types), and a script's
MemoryError or RecursionError is its own error, never the worker's.

Scripts' `re` is RE2 (linear time) behind re's interface: a backtracking engine spends hours in one
C call on `re.match(r"(a+)+$", "a" * 40 + "b")`, holding the GIL, which no deadline interrupts (see
engine/script_regex.py for what differs from Python's re).

This is defence in depth, not a proof: a single C-level call cannot be interrupted by the deadline
(str() of a huge structure built from shared references), so workers should also run under an OS
memory/CPU limit.
"""
from __future__ import annotations

import _string  # formatter_field_name_split: the same field parser str.format uses
import ast
import datetime as _dt
import decimal
import functools
import itertools
import json
import logging
import math
import operator
import os
import re
import string
import sys
import threading
import time
import types
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec, safe_builtins
from RestrictedPython.Guards import full_write_guard, guarded_iter_unpack_sequence, guarded_unpack_sequence
from RestrictedPython.transformer import INSPECT_ATTRIBUTES, RestrictingNodeTransformer, copy_locations
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import BasePythonScriptEngineEnvironment, PythonScriptEngine
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task as SpiffTask

from engine import script_regex
from engine.script_errors import (  # re-exported: callers import them from here
    ScriptError,
    ScriptResourceError,
    ScriptSecurityError,
    ScriptSyntaxError,
    ScriptTimeout,
)
from engine.script_regex import (
    REGEX_FUNCTION_FLAGS_AT,
    RegexError,
    RegexMatch,
    RegexPattern,
    compile_script_pattern,
    regex_functions,
)

logger = logging.getLogger(__name__)

# Spiff's PythonScriptEngine finds the failing line by looking for traceback frames with this name.
SCRIPT_FILENAME = "<string>"
MAX_SLEEP_SECONDS = 1.0
# Modules a script may import (each reduced to listed names, see _Guards._modules).
ALLOWED_MODULES = frozenset({"datetime", "decimal", "json", "math", "re", "time"})
DEFAULT_MAX_SIZE = 10_000_000  # elements/characters one operation may create
DEFAULT_MAX_INT_BITS = 100_000  # ~30,000 digits
DEFAULT_MAX_MEMORY = 256 * 1024 * 1024  # growth of the process's resident memory during one script
MEMORY_CHECK_INTERVAL = 0.005  # seconds of script run time between two memory samples
# Values written back to task data are stored as JSON and deep-copied by SpiffWorkflow.
MAX_DATA_DEPTH = 100
MAX_DATA_ITEMS = 1_000_000
# f-strings with more fields than this are joined through a size guard (see SandboxPolicy).
MAX_UNGUARDED_FSTRING_FIELDS = 16
# Top-level values of these types are written back to task data (what the instance serializer,
# engine/instances/state.py, can store); anything else a script leaves behind (functions, modules,
# regex matches, iterators) is a temporary and would only break serialization later.
WRITEBACK_TYPES: tuple[type, ...] = (
    type(None), bool, int, float, str, list, tuple, dict, set,
    decimal.Decimal, _dt.date, _dt.timedelta, uuid.UUID,
)


def _with_line(err: ScriptError, lineno: int | None) -> ScriptError:
    err.lineno = lineno  # type: ignore[attr-defined]
    return err


# --------------------------------------------------------------------------- compilation

class SandboxPolicy(RestrictingNodeTransformer):
    """RestrictedPython's policy plus resource guards and an un-swallowable deadline."""

    _BINOP_GUARDS: dict[type[ast.operator], str] = {
        ast.Add: "_add_", ast.Mult: "_mul_", ast.Pow: "_pow_", ast.LShift: "_lshift_", ast.Mod: "_mod_",
        ast.FloorDiv: "_floordiv_",
    }

    @staticmethod
    def _call(name: str, args: list[ast.expr], like: ast.AST) -> ast.Call:
        node = ast.Call(func=ast.Name(name, ast.Load()), args=args, keywords=[])
        copy_locations(node, like)  # type: ignore[arg-type]
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        # `"a" * 10**10` must be refused before the C code allocates it, so the operator becomes
        # a call to a guard that checks the result size first.
        node = self.node_contents_visit(node)
        guard = self._BINOP_GUARDS.get(type(node.op))
        return node if guard is None else self._call(guard, [node.left, node.right], node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # f"{x:>1000000000}" allocates inside format(); route values with a spec through a guard.
        node = self.node_contents_visit(node)
        if node.format_spec is not None:
            node.value = self._call("_format_", [node.value, ast.Constant(node.conversion), node.format_spec], node)
            node.conversion, node.format_spec = -1, None
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        # Each field of an f-string may be a 10 MB string; BUILD_STRING joins them in one C call.
        # Short f-strings (bounded by their field count) stay native; long ones go through a guard.
        node = self.node_contents_visit(node)
        fields = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        if len(fields) <= MAX_UNGUARDED_FSTRING_FIELDS:
            return node
        parts: list[ast.expr] = []
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                spec = v.format_spec if v.format_spec is not None else ast.Constant("")
                parts.append(self._call("_format_", [v.value, ast.Constant(v.conversion), spec], v))
            else:
                parts.append(v)
        return self._call("_join_", [ast.Tuple(parts, ast.Load())], node)

    # CPython 3.11 emits no trace "line" event when a loop jumps back within one line
    # (`while True: pass`, comprehensions), so settrace alone cannot see such loops spin: each loop
    # body and each comprehension step also checks the deadline explicitly.
    def visit_While(self, node: ast.While) -> ast.AST:
        node = self.node_contents_visit(node)
        node.body.insert(0, self._deadline_check(node.body[0]))
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        new = super().visit_For(node)
        assert isinstance(new, ast.For)
        new.body.insert(0, self._deadline_check(new.body[0]))
        return new

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        new = super().visit_comprehension(node)
        assert isinstance(new, ast.comprehension)
        new.ifs.insert(0, self._call("_check_deadline_", [], new.iter))
        return new

    def visit_Try(self, node: ast.Try) -> ast.AST:
        # A script must not swallow ScriptTimeout (`except: pass`, `finally: continue`) and run on,
        # the less so as CPython switches tracing off after a trace function raised. Every handler
        # and finally block therefore starts by re-checking the deadline.
        node = self.node_contents_visit(node)
        for handler in node.handlers:
            handler.body.insert(0, self._deadline_check(handler))
        if node.finalbody:
            node.finalbody.insert(0, self._deadline_check(node.finalbody[0]))
        return node

    def _deadline_check(self, like: ast.AST) -> ast.Expr:
        stmt = ast.Expr(self._call("_check_deadline_", [], like))
        copy_locations(stmt, like)  # type: ignore[arg-type]
        return stmt

    def visit_ClassDef(self, node: ast.ClassDef) -> ast.AST:
        self.error(node, "class definitions are not allowed in scripts")
        return node


# FEEL intervals such as `[500000..2000000]` are common in DMN tables but are not Python, and
# Spiff's DMN engine passes cells through unchanged. When the source does not parse we rewrite
# intervals (outside string literals) to `feel_range(low, high, low_incl, high_incl)`, whose
# __eq__/__contains__ test membership, so DMN's generated `(amount) == ([a..b])` just works.
_FEEL_RANGE = re.compile(
    r"(?P<open>[\[\]\(])\s*(?P<low>[^\[\]\(\)]+?)\s*\.\.\s*(?P<high>[^\[\]\(\)]+?)\s*(?P<close>[\[\]\)])"
    r"""(?=(?:[^'"]|'[^']*'|"[^"]*")*$)"""
)


def _rewrite_feel_ranges(source: str) -> str:
    if ".." not in source:
        return source
    return _FEEL_RANGE.sub(
        lambda m: f"feel_range({m['low']}, {m['high']}, {m['open'] == '['}, {m['close'] == ']'})", source
    )


def _parse(source: str, mode: str) -> ast.AST:
    try:
        return ast.parse(source, SCRIPT_FILENAME, mode)
    except (RecursionError, MemoryError):
        raise ScriptSyntaxError("the script is nested too deeply", (SCRIPT_FILENAME, 1, None, None)) from None
    except (SyntaxError, ValueError) as exc:
        feel = _rewrite_feel_ranges(source)
        if feel != source:
            try:
                return ast.parse(feel, SCRIPT_FILENAME, mode)
            except SyntaxError:
                pass
        lineno = getattr(exc, "lineno", None) or 0
        msg = getattr(exc, "msg", None) or str(exc)
        details = (SCRIPT_FILENAME, lineno, getattr(exc, "offset", None), getattr(exc, "text", None))
        raise ScriptSyntaxError(msg, details) from None


_UNKNOWN = object()
_CONST_BINOPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.Mod: operator.mod, ast.FloorDiv: operator.floordiv,
}
_CONST_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert,
}


class _StaticChecks(ast.NodeVisitor):
    """Refusals that need no run: imports off the allow-list, literal underscore attribute names
    (getattr(x, "__class__"), "{0.__class__}".format(x)) and constant expressions that would
    exceed the size limits ('x' * 10**10). Deploy-time errors then name the BPMN element."""

    def __init__(self) -> None:
        self.guards = _Guards(DEFAULT_MAX_SIZE, DEFAULT_MAX_INT_BITS)
        self.values: dict[int, Any] = {}

    @staticmethod
    def refuse(node: ast.AST, err: ScriptError) -> ScriptError:
        lineno = getattr(node, "lineno", None)
        return _with_line(type(err)(f"Line {lineno}: {err}" if lineno else str(err)), lineno)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._check_module(node, alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        self._check_module(node, "." * node.level + (node.module or ""))

    def _check_module(self, node: ast.AST, name: str) -> None:
        if name not in ALLOWED_MODULES:
            allowed = ", ".join(sorted(ALLOWED_MODULES))
            raise self.refuse(node, ScriptSecurityError(
                f"import of module '{name}' is not allowed in scripts (allowed: {allowed})"))

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and func.id in ("getattr", "hasattr") and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and _forbidden_attribute(name.value):
                raise self.refuse(node, ScriptSecurityError(
                    f"access to attribute '{name.value}' is not allowed in scripts"))
        if (isinstance(func, ast.Attribute) and func.attr in ("format", "format_map")
                and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str)):
            bad = _format_string_attribute(func.value.value)
            if bad:
                raise self.refuse(node, ScriptSecurityError(f"access to attribute '{bad}' is not allowed in scripts"))
        if (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re"
                and func.attr in REGEX_FUNCTION_FLAGS_AT and node.args):
            # A constant pattern RE2 cannot run (backreference, lookaround) is named at deploy time.
            pattern = self.value(node.args[0])
            flags = _constant_regex_flags(node, REGEX_FUNCTION_FLAGS_AT[func.attr])
            if isinstance(pattern, (str, bytes)) and flags is not None:
                try:
                    compile_script_pattern(pattern, flags)
                except RegexError as exc:
                    raise self.refuse(node, exc) from None
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        self.value(node)
        self.generic_visit(node)

    def value(self, node: ast.AST) -> Any:
        """The value of a constant expression, or _UNKNOWN; raises if computing it would blow a limit."""
        if isinstance(node, ast.Constant):
            return node.value
        key = id(node)
        if key in self.values:
            return self.values[key]
        result: Any = _UNKNOWN
        if isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) <= 1000:
            items = [self.value(e) for e in node.elts]
            if all(i is not _UNKNOWN for i in items):
                result = items if isinstance(node, ast.List) else tuple(items)
        elif isinstance(node, ast.UnaryOp) and type(node.op) in _CONST_UNARY:
            operand = self.value(node.operand)
            if isinstance(operand, (int, float)):
                result = _CONST_UNARY[type(node.op)](operand)
        elif isinstance(node, ast.BinOp) and type(node.op) in _CONST_BINOPS:
            left, right = self.value(node.left), self.value(node.right)
            if left is not _UNKNOWN and right is not _UNKNOWN:
                check = {ast.Add: self.guards._check_add, ast.Mult: self.guards._check_mul,
                         ast.Pow: self.guards._check_pow, ast.LShift: self.guards._check_lshift,
                         ast.Mod: self.guards._check_mod, ast.FloorDiv: self.guards._check_bigint_operands,
                         }.get(type(node.op))
                try:
                    if check is not None:
                        check(left, right)
                except ScriptResourceError as exc:
                    raise self.refuse(node, exc) from None
                try:
                    result = _CONST_BINOPS[type(node.op)](left, right)
                except Exception:  # 1 // 0, 'a' - 1: the script's own error, at run time
                    result = _UNKNOWN
        self.values[key] = result
        return result


def _constant_regex_flags(call: ast.Call, at: int) -> int | None:
    """The flags of a call such as `re.match(p, s, re.I | re.M)` when written as constants, else None."""
    if any(isinstance(a, ast.Starred) for a in call.args) or any(k.arg is None for k in call.keywords):
        return None
    given = call.args[at] if len(call.args) > at else next((k.value for k in call.keywords if k.arg == "flags"), None)

    def value(node: ast.expr | None) -> int | None:
        if node is None:
            return 0
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return node.value
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "re"
                and isinstance(getattr(re, node.attr, None), re.RegexFlag)):
            return int(getattr(re, node.attr))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            left, right = value(node.left), value(node.right)
            return None if left is None or right is None else left | right
        return None

    return value(given)


def _forbidden_attribute(name: str) -> bool:
    return name.startswith("_") or name in _FORBIDDEN_ATTRIBUTES


def _format_string_attribute(fmt: str) -> str | None:
    """The first forbidden attribute a str.format() template reaches ('{0.__class__}'), if any."""
    try:
        fields = list(string.Formatter().parse(fmt))
    except ValueError:
        return None  # a malformed template fails at run time with its own message
    for _literal, field, spec, _conversion in fields:
        if field:
            try:
                _first, rest = _string.formatter_field_name_split(field)
                for is_attr, key in rest:
                    if is_attr and _forbidden_attribute(str(key)):
                        return str(key)
            except ValueError:
                pass
        if spec and "{" in spec:
            nested = _format_string_attribute(spec)
            if nested:
                return nested
    return None


@functools.lru_cache(maxsize=4096)
def _compile(source: str, mode: str) -> types.CodeType:
    """Compile once per distinct source: gateway conditions and DMN cells repeat constantly."""
    tree = _parse(source, mode)
    compiler = compile_restricted_exec if mode == "exec" else compile_restricted_eval
    try:
        _StaticChecks().visit(tree)
        result = compiler(tree, filename=SCRIPT_FILENAME, policy=SandboxPolicy)  # type: ignore[arg-type]
    except (RecursionError, MemoryError):
        raise ScriptSyntaxError("the script is nested too deeply", (SCRIPT_FILENAME, 1, None, None)) from None
    if result.errors:
        match = re.match(r"Line (\d+):", result.errors[0])
        message = "; ".join(e.rstrip(".") for e in result.errors)  # Spiff appends its own "."
        raise _with_line(ScriptSecurityError(message), int(match[1]) if match else None)
    assert result.code is not None
    return result.code


def _source_for(source: str, mode: str) -> str:
    # eval() tolerates leading blanks (indented XML text); ast.parse does not.
    return source.lstrip(" \t") if mode == "eval" else source


# Method names that can put a new value inside an existing list, dict or set.
_MUTATORS = frozenset({"append", "extend", "insert", "update", "setdefault", "add", "__setitem__", "__iadd__"})


@functools.lru_cache(maxsize=4096)
def _may_mutate_data(source: str) -> bool:
    """Whether a script can change a container of the task data in place (`d[k] = v`,
    `items.append(x)`, or an attribute name we cannot see). If not, containers it leaves bound
    to the same object need no re-check before write-back."""
    tree = ast.parse(source, SCRIPT_FILENAME, "exec")  # parses: _compile succeeded on it
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
            return True
        if isinstance(node, ast.Attribute) and node.attr in _MUTATORS:
            return True
        if isinstance(node, ast.Name) and node.id in ("getattr", "setattr"):
            return True
    return False


def compile_errors(source: str, mode: str = "exec") -> list[str]:
    """Deploy-time check: the problems the sandbox would report for `source` (empty if none)."""
    try:
        _compile(_source_for(source, mode), mode)
    except ScriptSyntaxError as exc:
        return [f"line {exc.lineno}: syntax error: {exc.msg}"]
    except ScriptError as exc:
        return [str(exc)]
    return []


# --------------------------------------------------------------------------- run-time guards

# The budget of the script running in this thread: a list indexed by the _B_* constants. Loops and
# calls compare the clock with _B_NEXT only (as cheap as a plain deadline); past it, _slow_check
# decides: the deadline, or time to sample memory again.
_state = threading.local()
_B_NEXT, _B_DEADLINE, _B_MESSAGE, _B_RSS_BASE, _B_MAX_MEMORY, _B_TRIPPED = range(6)
try:
    _PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
except (ValueError, OSError, AttributeError):  # not POSIX: no memory sampling
    _PAGE_SIZE = 0


def _rss_bytes() -> int | None:
    """Resident memory of this process (Linux); None where it cannot be read."""
    if not _PAGE_SIZE:
        return None
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return None


def _slow_check(budget: list[Any]) -> None:
    if budget[_B_TRIPPED]:  # sticky: `except:` cannot swallow a memory refusal and run on
        raise ScriptResourceError(budget[_B_TRIPPED])
    now = time.monotonic()
    if now > budget[_B_DEADLINE]:
        raise ScriptTimeout(budget[_B_MESSAGE])
    rss = _rss_bytes() if budget[_B_MAX_MEMORY] else None
    if rss is not None:
        if budget[_B_RSS_BASE] is None:
            budget[_B_RSS_BASE] = rss
        elif rss - budget[_B_RSS_BASE] > budget[_B_MAX_MEMORY]:
            budget[_B_TRIPPED] = f"script used more than {budget[_B_MAX_MEMORY] // (1024 * 1024)} MB of memory"
            budget[_B_NEXT] = -math.inf
            raise ScriptResourceError(budget[_B_TRIPPED])
    budget[_B_NEXT] = min(budget[_B_DEADLINE], now + MEMORY_CHECK_INTERVAL)


def _check_deadline() -> bool:
    current = getattr(_state, "deadline", None)
    if current is not None and time.monotonic() > current[_B_NEXT]:
        _slow_check(current)
    return True  # usable as a comprehension condition


script_regex.set_deadline_check(_check_deadline)  # findall/sub loops over many matches check it too


def _sentinel_iter(func: Callable[[], Any], sentinel: Any) -> Iterable[Any]:
    """iter(func, sentinel) that checks the deadline per item: C's callable_iterator driven by
    any()/list() (`any(iter(int, 1))`) would spin forever without one Python frame of script code."""
    while True:
        _check_deadline()
        value = func()
        if value == sentinel:
            return
        yield value


def _sleep(seconds: float) -> None:
    if seconds > MAX_SLEEP_SECONDS:
        raise ScriptResourceError(f"time.sleep() is limited to {MAX_SLEEP_SECONDS} s per call")
    current = getattr(_state, "deadline", None)
    if current is not None and time.monotonic() + seconds > current[_B_DEADLINE]:
        time.sleep(max(current[_B_DEADLINE] - time.monotonic(), 0.0))  # sleeping counts against the limit
        raise ScriptTimeout(current[_B_MESSAGE])
    time.sleep(seconds)


def _unavailable(name: str, hint: str = "") -> Callable[..., Any]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise ScriptSecurityError(f"'{name}' is not available in scripts{hint}")

    return refuse


def _apply(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return func(*args, **kwargs)


class FeelRange:
    """A FEEL interval `[low..high]`; `x == r` and `x in r` test membership (see _FEEL_RANGE)."""

    __slots__ = ("low", "high", "low_inclusive", "high_inclusive")
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, low: Any, high: Any, low_inclusive: bool = True, high_inclusive: bool = True) -> None:
        self.low, self.high, self.low_inclusive, self.high_inclusive = low, high, low_inclusive, high_inclusive

    def __contains__(self, value: Any) -> bool:
        if value is None:
            return False
        above = value >= self.low if self.low_inclusive else value > self.low
        below = value <= self.high if self.high_inclusive else value < self.high
        return bool(above and below)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, FeelRange):
            return all(getattr(self, k) == getattr(other, k) for k in self.__slots__)
        return other in self

    def __repr__(self) -> str:
        return f"{'[' if self.low_inclusive else ']'}{self.low!r}..{self.high!r}{']' if self.high_inclusive else '['}"


class _PrintSink:
    """RestrictedPython routes print() here: to the debug log, never the worker's stdout."""

    MAX_KEPT = 10_000

    def __init__(self, _getattr_: Any = None) -> None:
        self.parts: list[str] = []
        self.kept = 0

    def _call_print(self, *objects: Any, sep: str | None = " ", end: str | None = "\n", **_ignored: Any) -> None:
        # Built piece by piece up to what is kept: print(*[big] * 1000) must not join gigabytes.
        room = max(self.MAX_KEPT - self.kept, 1000)
        separator = " " if sep is None else str(sep)[:100]
        pieces: list[str] = []
        size = 0
        for i, obj in enumerate(objects):
            piece = (separator if i else "") + str(obj)
            pieces.append(piece[: room - size])
            size += len(pieces[-1])
            if size >= room:
                break
        text = "".join(pieces) + ("\n" if end is None else str(end)[:100])
        logger.debug("script print: %s", text[:1000].rstrip("\n"))
        if self.kept < self.MAX_KEPT:
            self.parts.append(text[: self.MAX_KEPT - self.kept])
            self.kept += len(self.parts[-1])

    def __call__(self) -> str:  # the `printed` variable
        return "".join(self.parts)


class _ModuleProxy(types.SimpleNamespace):
    """An allowed module reduced to listed attributes: real modules leak others (`datetime.sys`,
    `json.codecs.open`). It deliberately has no __name__, so `from m import x` cannot fall back
    to sys.modules."""


_SEQUENCES = (str, bytes, bytearray, list, tuple)
# Attribute access is allowed only on plain data, the exposed classes and module proxies, so a
# helper that returns e.g. an ORM object cannot be walked to its session or engine.
_SAFE_CLASSES = frozenset({
    str, bytes, int, float, bool, complex, list, tuple, dict, set, frozenset,
    decimal.Decimal, _dt.datetime, _dt.date, _dt.time, _dt.timedelta, _dt.timezone,
})
_SAFE_INSTANCES: tuple[type, ...] = (
    type(None), str, bytes, int, float, complex, list, tuple, dict, set, frozenset, range, slice,
    decimal.Decimal, _dt.date, _dt.time, _dt.timedelta, _dt.tzinfo, re.Pattern, re.Match, _ModuleProxy,
    RegexPattern, RegexMatch, RegexError, type({}.keys()), type({}.values()), type({}.items()),
)
# Instances whose methods may build huge results or run long; getattr_ hands out guarded versions.
_GUARDED_METHOD_OWNERS = (str, bytes, int, re.Pattern, re.Match, RegexPattern, RegexMatch, decimal.Decimal)
_SAFE_EXCEPTION_MODULES = frozenset({"builtins", "decimal", "json.decoder", "re"})
_FORBIDDEN_ATTRIBUTES = INSPECT_ATTRIBUTES | {"mro"}  # frames, code, tracebacks; type.mro()
_INPLACE_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "+=": operator.iadd, "-=": operator.isub, "*=": operator.imul, "/=": operator.itruediv,
    "//=": operator.ifloordiv, "%=": operator.imod, "**=": operator.ipow, "<<=": operator.ilshift,
    ">>=": operator.irshift, "&=": operator.iand, "|=": operator.ior, "^=": operator.ixor,
    "@=": operator.imatmul,
}
# Upper bounds on the size of what a str/bytes/int method would build, checked before calling it.
_METHOD_SIZES: dict[str, Callable[..., int]] = {
    "ljust": lambda s, width, *_: width,
    "rjust": lambda s, width, *_: width,
    "center": lambda s, width, *_: width,
    "zfill": lambda s, width: width,
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t" if isinstance(s, str) else b"\t") * tabsize,
    "replace": lambda s, old, new, count=-1: len(s) + max(len(new) - len(old), 0) * (
        s.count(old) if count < 0 else min(count, s.count(old))),
    "to_bytes": lambda n, length=1, *_, **__: length,
}
_METHOD_SIZES["translate"] = lambda s, table, *_: len(s) * max([1, *(
    len(v) for v in (table.values() if isinstance(table, dict) else ()) if isinstance(v, (str, bytes)))])
_CLASS_LEVEL_REFUSED = frozenset(_METHOD_SIZES) | {"join", "format", "format_map", "sub", "subn", "expand"}
_GROUP_REF = re.compile(r"\\(?:g<[^>]*>|\d{1,2})")
_PRINTF_FIELD = re.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?")
_FORBIDDEN_BUILTINS = {
    name: "" for name in (
        "open", "eval", "exec", "compile", "globals", "locals", "vars", "dir", "input", "breakpoint",
        "help", "exit", "quit", "memoryview", "object", "super", "setattr", "delattr", "classmethod",
        "staticmethod", "property", "bytearray",
    )
} | {"type": " (use isinstance())"}
# Exceptions a script could use to kill the worker or escape `except Exception` in our callers.
_UNSAFE_SAFE_BUILTINS = {"BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit", "setattr", "delattr"}


# Leaves the instance serializer (engine/instances/state.py) stores; containers are list, tuple,
# set and dict. An int past ~4,200 digits cannot even be written as JSON (sys.int_info limit).
_MAX_STORABLE_INT_BITS = 14_000


_PLAIN_LEAF_TYPES = frozenset({str, bool, type(None), decimal.Decimal, _dt.date, _dt.datetime, _dt.timedelta, uuid.UUID})
_KEY_TYPES = frozenset({str, int, float, bool, type(None)})
_TOO_MANY = "has more than {:,} items (a shared reference counts each time)"


_LEAF_TYPES = _PLAIN_LEAF_TYPES | {int, float}


def _flat_problem(values: Any, storable: bool) -> str | None | bool:
    """C-speed check of items that are all leaves: a problem, None (all fine) or False (not flat:
    walk them one by one). A list of flat dicts (line items) is checked in one go."""
    kinds = set(map(type, values))
    if kinds == {dict}:
        if storable and not set(map(type, itertools.chain.from_iterable(values))) <= _KEY_TYPES:
            return False  # the walk names the bad key
        return _flat_problem(list(itertools.chain.from_iterable(map(dict.values, values))), storable)
    if not storable:
        return None if not kinds & {list, tuple, set, frozenset, dict} else False
    if not kinds <= _LEAF_TYPES:
        return False
    if int in kinds:
        ints = values if kinds == {int} else [x for x in values if type(x) is int]
        if max(map(abs, ints)).bit_length() > _MAX_STORABLE_INT_BITS:
            return "holds an integer of more than 4,200 digits"
    if float in kinds:
        floats = values if kinds == {float} else [x for x in values if type(x) is float]
        if not all(map(math.isfinite, floats)):
            return "holds a number that is not finite"
    return None


def data_problem(value: Any, *, storable: bool = True, max_items: int = MAX_DATA_ITEMS,
                 max_depth: int = MAX_DATA_DEPTH) -> str | None:
    """Why `value` cannot be kept as task data (or printed/serialized, with storable=False): too
    deep or self-containing, too many items counting shared references each time (what JSON and
    repr() would write out), or (storable) a type the instance serializer cannot store. None if fine.
    Iterative, stops at the first problem (a bomb costs at most max_items steps), and checks flat
    lists and dicts in C: a million numbers take milliseconds. (No generator expressions: under the
    sandbox's trace hook every generator step would be a traced call.)"""
    stack: list[tuple[Any, int]] = [(value, 0)]
    items = 0
    containers = (list, tuple, set, dict) if storable else (list, tuple, set, frozenset, dict)
    while stack:
        v, depth = stack.pop()
        items += 1
        t = type(v)
        if t in _PLAIN_LEAF_TYPES:
            continue
        if t is int:
            if storable and v.bit_length() > _MAX_STORABLE_INT_BITS:
                return "holds an integer of more than 4,200 digits"
            continue
        if t is float:
            if storable and not math.isfinite(v):
                return f"holds {v}, which is not a finite number"
            continue
        if t in containers or (not storable and isinstance(v, containers)):
            if depth >= max_depth:
                return f"is nested more than {max_depth} levels deep (or contains itself)"
            values = v.values() if isinstance(v, dict) else v
            if isinstance(v, dict) and storable and not set(map(type, v)) <= _KEY_TYPES:
                bad = next(k for k in v if type(k) not in _KEY_TYPES)
                return f"has a key of type {type(bad).__name__} (keys must be strings or numbers)"
            size = len(values) + sum([len(x) for x in values if type(x) is dict])
            items += size
            if items > max_items:
                return _TOO_MANY.format(max_items)
            flat = _flat_problem(values, storable)
            if flat is False:
                items -= size  # counted one by one as they are popped
                for x in values:
                    stack.append((x, depth + 1))
                if len(stack) > max_items:
                    return _TOO_MANY.format(max_items)
            elif flat:
                return str(flat)
            continue
        if storable:
            return f"holds a {t.__name__}, which cannot be stored in task data"
    return None


class _IntType(type):
    def __instancecheck__(cls, obj: object) -> bool:
        return isinstance(obj, int)

    def __subclasscheck__(cls, sub: type) -> bool:
        return issubclass(sub, int)

    def __repr__(cls) -> str:
        return "<class 'int'>"


class GuardedInt(int, metaclass=_IntType):
    """The `int` scripts see: int(Decimal('1e999999')) spends minutes in one C call, and such a
    Decimal can come straight from a form field. isinstance(x, int) works as with the real int;
    calling it returns a real int."""

    _guards: _Guards

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if args:
            cls._guards.check_decimal_to_int(args[0], "int()")
        return int(*args, **kwargs)


class _SafeFormatter(string.Formatter):
    """str.format that resolves `{0.attr}` through the guarded getattr and checks widths."""

    def __init__(self, guards: _Guards) -> None:
        self.guards = guards
        self.total = 0  # one formatter per call: ('{0}' * 1000).format('x' * 10**7) adds up

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
        first, rest = _string.formatter_field_name_split(field_name)
        obj = self.get_value(first, args, kwargs)
        for is_attr, key in rest:
            obj = self.guards.getattr_(obj, key) if is_attr else obj[key]
        return obj, first

    def format_field(self, value: Any, format_spec: str) -> str:
        text = self.guards.format_(value, format_spec)
        self.total += len(text)
        self.guards.check_size(self.total, "str.format()")
        return text


class _Guards:
    """The run-time half of the sandbox, parametrised by the environment's limits."""

    def __init__(self, max_size: int, max_int_bits: int) -> None:
        self.max_size = max_size
        self.max_int_bits = max_int_bits
        self.modules = self._modules()
        self.int_type = type("int", (GuardedInt,), {"_guards": self})

    # ---- size checks
    def check_size(self, size: int, what: str) -> None:
        if size > self.max_size:
            shown = f"{size:,}" if size < 10**18 else "an astronomical number of"
            raise ScriptResourceError(f"{what} would create {shown} elements/characters (limit {self.max_size:,})")

    def check_bits(self, bits: float, what: str) -> None:
        if bits > self.max_int_bits:
            digits = f"{int(bits * 0.30103):,}" if bits < 1e18 else "an astronomical number of"
            limit = int(self.max_int_bits * 0.30103)
            raise ScriptResourceError(f"{what} would create an integer of about {digits} digits (limit {limit:,})")

    def check_format_spec(self, spec: str) -> None:
        for digits in re.findall(r"\d+", spec):
            if len(digits) > 9 or int(digits) > self.max_size:
                raise ScriptResourceError(f"format width/precision {digits[:20]} exceeds the limit {self.max_size:,}")

    def check_decimal_to_int(self, value: Any, what: str) -> None:
        if isinstance(value, decimal.Decimal) and value.is_finite() and value.adjusted() * 3.33 > self.max_int_bits:
            self.check_bits(value.adjusted() * 3.33, what)

    def _check_bigint_operands(self, a: Any, b: Any) -> None:
        # Division and remainder of two huge ints are quadratic in C; the operands, not the
        # result, are what costs. (Huge ints come from int.from_bytes or int(s, 16).)
        if isinstance(a, int) and isinstance(b, int):
            self.check_bits(max(a.bit_length(), b.bit_length()), "an operand of '//', '%' or divmod()")

    def _check_add(self, a: Any, b: Any) -> None:
        if isinstance(a, _SEQUENCES) and isinstance(b, _SEQUENCES):
            self.check_size(len(a) + len(b), "'+'")

    def _check_mul(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int):
            self.check_bits(a.bit_length() + b.bit_length(), "'*'")
        elif isinstance(a, _SEQUENCES) and isinstance(b, int):
            self.check_size(len(a) * b, "'*'")
        elif isinstance(b, _SEQUENCES) and isinstance(a, int):
            self.check_size(len(b) * a, "'*'")

    def _check_pow(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and b > 0 and abs(a) > 1:
            self.check_bits(b * math.log2(abs(a)), "'**'")

    def _check_lshift(self, a: Any, b: Any) -> None:
        if isinstance(a, int) and isinstance(b, int) and a and b > 0:
            self.check_bits(a.bit_length() + b, "'<<'")

    def _check_mod(self, a: Any, b: Any) -> None:
        if not isinstance(a, (str, bytes)):
            self._check_bigint_operands(a, b)
            return
        fmt = a if isinstance(a, str) else a.decode("latin-1")
        star = False
        fields = _PRINTF_FIELD.findall(fmt)
        for group in (g for pair in fields for g in pair if g):
            if group == "*":
                star = True
            else:
                self.check_format_spec(group)
        values = tuple(b.values()) if isinstance(b, dict) else b if isinstance(b, tuple) else (b,)
        for value in values:
            if star and isinstance(value, int) and value > self.max_size:
                raise ScriptResourceError(f"'%' format width exceeds the limit of {self.max_size:,}")
            self.check_decimal_to_int(value, "'%d'")
        # ('%s' * 1000) % (('x' * 10**7,) * 1000), or one %(key)s repeated: sized before formatting.
        lengths = [len(v) for v in values if isinstance(v, (str, bytes))]
        if lengths:
            longest = max(lengths)
            size = len(fmt) + (sum(lengths) if isinstance(b, tuple) else len(fields) * longest)
            self.check_size(size, "'%'")

    # ---- operators (targets of SandboxPolicy's rewrites)
    def add(self, a: Any, b: Any) -> Any:
        self._check_add(a, b)
        return a + b

    def mul(self, a: Any, b: Any) -> Any:
        self._check_mul(a, b)
        return a * b

    def pow_(self, a: Any, b: Any, mod: Any = None) -> Any:
        if mod is None:
            self._check_pow(a, b)
            return a**b
        if isinstance(a, int) and isinstance(b, int) and isinstance(mod, int):
            # Bounded in size by the modulus, not in time: one squaring per exponent bit.
            self._check_bigint_operands(a, mod)
            if abs(b).bit_length() * mod.bit_length() ** 2 > 10**10:
                raise ScriptResourceError("pow() with a modulus is limited to about 2,000-bit numbers")
        return pow(a, b, mod)

    def floordiv(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and a.bit_length() <= 64 and b.bit_length() <= 64:
            return a // b  # the common case, without the checks' calls
        self._check_bigint_operands(a, b)
        return a // b

    def divmod_(self, a: Any, b: Any) -> Any:
        self._check_bigint_operands(a, b)
        return divmod(a, b)

    def iter_(self, obj: Any, *sentinel: Any) -> Any:
        if not sentinel:
            return iter(obj)
        if len(sentinel) > 1:
            raise TypeError(f"iter expected at most 2 arguments, got {1 + len(sentinel)}")
        if not callable(obj):
            raise TypeError("iter(v, w): v must be callable")
        return _sentinel_iter(obj, sentinel[0])

    def join(self, parts: Sequence[str]) -> str:
        self.check_size(sum(len(p) for p in parts), "f-string")
        return "".join(parts)

    def repr_(self, obj: Any) -> str:
        self._check_printable(obj, "repr()")
        return repr(obj)

    def _check_printable(self, obj: Any, what: str) -> None:
        if isinstance(obj, (list, tuple, dict, set, frozenset)):
            problem = data_problem(obj, storable=False, max_items=self.max_size // 10, max_depth=500)
            if problem:
                raise ScriptResourceError(f"{what}: the value {problem}")

    def lshift(self, a: Any, b: Any) -> Any:
        self._check_lshift(a, b)
        return a << b

    def mod(self, a: Any, b: Any) -> Any:
        if type(a) is int and type(b) is int and a.bit_length() <= 64 and b.bit_length() <= 64:
            return a % b  # the common case, without the checks' calls
        self._check_mod(a, b)
        return a % b

    def inplacevar(self, op: str, target: Any, value: Any) -> Any:
        check = {"+=": self._check_add, "*=": self._check_mul, "**=": self._check_pow,
                 "<<=": self._check_lshift, "%=": self._check_mod}.get(op)
        if check is not None:
            check(target, value)
        if op not in _INPLACE_OPS:
            raise ScriptSecurityError(f"operator {op} is not supported")
        return _INPLACE_OPS[op](target, value)

    # ---- builtins with limits
    def range_(self, *args: int) -> range:
        result = range(*args)
        try:
            size = len(result)
        except OverflowError:
            size = sys.maxsize
        self.check_size(size, "range()")
        return result

    def round_(self, number: Any, ndigits: int | None = None) -> Any:
        # round(5, -10**9) computes 10**(10**9) internally.
        if isinstance(ndigits, int) and abs(ndigits) > 1000:
            raise ScriptResourceError("round() ndigits is limited to -1000..1000")
        if ndigits is None:
            self.check_decimal_to_int(number, "round()")  # round(Decimal) is an int
        return round(number, ndigits)

    def sum_(self, iterable: Iterable[Any], start: Any = 0) -> Any:
        if not isinstance(start, (list, tuple)):
            return sum(iterable, start)
        total = start  # sum(lists, []) concatenates in C; do it step by step with size checks
        for item in iterable:
            total = self.add(total, item)
        return total

    def format_(self, value: Any, spec: str = "") -> str:
        self.check_format_spec(spec)
        return format(value, spec)

    def fstring_format(self, value: Any, conversion: int, spec: str) -> str:
        if conversion != -1:
            convert: dict[int, Callable[[Any], str]] = {ord("s"): str, ord("r"): repr, ord("a"): ascii}
            value = convert[conversion](value)
        return self.format_(value, spec)

    def getattr_(self, obj: Any, name: str, *default: Any) -> Any:
        if type(name) is not str:
            raise TypeError("attribute name must be a string")
        if name.startswith("_") or name in _FORBIDDEN_ATTRIBUTES:
            raise ScriptSecurityError(f"access to attribute '{name}' is not allowed in scripts")
        if isinstance(obj, type):
            if obj not in _SAFE_CLASSES and not isinstance(obj, _IntType):
                raise ScriptSecurityError(f"access to attributes of class '{obj.__name__}' is not allowed in scripts")
            if name in _CLASS_LEVEL_REFUSED:
                raise ScriptSecurityError(f"call .{name}() on a value, not on the class '{obj.__name__}'")
        elif not isinstance(obj, _SAFE_INSTANCES) and not (
            isinstance(obj, BaseException) and type(obj).__module__ in _SAFE_EXCEPTION_MODULES
        ):
            raise ScriptSecurityError(
                f"access to attribute '{name}' of a '{type(obj).__name__}' object is not allowed in scripts"
            )
        try:
            value = getattr(obj, name)
        except AttributeError:
            if default:
                return default[0]
            raise
        if isinstance(obj, _GUARDED_METHOD_OWNERS) and not isinstance(obj, type):
            return self._guard_method(obj, name, value)
        return value

    def _sized_sub(self, sub: Callable[..., Any], *, bound: bool) -> Callable[..., Any]:
        """re.sub/subn (the function, or a Pattern's method when bound) sized before it runs:
        re.sub('', 'x' * 10**6, 'a' * 10**4) inserts the replacement at every position, in one C call."""

        def sized(*args: Any, **kwargs: Any) -> Any:
            names = ("repl", "string") if bound else ("pattern", "repl", "string")
            given = dict(zip(names, args, strict=False)) | {k: v for k, v in kwargs.items() if k in names}
            repl, text = given.get("repl"), given.get("string")
            if isinstance(text, (str, bytes)):
                if isinstance(repl, (str, bytes)):
                    literal = _GROUP_REF.sub("", repl if isinstance(repl, str) else repl.decode("latin-1"))
                    refs = len(_GROUP_REF.findall(repl if isinstance(repl, str) else repl.decode("latin-1")))
                    self.check_size(len(text) + (len(text) + 1) * len(literal) + refs * len(text), "re.sub()")
                elif callable(repl):
                    total = [len(text)]

                    def counted(match: Any) -> Any:
                        piece = repl(match)
                        total[0] += len(piece) if isinstance(piece, (str, bytes)) else 0
                        self.check_size(total[0], "re.sub()")
                        return piece

                    args = tuple(counted if a is repl else a for a in args)
                    kwargs = {k: (counted if v is repl else v) for k, v in kwargs.items()}
            return sub(*args, **kwargs)

        return sized

    def hasattr_(self, obj: Any, name: str) -> bool:
        try:
            self.getattr_(obj, name)
        except AttributeError:
            return False
        return True

    def _guard_method(self, obj: Any, name: str, method: Any) -> Any:
        if name in ("format", "format_map") and isinstance(obj, str):
            if name == "format":
                return lambda *args, **kwargs: _SafeFormatter(self).vformat(obj, args, kwargs)
            return lambda mapping: _SafeFormatter(self).vformat(obj, (), mapping)
        if isinstance(obj, (re.Pattern, RegexPattern)) and name in ("sub", "subn"):
            return self._sized_sub(method, bound=True)
        if isinstance(obj, (re.Match, RegexMatch)) and name == "expand":
            def expand(template: Any) -> Any:
                if isinstance(template, (str, bytes)):
                    refs = len(_GROUP_REF.findall(template if isinstance(template, str) else template.decode("latin-1")))
                    self.check_size(len(template) + refs * len(obj.string), "expand()")
                return method(template)
            return expand
        if isinstance(obj, decimal.Decimal):
            if name == "as_integer_ratio":
                self.check_decimal_to_int(obj, "as_integer_ratio()")
            return method
        if name == "join" and isinstance(obj, (str, bytes)):
            def join(iterable: Iterable[Any]) -> Any:
                items = list(iterable)
                pieces = sum(len(i) for i in items if isinstance(i, (str, bytes, bytearray)))
                self.check_size(pieces + len(obj) * max(len(items) - 1, 0), "join()")
                return method(items)
            return join
        estimate = _METHOD_SIZES.get(name)
        if estimate is None:
            return method

        def sized(*args: Any, **kwargs: Any) -> Any:
            try:
                size = estimate(obj, *args, **kwargs)
            except TypeError:
                size = 0  # bad arguments: let the real method raise its own TypeError
            self.check_size(size, f"{name}()")
            return method(*args, **kwargs)

        return sized

    def import_(self, name: str, globals: Any = None, locals: Any = None, fromlist: Any = (), level: int = 0) -> Any:
        if level == 0 and name in self.modules:
            return self.modules[name]
        allowed = ", ".join(sorted(self.modules))
        raise ScriptSecurityError(f"import of module '{name}' is not allowed in scripts (allowed: {allowed})")

    # ---- allowed modules
    def json_dumps(self, obj: Any, *args: Any, indent: Any = None, separators: Any = None, **kwargs: Any) -> str:
        pieces = [indent] if isinstance(indent, (int, str)) else []
        pieces += list(separators) if isinstance(separators, (tuple, list)) else []
        if any((p if isinstance(p, int) else len(str(p))) > 100 for p in pieces):
            raise ScriptResourceError("json.dumps() indent/separators are limited to 100 characters")
        self._check_printable(obj, "json.dumps()")
        return json.dumps(obj, *args, indent=indent, separators=separators, **kwargs)

    def _regex_module(self) -> _ModuleProxy:
        """`re` for scripts: RE2 behind re's interface (see RegexPattern), sub/subn sized first."""
        functions = regex_functions()
        functions["sub"] = self._sized_sub(functions["sub"], bound=False)
        functions["subn"] = self._sized_sub(functions["subn"], bound=False)
        return _ModuleProxy(**functions)

    def _math(self) -> _ModuleProxy:
        ln2 = math.log(2)

        def lgamma_bits(*ns: int) -> float:  # log2(n!) for the big-integer combinatorics
            return sum(math.lgamma(n + 1) for n in ns) / ln2

        def factorial(n: int) -> int:
            if isinstance(n, int) and n > 0:
                self.check_bits(lgamma_bits(n), "math.factorial()")
            return math.factorial(n)

        def comb(n: int, k: int) -> int:
            if isinstance(n, int) and isinstance(k, int) and 0 <= k <= n:
                self.check_bits(lgamma_bits(n) - lgamma_bits(k) - lgamma_bits(n - k), "math.comb()")
            return math.comb(n, k)

        def perm(n: int, k: int | None = None) -> int:
            if isinstance(n, int) and n >= 0 and (k is None or isinstance(k, int) and 0 <= k <= n):
                self.check_bits(lgamma_bits(n) - lgamma_bits(n - (n if k is None else k)), "math.perm()")
            return math.perm(n, k)

        def prod(iterable: Iterable[Any], *, start: Any = 1) -> Any:
            for item in iterable:
                start = self.mul(start, item)
            return start

        def lcm(*integers: int) -> int:
            result = 1
            for value in integers:
                if isinstance(value, int):
                    self.check_bits(result.bit_length() + value.bit_length(), "math.lcm()")
                result = math.lcm(result, value)
            return result

        def gcd(*integers: int) -> int:
            for value in integers:
                self._check_bigint_operands(value, 0)
            return math.gcd(*integers)

        def to_int(name: str) -> Callable[[Any], int]:
            func = getattr(math, name)

            def rounded(x: Any) -> int:
                self.check_decimal_to_int(x, f"math.{name}()")
                return func(x)

            return rounded

        names = {k: getattr(math, k) for k in dir(math) if not k.startswith("_")}
        return _ModuleProxy(**names | dict(factorial=factorial, comb=comb, perm=perm, prod=prod, lcm=lcm, gcd=gcd,
                                           floor=to_int("floor"), ceil=to_int("ceil"), trunc=to_int("trunc")))

    def _modules(self) -> dict[str, _ModuleProxy]:
        return {
            "datetime": _ModuleProxy(
                datetime=_dt.datetime, date=_dt.date, time=_dt.time, timedelta=_dt.timedelta,
                timezone=_dt.timezone, MINYEAR=_dt.MINYEAR, MAXYEAR=_dt.MAXYEAR,
            ),
            "decimal": _ModuleProxy(
                Decimal=decimal.Decimal, InvalidOperation=decimal.InvalidOperation,
                DivisionByZero=decimal.DivisionByZero,
                **{k: getattr(decimal, k) for k in dir(decimal) if k.startswith("ROUND_")},
            ),
            "json": _ModuleProxy(dumps=self.json_dumps, loads=json.loads, JSONDecodeError=json.JSONDecodeError),
            "math": self._math(),
            "re": self._regex_module(),
            "time": _ModuleProxy(time=time.time, monotonic=time.monotonic, sleep=_sleep),
        }

    def convenience_globals(self) -> dict[str, Any]:
        m = self.modules
        return {
            "datetime": _dt.datetime, "date": _dt.date, "timedelta": _dt.timedelta,
            "Decimal": decimal.Decimal, "math": m["math"], "json": m["json"], "re": m["re"],
        }

    def builtins(self) -> dict[str, Any]:
        names: dict[str, Any] = {
            k: v for k, v in safe_builtins.items() if not k.startswith("_") and k not in _UNSAFE_SAFE_BUILTINS
        }
        names.update(
            min=min, max=max, sorted=sorted, any=any, all=all, enumerate=enumerate, zip=zip, list=list,
            dict=dict, set=set, frozenset=frozenset, tuple=tuple, reversed=reversed, map=map, filter=filter,
            next=next, ascii=ascii, bin=bin,
        )
        names.update({name: _unavailable(name, hint) for name, hint in _FORBIDDEN_BUILTINS.items()})
        names.update(
            range=self.range_, pow=self.pow_, round=self.round_, sum=self.sum_, format=self.format_,
            getattr=self.getattr_, hasattr=self.hasattr_, feel_range=FeelRange, iter=self.iter_,
            divmod=self.divmod_, repr=self.repr_, int=self.int_type,
        )
        # Names the RestrictedPython transformer (and SandboxPolicy) compile calls to.
        names.update({
            "__import__": self.import_, "_getattr_": self.getattr_, "_getitem_": operator.getitem,
            "_getiter_": iter, "_write_": full_write_guard, "_inplacevar_": self.inplacevar,
            "_unpack_sequence_": guarded_unpack_sequence, "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
            "_apply_": _apply, "_print_": _PrintSink, "_add_": self.add, "_mul_": self.mul, "_pow_": self.pow_,
            "_lshift_": self.lshift, "_mod_": self.mod, "_format_": self.fstring_format,
            "_floordiv_": self.floordiv, "_join_": self.join, "_check_deadline_": _check_deadline,
        })
        return names


# --------------------------------------------------------------------------- Spiff integration

class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """TaskDataEnvironment semantics (task data in, changed data out) under the sandbox.

    Differences from TaskDataEnvironment, all deliberate: task data may shadow the convenience
    names (a form field called `date` is common); data keys starting with "_" are invisible to
    scripts (they could otherwise shadow guards); only data-like values are written back, and only
    values the instance serializer can store (see data_problem); and nothing is written back when
    the script fails."""

    def __init__(
        self,
        environment_globals: dict[str, Any] | None = None,
        *,
        time_limit: float = 1.0,
        max_size: int = DEFAULT_MAX_SIZE,
        max_int_bits: int = DEFAULT_MAX_INT_BITS,
        max_memory: int = DEFAULT_MAX_MEMORY,
    ) -> None:
        self.time_limit = time_limit
        self.max_memory = max_memory
        self.guards = _Guards(max_size, max_int_bits)
        self.builtins = self.guards.builtins()
        self._reserved = tuple(name for name in self.builtins if name.startswith("_"))
        super().__init__({**self.guards.convenience_globals(), **(environment_globals or {})})

    def validate(self, source: str, mode: str = "exec") -> None:
        """Raise ScriptSyntaxError / ScriptSecurityError if `source` would be refused."""
        _compile(_source_for(source, mode), mode)

    def evaluate(self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> Any:
        code = _compile(_source_for(expression, "eval"), "eval")
        return self._run(code, self._namespace(context, external_context))

    def execute(self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None) -> bool:
        external = external_context or {}
        clash = sorted(set(external).intersection(context))
        if clash:  # same fail-fast as TaskDataEnvironment.check_for_overwrite
            raise ScriptError(
                f"task data overwrites predefined function(s) {clash}; rename these variables or form fields"
            )
        code = _compile(script, "exec")
        env = self._namespace(context, external)
        self._run(code, env)
        updates: dict[str, Any] = {}
        recheck_unchanged = _may_mutate_data(script)
        for key, value in env.items():
            if not isinstance(key, str) or key.startswith("_") or key in external:
                continue
            if key in self.globals and value is self.globals[key]:
                continue
            if isinstance(value, WRITEBACK_TYPES):
                t = type(value)
                if value is context.get(key, _UNKNOWN) and (not recheck_unchanged or t in _PLAIN_LEAF_TYPES or t is int):
                    continue  # unchanged, and not changed in place either: the common case, first
                small_int = isinstance(value, int) and t is int and value.bit_length() <= _MAX_STORABLE_INT_BITS
                problem = None if t in _PLAIN_LEAF_TYPES or small_int else data_problem(value)
                if problem:
                    if context.get(key) is value:
                        # Changed in place (`items.append(items)`): it is already in the task data and
                        # would make the instance impossible to save. Dropped, the error says why.
                        del context[key]
                    raise ScriptResourceError(f"'{key}' cannot be kept in task data: it {problem}")
                updates[key] = value
        context.update(updates)
        for key in [k for k in context if isinstance(k, str) and not k.startswith("_") and k not in env]:
            del context[key]  # the script did `del key`
        return True

    def _namespace(self, context: Mapping[str, Any], external: Mapping[str, Any] | None) -> dict[str, Any]:
        env = {**self.globals, **external, **context} if external else {**self.globals, **context}
        # Scripts cannot name anything starting with "_", but a data key such as "_getattr_" (from
        # a submitted form) would shadow the guard the compiled code calls. Checking our ~20 names
        # is cheaper than filtering every data key on each gateway condition.
        for name in self._reserved:
            if name in env:
                del env[name]
        env["__builtins__"] = self.builtins
        return env

    def _run(self, code: types.CodeType, env: dict[str, Any]) -> Any:
        """eval() the code against a deadline; works in any thread (signals would not).

        A sys.settrace hook checks the deadline whenever a frame of script code starts (covers
        recursion and script callbacks run from C, e.g. sorted(key=...)); SandboxPolicy's injected
        checks cover loops. "line" events are not used: CPython 3.11 emits none for a loop that
        jumps back within one line (`while True: pass`), and they would cost ~1 us per line.
        Memory is sampled on the same checks, every MEMORY_CHECK_INTERVAL of run time."""
        now = time.monotonic()
        deadline = now + self.time_limit
        previous = getattr(_state, "deadline", None)
        rss_base = None
        if previous is not None:  # a helper running a nested script keeps the outer budget
            deadline = min(deadline, previous[_B_DEADLINE])
            rss_base = previous[_B_RSS_BASE]
        # The first sample (after MEMORY_CHECK_INTERVAL) sets the baseline: reading it here would
        # cost more than a whole gateway condition.
        budget: list[Any] = [min(deadline, now + MEMORY_CHECK_INTERVAL), deadline,
                             f"script exceeded time limit of {self.time_limit} s", rss_base, self.max_memory, None]

        def trace_call(frame: types.FrameType, event: str, arg: Any) -> None:
            if frame.f_code.co_filename == SCRIPT_FILENAME and time.monotonic() > budget[_B_NEXT]:
                _slow_check(budget)
            return None  # no per-line tracing; helpers and library code are not traced at all

        previous_trace = sys.gettrace()
        _state.deadline = budget
        sys.settrace(trace_call)
        try:
            return eval(code, env)
        except MemoryError:
            # Raised by the allocator for this script's request; the worker goes on.
            raise ScriptResourceError("script ran out of memory") from None
        finally:
            sys.settrace(previous_trace)  # coverage/debuggers resume where they were
            _state.deadline = previous


HelpersFactory = Callable[[SpiffTask], dict[str, Any]]


class SandboxedScriptEngine(PythonScriptEngine):
    """Spiff script engine running everything in RestrictedEnvironment.

    `helpers_factory(task)` supplies extra callables (get_current_user, manager_of, ...) for each
    evaluation; they are visible to the script but never written back to task data."""

    def __init__(
        self,
        helpers_factory: HelpersFactory | None = None,
        time_limit: float = 1.0,
        *,
        environment: RestrictedEnvironment | None = None,
        operators: Mapping[str, Callable[..., Any]] | None = None,
    ) -> None:
        super().__init__(environment=environment or RestrictedEnvironment(time_limit=time_limit))
        self.helpers_factory = helpers_factory
        self.operators = operators or {}

    def call_service(self, task: SpiffTask, operation_name: str = "", operation_params: dict[str, Any] | None = None,
                     **_: Any) -> str:
        """Service tasks call registered operators (trusted project code), never model code."""
        fn = self.operators.get(operation_name)
        if fn is None:
            raise WorkflowTaskException(f"unknown service operator '{operation_name}'", task=task)
        params = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in (operation_params or {}).items()}
        try:
            result = fn(**params)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            raise WorkflowTaskException(f"service '{operation_name}' failed: {type(exc).__name__}: {exc}",
                                        task=task, exception=exc) from exc
        from forms import json_dumps  # exact decimals through Spiff's json.loads(result)

        return json_dumps(result, default=str)

    def evaluate(self, task: SpiffTask, expression: str, external_context: dict[str, Any] | None = None) -> Any:
        return super().evaluate(task, expression, self._external(task, external_context))

    def execute(self, task: SpiffTask, script: str, external_context: dict[str, Any] | None = None) -> Any:
        return super().execute(task, script, self._external(task, external_context))

    def validate(self, expression: str) -> None:
        # DMN calls this to decide between `input == cell` and `input + cell`: it must raise
        # SyntaxError (ScriptSyntaxError is one) exactly when the text does not parse.
        self.environment.validate(expression)

    def _external(self, task: SpiffTask, given: dict[str, Any] | None) -> dict[str, Any] | None:
        if self.helpers_factory is None:
            return given
        try:
            helpers = self.helpers_factory(task)
        except Exception as exc:
            raise WorkflowTaskException(f"could not prepare script helpers: {exc}", task=task, exception=exc) from exc
        # Spiff's own names (DMN's dmninputexpr, data objects) win over helpers.
        return {**helpers, **given} if given else dict(helpers)

    def create_task_exec_exception(self, task: SpiffTask, script: str, err: Exception) -> Exception:
        if err.args and not isinstance(err.args[0], str) and not isinstance(err, SpiffWorkflowException):
            # Spiff builds its message with `":" + err.args[0]`, so KeyError(1) from `d[1]` would
            # surface as a TypeError raised inside Spiff instead of an error naming the task.
            line_number, error_line = self.get_error_line_number_and_content(script, err)
            return WorkflowTaskException(
                f"{type(err).__name__}:{err}", task=task, exception=err, line_number=line_number, error_line=error_line
            )
        return super().create_task_exec_exception(task, script, err)

    def get_error_line_number_and_content(self, script: str, err: Exception) -> tuple[int, str]:
        line_number, error_line = super().get_error_line_number_and_content(script, err)
        lineno = getattr(err, "lineno", None)
        # Compile-time refusals have no '<string>' traceback frame; use the line we recorded.
        if not line_number and isinstance(err, ScriptError) and isinstance(lineno, int) and lineno > 0:
            lines = script.splitlines()
            line_number, error_line = lineno, lines[lineno - 1] if lineno <= len(lines) else ""
        return line_number, error_line
