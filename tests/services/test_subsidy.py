"""The `subsidy/compute` operator: rates, caps, tiers, rounding to the fen, and bad input."""
from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest

from engine.sandbox import SandboxedScriptEngine
from engine.services import load_builtin_operators
from engine.services.subsidy import compute_subsidy

STATION = {"capacity_kw": D("480"), "kwh_delivered": D("1234567.80"), "months": 14}


def op(policy: dict[str, Any], station: dict[str, Any] | None = None) -> dict[str, Any]:
    return compute_subsidy(policy=policy, station=STATION if station is None else station)


def test_registered_as_a_service_operator() -> None:
    assert load_builtin_operators()["subsidy/compute"] is compute_subsidy


# --------------------------------------------------------------------------- flat rates

def test_construction_subsidy_is_per_kw_of_installed_capacity() -> None:
    out = op({"type": "construction", "rate": D("300"), "cap": D("500000")})
    assert out["eligible_amount"] == D("144000.00")
    assert out["uncapped_amount"] == D("144000.00")
    assert out["capped"] is False
    assert out["basis"] == "建设补贴：480 kW × ¥300/kW = ¥144,000.00；未超过封顶 ¥500,000.00；投运 14 个月。"


def test_operation_subsidy_is_per_kwh_delivered() -> None:
    out = op({"type": "operation", "rate": D("0.15"), "cap": D("300000"), "name": "某市充电设施运营补贴办法"})
    assert out["eligible_amount"] == D("185185.17")  # 1,234,567.80 × 0.15 = 185,185.17 exactly
    assert out["capped"] is False
    assert out["basis"].startswith("运营补贴，依据《某市充电设施运营补贴办法》：1,234,567.8 kWh × ¥0.15/kWh = ¥185,185.17")


def test_result_is_decimal_quantized_to_the_fen() -> None:
    out = op({"type": "operation", "rate": D("0.2")}, {"kwh_delivered": D("10"), "months": 1})
    assert out["eligible_amount"] == D("2.00")
    assert str(out["eligible_amount"]) == "2.00"
    assert isinstance(out["eligible_amount"], D) and isinstance(out["uncapped_amount"], D)


def test_no_cap() -> None:
    out = op({"type": "operation", "rate": D("0.1"), "cap": None})
    assert out["eligible_amount"] == D("123456.78")
    assert out["capped"] is False
    assert "无封顶" in out["basis"]


def test_zero_quantity_gives_zero() -> None:
    out = op({"type": "operation", "rate": D("0.2"), "cap": D("1000")}, {"kwh_delivered": 0, "months": 0})
    assert out["eligible_amount"] == D("0.00")
    assert out["capped"] is False


# --------------------------------------------------------------------------- caps

def test_cap_limits_the_amount() -> None:
    out = op({"type": "construction", "rate": D("600"), "cap": D("200000")})
    assert out["eligible_amount"] == D("200000.00")
    assert out["uncapped_amount"] == D("288000.00")
    assert out["capped"] is True
    assert "超过封顶 ¥200,000.00，按封顶金额申报" in out["basis"]


def test_amount_equal_to_the_cap_is_not_capped() -> None:
    out = op({"type": "construction", "rate": D("500"), "cap": D("240000.00")})
    assert out["eligible_amount"] == D("240000.00")
    assert out["capped"] is False


def test_cap_compares_the_rounded_amount() -> None:
    # 3 × 0.333 = 0.999 -> 1.00, which equals the cap: not capped.
    out = op({"type": "operation", "rate": D("0.333"), "cap": D("1.00")}, {"kwh_delivered": 3, "months": 12})
    assert out["eligible_amount"] == D("1.00")
    assert out["capped"] is False


# --------------------------------------------------------------------------- tiers

TIERS = [{"up_to": D("500000"), "rate": D("0.20")}, {"up_to": None, "rate": D("0.10")}]


