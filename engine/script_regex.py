"""Scripts' `re` (engine/sandbox.py): RE2 (google-re2, linear time) behind the interface of
Python's re, with Python's meaning of \\d, \\w and \\s; details below."""
from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import re2

from engine.script_errors import ScriptError

# The sandbox's deadline check (engine.sandbox sets it): findall/sub loops call it between matches.
_DEADLINE_CHECKS: list[Callable[[], object]] = []


def set_deadline_check(check: Callable[[], object]) -> None:
    _DEADLINE_CHECKS[:] = [check]


def check_deadline() -> bool:
    for check in _DEADLINE_CHECKS:
        check()
    return True


# Scripts' `re` runs on RE2 (google-re2), whose matching time is linear in the input: a backtracking
# engine spends exponential time in one C call on `re.match(r"(a+)+$", "a" * 40 + "b")`, which the
# deadline cannot interrupt. RE2 has no backreferences and no lookaround; such a pattern raises
# RegexError (a ScriptError, and the `re.error` scripts catch), refused at deploy time when it is
# a literal. Patterns are translated so that \d, \w, \s (and \D, \W, \S) keep Python's Unicode
# meaning (RE2's are ASCII) unless re.ASCII is given; re.VERBOSE, (?#...) comments, \Z, \uXXXX,
# \N{...} and {,n} are rewritten too. Still different from Python's re: `$` without re.MULTILINE
# matches only at the very end (not before a final newline: write `\n?$`), \b is ASCII, repetition
# counts stop at 1000, and a negated class with \W is limited to [^\W], [^\W_], [^\W\d], [^\W\d_].
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # RE2 would print every refused pattern to stderr
_RE2_BYTES_OPTIONS = re2.Options()
_RE2_BYTES_OPTIONS.log_errors = False
_RE2_BYTES_OPTIONS.encoding = re2.Options.Encoding.LATIN1  # bytes patterns match bytes, not UTF-8
_REGEX_FLAGS = int(re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE | re.ASCII | re.UNICODE)
_INLINE_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "a": re.ASCII, "u": re.UNICODE}
_PY_SPACE = r"\t\n\x0b\f\r\x1c-\x1f\x85\p{Z}"  # str.isspace()
_PY_ASCII_SPACE = r"\t\n\x0b\f\r "
_PY_WORD = r"\p{L}\p{N}_"  # str.isalnum() or "_"
# (outside a class, inside a class, inside a class as a complement) per re.ASCII.
_PY_SHORTHANDS: dict[bool, tuple[dict[str, str], dict[str, str], dict[str, str]]] = {
    False: (
        {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": f"[{_PY_WORD}]", "W": f"[^{_PY_WORD}]",
         "s": f"[{_PY_SPACE}]", "S": f"[^{_PY_SPACE}]", "Z": r"\z"},
        {"d": r"\p{Nd}", "D": r"\P{Nd}", "w": _PY_WORD, "s": _PY_SPACE, "b": r"\x08"},
        {"W": _PY_WORD, "S": _PY_SPACE},
    ),
    True: (
        {"s": f"[{_PY_ASCII_SPACE}]", "S": f"[^{_PY_ASCII_SPACE}]", "Z": r"\z"},
        {"s": _PY_ASCII_SPACE, "b": r"\x08"},
        {"S": _PY_ASCII_SPACE},
    ),
}
_PY_SPACE_CHARS = "\t\n\x0b\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + (
    "\u2028\u2029\u202f\u205f\u3000")  # every c with c.isspace()
_PY_ASCII_SPACE_CHARS = "\t\n\x0b\f\r "
_VERBOSE_SPACE = frozenset(" \t\n\r\x0b\f")
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class RegexError(ScriptError, re.error):
    """A regular expression the sandbox cannot run (RE2 refuses it), or a bad replacement
    template. Scripts see it as `re.error`."""


def _regex_refusal(pattern: str | bytes, detail: str) -> RegexError:
    from forms.dialects import REGEX_ENGINE_NOTE, unsupported_regex_reason  # shared wording

    reason, _ = unsupported_regex_reason(pattern, detail)
    return RegexError(f"regular expression {pattern!r} cannot be used in scripts: {reason} (RE2: {detail}). "
                      f"{REGEX_ENGINE_NOTE}")


