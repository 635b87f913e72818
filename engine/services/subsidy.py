"""Subsidy claim amount (补贴申报金额测算): the `subsidy/compute` service-task operator.

City policies pay either a construction subsidy per kW of installed capacity (建设补贴) or an
operation subsidy per kWh delivered (运营补贴), at a flat rate or in progressive tiers (阶梯),
usually up to a cap per station. The operator turns a policy and a station's operating data into
the amount to claim, exactly, with `Decimal`:

    policy  = {"type": "operation", "rate": Decimal("0.20"), "cap": Decimal("200000"),
               "name": "某市充电设施运营补贴办法"}                        # name is optional
    policy  = {"type": "operation", "cap": Decimal("500000"),
               "tiers": [{"up_to": 500000, "rate": "0.20"}, {"up_to": None, "rate": "0.10"}]}
    station = {"capacity_kw": Decimal("480"), "kwh_delivered": Decimal("1234567.8"), "months": 14}

    compute_subsidy(policy, station)
    -> {"eligible_amount": Decimal("173456.78"), "uncapped_amount": Decimal("173456.78"),
        "capped": False, "basis": "运营补贴（阶梯）：..."}

Rules (what a finance reviewer can rely on):
- The basis quantity is `capacity_kw` for "construction" and `kwh_delivered` for "operation".
- A policy has either `rate` (flat, CNY per kW or per kWh) or `tiers`, not both. Tiers are
  progressive bands of the basis quantity: `up_to` is the cumulative upper bound of the band
  (strictly increasing); only the last band may be open (`up_to` None). A quantity above the
  last bounded band earns nothing for the excess (the policy caps the quantity).
- Each band's amount is rounded half-up to the fen (四舍五入到分), and the claim is the sum of
  the rounded bands, so the amounts in `basis` add up to the total exactly.
- `cap` (CNY, whole fen, > 0) limits the total; omit it or pass None for no cap. `capped` says
  whether the cap cut the amount; `uncapped_amount` is the amount before the cap.
- Numbers may be Decimal, int or numeric text; a float is read as the literal it prints as
  (0.1 -> Decimal("0.1")), as the forms do. Booleans, NaN, infinities and negative numbers are
  refused. `months` (months in operation) must be a whole number; it is reported in `basis`
  (eligibility by months is the model's DMN table, not this operator's business).
- Bad input raises ValueError naming the field, e.g. "policy.tiers[1].up_to: ...".
"""
from __future__ import annotations

import decimal
from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.services import operator

FEN = Decimal("0.01")
# subsidy type -> (station field with the basis quantity, unit, Chinese name)
SUBSIDY_TYPES: dict[str, tuple[str, str, str]] = {
    "construction": ("capacity_kw", "kW", "建设补贴"),
    "operation": ("kwh_delivered", "kWh", "运营补贴"),
}
_CONTEXT = decimal.Context(prec=60, rounding=ROUND_HALF_UP, traps=[decimal.InvalidOperation, decimal.Overflow])


def _number(value: Any, field: str) -> Decimal:
    """A finite, non-negative Decimal from Decimal / int / numeric text / float, else ValueError."""
    if isinstance(value, bool) or value is None:
        raise ValueError(f"{field}: must be a number, got {value!r}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        number = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip().replace(",", ""))
        except decimal.InvalidOperation:
            raise ValueError(f"{field}: must be a number, got {value!r}") from None
    else:
        raise ValueError(f"{field}: must be a number, got {type(value).__name__} {value!r}")
    if not number.is_finite():
        raise ValueError(f"{field}: must be a finite number, got {value!r}")
    if number < 0:
        raise ValueError(f"{field}: must not be negative, got {value!r}")
    return number


def _whole(value: Any, field: str) -> int:
    number = _number(value, field)
    if number != number.to_integral_value():
        raise ValueError(f"{field}: must be a whole number, got {value!r}")
    return int(number)


def _fen(amount: Decimal) -> Decimal:
    return amount.quantize(FEN, rounding=ROUND_HALF_UP, context=_CONTEXT)


def _qty(q: Decimal) -> str:
    """1234567.80 -> '1,234,567.8' (thousands separators, no trailing zeros)."""
    return f"{q.normalize(_CONTEXT):,f}"


def _rate(r: Decimal) -> str:
    return f"{r.normalize(_CONTEXT):f}"


def _money(m: Decimal) -> str:
    return f"¥{m:,.2f}"


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{field}: must be an object, got {type(value).__name__}")
    return value


def _tiers(raw: Any) -> list[tuple[Decimal | None, Decimal]]:
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Sequence) or not raw:
        raise ValueError("policy.tiers: must be a non-empty list of {up_to, rate}")
    tiers: list[tuple[Decimal | None, Decimal]] = []
    previous = Decimal(0)
    for i, item in enumerate(raw):
        field = f"policy.tiers[{i}]"
        item = _mapping(item, field)
        if "rate" not in item:
            raise ValueError(f"{field}.rate: is required")
        rate = _number(item["rate"], f"{field}.rate")
        up_to_raw = item.get("up_to")
        if up_to_raw is None:
            if i != len(raw) - 1:
                raise ValueError(f"{field}.up_to: only the last tier may be open-ended (up_to null)")
            tiers.append((None, rate))
            continue
        up_to = _number(up_to_raw, f"{field}.up_to")
        if up_to <= previous:
            raise ValueError(f"{field}.up_to: must be greater than the previous tier's bound {_qty(previous)}, "
                             f"got {up_to_raw!r}")
        tiers.append((up_to, rate))
        previous = up_to
    return tiers