def test_progressive_tiers() -> None:
    out = op({"type": "operation", "tiers": TIERS, "cap": D("500000")})
    # 500,000 × 0.20 = 100,000.00; 734,567.80 × 0.10 = 73,456.78
    assert out["eligible_amount"] == D("173456.78")
    assert out["capped"] is False
    assert out["basis"] == (
        "运营补贴（阶梯）：0–500,000 kWh：500,000 kWh × ¥0.2/kWh = ¥100,000.00；"
        "500,000 kWh 以上：734,567.8 kWh × ¥0.1/kWh = ¥73,456.78；合计 ¥173,456.78；"
        "未超过封顶 ¥500,000.00；投运 14 个月。"
    )


def test_quantity_inside_the_first_tier_uses_only_that_tier() -> None:
    out = op({"type": "operation", "tiers": TIERS}, {"kwh_delivered": D("300000"), "months": 12})
    assert out["eligible_amount"] == D("60000.00")
    assert "以上" not in out["basis"]


def test_quantity_on_a_tier_bound() -> None:
    out = op({"type": "operation", "tiers": TIERS}, {"kwh_delivered": D("500000"), "months": 12})
    assert out["eligible_amount"] == D("100000.00")


def test_excess_above_the_last_bounded_tier_earns_nothing() -> None:
    tiers = [{"up_to": 100000, "rate": "0.3"}, {"up_to": 200000, "rate": "0.15"}]
    out = op({"type": "operation", "tiers": tiers}, {"kwh_delivered": D("250000.5"), "months": 14})
    assert out["eligible_amount"] == D("45000.00")
    assert "超出 200,000 kWh 的 50,000.5 kWh 不予补贴" in out["basis"]


def test_tiers_with_a_cap() -> None:
    out = op({"type": "operation", "tiers": TIERS, "cap": D("150000")})
    assert out["eligible_amount"] == D("150000.00")
    assert out["uncapped_amount"] == D("173456.78")
    assert out["capped"] is True


def test_construction_tiers_per_kw() -> None:
    tiers = [{"up_to": 120, "rate": 800}, {"up_to": None, "rate": 400}]
    out = op({"type": "construction", "tiers": tiers})
    assert out["eligible_amount"] == D("240000.00")  # 120 × 800 + 360 × 400


# --------------------------------------------------------------------------- rounding

def test_rounds_half_up_to_the_fen() -> None:
    # 0.125 would round to 0.12 with banker's rounding; finance rounds half up (四舍五入).
    out = op({"type": "operation", "rate": D("0.125")}, {"kwh_delivered": 1, "months": 12})
    assert out["eligible_amount"] == D("0.13")
    out = op({"type": "operation", "rate": D("0.0001")}, {"kwh_delivered": D("44.99"), "months": 12})
    assert out["eligible_amount"] == D("0.00")  # 0.004499 -> 0.00


def test_each_tier_is_rounded_and_the_rounded_tiers_add_up() -> None:
    tiers = [{"up_to": 1, "rate": D("0.005")}, {"up_to": None, "rate": D("0.005")}]
    out = op({"type": "operation", "tiers": tiers}, {"kwh_delivered": 2, "months": 12})
    # 0.005 -> 0.01 per band, so 0.02 (the basis shows 0.01 + 0.01), not round(0.010) = 0.01
    assert out["eligible_amount"] == D("0.02")
    assert out["basis"].count("¥0.01") == 2


def test_exact_with_many_digits_no_float_drift() -> None:
    out = op({"type": "operation", "rate": D("0.1")}, {"kwh_delivered": D("0.3"), "months": 12})
    assert out["eligible_amount"] == D("0.03")
    big = op({"type": "operation", "rate": D("0.3333")}, {"kwh_delivered": D("987654321987.65"), "months": 12})
    assert big["eligible_amount"] == D("329185185518.48")  # 329,185,185,518.4837... half up


def test_numbers_as_int_text_and_float() -> None:
    a = op({"type": "operation", "rate": "0.15", "cap": "300000"}, {"kwh_delivered": "1,234,567.80", "months": "14"})
    b = op({"type": "operation", "rate": 0.15, "cap": 300000}, {"kwh_delivered": 1234567.8, "months": 14})
    assert a["eligible_amount"] == b["eligible_amount"] == D("185185.17")