def _python_escape(pattern: str, i: int, table: Mapping[str, str]) -> tuple[str, int]:
    """The RE2 spelling of the escape at `pattern[i]` (a backslash) and the index after it."""
    nxt = pattern[i + 1]
    if nxt in table:
        return table[nxt], i + 2
    if nxt in "uU":
        width = 4 if nxt == "u" else 8
        digits = pattern[i + 2 : i + 2 + width]
        if len(digits) == width and all(c in _HEX_DIGITS for c in digits):
            return f"\\x{{{digits}}}", i + 2 + width
    if nxt == "N" and pattern.startswith("{", i + 2):
        close = pattern.find("}", i + 3)
        try:
            char = unicodedata.lookup(pattern[i + 3 : close]) if close > 0 else ""
        except KeyError:
            char = ""
        if not char:
            raise RegexError(f"bad escape \\N at position {i} of {pattern!r}")
        return f"\\x{{{ord(char):x}}}", close + 1
    return pattern[i : i + 2], i + 2


def _class_of(chars: str) -> str:
    """A character class matching exactly `chars` (one that matches nothing when empty)."""
    return "[" + "".join(f"\\x{{{ord(c):x}}}" for c in chars) + "]" if chars else r"[^\x00-\x{10ffff}]"


def _python_class(pattern: str, i: int, ascii_only: bool) -> tuple[str, int]:
    """The RE2 spelling of the character class at `pattern[i]` (a `[`) and the index after it.

    \\W and \\S are complements of a union, which an RE2 class cannot hold next to other items:
    `[a\\W]` becomes `(?:[a]|[^<word>])`; `[^\\S\\n]` the whitespace other than \\n; `[^\\W\\d_]`
    (letters) `[\\p{L}\\p{Nl}\\p{No}]`. Other negated classes with \\W are refused."""
    _, inside, complements = _PY_SHORTHANDS[ascii_only]
    n = len(pattern)
    j = i + 1
    negated = j < n and pattern[j] == "^"
    if negated:
        j += 1
    items: list[str] = []
    raw: list[str] = []  # the items as written, to recognise [^\W\d_]
    if j < n and pattern[j] == "]":  # a literal ']' (Python, RE2)
        items.append("]")
        raw.append("]")
        j += 1
    others: list[str] = []  # \W, \S
    while j < n and pattern[j] != "]":
        c = pattern[j]
        if c == "\\" and j + 1 < n:
            if pattern[j + 1] in complements:
                others.append(pattern[j + 1])
                j += 2
                continue
            start = j
            item, j = _python_escape(pattern, j, inside)
            items.append(item)
            raw.append(pattern[start:j])
            continue
        items.append("\\[" if c == "[" else c)  # RE2 reads "[:alpha:]" inside a class as POSIX
        raw.append(c)
        j += 1
    if j >= n:  # unterminated: RE2 reports it
        return pattern[i:], n
    body = "".join(items)
    if not others:
        return f"[{'^' if negated else ''}{body}]", j + 1
    if not negated:
        alternatives = ([f"[{chr(92) if body.startswith('^') else ''}{body}]"] if body else [])
        return "(?:" + "|".join(alternatives + [f"[^{complements[o]}]" for o in others]) + ")", j + 1
    written = pattern[i : j + 1]
    if set(others) == {"S"}:  # the spaces that body does not match
        spaces = _PY_ASCII_SPACE_CHARS if ascii_only else _PY_SPACE_CHARS
        if body:
            try:
                positive = re2.compile("[" + (chr(92) if body.startswith("^") else "") + body + "]", _RE2_OPTIONS)
            except re2.error:
                return written, j + 1  # RE2 names the problem
            spaces = "".join(ch for ch in spaces if not positive.fullmatch(ch))
        return _class_of(spaces), j + 1
    if set(others) == {"W"} and set(raw) <= {"\\d", "_"}:
        letters = [r"\p{L}", r"\p{Nl}", r"\p{No}"] + ([] if "\\d" in raw else [r"\p{Nd}"]) + ([] if "_" in raw else ["_"])
        return "[" + "".join(letters) + "]", j + 1
    raise RegexError(f"the character class {written!r} cannot be used in scripts: a negated class with \\W (or "
                     "with both \\W and \\S) is supported only as [^\\W], [^\\W_], [^\\W\\d] or [^\\W\\d_]; "
                     "list what you want instead, e.g. [\\p{L}] for letters")


