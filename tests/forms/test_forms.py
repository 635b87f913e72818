"""Tests for the forms package: Jinja filling, definition errors, submission validation."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from forms import (
    FieldError,
    Form,
    FormDefinitionError,
    FormValidationError,
    check_form_definition,
    find_ui_schema_filename,
    json_dumps,
    json_loads,
    load_form,
    validate_submission,
)

REPO = Path(__file__).resolve().parents[2]

APPLY_SCHEMA = r"""{
  "title": "Station construction request",
  "type": "object",
  "required": ["order_no", "amount", "station_type", "start_date"],
  "properties": {
    "order_no": {
      "type": "string",
      "title": "Order number",
      "pattern": "^ETO-\\d{4}-\\d{4}$",
      "examples": ["ETO-2026-0001"]
    },
    "amount": {"type": "number", "title": "Amount", "multipleOf": 0.01, "minimum": 0, "maximum": 50000000},
    "station_type": {"type": "string", "title": "Station type", "enum": {{ station_types | tojson }}},
    "station_name": {"type": "string", "title": "Station", "default": "{{ station_name }}"},
    "start_date": {"type": "string", "title": "Start date", "format": "date"},
    "contact_email": {"type": "string", "format": "email"},
    "urgent": {"type": "boolean"},
    "items": {
      "type": "array",
      "title": "Items",
      "items": {
        "type": "object",
        "required": ["sku", "qty"],
        "properties": {
          "sku": {"type": "string", "minLength": 1, "maxLength": 20},
          "qty": {"type": "integer", "title": "Quantity", "minimum": 1}
        }
      }
    },
    "site_plan": {"type": "string", "title": "Site plan", "format": "attachment"}
  }
}
"""

APPLY_UISCHEMA = """{
  "ui:order": ["order_no", "station_type", "*"],
  "station_name": {"ui:help": "{{ station_name }}"}
}
"""

TASK_DATA: dict[str, Any] = {"station_types": ["新建站", "改造站"], "station_name": "浦东 1 号站"}

SHA = "sha256:" + "0123456789abcdef" * 4


def files(**extra: str) -> dict[str, str]:
    return {"apply-schema.json": APPLY_SCHEMA, "apply-uischema.json": APPLY_UISCHEMA, **extra}


def apply_form(task_data: dict[str, Any] | None = None) -> Form:
    return load_form(files(), "apply-schema.json", "apply-uischema.json", TASK_DATA if task_data is None else task_data)


def valid_submission(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "order_no": "ETO-2026-0001",
        "amount": 19.99,
        "station_type": "新建站",
        "start_date": "2026-03-01",
    }
    data.update(overrides)
    return data


def errors_of(form: Form, data: Any) -> list[FieldError]:
    with pytest.raises(FormValidationError) as info:
        validate_submission(form, data)
    return info.value.errors


def by_path(errors: list[FieldError]) -> dict[str, FieldError]:
    return {e.path: e for e in errors}


def single_file_error(text: str, task_data: dict[str, Any] | None = None) -> FormDefinitionError:
    with pytest.raises(FormDefinitionError) as info:
        load_form({"x-schema.json": text}, "x-schema.json", None, task_data or {})
    return info.value


# --- loading and Jinja ------------------------------------------------------------------


def test_enum_and_default_are_filled_from_task_data() -> None:
    form = apply_form()
    props = form.schema["properties"]
    assert props["station_type"]["enum"] == ["新建站", "改造站"]
    assert props["station_name"]["default"] == "浦东 1 号站"
    assert form.ui_schema["station_name"] == {"ui:help": "浦东 1 号站"}
    assert form.schema_filename == "apply-schema.json"
    assert form.ui_schema_filename == "apply-uischema.json"


def test_tojson_keeps_non_ascii_and_writes_decimal_as_exact_number() -> None:
    text = '{"type": "object", "properties": {"a": {"type": "number", "maximum": {{ limit | tojson }}, "title": {{ t | tojson }}}}}'
    form = load_form({"x-schema.json": text}, "x-schema.json", None, {"limit": Decimal("1234567.89"), "t": "金额"})
    assert form.schema["properties"]["a"]["maximum"] == 1234567.89
    assert form.schema["properties"]["a"]["title"] == "金额"
    # Exactly these digits reach the validator: 1234567.89 passes, one fen more fails.
    assert validate_submission(form, {"a": Decimal("1234567.89")}) == {"a": Decimal("1234567.89")}
    assert errors_of(form, {"a": Decimal("1234567.90")})[0].code == "maximum"


def test_missing_variables_render_empty_and_tojson_null() -> None:
    form = apply_form({"station_types": ["A"]})  # no station_name at all
    assert form.schema["properties"]["station_name"]["default"] == ""
    text = '{"title": "{{ station.name }}", "default": {{ nothing | tojson }}, "x": {{ opts | default([]) | tojson }}}'
    form = load_form({"x-schema.json": text}, "x-schema.json", None, {})
    assert form.schema == {"title": "", "default": None, "x": []}


def test_missing_variable_in_enum_is_a_clear_definition_error() -> None:
    err = single_file_error('{\n  "properties": {\n    "t": {"enum": {{ options | tojson }}}\n  }\n}')
    assert err.filename == "x-schema.json"
    assert err.line == 3
    assert "/properties/t/enum" in err.message
    assert "missing from the task data" in err.message


def test_interpolated_strings_are_json_escaped() -> None:
    text = '{"title": "Station {{ name }}", "description": "{{ flag }}/{{ none }}"}'
    name = 'Wang "Big" \\ 站\nline2'
    form = load_form({"x-schema.json": text}, "x-schema.json", None, {"name": name, "flag": True, "none": None})
    assert form.schema["title"] == f"Station {name}"
    assert form.schema["description"] == "true/"


def test_sandbox_blocks_attribute_tricks_and_mutation() -> None:
    text = '{"title": "{{ \'\'.__class__.__mro__ }}"}'
    form = load_form({"x-schema.json": text}, "x-schema.json", None, {})
    assert form.schema == {"title": ""}
    data = {"items": [1, 2]}
    with pytest.raises(FormDefinitionError) as info:
        load_form({"x-schema.json": '{"title": "{{ items.append(3) }}"}'}, "x-schema.json", None, data)
    assert info.value.line == 1
    assert data == {"items": [1, 2]}


def test_jinja_syntax_error_names_file_and_line() -> None:
    err = single_file_error('{\n  "type": "object",\n  "enum": {{ opts | tojson }\n}')
    assert (err.filename, err.line) == ("x-schema.json", 3)
    assert "Jinja syntax error" in err.message
    assert str(err).startswith("x-schema.json:3: ")


def test_jinja_render_error_names_file_and_line() -> None:
    err = single_file_error('{\n  "type": "object",\n\n  "maximum": {{ 1 / zero }}\n}', {"zero": 0})
    assert (err.filename, err.line) == ("x-schema.json", 4)
    assert "ZeroDivisionError" in err.message


def test_unserializable_value_in_tojson_names_the_line() -> None:
    err = single_file_error('{\n\n  "default": {{ [thing] | tojson }}\n}', {"thing": object()})
    assert (err.filename, err.line) == ("x-schema.json", 3)
    assert "not JSON serializable" in err.message


def test_invalid_json_names_file_and_line() -> None:
    err = single_file_error('{\n  "type": "object",\n  "properties": {\n    "a": {"type": "string",}\n  }\n}')
    assert (err.filename, err.line) == ("x-schema.json", 4)
    assert "invalid JSON" in err.message


def test_invalid_json_in_ui_schema() -> None:
    broken = {"apply-schema.json": APPLY_SCHEMA, "apply-uischema.json": '{\n  "a": {{ x | tojson }},\n  "b": [1 2]\n}'}
    with pytest.raises(FormDefinitionError) as info:
        load_form(broken, "apply-schema.json", "apply-uischema.json", {**TASK_DATA, "x": {"k": "v"}})
    assert (info.value.filename, info.value.line) == ("apply-uischema.json", 3)


def test_invalid_schema_names_the_bad_keyword_and_line() -> None:
    err = single_file_error(
        '{\n  "type": "object",\n  "properties": {\n    "amount": {\n      "type": "numbr"\n    }\n  }\n}'
    )
    assert (err.filename, err.line) == ("x-schema.json", 5)
    assert "/properties/amount/type" in err.message


def test_invalid_regex_in_schema_is_rejected() -> None:
    err = single_file_error('{\n  "properties": {\n    "a": {"type": "string", "pattern": "[a-"}\n  }\n}')
    assert err.line == 3
    assert "/properties/a/pattern" in err.message


def test_line_after_a_jinja_loop_is_marked_as_rendered() -> None:
    text = (
        '{\n  "properties": {\n{% for k in keys %}\n    "{{ k }}": {"type": "string"},\n{% endfor %}\n'
        '    "z": {"type": "numbr"}\n  }\n}'
    )
    err = single_file_error(text, {"keys": ["a", "b", "c"]})
    assert "after Jinja rendering" in err.message
    assert err.line is not None


def test_unresolvable_ref_and_unsupported_draft_are_definition_errors() -> None:
    err = single_file_error('{\n  "properties": {\n    "a": {"$ref": "#/$defs/missing"}\n  }\n}')
    assert err.line == 3 and "$ref" in err.message
    err = single_file_error('{\n  "properties": {"a": {"$ref": "https://example.com/remote.json"}}\n}')
    assert err.line == 2
    err = single_file_error('{\n  "$schema": "http://json-schema.org/draft-04/schema#"\n}')
    assert err.line == 2 and "unsupported" in err.message


def test_missing_file_and_non_object_top_level() -> None:
    with pytest.raises(FormDefinitionError) as info:
        load_form({}, "nope-schema.json", None, {})
    assert info.value.filename == "nope-schema.json"
    with pytest.raises(FormDefinitionError) as info:
        load_form(files(), "apply-schema.json", "nope-uischema.json", TASK_DATA)
    assert info.value.filename == "nope-uischema.json"
    assert single_file_error("[1, 2]").line == 1


def test_bom_is_tolerated_and_no_ui_schema_gives_empty_dict() -> None:
    form = load_form({"x-schema.json": '\ufeff{"type": "object"}'}, "x-schema.json", None, {})
    assert form.ui_schema == {} and form.ui_schema_filename is None


def test_find_ui_schema_filename() -> None:
    fs = files()
    assert find_ui_schema_filename("apply-schema.json", fs) == "apply-uischema.json"
    assert find_ui_schema_filename("review-schema.json", fs) is None
    assert find_ui_schema_filename("apply.json", fs) is None
    assert find_ui_schema_filename("forms/x-schema.json", {"forms/x-uischema.json": "{}"}) == "forms/x-uischema.json"


def test_check_form_definition_at_deploy_time() -> None:
    check_form_definition(files(), "apply-schema.json", "apply-uischema.json")  # templated: syntax only
    with pytest.raises(FormDefinitionError):
        check_form_definition({"a-schema.json": '{"x": {{ y }'}, "a-schema.json")
    with pytest.raises(FormDefinitionError):  # static file: fully checked
        check_form_definition({"a-schema.json": '{"type": "numbr"}'}, "a-schema.json")
    check_form_definition(files(), "apply-schema.json", "apply-uischema.json", TASK_DATA)


# --- validation: what is returned --------------------------------------------------------


def test_valid_submission_returns_only_declared_fields() -> None:
    form = apply_form()
    data = valid_submission(
        urgent=True,
        items=[{"sku": "A-1", "qty": 2, "unit_price_hack": 0}],
        lane_owners={"Finance": ["mallory"]},  # would redirect the approval if merged
        approved=True,
    )
    result = validate_submission(form, data)
    assert result == {
        "order_no": "ETO-2026-0001",
        "amount": Decimal("19.99"),
        "station_type": "新建站",
        "start_date": "2026-03-01",
        "urgent": True,
        "items": [{"sku": "A-1", "qty": 2}],
    }
    assert "lane_owners" not in result and "approved" not in result
    assert data["items"][0]["unit_price_hack"] == 0  # the caller's data is not modified


def test_explicit_additional_properties() -> None:
    open_form = Form({"properties": {"a": {"type": "integer"}}, "additionalProperties": True})
    assert validate_submission(open_form, {"a": 1, "b": {"c": 1.5}}) == {"a": 1, "b": {"c": Decimal("1.5")}}

    typed = Form({"properties": {"a": {"type": "integer"}}, "additionalProperties": {"type": "string"}})
    assert validate_submission(typed, {"a": 1, "note": "x"}) == {"a": 1, "note": "x"}
    assert by_path(errors_of(typed, {"a": 1, "note": 5}))["/note"].code == "type"

    closed = Form({"properties": {"a": {"type": "integer"}}, "additionalProperties": False})
    errors = errors_of(closed, {"a": 1, "lane_owners": {}, "x/y": 1})
    assert [(e.path, e.code) for e in errors] == [
        ("/lane_owners", "additionalProperties"),
        ("/x~1y", "additionalProperties"),
    ]
    assert errors[0].message_zh == "lane_owners不是允许的字段"

    free_form = Form({"properties": {"meta": {"type": "object"}, "any": {}}})
    assert validate_submission(free_form, {"meta": {"k": 1}, "any": {"k": 1}}) == {"meta": {}, "any": {"k": 1}}


def test_pruning_follows_refs_and_the_branch_that_matched() -> None:
    schema = {
        "$defs": {"fee": {"type": "object", "properties": {"amount": {"type": "number"}}}},
        "properties": {
            "kind": {"enum": ["fee", "other"]},
            "fee": {"$ref": "#/$defs/fee"},
            "p": {
                "oneOf": [
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "x"}, "n": {"type": "integer"}},
                        "required": ["kind"],
                    },
                    {
                        "type": "object",
                        "properties": {"kind": {"const": "y"}, "s": {"type": "string"}},
                        "required": ["kind"],
                    },
                ]
            },
        },
        "if": {"properties": {"kind": {"const": "fee"}}},
        "then": {"properties": {"fee_note": {"type": "string"}}},
        "else": {"properties": {"other_note": {"type": "string"}}},
    }
    data = {
        "kind": "fee",
        "fee": {"amount": 0.1, "hidden": 1},
        "p": {"kind": "x", "n": 1, "s": "not validated by the branch that matched"},
        "fee_note": "ok",
        "other_note": "dropped",
    }
    assert validate_submission(Form(schema), data) == {
        "kind": "fee",
        "fee": {"amount": Decimal("0.1")},
        "p": {"kind": "x", "n": 1},
        "fee_note": "ok",
    }


def test_top_level_without_properties_keeps_nothing() -> None:
    assert validate_submission(Form({"type": "object"}), {"a": 1}) == {}


# --- validation: errors -----------------------------------------------------------------


def test_required_reports_the_missing_field_path() -> None:
    errors = errors_of(apply_form(), {"order_no": "ETO-2026-0001"})
    assert [e.path for e in errors] == ["/amount", "/start_date", "/station_type"]
    amount = errors[0]
    assert amount.code == "required"
    assert amount.message == "Amount is required"
    assert amount.message_zh == "Amount为必填项"
    assert "必填" in amount.message_zh


def test_pattern_error_for_order_number() -> None:
    form = apply_form()
    for bad in ["ETO-26-1", "eto-2026-0001", "ETO-2026-0001\n", "ETO-２０２６-０００１"]:
        (error,) = errors_of(form, valid_submission(order_no=bad))
        assert (error.path, error.code) == ("/order_no", "pattern"), bad
        assert error.message == "Order number has an invalid format (e.g. ETO-2026-0001)"
        assert "格式不正确" in error.message_zh


def test_format_date_rejects_impossible_dates() -> None:
    form = apply_form()
    for bad in ["2026-13-40", "2026-02-30", "01/03/2026", "2026-3-1"]:
        (error,) = errors_of(form, valid_submission(start_date=bad))
        assert (error.path, error.code) == ("/start_date", "format"), bad
        assert error.message == "Start date is not a valid date (YYYY-MM-DD)"
        assert error.message_zh == "Start date不是有效的日期（YYYY-MM-DD）"
    assert validate_submission(form, valid_submission(start_date="2028-02-29"))["start_date"] == "2028-02-29"


def test_other_formats_are_checked() -> None:
    form = Form(
        {
            "properties": {
                "email": {"type": "string", "format": "email"},
                "url": {"type": "string", "format": "uri"},
                "at": {"type": "string", "format": "date-time"},
                "time": {"type": "string", "format": "time"},
            }
        }
    )
    errors = by_path(
        errors_of(form, {"email": "a b@c", "url": "no scheme", "at": "2026-01-01T25:00:00Z", "time": "9:5"})
    )
    assert set(errors) == {"/email", "/url", "/at", "/time"}
    assert all(e.code == "format" for e in errors.values())
    ok = {
        "email": "li.lei@example.cn",
        "url": "https://example.cn/a?b=1",
        "at": "2026-01-01T09:30:00+08:00",
        "time": "09:30:00",
    }
    assert validate_submission(form, ok) == ok


def test_minimum_maximum_and_lengths() -> None:
    form = apply_form()
    errors = by_path(
        errors_of(form, valid_submission(amount=-1, items=[{"sku": "", "qty": 0}, {"sku": "x" * 21, "qty": 1}]))
    )
    assert errors["/amount"].code == "minimum"
    assert errors["/amount"].message == "Amount must be at least 0"
    assert errors["/amount"].message_zh == "Amount不能小于0"
    assert errors["/items/0/qty"].message == "Quantity must be at least 1"
    assert errors["/items/0/sku"].message_zh == "sku不能为空"
    assert errors["/items/1/sku"].code == "maxLength"
    assert errors["/items/1/sku"].message_zh == "sku不能超过20个字符"
    (too_big,) = errors_of(form, valid_submission(amount=50000000.01))
    assert (too_big.code, too_big.message_zh) == ("maximum", "Amount不能大于50000000")


def test_enum_error_lists_the_options() -> None:
    (error,) = errors_of(apply_form(), valid_submission(station_type="拆除站"))
    assert (error.path, error.code) == ("/station_type", "enum")
    assert error.message == "Station type is not one of the allowed options (allowed: 新建站, 改造站)"
    assert error.message_zh == "Station type不是允许的选项（可选：新建站、改造站）"


def test_titled_enum_via_one_of_const() -> None:
    form = Form(
        {
            "properties": {
                "level": {"title": "级别", "oneOf": [{"const": "a", "title": "A"}, {"const": "b", "title": "B"}]}
            }
        }
    )
    (error,) = errors_of(form, {"level": "c"})
    assert (error.path, error.code, error.message_zh) == ("/level", "enum", "级别不是允许的选项（可选：a、b）")


def test_type_errors() -> None:
    errors = by_path(errors_of(apply_form(), valid_submission(amount="19.99", urgent="yes", items={"sku": "x"})))
    assert errors["/amount"].code == "type"
    assert errors["/amount"].message == "Amount must be a number"
    assert errors["/amount"].message_zh == "Amount类型不正确，应为数字"
    assert errors["/urgent"].message == "urgent must be true or false"
    assert errors["/items"].message_zh == "Items类型不正确，应为列表"


def test_nested_array_item_errors_have_item_paths() -> None:
    items = [{"sku": "a", "qty": 1}, {"sku": "b"}, {"sku": "c", "qty": "two"}]
    errors = errors_of(apply_form(), valid_submission(items=items))
    assert [(e.path, e.code) for e in errors] == [("/items/1/qty", "required"), ("/items/2/qty", "type")]
    assert errors[0].message == "Quantity is required"
    assert errors[1].message_zh == "Quantity类型不正确，应为整数"


def test_all_errors_sorted_and_deduplicated() -> None:
    form = Form(
        {
            "allOf": [{"required": ["a"]}, {"required": ["a"]}],
            "properties": {"list": {"type": "array", "items": {"type": "integer"}}, "b": {"type": "string"}},
        }
    )
    errors = errors_of(form, {"list": ["x"] * 11, "b": 1})
    paths = [e.path for e in errors]
    assert paths == ["/a", "/b"] + [f"/list/{i}" for i in range(11)]  # /list/2 before /list/10


def test_non_object_data_is_one_error_at_the_empty_pointer() -> None:
    for data in ([1, 2], "x", None, 3):
        (error,) = errors_of(apply_form(), data)
        assert (error.path, error.code) == ("", "type")
        assert error.message_zh == "表单数据必须是 JSON 对象"


def test_non_finite_numbers_are_rejected() -> None:
    form = Form({"properties": {"a": {"type": "number"}}})
    for bad in (float("nan"), float("inf"), Decimal("NaN"), Decimal("1E+400")):
        (error,) = errors_of(form, {"a": bad})
        assert (error.path, error.code) == ("/a", "numberRange")


def test_one_of_reports_the_branch_the_user_meant() -> None:
    form = Form(
        {
            "properties": {
                "payee": {
                    "oneOf": [
                        {
                            "type": "object",
                            "properties": {
                                "kind": {"const": "company"},
                                "tax_id": {"type": "string", "pattern": "^[0-9A-Z]{18}$"},
                            },
                            "required": ["kind", "tax_id"],
                        },
                        {
                            "type": "object",
                            "properties": {"kind": {"const": "person"}, "id_no": {"type": "string"}},
                            "required": ["kind", "id_no"],
                        },
                    ]
                },
                "due": {"anyOf": [{"type": "string", "format": "date"}, {"type": "null"}]},
            }
        }
    )
    errors = errors_of(form, {"payee": {"kind": "company", "tax_id": "123"}, "due": "2026-13-40"})
    assert [(e.path, e.code) for e in errors] == [("/due", "format"), ("/payee/tax_id", "pattern")]
    assert validate_submission(form, {"due": None}) == {"due": None}


# --- numbers and money ------------------------------------------------------------------

MONEY = Form({"properties": {"amount": {"type": "number", "multipleOf": 0.01}}})


@pytest.mark.parametrize(
    "value",
    [
        19.99,
        1234567.89,
        0.3,
        0.07,
        100,
        0,
        -5.1,
        99999999999.99,
        Decimal("19.99"),
        Decimal("123456789012345678901234567890.01"),
    ],
)
def test_money_multiple_of_passes(value: Any) -> None:
    result = validate_submission(MONEY, {"amount": value})
    assert result["amount"] == (Decimal(repr(value)) if isinstance(value, float) else value)


@pytest.mark.parametrize("value", [1.005, 0.1 + 0.2, 19.999, Decimal("0.001")])
def test_money_multiple_of_fails(value: Any) -> None:
    (error,) = errors_of(MONEY, {"amount": value})
    assert (error.path, error.code) == ("/amount", "multipleOf")
    assert error.message == "amount can have at most 2 decimal places"
    assert error.message_zh == "amount最多保留2位小数"


def test_amounts_stay_exact_from_json_text_to_json_text() -> None:
    body = json_loads('{"amount": 1234567.89, "n": 3, "big": 12345678901234567890.12}')
    assert body == {"amount": Decimal("1234567.89"), "n": 3, "big": Decimal("12345678901234567890.12")}
    form = Form(
        {
            "properties": {
                "amount": {"type": "number", "multipleOf": 0.01},
                "n": {"type": "integer"},
                "big": {"type": "number", "multipleOf": 0.01},
            }
        }
    )
    result = validate_submission(form, body)
    assert type(result["n"]) is int
    text = json_dumps(result)
    assert json.loads(text, parse_float=str) == {"amount": "1234567.89", "n": 3, "big": "12345678901234567890.12"}
    assert json_dumps({"x": [Decimal("100.00"), "中文"]}, ensure_ascii=False) == '{"x": [100.00, "中文"]}'


def test_integral_decimal_is_an_integer() -> None:
    form = Form({"properties": {"qty": {"type": "integer", "multipleOf": 5}}})
    assert validate_submission(form, {"qty": 10.0}) == {"qty": Decimal("10.0")}
    assert {e.code for e in errors_of(form, {"qty": 10.5})} == {"type", "multipleOf"}
    assert errors_of(form, {"qty": 7})[0].message == "qty must be a multiple of 5"


# --- drafts -----------------------------------------------------------------------------


def test_draft_07_schema_works() -> None:
    schema = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "definitions": {"money": {"type": "number", "multipleOf": 0.01, "exclusiveMinimum": 0}},
        "required": ["amount", "day"],
        "properties": {
            "amount": {"$ref": "#/definitions/money", "title": "ignored sibling in draft-07"},
            "day": {"type": "string", "format": "date"},
            "pair": {"type": "array", "items": [{"type": "string"}, {"type": "integer"}], "additionalItems": False},
        },
    }
    form = load_form({"d7-schema.json": json.dumps(schema)}, "d7-schema.json", None, {})
    assert validate_submission(form, {"amount": 1234567.89, "day": "2026-01-31", "pair": ["a", 1], "x": 1}) == {
        "amount": Decimal("1234567.89"),
        "day": "2026-01-31",
        "pair": ["a", 1],
    }
    errors = by_path(errors_of(form, {"amount": 0, "day": "2026-13-40", "pair": ["a", "b", 3]}))
    assert errors["/amount"].code == "exclusiveMinimum"
    assert errors["/amount"].message_zh == "amount必须大于0"
    assert errors["/day"].code == "format"
    assert errors["/pair/1"].code == "type"


def test_draft_07_recursive_ref_to_root_keeps_exact_money() -> None:
    tree = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": {
            "amount": {"type": "number", "multipleOf": 0.01},
            "children": {"type": "array", "items": {"$ref": "#"}},
        },
    }
    form = Form(tree, schema_filename="tree-schema.json")
    data = {"amount": 19.99, "children": [{"amount": 1234567.89, "junk": 1, "children": []}]}
    assert validate_submission(form, data) == {
        "amount": Decimal("19.99"),
        "children": [{"amount": Decimal("1234567.89"), "children": []}],
    }
    (error,) = errors_of(form, {"children": [{"amount": 1.005}]})
    assert (error.path, error.code) == ("/children/0/amount", "multipleOf")


def test_draft_2020_12_is_the_default_and_explicit_works() -> None:
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "properties": {"pair": {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}}},
    }
    form = load_form({"s-schema.json": json.dumps(schema)}, "s-schema.json", None, {})
    assert validate_submission(form, {"pair": ["a", 1, 2]}) == {"pair": ["a", 1, 2]}
    assert errors_of(form, {"pair": ["a", "b"]})[0].path == "/pair/1"


# --- attachments ------------------------------------------------------------------------


def test_attachment_format() -> None:
    form = apply_form()
    assert validate_submission(form, valid_submission(site_plan=SHA))["site_plan"] == SHA
    for bad in ["sha256:abc", SHA.upper().replace("SHA256", "sha256"), "md5:" + "0" * 64, SHA + "0", "/etc/passwd"]:
        (error,) = errors_of(form, valid_submission(site_plan=bad))
        assert (error.path, error.code) == ("/site_plan", "format"), bad
        assert error.message_zh.startswith("Site plan不是有效的附件引用")


def test_attachment_existence_callback() -> None:
    form = Form({"properties": {"files": {"type": "array", "items": {"type": "string", "format": "attachment"}}}})
    other = "sha256:" + "f" * 64
    seen: list[str] = []

    def exists(ref: str) -> bool:
        seen.append(ref)
        return ref == SHA

    assert validate_submission(form, {"files": [SHA]}, attachment_exists=exists) == {"files": [SHA]}
    with pytest.raises(FormValidationError) as info:
        validate_submission(form, {"files": [SHA, other, "bad"]}, attachment_exists=exists)
    assert [(e.path, e.code) for e in info.value.errors] == [("/files/1", "attachmentNotFound"), ("/files/2", "format")]
    assert "附件不存在" in info.value.errors[0].message_zh
    assert "bad" not in seen  # malformed references never reach the storage lookup


# --- error objects and packaging --------------------------------------------------------


def test_error_objects_serialize_for_the_api() -> None:
    with pytest.raises(FormValidationError) as info:
        validate_submission(apply_form(), {"order_no": "x"})
    body = info.value.to_dict()
    assert set(body) == {"errors"}
    assert body["errors"][0] == {
        "path": "/amount",
        "message": "Amount is required",
        "message_zh": "Amount为必填项",
        "code": "required",
    }
    assert info.value.errors[0].message_for("zh-CN") == "Amount为必填项"
    assert info.value.errors[0].message_for("en") == "Amount is required"
    err = FormDefinitionError("a.json", "boom", 3)
    assert err.to_dict() == {"file": "a.json", "line": 3, "message": "boom"}


def test_forms_package_does_not_import_flask_or_sqlalchemy() -> None:
    code = "import sys, forms; print(sorted(m for m in ('flask', 'sqlalchemy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