def test_through_a_sandboxed_service_call() -> None:
    """What a BPMN service task gets back: exact numbers through the engine's JSON."""
    from forms import json_loads

    engine = SandboxedScriptEngine(operators=load_builtin_operators())
    text = engine.call_service(None, "subsidy/compute", {  # type: ignore[arg-type]
        "policy": {"value": {"type": "operation", "rate": D("0.15"), "cap": D("100000")}, "type": "dict"},
        "station": {"value": STATION, "type": "dict"},
    })
    assert json_loads(text) == {"eligible_amount": D("100000.00"), "uncapped_amount": D("185185.17"),
                                "capped": True, "basis": op({"type": "operation", "rate": D("0.15"),
                                                             "cap": D("100000")})["basis"]}


# --------------------------------------------------------------------------- bad input

@pytest.mark.parametrize(("policy", "station", "field"), [
    ("not a dict", STATION, "policy"),
    ({"type": "construction", "rate": 1}, None, "station"),
    ({"type": "maintenance", "rate": 1}, STATION, "policy.type"),
    ({"rate": 1}, STATION, "policy.type"),
    ({"type": "operation"}, STATION, "policy.rate"),
    ({"type": "operation", "rate": "abc"}, STATION, "policy.rate"),
    ({"type": "operation", "rate": D("-0.1")}, STATION, "policy.rate"),
    ({"type": "operation", "rate": True}, STATION, "policy.rate"),
    ({"type": "operation", "rate": D("NaN")}, STATION, "policy.rate"),
    ({"type": "operation", "rate": float("inf")}, STATION, "policy.rate"),
    ({"type": "operation", "rate": [0.1]}, STATION, "policy.rate"),
    ({"type": "operation", "rate": 1, "tiers": TIERS}, STATION, "policy.rate"),
    ({"type": "operation", "rate": 1, "cap": 0}, STATION, "policy.cap"),
    ({"type": "operation", "rate": 1, "cap": D("100.001")}, STATION, "policy.cap"),
    ({"type": "operation", "rate": 1, "cap": "lots"}, STATION, "policy.cap"),
    ({"type": "operation", "tiers": []}, STATION, "policy.tiers"),
    ({"type": "operation", "tiers": "0.2"}, STATION, "policy.tiers"),
    ({"type": "operation", "tiers": [5]}, STATION, "policy.tiers[0]"),
    ({"type": "operation", "tiers": [{"up_to": 100}]}, STATION, "policy.tiers[0].rate"),
    ({"type": "operation", "tiers": [{"up_to": None, "rate": 1}, {"up_to": 100, "rate": 1}]}, STATION,
     "policy.tiers[0].up_to"),
    ({"type": "operation", "tiers": [{"up_to": 100, "rate": 1}, {"up_to": 100, "rate": 1}]}, STATION,
     "policy.tiers[1].up_to"),
    ({"type": "operation", "tiers": [{"up_to": 0, "rate": 1}]}, STATION, "policy.tiers[0].up_to"),
    ({"type": "operation", "rate": 1}, {"capacity_kw": 100, "months": 3}, "station.kwh_delivered"),
    ({"type": "construction", "rate": 1}, {"kwh_delivered": 100, "months": 3}, "station.capacity_kw"),
    ({"type": "construction", "rate": 1}, {"capacity_kw": "-5", "months": 3}, "station.capacity_kw"),
    ({"type": "construction", "rate": 1}, {"capacity_kw": 5, "kwh_delivered": "x", "months": 3},
     "station.kwh_delivered"),
    ({"type": "construction", "rate": 1}, {"capacity_kw": 5}, "station.months"),
    ({"type": "construction", "rate": 1}, {"capacity_kw": 5, "months": D("2.5")}, "station.months"),
])
def test_bad_input_names_the_field(policy: Any, station: Any, field: str) -> None:
    with pytest.raises(ValueError) as info:
        compute_subsidy(policy=policy, station=station)
    assert str(info.value).startswith(f"{field}:"), str(info.value)


def test_missing_arguments() -> None:
    with pytest.raises(ValueError, match=r"^policy:"):
        compute_subsidy()
    with pytest.raises(ValueError, match=r"^station:"):
        compute_subsidy(policy={"type": "operation", "rate": 1})