def _python_regex_for_re2(pattern: str, flags: int) -> str:
    """Python `re` syntax and flags -> an RE2 pattern with (nearly) the same meaning."""
    i, n = 0, len(pattern)
    while pattern.startswith("(?", i):  # leading global flags: (?aimsux)
        close = pattern.find(")", i)
        letters = pattern[i + 2 : close] if close > 0 else ""
        if not letters or any(c not in _INLINE_FLAGS for c in letters):
            break
        for c in letters:
            flags |= _INLINE_FLAGS[c]
        i = close + 1
    ascii_only = bool(flags & re.ASCII)
    verbose = bool(flags & re.VERBOSE)
    outside = _PY_SHORTHANDS[ascii_only][0]
    inline = "".join(c for c, f in (("i", re.IGNORECASE), ("m", re.MULTILINE), ("s", re.DOTALL)) if flags & f)
    out: list[str] = [f"(?{inline})"] if inline else []
    while i < n:
        c = pattern[i]
        if c == "\\" and i + 1 < n:
            piece, i = _python_escape(pattern, i, outside)
            out.append(piece)
        elif c == "[":
            piece, i = _python_class(pattern, i, ascii_only)
            out.append(piece)
        elif verbose and c in _VERBOSE_SPACE:
            i += 1
        elif verbose and c == "#":
            end = pattern.find("\n", i)
            i = n if end < 0 else end + 1
        elif pattern.startswith("(?#", i):
            end = pattern.find(")", i)
            i = n if end < 0 else end + 1
        elif pattern.startswith("{,", i):  # Python's {,n} is {0,n}
            end = i + 2
            while end < n and pattern[end].isdigit() and pattern[end].isascii():
                end += 1
            if end < n and pattern[end] == "}":
                out.append("{0," + pattern[i + 2 : end + 1])
                i = end + 1
            else:
                out.append(c)
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def compile_script_pattern(pattern: str | bytes, flags: int) -> RegexPattern:
    if type(flags) is not int and not isinstance(flags, re.RegexFlag):
        raise TypeError("flags must be an integer (re.IGNORECASE | re.MULTILINE ...)")
    if flags & ~_REGEX_FLAGS:
        raise RegexError(f"unsupported regular expression flags {flags:#x} in scripts (available: "
                         "IGNORECASE, MULTILINE, DOTALL, VERBOSE, ASCII, UNICODE)")
    source: str | bytes
    if isinstance(pattern, str):
        source, options = _python_regex_for_re2(pattern, flags), _RE2_OPTIONS
    elif isinstance(pattern, bytes):
        source = _python_regex_for_re2(pattern.decode("latin-1"), flags | re.ASCII).encode("latin-1", "replace")
        options = _RE2_BYTES_OPTIONS
    else:
        raise TypeError(f"first argument must be string or compiled pattern, not {type(pattern).__name__}")
    try:
        regex = re2.compile(source, options)
    except re2.error as exc:
        detail = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise _regex_refusal(pattern, detail) from None
    return RegexPattern(regex, pattern, int(flags))


def compile_regex(pattern: Any, flags: int = 0) -> RegexPattern:
    """`re.compile` for scripts (also takes a compiled pattern, as re.compile does)."""
    if isinstance(pattern, RegexPattern):
        if flags:
            raise ValueError("cannot process flags argument with a compiled pattern")
        return pattern
    return compile_script_pattern(pattern, flags)


