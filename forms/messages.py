"""Short, field-naming messages in English and Simplified Chinese.

jsonschema's own messages quote the whole instance and schema (``'ETO-1' does not match
'^ETO-\\\\d{4}-\\\\d{4}$'``), which is fine for developers but not for the person filling the
form.  These name the field (its ``title`` when the schema gives one) and say what is
expected.  Each builder returns ``(english, chinese)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

Label = tuple[str, str]
Messages = tuple[str, str]

FORM_LABEL: Label = ("The form", "表单")

_TYPE_NAMES: dict[str, tuple[str, str]] = {
    "string": ("text", "文本"),
    "number": ("a number", "数字"),
    "integer": ("a whole number", "整数"),
    "boolean": ("true or false", "是/否（布尔值）"),
    "object": ("an object", "对象"),
    "array": ("a list", "列表"),
    "null": ("empty (null)", "空值"),
}

_FORMAT_NAMES: dict[str, tuple[str, str]] = {
    "date": ("date (YYYY-MM-DD)", "日期（YYYY-MM-DD）"),
    "date-time": ("date and time (e.g. 2026-01-31T09:30:00+08:00)", "日期时间（如 2026-01-31T09:30:00+08:00）"),
    "time": ("time (HH:MM:SS)", "时间（HH:MM:SS）"),
    "duration": ("duration (e.g. P3D)", "时长（如 P3D）"),
    "email": ("email address", "电子邮箱地址"),
    "idn-email": ("email address", "电子邮箱地址"),
    "uri": ("URL", "网址（URL）"),
    "uri-reference": ("URL", "网址（URL）"),
    "iri": ("URL", "网址（URL）"),
    "iri-reference": ("URL", "网址（URL）"),
    "hostname": ("host name", "主机名"),
    "idn-hostname": ("host name", "主机名"),
    "ipv4": ("IPv4 address", "IPv4 地址"),
    "ipv6": ("IPv6 address", "IPv6 地址"),
    "uuid": ("UUID", "UUID"),
    "regex": ("regular expression", "正则表达式"),
    "json-pointer": ("JSON Pointer", "JSON Pointer"),
    "attachment": ("attachment reference (sha256:<64 hex digits>)", "附件引用（sha256:<64 位十六进制>）"),
}

_MAX_LISTED_OPTIONS = 10


def fmt_value(value: Any) -> str:
    """A value as a person would write it (no quotes, no ``Decimal('...')``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Decimal):
        # normalize() drops trailing zeros (1E+2 for 100.00) and 'f' then writes it without
        # scientific notation: 100, 0.01.
        return format(value.normalize(), "f")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def _options(values: Sequence[Any]) -> tuple[str, str]:
    if not values or len(values) > _MAX_LISTED_OPTIONS:
        return "", ""
    if any(isinstance(v, (dict, list)) for v in values):
        return "", ""
    shown = [fmt_value(v) for v in values]
    return f" (allowed: {', '.join(shown)})", f"（可选：{'、'.join(shown)}）"


def required(label: Label) -> Messages:
    return f"{label[0]} is required", f"{label[1]}为必填项"


def pattern(label: Label, example: str | None) -> Messages:
    if example:
        return (f"{label[0]} has an invalid format (e.g. {example})", f"{label[1]}格式不正确（示例：{example}）")
    return f"{label[0]} has an invalid format", f"{label[1]}格式不正确"


def format_(label: Label, fmt: str) -> Messages:
    en, zh = _FORMAT_NAMES.get(fmt, (f"{fmt}", f"{fmt}"))
    if fmt in _FORMAT_NAMES:
        return f"{label[0]} is not a valid {en}", f"{label[1]}不是有效的{zh}"
    return f"{label[0]} is not a valid {fmt}", f"{label[1]}格式不正确（{fmt}）"


def attachment_not_found(label: Label) -> Messages:
    return (f"{label[0]}: attachment not found (upload the file first)", f"{label[1]}：附件不存在（请先上传文件）")


def minimum(label: Label, limit: Any) -> Messages:
    v = fmt_value(limit)
    return f"{label[0]} must be at least {v}", f"{label[1]}不能小于{v}"


def maximum(label: Label, limit: Any) -> Messages:
    v = fmt_value(limit)
    return f"{label[0]} must be at most {v}", f"{label[1]}不能大于{v}"


def exclusive_minimum(label: Label, limit: Any) -> Messages:
    v = fmt_value(limit)
    return f"{label[0]} must be greater than {v}", f"{label[1]}必须大于{v}"


