"""The sandbox escape corpus at engine level: refusals visible in the source come from the compiler
(so deployments name the element), the rest from the run-time guards, each with a clear error and
within its limits; the process lives on. tests/api/test_hostile_scripts.py runs the same through
the API."""
from __future__ import annotations

import time
import tracemalloc
from decimal import Decimal
from typing import Any

import pytest

from engine.sandbox import (
    ALLOWED_MODULES,
    RegexError,
    RestrictedEnvironment,
    ScriptError,
    ScriptResourceError,
    ScriptSecurityError,
    ScriptTimeout,
    compile_errors,
    data_problem,
)
from tests.forms.bounded import finishes


def run(script: str, data: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    context = dict(data or {})
    RestrictedEnvironment(**kwargs).execute(script, context)
    return context


STATIC = [
    ("import os", "module 'os'"),
    ("import os.path", "module 'os.path'"),
    ("from . import x", "module '.'"),
    ("import math, sys", "module 'sys'"),
    ("if False:\n    import subprocess", "module 'subprocess'"),
    ("x = getattr(1, '__class__')", "'__class__'"),
    ("x = hasattr(1, 'gi_frame')", "'gi_frame'"),
    ("x = '{0.__class__}'.format(1)", "'__class__'"),
    ("x = '{a._x}'.format_map({'a': 1})", "'_x'"),
    ("x = '{0:{1.__class__}}'.format(1, 2)", "'__class__'"),
    ("x = 'x' * 10**10", "limit"),
    ("x = [0] * 10**9", "limit"),
    ("x = 10**10**10", "limit"),
    ("x = -(2**99999) * 2**99999", "limit"),
    ("x = 1 << 10**9", "limit"),
    ("x = '%1000000000d' % 1", "limit"),
    ("x = " + "+".join(["a"] * 50_000), "nested too deeply"),
    # Regular expressions run on RE2 (linear time): what it cannot run is named at deploy time.
    ("x = re.match(r'(a)\\1', s)", "backreferences"),
    ("x = re.search(r'(?P<q>[ab])(?P=q)', s)", "backreferences"),
    ("x = re.search(r'^(?=.*\\d).{8,}$', s, re.I | re.M)", "lookahead"),
    ("x = re.sub(r'(?<=\\d)(?=(\\d{3})+$)', ',', s)", "lookahead"),
    ("x = re.compile(r'a{1001}')", "repetition"),
]


@pytest.mark.parametrize(("source", "fragment"), STATIC, ids=[s[:40] for s, _ in STATIC])
def test_refused_when_compiled(source: str, fragment: str) -> None:
    errors = compile_errors(source)
    assert errors and fragment in errors[0], errors


@pytest.mark.parametrize("source", [
    "import math\nimport json as j\nfrom datetime import date\nx = math.floor(2.5)",
    "x = getattr(amount, 'real')",
    "x = '{0.real}'.format(amount)",
    "x = 'a' * 3 + '-' * 40",
    "x = 2**64 % 7 + 10**30 // 3",
    "x = '{0}: {1}'.format",
])
def test_ordinary_code_compiles(source: str) -> None:
    assert compile_errors(source) == []


def test_static_allow_list_is_the_run_time_one() -> None:
    env = RestrictedEnvironment()
    assert set(env.guards.modules) == ALLOWED_MODULES


RUNTIME: list[tuple[str, type[Exception], str]] = [
    ("x = getattr(1, '__cl' + 'ass__')", ScriptSecurityError, "'__class__'"),
    ("t = '{0.__cl' + 'ass__}'\nx = t.format(1)", ScriptSecurityError, "'__class__'"),
    ("x = str.format_map('{a}', {'a': 1})", ScriptSecurityError, "format_map"),
    ("n = 'm' + 'ro'\nx = getattr(int, n)()", ScriptSecurityError, "'mro'"),
    ("x = any(iter(int, 1))", ScriptTimeout, "time limit"),
    ("x = list(iter(int, 1))", ScriptTimeout, "time limit"),
    ("x = pow(3, 2**20000 - 1, 2**20000 + 1)", ScriptResourceError, "pow()"),
    ("x = int.from_bytes(b'\\xff' * 10**6, 'big')\ny = x // (x >> 3)", ScriptResourceError, "'//'"),
    ("x = int.from_bytes(b'\\xff' * 10**6, 'big')\ny = divmod(x, x - 1)", ScriptResourceError, "divmod"),
    ("x = int.from_bytes(b'\\xff' * 10**6, 'big')\ny = x % (x - 1)", ScriptResourceError, "'%'"),
    ("x = int.from_bytes(b'\\xff' * 10**6, 'big')\ny = math.gcd(x, x - 1)", ScriptResourceError, "limit"),
    ("x = int(Decimal('1e999999'))", ScriptResourceError, "int()"),
    ("x = round(Decimal('1e999999'))", ScriptResourceError, "round()"),
    ("x = math.floor(Decimal('1e999999'))", ScriptResourceError, "math.floor()"),
    ("x = '%d' % Decimal('1e999999')", ScriptResourceError, "'%d'"),
    ("x = Decimal('1e999999').as_integer_ratio()", ScriptResourceError, "as_integer_ratio()"),
    ("x = ('a' * 10**4).translate({97: 'b' * 10**4})", ScriptResourceError, "translate()"),
    ("x = re.sub('', 'x' * 10**6, 'a' * 10**4)", ScriptResourceError, "re.sub()"),
    ("x = re.compile('').subn('x' * 10**6, 'a' * 10**4)", ScriptResourceError, "re.sub()"),
    ("x = re.sub('', lambda m: 'x' * 10**6, 'a' * 10**4)", ScriptResourceError, "re.sub()"),
    ("t = '\\\\1' * 10**6\nx = re.match('(a+)', 'a' * 100).expand(t)", ScriptResourceError, "expand()"),
    ("p = '(a)' + chr(92) + '1'\nx = re.match(p, 'aa')", RegexError, "backreferences"),
    ("p = '(?' + '<=a)b'\nx = re.compile(p)", RegexError, "lookbehind"),
    ("x = re.findall('', 'a' * 10**7)", ScriptTimeout, "time limit"),
    ("x = [m.start() for m in re.finditer('', 'a' * 10**7)]", ScriptTimeout, "time limit"),
    ("m = re.match('a', 'a')\nx = getattr(m, '_ma' + 'tch')", ScriptSecurityError, "'_match'"),
    ("p = re.compile('a')\nx = getattr(p, '_re' + 'gex')", ScriptSecurityError, "'_regex'"),
    ("x = ('{0}' * 2000).format('a' * 10**7)", ScriptResourceError, "str.format()"),
    ("n = 2000 + len('')\nx = ('%s' * n) % (('a' * 10**7,) * n)", ScriptResourceError, "'%'"),
    ("x = ('%(a)s' * 2000) % {'a': 'a' * 10**7}", ScriptResourceError, "'%'"),
    ("a = 'a' * 10**7\nx = f'" + "{a}" * 20 + "'", ScriptResourceError, "f-string"),
    ("x = json.dumps([[[0] * 1000] * 1000] * 100)", ScriptResourceError, "json.dumps()"),
    ("x = repr([[[0] * 1000] * 1000] * 100)", ScriptResourceError, "repr()"),
    ("x = []\nx.append(x)", ScriptResourceError, "contains itself"),
    ("x = []\nfor i in range(1000):\n    x = [x]", ScriptResourceError, "nested more than 100"),
    ("x = [0] * 1000\ny = [x] * 1000\nz = [y] * 1000", ScriptResourceError, "items"),
    ("x = {(1, 2): 3}", ScriptResourceError, "key of type tuple"),
    ("x = [float('inf')]", ScriptResourceError, "not finite"),
    ("x = {'a': [1, lambda: 2]}", ScriptResourceError, "function"),
    ("x = [frozenset()]", ScriptResourceError, "frozenset"),
    ("x = 10**5000", ScriptResourceError, "4,200 digits"),
    ("x = [] \nwhile True:\n    x.append([0] * 10**6)", ScriptResourceError, "memory"),
    ("x = []\nwhile True:\n    try:\n        x.append([0] * 10**6)\n    except:\n        pass", ScriptResourceError, "memory"),
]


@pytest.mark.parametrize(("source", "error", "fragment"), RUNTIME, ids=[s[:50] for s, _, _ in RUNTIME])
def test_refused_when_run(source: str, error: type[Exception], fragment: str) -> None:
    assert not compile_errors(source)  # these need a run to be seen
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(error) as info:
            # Memory bombs get time enough to reach the memory limit on a loaded machine.
            run(source, time_limit=30 if fragment == "memory" else 0.5, max_memory=100 * 1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert fragment in str(info.value)
    assert isinstance(info.value, ScriptError)
    assert peak < 600 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB before the refusal"
    assert time.monotonic() - started < 40  # loose: a loaded CI box; a hang would be minutes


CATASTROPHIC = [
    'x = re.match(r"(a+)+$", "a" * 40 + "b") is None',
    'x = re.search(r"^(a|aa)+$", "a" * 40 + "b") is None',
    'x = re.compile(r"^(\\w+\\s?)*$").fullmatch("word " * 20 + "!") is None',
    'x = re.findall(r"(x+x+)+y", "x" * 5000) == []',
    'x = re.sub(r"^(a+)+$", "-", "a" * 40 + "b") == "a" * 40 + "b"',
    'x = re.split(r"(a|a)*c", "a" * 40 + "b") == ["a" * 40 + "b"]',
    'x = [m.group() for m in re.finditer(r"(.*a){12}", "a" * 40 + "b")] == ["a" * 40]',
]


@pytest.mark.parametrize("source", CATASTROPHIC)
def test_catastrophic_regex_just_does_not_match(source: str) -> None:
    # In one C call of a backtracking engine these run for hours, holding the GIL: neither the
    # deadline nor a thread can stop them, hence the forked child (tests/forms/bounded.py).
    assert finishes(lambda: run(source, time_limit=5)) == {"x": True}


def test_a_failed_write_back_keeps_the_task_data_storable() -> None:
    data: dict[str, Any] = {"items": [1, 2], "name": "a"}
    with pytest.raises(ScriptResourceError, match="'items' cannot be kept"):
        RestrictedEnvironment().execute("items.append(items)\nname = 'b'", data)
    # The self-containing list was already in the data (changed in place): dropped, nothing else written.
    assert data == {"name": "a"}


def test_write_back_keeps_new_none_values_and_unchanged_data() -> None:
    data: dict[str, Any] = {"a": 1, "items": [{"k": 1}], "gone": 2}
    out = run("n = None\nb = a + 1\ndel gone", data)
    assert out == {"a": 1, "items": [{"k": 1}], "n": None, "b": 2}


def test_int_is_still_int_for_scripts() -> None:
    out = run(
        "a = isinstance(5, int) and isinstance(True, int) and not isinstance('5', int)\n"
        "b = int('42') + int(3.9) + int(Decimal('7.5')) + int('ff', 16)\n"
        "c = int.from_bytes(b'\\x01\\x00', 'big')\n"
        "d = sorted(['10', '9'], key=int)\n"
        "e = isinstance(int(1), (int, float))\n"
        "f = round(Decimal('2.5')) + math.floor(Decimal('2.5')) + int()\n",
    )
    assert out["a"] is True and out["b"] == 42 + 3 + 7 + 255 and out["c"] == 256
    assert out["d"] == ["9", "10"] and out["e"] is True and out["f"] == 4
    assert type(out["b"]) is int and type(out["c"]) is int


def test_ordinary_big_data_is_kept_and_checked_fast() -> None:
    items = [{"price": Decimal("1.10"), "qty": i, "name": f"n{i}", "due": None} for i in range(20_000)]
    started = time.perf_counter()
    out = run("items.append({'price': Decimal('2'), 'qty': 1, 'name': 'x', 'due': None})\ntotal = len(items)",
              {"items": items})
    assert out["total"] == 20_001
    assert time.perf_counter() - started < 5  # C-speed check; ~10 ms when idle


@pytest.mark.parametrize(("value", "problem"), [
    ({"a": [1, 2.5, "x", None, True, Decimal("1"), {"b": []}]}, None),
    ([[1]] * 10, None),
    ({1: "a", 2.5: "b", None: "c"}, None),
    ([1, 2, 2**20_000], "4,200 digits"),
    ({"a": float("nan")}, "not finite"),
    ({"k": {(1,): 2}}, "key of type tuple"),
    ([[[[]]]], None),
    ([{"a": 1}, 5, "x", [{"b": 2}]], None),
    ([{"a": 1}, 5, [{"b": float("inf")}]], "not finite"),
    ([b"bytes"], "bytes"),
])
def test_data_problem(value: Any, problem: str | None) -> None:
    found = data_problem(value)
    assert (found is None) if problem is None else (found is not None and problem in found), found


def test_memory_refusal_is_sticky_and_the_next_script_runs() -> None:
    env = RestrictedEnvironment(time_limit=30, max_memory=100 * 1024 * 1024)
    with pytest.raises(ScriptResourceError, match="memory"):
        env.execute("x = []\nwhile True:\n    try:\n        x.append([0] * 10**6)\n    except Exception:\n"
                    "        y = 1", {})
    ctx: dict[str, Any] = {}
    env.execute("z = [0] * 1000\nn = len(z)", ctx)
    assert ctx["n"] == 1000