def _parse_template(template: Any, pattern: RegexPattern) -> list[Any]:
    """A replacement template (`\\1`, `\\g<name>`, `\\n`) as literal pieces and group numbers,
    with the rules of Python's re (re._parser.parse_template)."""
    if isinstance(template, bytes):
        text = template.decode("latin-1")
    elif isinstance(template, str):
        text = template
    else:
        raise TypeError(f"expected str or bytes template, got {type(template).__name__}")
    pieces: list[str | int] = []
    literal: list[str] = []

    def group(index: int) -> None:
        if index > pattern.groups:
            raise RegexError(f"invalid group reference {index}")
        pieces.append("".join(literal))
        literal.clear()
        pieces.append(index)

    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            literal.append(c)
            i += 1
            continue
        if i + 1 >= n:
            raise RegexError("bad escape (end of pattern)")
        d = text[i + 1]
        i += 2
        if d == "g":
            close = text.find(">", i)
            if not text.startswith("<", i) or close < 0:
                raise RegexError("missing < or > in \\g<...> group reference")
            name = text[i + 1 : close]
            i = close + 1
            if name.isidentifier():
                if name not in pattern.groupindex:
                    raise IndexError(f"unknown group name {name!r}")
                group(pattern.groupindex[name])
            elif name.isdecimal() and name.isascii():
                group(int(name))
            else:
                raise RegexError(f"bad character in group name {name!r}")
        elif d == "0":
            digits = d
            while len(digits) < 3 and i < n and text[i] in "01234567":
                digits += text[i]
                i += 1
            literal.append(chr(int(digits, 8)))
        elif d in "123456789":
            digits = d
            if i < n and text[i] in "0123456789":
                digits += text[i]
                i += 1
                if d in "01234567" and digits[1] in "01234567" and i < n and text[i] in "01234567":
                    digits += text[i]
                    i += 1
                    if int(digits, 8) > 0o377:
                        raise RegexError(f"octal escape value \\{digits} outside of range 0-0o377")
                    literal.append(chr(int(digits, 8)))
                    continue
            group(int(digits))
        elif d in "abfnrtv\\":
            literal.append({"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                            "\\": "\\"}[d])
        elif d.isascii() and d.isalpha():
            raise RegexError(f"bad escape \\{d} at position {i - 2}")
        else:
            literal.append("\\" + d)
    pieces.append("".join(literal))
    if isinstance(template, bytes):
        return [p.encode("latin-1") if isinstance(p, str) else p for p in pieces]
    return pieces


class RegexPattern:
    """What `re.compile` gives a script: re.Pattern's methods and attributes, matched by RE2."""

    __slots__ = ("_regex", "_source", "_flags", "_groupindex")

    def __init__(self, regex: Any, source: str | bytes, flags: int) -> None:
        self._regex = regex
        self._source = source
        self._flags = flags
        self._groupindex: dict[str, int] = dict(regex.groupindex)

    @property
    def pattern(self) -> str | bytes:
        return self._source

    @property
    def flags(self) -> int:
        unicode = isinstance(self._source, str) and not self._flags & re.ASCII
        return self._flags | (int(re.UNICODE) if unicode else 0)

    @property
    def groups(self) -> int:
        return int(self._regex.groups)

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._groupindex)

    def _check_text(self, string: Any) -> None:
        if isinstance(self._source, str):
            if not isinstance(string, str):
                raise TypeError(f"expected string, got {type(string).__name__}")
        elif not isinstance(string, bytes):
            raise TypeError(f"expected a bytes-like object, got {type(string).__name__}")

    def _wrap(self, match: Any) -> RegexMatch | None:
        return None if match is None else RegexMatch(match, self)

    def search(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> RegexMatch | None:
        self._check_text(string)
        return self._wrap(self._regex.search(string, pos, endpos))

    def match(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> RegexMatch | None:
        self._check_text(string)
        return self._wrap(self._regex.match(string, pos, endpos))

    def fullmatch(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> RegexMatch | None:
        self._check_text(string)
        return self._wrap(self._regex.fullmatch(string, pos, endpos))

    def finditer(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[RegexMatch]:
        self._check_text(string)
        return self._matches(string, pos, endpos)

    def _matches(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[RegexMatch]:
        for match in self._regex.finditer(string, pos, endpos):
            check_deadline()  # a million matches of '' are a million Python steps: keep the limit
            yield RegexMatch(match, self)

    def findall(self, string: Any, pos: int = 0, endpos: int = sys.maxsize) -> list[Any]:
        self._check_text(string)
        empty = string[:0]
        groups = self.groups
        found: list[Any] = []
        for m in self._matches(string, pos, endpos):
            if groups == 0:
                found.append(m.group())
            elif groups == 1:
                found.append(m.group(1) or empty)
            else:
                found.append(m.groups(empty))
        return found

    def split(self, string: Any, maxsplit: int = 0) -> list[Any]:
        self._check_text(string)
        if maxsplit < 0:
            return [string]
        pieces: list[Any] = []
        end = done = 0
        for m in self._matches(string):
            if maxsplit and done >= maxsplit:
                break
            pieces.append(string[end : m.start()])
            pieces.extend(m.groups())
            end = m.end()
            done += 1
        pieces.append(string[end:])
        return pieces

    def subn(self, repl: Any, string: Any, count: int = 0) -> tuple[Any, int]:
        self._check_text(string)
        if callable(repl):
            replace = repl
        else:
            template = _parse_template(repl, self)

            def replace(m: RegexMatch) -> Any:
                return m._expand(template)

        if count < 0:
            return string, 0
        pieces: list[Any] = []
        end = done = 0
        for m in self._matches(string):
            if count and done >= count:
                break
            pieces.append(string[end : m.start()])
            pieces.append(replace(m))
            end = m.end()
            done += 1
        pieces.append(string[end:])
        return string[:0].join(pieces), done

    def sub(self, repl: Any, string: Any, count: int = 0) -> Any:
        return self.subn(repl, string, count)[0]

    def __repr__(self) -> str:
        names = [name for name, flag in (("re.IGNORECASE", re.I), ("re.MULTILINE", re.M), ("re.DOTALL", re.S),
                                         ("re.VERBOSE", re.X), ("re.ASCII", re.A)) if self._flags & flag]
        return f"re.compile({self._source!r}{', ' + '|'.join(names) if names else ''})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RegexPattern) and (self._source, self._flags) == (other._source, other._flags)

    def __hash__(self) -> int:
        return hash((self._source, self._flags))


class RegexMatch:
    """What a RegexPattern's search/match/finditer give a script: re.Match's interface."""

    __slots__ = ("_match", "_pattern")

    def __init__(self, match: Any, pattern: RegexPattern) -> None:
        self._match = match
        self._pattern = pattern

    def _index(self, group: Any) -> int:
        if isinstance(group, str):
            index = self._pattern._groupindex.get(group)
            if index is None:
                raise IndexError("no such group")
            return index
        if isinstance(group, int) and 0 <= group <= self._pattern.groups:
            return int(group)
        raise IndexError("no such group")

    def group(self, *groups: Any) -> Any:
        if len(groups) == 1 or not groups:
            return self._match[self._index(groups[0] if groups else 0)]
        return tuple(self._match[self._index(g)] for g in groups)

    def __getitem__(self, group: Any) -> Any:
        return self._match[self._index(group)]

    def groups(self, default: Any = None) -> tuple[Any, ...]:
        found = [self._match[i] for i in range(1, self._pattern.groups + 1)]
        return tuple([default if g is None else g for g in found])

    def groupdict(self, default: Any = None) -> dict[str, Any]:
        found = {name: self._match[i] for name, i in self._pattern._groupindex.items()}
        return {name: default if g is None else g for name, g in found.items()}

    def start(self, group: Any = 0) -> int:
        return int(self._match.start(self._index(group)))

    def end(self, group: Any = 0) -> int:
        return int(self._match.end(self._index(group)))

    def span(self, group: Any = 0) -> tuple[int, int]:
        start, end = self._match.span(self._index(group))
        return int(start), int(end)

    def _expand(self, template: list[Any]) -> Any:
        empty = self._match.string[:0]
        return empty.join([(self._match[p] or empty) if isinstance(p, int) else p for p in template])

    def expand(self, template: Any) -> Any:
        return self._expand(_parse_template(template, self._pattern))

    @property
    def string(self) -> Any:
        return self._match.string

    @property
    def re(self) -> RegexPattern:
        return self._pattern

    @property
    def pos(self) -> int:
        return int(self._match.pos)

    @property
    def endpos(self) -> int:
        return int(self._match.endpos)

    @property
    def lastindex(self) -> int | None:
        index = self._match.lastindex
        return None if index is None else int(index)

    @property
    def lastgroup(self) -> str | None:
        name = self._match.lastgroup
        return None if name is None else str(name)

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"<re.Match object; span={self.span()!r}, match={self.group()!r}>"


REGEX_FUNCTION_FLAGS_AT = {"compile": 1, "search": 2, "match": 2, "fullmatch": 2, "findall": 2, "finditer": 2,
                            "split": 3, "sub": 4, "subn": 4}


def regex_functions() -> dict[str, Any]:
    """The functions of the scripts' `re` (sub/subn are sized by _Guards)."""

    def search(pattern: Any, string: Any, flags: int = 0) -> RegexMatch | None:
        return compile_regex(pattern, flags).search(string)

    def match(pattern: Any, string: Any, flags: int = 0) -> RegexMatch | None:
        return compile_regex(pattern, flags).match(string)

    def fullmatch(pattern: Any, string: Any, flags: int = 0) -> RegexMatch | None:
        return compile_regex(pattern, flags).fullmatch(string)

    def findall(pattern: Any, string: Any, flags: int = 0) -> list[Any]:
        return compile_regex(pattern, flags).findall(string)

    def finditer(pattern: Any, string: Any, flags: int = 0) -> Iterator[RegexMatch]:
        return compile_regex(pattern, flags).finditer(string)

    def split(pattern: Any, string: Any, maxsplit: int = 0, flags: int = 0) -> list[Any]:
        return compile_regex(pattern, flags).split(string, maxsplit)

    def sub(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> Any:
        return compile_regex(pattern, flags).sub(repl, string, count)

    def subn(pattern: Any, repl: Any, string: Any, count: int = 0, flags: int = 0) -> tuple[Any, int]:
        return compile_regex(pattern, flags).subn(repl, string, count)

    return {
        "compile": compile_regex, "search": search, "match": match, "fullmatch": fullmatch, "findall": findall,
        "finditer": finditer, "split": split, "sub": sub, "subn": subn, "escape": re.escape, "error": RegexError,
        **{name: getattr(re, name) for name in (
            "A", "ASCII", "I", "IGNORECASE", "M", "MULTILINE", "S", "DOTALL", "X", "VERBOSE", "U", "UNICODE")},
    }