def exclusive_maximum(label: Label, limit: Any) -> Messages:
    v = fmt_value(limit)
    return f"{label[0]} must be less than {v}", f"{label[1]}必须小于{v}"


def multiple_of(label: Label, step: Any) -> Messages:
    d = Decimal(repr(step)) if isinstance(step, float) else Decimal(step)
    d = d.normalize()
    if d == 1:
        return f"{label[0]} must be a whole number", f"{label[1]}必须是整数"
    sign, digits, exponent = d.as_tuple()
    if digits == (1,) and isinstance(exponent, int) and exponent < 0:
        places = -exponent  # 0.01 -> 2: the common "amount in yuan with fen" case
        return (
            f"{label[0]} can have at most {places} decimal place{'s' if places > 1 else ''}",
            f"{label[1]}最多保留{places}位小数",
        )
    v = fmt_value(d)
    return f"{label[0]} must be a multiple of {v}", f"{label[1]}必须是{v}的整数倍"


def min_length(label: Label, n: int) -> Messages:
    if n == 1:
        return f"{label[0]} must not be empty", f"{label[1]}不能为空"
    return (f"{label[0]} must be at least {n} characters long", f"{label[1]}至少需要{n}个字符")


def max_length(label: Label, n: int) -> Messages:
    return (f"{label[0]} must be at most {n} characters long", f"{label[1]}不能超过{n}个字符")


def min_items(label: Label, n: int) -> Messages:
    return (f"{label[0]} needs at least {n} item{'s' if n != 1 else ''}", f"{label[1]}至少需要{n}项")


def max_items(label: Label, n: int) -> Messages:
    return (f"{label[0]} can have at most {n} item{'s' if n != 1 else ''}", f"{label[1]}最多{n}项")


def unique_items(label: Label) -> Messages:
    return f"{label[0]} must not contain duplicates", f"{label[1]}不能包含重复项"


def min_properties(label: Label, n: int) -> Messages:
    return f"{label[0]} needs at least {n} fields", f"{label[1]}至少需要{n}个字段"


def max_properties(label: Label, n: int) -> Messages:
    return f"{label[0]} can have at most {n} fields", f"{label[1]}最多{n}个字段"


def enum(label: Label, values: Sequence[Any]) -> Messages:
    en_opts, zh_opts = _options(values)
    return (f"{label[0]} is not one of the allowed options{en_opts}", f"{label[1]}不是允许的选项{zh_opts}")


def const(label: Label, value: Any) -> Messages:
    if isinstance(value, (dict, list)):
        return f"{label[0]} has a value that is not allowed", f"{label[1]}的值不被允许"
    v = fmt_value(value)
    return f"{label[0]} must be {v}", f"{label[1]}必须为{v}"


def type_(label: Label, expected: str | Sequence[str]) -> Messages:
    names = [expected] if isinstance(expected, str) else list(expected)
    en = " or ".join(_TYPE_NAMES.get(t, (t, t))[0] for t in names)
    zh = "或".join(_TYPE_NAMES.get(t, (t, t))[1] for t in names)
    return f"{label[0]} must be {en}", f"{label[1]}类型不正确，应为{zh}"


def unknown_field(label: Label) -> Messages:
    return f"{label[0]} is not an allowed field", f"{label[1]}不是允许的字段"


def no_option_matched(label: Label) -> Messages:
    return (f"{label[0]} does not match any of the allowed forms", f"{label[1]}不符合任何一种允许的格式")


def several_options_matched(label: Label) -> Messages:
    return (f"{label[0]} matches more than one of the allowed forms", f"{label[1]}同时符合多种格式，无法确定")


def not_allowed(label: Label) -> Messages:
    return f"{label[0]} is not allowed", f"{label[1]}不允许填写"


def forbidden_value(label: Label) -> Messages:
    return f"{label[0]} has a value that is not allowed", f"{label[1]}的值不被允许"


def contains(label: Label) -> Messages:
    return f"{label[0]} is missing a required item", f"{label[1]}缺少必需的项"


def not_finite(label: Label) -> Messages:
    return f"{label[0]} must be a finite number", f"{label[1]}必须是有效的数字"


def out_of_range(label: Label) -> Messages:
    return f"{label[0]} is out of range", f"{label[1]}超出允许的范围"


def not_an_object() -> Messages:
    return "The form data must be a JSON object", "表单数据必须是 JSON 对象"


def bad_key() -> Messages:
    return "Field names must be text", "字段名必须是文本"


def fallback(label: Label, detail: str) -> Messages:
    return f"{label[0]} is invalid: {detail}", f"{label[1]}的值无效"