@operator("subsidy/compute")
def compute_subsidy(policy: Any = None, station: Any = None) -> dict[str, Any]:
    """The amount a station may claim under a subsidy policy (see the module docstring)."""
    policy = _mapping(policy, "policy")
    station = _mapping(station, "station")

    kind = policy.get("type")
    if kind not in SUBSIDY_TYPES:
        raise ValueError(f"policy.type: must be one of {', '.join(sorted(SUBSIDY_TYPES))}, got {kind!r}")
    quantity_field, unit, kind_zh = SUBSIDY_TYPES[kind]

    has_rate = policy.get("rate") is not None
    has_tiers = policy.get("tiers") is not None
    if has_rate and has_tiers:
        raise ValueError("policy.rate: give either a flat rate or tiers, not both")
    if not has_rate and not has_tiers:
        raise ValueError("policy.rate: is required (or policy.tiers for a tiered policy)")
    tiers = _tiers(policy["tiers"]) if has_tiers else [(None, _number(policy["rate"], "policy.rate"))]

    cap: Decimal | None = None
    if policy.get("cap") is not None:
        cap = _number(policy["cap"], "policy.cap")
        if cap == 0:
            raise ValueError("policy.cap: must be greater than zero (omit it for no cap)")
        if cap != _fen(cap):
            raise ValueError(f"policy.cap: must be in whole fen (two decimals at most), got {policy['cap']!r}")

    if station.get(quantity_field) is None:
        raise ValueError(f"station.{quantity_field}: is required for a {kind} subsidy")
    for name in ("capacity_kw", "kwh_delivered"):
        if station.get(name) is not None:
            _number(station[name], f"station.{name}")
    quantity = _number(station[quantity_field], f"station.{quantity_field}")
    if station.get("months") is None:
        raise ValueError("station.months: is required (months in operation)")
    months = _whole(station["months"], "station.months")

    parts: list[str] = []
    total = Decimal(0)
    lower = Decimal(0)
    for up_to, rate in tiers:
        upper = quantity if up_to is None else min(quantity, up_to)
        band = upper - lower if upper > lower else Decimal(0)
        amount = _fen(_CONTEXT.multiply(band, rate))
        total = _CONTEXT.add(total, amount)
        if has_tiers:
            label = f"{_qty(lower)} {unit} 以上" if up_to is None else f"{_qty(lower)}–{_qty(up_to)} {unit}"
            parts.append(f"{label}：{_qty(band)} {unit} × ¥{_rate(rate)}/{unit} = {_money(amount)}")
        else:
            parts.append(f"{_qty(quantity)} {unit} × ¥{_rate(rate)}/{unit} = {_money(amount)}")
        if up_to is None or quantity <= up_to:
            break
        lower = up_to
    else:
        last = tiers[-1][0]
        if last is not None and quantity > last:
            parts.append(f"超出 {_qty(last)} {unit} 的 {_qty(quantity - last)} {unit} 不予补贴")

    uncapped = _fen(total)
    capped = cap is not None and uncapped > cap
    eligible = _fen(cap) if capped and cap is not None else uncapped

    head = f"{kind_zh}{'（阶梯）' if has_tiers else ''}"
    if policy.get("name"):
        head += f"，依据《{str(policy['name']).strip('《》')}》"
    basis = f"{head}：" + "；".join(parts)
    if has_tiers:
        basis += f"；合计 {_money(uncapped)}"
    if cap is None:
        basis += "；无封顶"
    elif capped:
        basis += f"；超过封顶 {_money(cap)}，按封顶金额申报"
    else:
        basis += f"；未超过封顶 {_money(cap)}"
    basis += f"；投运 {months} 个月。"
    return {"eligible_amount": eligible, "uncapped_amount": uncapped, "capped": capped, "basis": basis}
