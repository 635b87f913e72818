"""Form patterns: ECMA-262 meaning (what ajv in the browser does), matched by RE2 in linear time.

A catastrophic pattern such as ``^(a+)+$`` must answer at once on an evil value; a pattern RE2
cannot run (backreference, lookaround) is refused when the form is loaded, naming the file, the
line and the field in English and Chinese. The patterns of the product models in processes/ keep
their meaning.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from forms import FormDefinitionError, FormValidationError, check_form_definition, load_form, validate_submission
from forms.dialects import UnsupportedPattern, compile_pattern
from forms.loading import Form
from tests.forms.bounded import finishes

ROOT = Path(__file__).resolve().parents[2]
EVIL = "a" * 40 + "b"  # 2^40 backtracking steps for ^(a+)+$ in a backtracking engine


def matches(pattern: str, value: str) -> bool:
    return compile_pattern(pattern).search(value) is not None


def form_with(prop: dict[str, Any], **schema: Any) -> Form:
    text = json.dumps({"type": "object", "properties": {"code": prop}, **schema}, ensure_ascii=False, indent=2)
    return load_form({"f-schema.json": text}, "f-schema.json", None, {})


def definition_error(schema: dict[str, Any]) -> FormDefinitionError:
    text = json.dumps(schema, ensure_ascii=False, indent=2)
    with pytest.raises(FormDefinitionError) as info:
        load_form({"f-schema.json": text}, "f-schema.json", None, {})
    return info.value


# --- the product models' patterns keep their meaning ------------------------------------------

# Every pattern in processes/ with values it must accept and refuse, as ajv does in the browser.
PRODUCT_PATTERNS: dict[str, tuple[list[str], list[str]]] = {
    r"^(1[3-9]\d{9}|0\d{2,3}-?\d{7,8})$": (  # mobile or landline (quality issue reporter)
        ["13812345678", "19912345678", "010-12345678", "0755-1234567", "075512345678"],
        ["12812345678", "1381234567", "138123456789", "13812345678\n", "１３８１２３４５６７８",
         "010 12345678", "+8613812345678", "1٣812345678"],
    ),
    r"^20[0-9]{2}-(0[1-9]|1[0-2])$": (  # settlement month
        ["2026-01", "2026-12", "2000-09"],
        ["2026-13", "2026-00", "2026-1", "1999-01", "2026-01\n", "２０２６-01"],
    ),
    r"^ETO-\d{4}-\d{4}$": (  # ETO change order number
        ["ETO-2026-0001"],
        ["ETO-26-1", "eto-2026-0001", "ETO-2026-0001\n", "ETO-２０２６-０００１", " ETO-2026-0001"],
    ),
    r"^[A-Za-z0-9][A-Za-z0-9-]{3,39}$": (  # payment / grid application references
        ["PAY-2026-001", "abcd", "A" * 40],
        ["-ABC", "ABC", "A" * 41, "AB_1", "ABC中文", "ABCD\n", "ABCD "],
    ),
    r"^[A-Za-z0-9][A-Za-z0-9_/-]{3,39}$": (  # subsidy claim references
        ["SUB/2026_01-9", "abcd"],
        ["_abc", "abc", "ABC\u3000D", "ＡＢＣＤ"],
    ),
    r"^[A-Z0-9][A-Z0-9-]{3,31}$": (  # commissioning certificate numbers
        ["CERT-0001", "1234"],
        ["cert-0001", "CER", "C" * 33, "CERT-0001\n"],
    ),
}


def _patterns_in_processes() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "processes").rglob("*.json"):
        text = path.read_text(encoding="utf-8")
        # Templated (Jinja) schemas are not JSON before rendering: read the string literal itself.
        for literal in re.findall(r'"pattern"\s*:\s*("(?:[^"\\]|\\.)*")', text):
            found.add(json.loads(literal))
    return found


def test_every_pattern_in_the_product_models_is_listed_here() -> None:
    assert _patterns_in_processes() == set(PRODUCT_PATTERNS)


@pytest.mark.parametrize("pattern", sorted(PRODUCT_PATTERNS))
def test_product_patterns_keep_their_meaning(pattern: str) -> None:
    accepted, refused = PRODUCT_PATTERNS[pattern]
    assert [v for v in accepted if not matches(pattern, v)] == []
    assert [v for v in refused if matches(pattern, v)] == []


# --- ECMA-262 semantics -------------------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "value", "expected"), [
    # $ is the end of the value, not "before a final newline" (Python's $).
    ("^ab$", "ab", True),
    ("^ab$", "ab\n", False),
    ("ab$", "xab", True),
    ("^a", "ba", False),
    # \d and \w are ASCII: full-width and Arabic-Indic digits, Chinese characters are not.
    (r"^\d+$", "2026", True),
    (r"^\d+$", "２０２６", False),
    (r"^\d+$", "٢٠٢٦", False),
    (r"^\w+$", "order_1", True),
    (r"^\w+$", "订单", False),
    (r"^\W+$", "订单", True),
    (r"^[\d-]+$", "2026-01", True),
    (r"^[\d-]+$", "２０２６", False),
    (r"^\D+$", "２", True),
    # \s is ECMA's white space: the ideographic space U+3000 and NBSP count, as in the browser.
    (r"^\S+$", "张三", True),
    (r"^\S+$", "张\u3000三", False),
    (r"^\S+$", "张\u00a0三", False),
    (r"\s", "\u3000", True),
    (r"\s", "\ufeff", True),
    (r"^[^\S\n]+$", " \t\u3000", True),
    (r"^[^\S\n]+$", " \n", False),
    (r"^[\s\S]{3}$", "a\n中", True),
    (r"^[a\S]+$", "a\u3000", False),
    # . is any character but a line terminator (\n, \r, U+2028, U+2029).
    (r"^a.b$", "a中b", True),
    (r"^a.b$", "a\nb", False),
    (r"^a.b$", "a\rb", False),
    (r"^a.b$", "a\u2028b", False),
    (r"^[.]$", "x", False),
    # Unicode: Chinese text, \u escapes (JSON "\\u4e00"), surrogate pairs, code points not bytes.
    (r"^[\u4e00-\u9fa5]{2,10}$", "张三", True),
    (r"^[\u4e00-\u9fa5]{2,10}$", "张", False),
    (r"^[\u4e00-\u9fa5]{2,10}$", "Zhang", False),
    ("^[一-龥]{2,4}$", "欧阳娜娜", True),
    (r"^.{2,4}$", "欧阳娜娜", True),
    (r"^.{2,4}$", "欧阳娜娜娜", False),
    (r"^\ud83d\ude00$", "\U0001f600", True),
    (r"^\u{1F600}$", "\U0001f600", True),
    ("^[男女]$", "女", True),
    (r"^[\b]$", "\b", True),
    (r"^[[:alpha:]]+$", ":]]", True),  # a class of "[:alph", then "]+": not a POSIX class
    (r"^[[:alpha:]]+$", "abc", False),
    # CNY amounts and amounts in words (大写金额).
    (r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", "19.99", True),
    (r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", "0.5", True),
    (r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", "019.99", False),
    (r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", "1.005", False),
    (r"^(0|[1-9]\d{0,11})(\.\d{1,2})?$", "１９.９９", False),
    (r"^¥?\d{1,3}(,\d{3})*(\.\d{2})?$", "¥1,234,567.00", True),
    (r"^¥?\d{1,3}(,\d{3})*(\.\d{2})?$", "￥1,234.00", False),
    ("^[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+元([零壹贰叁肆伍陆柒捌玖]角)?([零壹贰叁肆伍陆柒捌玖]分)?整?$", "壹仟贰佰元整", True),
    ("^[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+元([零壹贰叁肆伍陆柒捌玖]角)?([零壹贰叁肆伍陆柒捌玖]分)?整?$", "1200元整", False),
    # Unified social credit code (统一社会信用代码) and a PO number.
    (r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", "91350100M000100Y43", True),
    (r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$", "91350100M000100Y4", False),
    (r"^PO-\d{8}-\d{3,}$", "PO-20260115-001", True),
])
def test_ecma_semantics(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_a_pattern_is_searched_not_anchored() -> None:
    assert matches("b", "abc") and not matches("^b", "abc")


# --- catastrophic backtracking ----------------------------------------------------------------


@pytest.mark.parametrize(("pattern", "evil"), [
    ("^(a+)+$", EVIL),
    ("^(a|a)*$", EVIL),
    ("^(a|aa)+$", EVIL),
    (r"^(\w+\s?)*$", "word " * 20 + "!"),
    (r"^([a-zA-Z0-9])(([\-.]|[_]+)?([a-zA-Z0-9]+))*(@){1}[a-z0-9]+[.]{1}(([a-z]{2,3})|([a-z]{2,3}[.]{1}[a-z]{2,3}))$",
     "a" * 50 + "!"),  # a real-world e-mail pattern
    ("(x+x+)+y", "x" * 5000),
])
def test_catastrophic_patterns_answer_at_once(pattern: str, evil: str) -> None:
    form = form_with({"type": "string", "title": "编码", "pattern": pattern})

    def submit() -> list[tuple[str, str]]:
        with pytest.raises(FormValidationError) as info:
            validate_submission(form, {"code": evil})
        return [(e.path, e.code) for e in info.value.errors]

    assert finishes(submit) == [("/code", "pattern")]


_PATTERN_PROPERTIES = {"^(a+)+$": {"type": "string"}}


@pytest.mark.parametrize("schema", [
    {"type": "object", "patternProperties": _PATTERN_PROPERTIES, "additionalProperties": False},
    {"type": "object", "patternProperties": _PATTERN_PROPERTIES, "unevaluatedProperties": False},
    {"$schema": "https://json-schema.org/draft/2019-09/schema", "type": "object",
     "patternProperties": _PATTERN_PROPERTIES, "unevaluatedProperties": False},
    {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
     "patternProperties": _PATTERN_PROPERTIES, "additionalProperties": False},
], ids=["additionalProperties", "unevaluatedProperties", "2019-09", "draft-07"])
def test_catastrophic_pattern_properties_answer_at_once(schema: dict[str, Any]) -> None:
    # Member names are the client's choice: patternProperties are matched with RE2 too, in each
    # keyword that uses them (jsonschema's own would use Python's re).
    form = load_form({"f-schema.json": json.dumps(schema)}, "f-schema.json", None, {})
    assert validate_submission(form, {"aaaa": "x"}) == {"aaaa": "x"}

    def evil() -> str:
        with pytest.raises(FormValidationError) as info:
            validate_submission(form, {EVIL: "x"})
        return str(info.value)

    assert EVIL in finishes(evil)


def test_catastrophic_pattern_properties_alone_answer_at_once() -> None:
    schema = {"type": "object", "patternProperties": {"^(a+)+$": {"type": "integer"}}}
    form = load_form({"f-schema.json": json.dumps(schema)}, "f-schema.json", None, {})
    # The name does not match: the member is not constrained, and not declared, so not kept.
    assert finishes(lambda: validate_submission(form, {EVIL: "x"})) == {}


def test_pattern_properties_have_ecma_semantics_too() -> None:
    schema = {"type": "object", "patternProperties": {r"^\d+$": {"type": "string"}}, "additionalProperties": False}
    form = load_form({"f-schema.json": json.dumps(schema)}, "f-schema.json", None, {})
    assert validate_submission(form, {"12": "x"}) == {"12": "x"}
    for name in ("１２", "12\n"):
        with pytest.raises(FormValidationError) as info:
            validate_submission(form, {name: "x"})
        assert [e.code for e in info.value.errors] == ["additionalProperties"], name


# --- patterns RE2 cannot run are refused when the form is loaded ------------------------------


@pytest.mark.parametrize(("pattern", "reason_en", "reason_zh"), [
    (r"^(\d)\1$", "backreferences", "反向引用"),
    (r"^(?P<x>a)(?P=x)$", "backreferences", "反向引用"),
    (r"^(?=.*\d)(?=.*[a-z]).{8,}$", "lookahead", "先行"),  # the usual password-strength pattern
    (r"^(?!admin).*$", "lookahead", "先行"),
    (r"(?<=¥)\d+", "lookbehind", "后行"),
    (r"(?<!-)\d+", "lookbehind", "后行"),
    (r"^a{1001}$", "repetition", "重复"),
])
def test_unsupported_pattern_is_refused_naming_file_line_and_field(pattern: str, reason_en: str, reason_zh: str) -> None:
    err = definition_error({"type": "object", "properties": {
        "name": {"type": "string"},
        "code": {"type": "string", "title": "物料编码", "pattern": pattern},
    }})
    assert err.filename == "f-schema.json"
    assert err.line == 10  # the "pattern" key
    assert "/properties/code/pattern" in err.message
    assert "'code' (物料编码)" in err.message
    assert reason_en in err.message and reason_zh in err.message
    assert "exponential time" in err.message and "指数级" in err.message


def test_unsupported_pattern_deep_inside_the_schema_is_found() -> None:
    err = definition_error({"type": "object", "$defs": {"line": {"type": "object", "properties": {
        "sku": {"type": "string", "pattern": "^(?=SKU)"}}}},
        "properties": {"lines": {"type": "array", "items": {"$ref": "#/$defs/line"}}}})
    assert "/$defs/line/properties/sku/pattern" in err.message and "'sku'" in err.message


def test_unsupported_pattern_properties_name_is_refused() -> None:
    err = definition_error({"type": "object", "patternProperties": {r"^(x)\1$": {"type": "string"}}})
    assert err.line == 4 and "/patternProperties/" in err.message and "backreferences" in err.message


def test_data_named_pattern_is_not_a_pattern() -> None:
    # "pattern" as a property name, or inside enum/default/examples data, is not a regex.
    schema = {"type": "object", "properties": {"pattern": {"type": "string", "default": "(?=x)"}},
              "examples": [{"pattern": "(a)\\1"}]}
    load_form({"f-schema.json": json.dumps(schema)}, "f-schema.json", None, {})


def test_deploy_time_check_refuses_it() -> None:
    schema = {"type": "object", "properties": {"code": {"type": "string", "pattern": "^(a)\\1$"}}}
    with pytest.raises(FormDefinitionError, match="backreferences"):
        check_form_definition({"f-schema.json": json.dumps(schema)}, "f-schema.json")


def test_templated_pattern_is_checked_when_rendered() -> None:
    text = '{"type": "object", "properties": {"code": {"type": "string", "pattern": "{{ rule }}"}}}'
    check_form_definition({"f-schema.json": text}, "f-schema.json")  # needs task data: not checked yet
    form = load_form({"f-schema.json": text}, "f-schema.json", None, {"rule": "^[A-Z]{3}$"})
    assert validate_submission(form, {"code": "ABC"}) == {"code": "ABC"}
    with pytest.raises(FormDefinitionError, match="lookahead"):
        load_form({"f-schema.json": text}, "f-schema.json", None, {"rule": "^(?=A)"})


def test_a_form_built_by_hand_with_an_unsupported_pattern_is_a_definition_error() -> None:
    form = Form(schema={"type": "object", "properties": {"code": {"type": "string", "pattern": "(?=a)"}}},
                schema_filename="hand-schema.json")
    with pytest.raises(FormDefinitionError) as info:
        validate_submission(form, {"code": "a"})
    assert info.value.filename == "hand-schema.json" and "lookahead" in info.value.message


def test_compile_pattern_raises_unsupported_pattern() -> None:
    with pytest.raises(UnsupportedPattern) as info:
        compile_pattern(r"(a)\1")
    assert info.value.pattern == r"(a)\1" and "\\1" in info.value.detail


def test_a_lone_surrogate_is_a_field_error_not_a_crash() -> None:
    # RE2 reads UTF-8, which a lone surrogate is not; such a value simply does not match.
    form = form_with({"type": "string", "pattern": "^a"},
                     patternProperties={"^x": {"type": "string"}})
    with pytest.raises(FormValidationError) as info:
        validate_submission(form, {"code": "a\ud800"})
    assert [(e.path, e.code) for e in info.value.errors] == [("/code", "pattern")]
    assert validate_submission(form, {"x\ud800": "v"}) == {}  # not matched, not declared: dropped
