"""Settlement reconciliation (engine/services/settlement.py): exact money, flags at their
boundaries, time-of-use bands, partner shares to the fen, every validation error with its row
and column, CSV/XLSX inputs with Chinese headers, the workbook export. Pure Python: no Flask."""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import random
from decimal import Decimal
from typing import Any

import pytest

from engine import services
from engine.services import load_builtin_operators
from engine.services import settlement as st
from engine.services.settlement import (
    SettlementInputError,
    allocate_fen,
    amount_in_words,
    compile_band_schedule,
    export_xlsx,
    partner_statements,
    reconcile,
)

D = Decimal
BILL_HEADER = "station,meter,period,sharp_kwh,sharp_amount,peak_kwh,peak_amount,flat_kwh,flat_amount,valley_kwh,valley_amount\n"
ORDER_HEADER = "order_id,station,kwh,electricity_fee,service_fee,start_time,end_time\n"
CONTRACTS = [
    {"station": "SH001", "station_name": "上海嘉定一号站", "region": "EAST", "partner": "P01", "partner_name": "嘉定物业", "share": "30%"},
    {"station": "SH002", "station_name": "上海松江公交场站", "region": "EAST", "partner": "P01", "partner_name": "嘉定物业", "share": "0.2"},
    {"station": "SH002", "station_name": "上海松江公交场站", "region": "EAST", "partner": "P02", "partner_name": "松江投资", "share": "0.15"},
    {"station": "SH003", "station_name": "上海自营站", "region": "EAST"},
    {"station": "GZ001", "station_name": "广州天河站", "region": "SOUTH", "partner": "P09", "share": "0.3"},
]


def bill_row(station: str, sharp: tuple[str, str] = ("0", "0"), peak: tuple[str, str] = ("0", "0"),
             flat: tuple[str, str] = ("0", "0"), valley: tuple[str, str] = ("0", "0"), meter: str = "",
             period: str = "2026-03") -> str:
    return ",".join([station, meter, period, *sharp, *peak, *flat, *valley]) + "\n"


def order_row(oid: str, station: str, kwh: str, fee: str, service: str, start: str, end: str | None = None) -> str:
    end = end or (dt.datetime.fromisoformat(start) + dt.timedelta(minutes=45)).isoformat(sep=" ")
    return f"{oid},{station},{kwh},{fee},{service},{start},{end}\n"


def errors_of(bill: str, orders: str, contracts: Any = CONTRACTS, tolerance: Any = None, **kw: Any) -> list[dict[str, Any]]:
    with pytest.raises(SettlementInputError) as info:
        reconcile(bill, orders, contracts, tolerance, **kw)
    return [e.to_dict() for e in info.value.errors]


def one_error(bill: str, orders: str, code: str, **kw: Any) -> dict[str, Any]:
    errs = errors_of(bill, orders, **kw)
    assert [e["code"] for e in errs] == [code], errs
    return errs[0]


@pytest.fixture()
def month() -> tuple[str, str]:
    """Three stations of region EAST in March 2026: SH001 (one partner), SH002 (two partners,
    two meters), SH003 (company-operated)."""
    bill = BILL_HEADER + "".join([
        bill_row("SH001", ("10", "13.52"), ("100", "104.80"), ("50", "34.15"), ("40", "12.64"), meter="M1"),
        bill_row("SH002", peak=("300", "314.40"), valley=("700", "221.20"), meter="M1"),
        bill_row("SH002", peak=("100", "104.80"), valley=("300", "94.80"), meter="M2"),
        bill_row("SH003", flat=("200", "136.60")),
    ])
    orders = ORDER_HEADER + "".join([
        order_row("O1", "SH001", "9.5", "12.84", "5.70", "2026-03-01 19:30:00"),
        order_row("O2", "SH001", "95.123", "99.69", "57.07", "2026-03-02 09:15:00"),
        order_row("O3", "SH001", "47.5", "32.44", "28.50", "2026-03-02 12:00:00"),
        order_row("O4", "SH001", "38", "12.01", "22.80", "2026-03-03 02:10:00"),
        order_row("O5", "SH002", "380", "398.24", "190.01", "2026-03-04 14:00:00"),
        order_row("O6", "SH002", "960", "303.36", "480.00", "2026-03-05 23:30:00"),
        order_row("O7", "SH003", "190", "129.77", "95.00", "2026-03-06 21:10:00"),
    ])
    return bill, orders


# ---- money, loss and totals ---------------------------------------------------------------------

def test_reconciles_each_station_exactly(month: tuple[str, str]) -> None:
    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None, region="EAST")
    assert r["period"] == "2026-03" and r["region"] == "EAST"
    rows = {s["station"]: s for s in r["stations"]}
    assert list(rows) == ["SH001", "SH002", "SH003"]
    sh1 = rows["SH001"]
    assert sh1["bill_kwh"] == D("200") and sh1["sold_kwh"] == D("190.123")
    assert sh1["loss_kwh"] == D("9.877") and sh1["loss_rate"] == D("0.049385")
    assert sh1["bill_amount"] == D("165.11") and sh1["electricity_fee"] == D("156.98")
    # expected fee: the bill's amount for the energy sold = 165.11 * 190.123 / 200 = 156.9560... -> 156.96
    assert sh1["expected_fee"] == D("156.96") and sh1["amount_gap"] == D("-0.02")
    assert sh1["amount_gap_rate"] == D("-0.000121")
    assert sh1["service_fee"] == D("114.07") and sh1["order_count"] == 4
    assert sh1["flags"] == [] and sh1["meters"] == ["M1"]
    sh2 = rows["SH002"]
    assert sh2["meters"] == ["M1", "M2"] and sh2["bill_kwh"] == D("1400") and sh2["bill_amount"] == D("735.20")
    for s in r["stations"]:
        for value in (s["bill_amount"], s["electricity_fee"], s["service_fee"], s["partner_share"], s["company_share"]):
            assert isinstance(value, Decimal) and value == value.quantize(D("0.01"))
        assert s["partner_share"] + s["company_share"] == s["service_fee"]
        assert sum(b["bill_kwh"] for b in s["bands"].values()) == s["bill_kwh"]
        assert sum(b["bill_amount"] for b in s["bands"].values()) == s["bill_amount"]
        assert sum(b["electricity_fee"] for b in s["bands"].values()) == s["electricity_fee"]
        assert sum(b["order_count"] for b in s["bands"].values()) == s["order_count"]
    t = r["totals"]
    assert t["station_count"] == 3 and t["order_count"] == 7
    assert t["bill_amount"] == sum(s["bill_amount"] for s in r["stations"]) == D("1036.91")
    assert t["electricity_fee"] == D("988.35") and t["service_fee"] == D("879.08")
    assert t["partner_share"] + t["company_share"] == t["service_fee"]
    assert t["regions"] == {"EAST": {k: v for k, v in t.items() if k != "regions"}}


def test_totals_per_region_and_no_float_anywhere(month: tuple[str, str]) -> None:
    bill, orders = month
    bill += bill_row("GZ001", peak=("100", "104.80"))
    orders += order_row("O8", "GZ001", "95", "99.56", "57.00", "2026-03-07 10:00:00")
    r = reconcile(bill, orders, CONTRACTS, None)  # no region: the whole company
    assert set(r["totals"]["regions"]) == {"EAST", "SOUTH"}
    south = r["totals"]["regions"]["SOUTH"]
    assert south["station_count"] == 1 and south["partner_share"] == D("17.10") and south["loss_rate"] == D("0.05")
    east = r["totals"]["regions"]["EAST"]
    for key in ("bill_kwh", "sold_kwh", "bill_amount", "electricity_fee", "service_fee", "partner_share", "company_share"):
        assert east[key] + south[key] == r["totals"][key]

    def walk(x: Any) -> None:
        assert not isinstance(x, float), x
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(r)


def _station(bill_kwh: str, bill_amount: str, sold_kwh: str, fee: str, tolerance: Any = None) -> dict[str, Any]:
    bill = BILL_HEADER + bill_row("SH003", flat=(bill_kwh, bill_amount))
    orders = ORDER_HEADER + order_row("X1", "SH003", sold_kwh, fee, "1.00", "2026-03-10 12:00:00")
    return reconcile(bill, orders, CONTRACTS, tolerance, region="EAST")["stations"][0]


@pytest.mark.parametrize(("sold", "flagged"), [("920", False), ("920.000", False), ("919.999", True), ("900", True)])
def test_loss_flag_at_the_boundary(sold: str, flagged: bool) -> None:
    # 8 % of 1000 kWh bought: 920 sold is exactly at the tolerance and passes; a watt-hour less fails.
    s = _station("1000", "683.00", sold, "0", {"max_amount_gap_rate": 1})
    assert ("loss_above_tolerance" in s["flags"]) is flagged
    assert s["flagged"] is flagged


def test_loss_tolerance_is_configurable_and_negative_loss_is_flagged() -> None:
    assert _station("1000", "683.00", "900", "0", {"max_loss_rate": "10%", "max_amount_gap_rate": 1})["flags"] == []
    assert _station("1000", "683.00", "899.99", "0", {"loss_rate": 0.1, "amount_gap": 1})["flags"] == ["loss_above_tolerance"]
    s = _station("1000", "683.00", "1000.5", "683.34")  # sold more than bought: meter / CT ratio problem
    assert s["flags"] == ["loss_below_tolerance"] and s["loss_rate"] == D("-0.000500")
    assert _station("1000", "683.00", "1000.5", "683.34", {"min_loss_rate": "-0.001"})["flags"] == []


@pytest.mark.parametrize(("fee", "flagged"), [("955.00", False), ("965.00", False), ("954.99", True), ("965.01", True)])
def test_amount_gap_flag_at_the_boundary(fee: str, flagged: bool) -> None:
    # 1000 kWh billed for CNY 1000.00, 960 kWh sold: the bill's amount for the energy sold is
    # 960.00; the tolerance is 0.5 % of the bill = 5.00 either way.
    s = _station("1000", "1000.00", "960", fee)
    assert s["expected_fee"] == D("960.00") and s["loss_rate"] == D("0.04")
    assert ("amount_gap_above_tolerance" in s["flags"]) is flagged
    assert abs(s["amount_gap_rate"]) == (D("0.005010") if flagged else D("0.005"))


def test_amount_gap_on_the_raw_bill_basis() -> None:
    s = _station("1000", "1000.00", "960", "995.00", {"gap_basis": "bill"})
    assert s["amount_gap"] == D("5.00") and s["amount_gap_rate"] == D("0.005") and s["flags"] == []
    s = _station("1000", "1000.00", "960", "994.99", {"gap_basis": "bill"})
    assert s["flags"] == ["amount_gap_above_tolerance"]
    # on the default basis the same fees are 3.6 % above what the sold energy cost
    assert _station("1000", "1000.00", "960", "995.00")["amount_gap_rate"] == D("-0.035")


def test_orders_without_a_bill_are_flagged() -> None:
    bill = BILL_HEADER + bill_row("SH001", peak=("100", "104.80"))
    orders = ORDER_HEADER + order_row("A", "SH001", "95", "99.56", "40.00", "2026-03-01 09:00:00") + \
        order_row("B", "SH003", "20", "13.66", "8.00", "2026-03-01 12:00:00")
    r = reconcile(bill, orders, CONTRACTS, None)
    sh3 = r["stations"][1]
    assert sh3["station"] == "SH003" and sh3["flags"] == ["no_bill"] and sh3["loss_rate"] is None
    assert r["flagged"] == ["SH003"]
    assert r["flagged_rows"][0]["reasons"] == "有订单但无电费账单" and r["flagged_rows"][0]["loss_pct"] == "—"


def test_flagged_rows_for_the_explanation_form(month: tuple[str, str]) -> None:
    bill, orders = month
    orders += order_row("O9", "SH003", "5", "1.00", "1.00", "2026-03-07 12:00:00")  # sold 195 of 200 at too low a price
    r = reconcile(bill, orders, CONTRACTS, None)
    assert r["flagged"] == ["SH003"]
    row = r["flagged_rows"][0]
    assert row["station_name"] == "上海自营站" and row["flags"] == ["amount_gap_above_tolerance"]
    # expected 136.60 * 195 / 200 = 133.185 -> 133.19; charged 130.77; gap 2.42 = 1.77 % of the bill
    assert row["loss_pct"] == "2.50%" and row["amount_gap_pct"] == "1.77%"
    assert row["amount_gap"] == D("2.42") and row["reasons"] == "电费差额超限"


# ---- time-of-use bands ---------------------------------------------------------------------------

@pytest.mark.parametrize(("time", "band"), [
    ("00:00", "valley"), ("06:59", "valley"), ("07:00", "flat"), ("07:59", "flat"), ("08:00", "peak"),
    ("10:59", "peak"), ("11:00", "flat"), ("12:59", "flat"), ("13:00", "peak"), ("18:59", "peak"),
    ("19:00", "sharp"), ("20:59", "sharp"), ("21:00", "flat"), ("22:59", "flat"), ("23:00", "valley"),
    ("23:59", "valley"),
])
def test_default_band_schedule(time: str, band: str) -> None:
    h, m = map(int, time.split(":"))
    assert st.BANDS[compile_band_schedule()[h * 60 + m]] == band


def test_orders_count_in_the_band_of_their_start(month: tuple[str, str]) -> None:
    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None)
    bands = r["stations"][0]["bands"]
    assert {b: bands[b]["order_count"] for b in st.BANDS} == {"sharp": 1, "peak": 1, "flat": 1, "valley": 1}
    assert bands["peak"]["sold_kwh"] == D("95.123") and bands["peak"]["electricity_fee"] == D("99.69")
    assert bands["peak"]["bill_price"] == D("1.0480") and bands["peak"]["loss_kwh"] == D("4.877")
    assert bands["sharp"]["sold_price"] == D("1.3516")
    # the 23:30 order at SH002 is valley even though it ends the next day
    assert r["stations"][1]["bands"]["valley"]["order_count"] == 1
    assert r["band_schedule"]["valley"] == ["00:00-07:00", "23:00-24:00"]


def test_custom_and_monthly_band_schedules(month: tuple[str, str]) -> None:
    bill, orders = month
    summer_only_sharp = {"default": {"peak": ["08:00-22:00"], "valley": ["22:00-08:00"]},
                         "by_month": {"7": {"sharp": ["19-21"], "peak": ["8-19", "21-22"], "valley": ["22-8"]}}}
    r = reconcile(bill, orders, CONTRACTS, None, band_schedule=summer_only_sharp)
    assert r["band_schedule"] == {"sharp": [], "peak": ["08:00-22:00"], "flat": [], "valley": ["00:00-08:00", "22:00-24:00"]}
    counts = {b: v["order_count"] for b, v in r["stations"][0]["bands"].items()}
    assert counts == {"sharp": 0, "peak": 3, "flat": 0, "valley": 1}
    july = compile_band_schedule(summer_only_sharp, 7)
    assert st.BANDS[july[19 * 60]] == "sharp" and st.BANDS[july[21 * 60 + 30]] == "peak"


@pytest.mark.parametrize(("schedule", "message"), [
    ({"peak": ["08:00-12:00"], "valley": ["11:00-08:00"]}, "11:00 is in both peak and valley"),
    ({"peak": ["08:00-12:00"], "valley": ["13:00-08:00"]}, "12:00 belongs to no band"),
    ({"noon": ["00:00-24:00"]}, "unknown band 'noon'"),
    ({"peak": ["8 to 12"]}, "'8 to 12' is not a range"),
])
def test_bad_band_schedules(month: tuple[str, str], schedule: dict[str, Any], message: str) -> None:
    bill, orders = month
    errs = errors_of(bill, orders, band_schedule=schedule)
    assert errs[0]["file"] == "band_schedule" and errs[0]["code"] == "bad_schedule"
    assert message in errs[0]["message"], errs


# ---- partner shares --------------------------------------------------------------------------------

def test_allocate_fen_largest_remainder() -> None:
    third = D(1) / 3  # 0.333...3 (28 digits): c's share 1 - 2 * third is the largest by a hair
    assert allocate_fen(D("100.00"), [("a", third), ("b", third), ("c", 1 - 2 * third)]) == {
        "a": D("33.33"), "b": D("33.33"), "c": D("33.34")}
    # equal remainders: the fen left over go to the earliest entries
    quarter = D("0.25")
    assert allocate_fen(D("0.03"), [("P1", quarter), ("P2", quarter), ("P3", quarter), (st.COMPANY, quarter)]) == {
        "P1": D("0.01"), "P2": D("0.01"), "P3": D("0.01"), st.COMPANY: D("0")}
    # a tie (both exactly half a fen over) goes to the earlier entry: the partner before the company
    assert allocate_fen(D("100.05"), [("P", D("0.3")), (st.COMPANY, D("0.7"))]) == {"P": D("30.02"), st.COMPANY: D("70.03")}
    assert allocate_fen(D("0.01"), [("P", D("0.5")), ("Q", D("0.5"))]) == {"P": D("0.01"), "Q": D("0")}
    assert allocate_fen(D("0"), [("P", D("0.3")), ("Q", D("0.7"))]) == {"P": D("0"), "Q": D("0")}
    with pytest.raises(ValueError):
        allocate_fen(D("-1"), [("P", D(1))])


def test_allocations_always_add_up_to_the_fen() -> None:
    rnd = random.Random(7)
    for _ in range(2000):
        total = D(rnd.randint(0, 10_000_000)).scaleb(-2)
        n = rnd.randint(1, 5)
        cuts = sorted(D(rnd.randint(0, 1000)) / 1000 for _ in range(n - 1))
        shares = [b - a for a, b in zip([D(0), *cuts], [*cuts, D(1)], strict=True)]
        parts = allocate_fen(total, [(f"p{i}", s) for i, s in enumerate(shares)])
        assert sum(parts.values()) == total
        for (key, share) in zip(parts, shares, strict=True):
            assert abs(parts[key] - total * share) < D("0.01")
            assert parts[key] == parts[key].quantize(D("0.01"))


def test_partner_shares_by_contract(month: tuple[str, str]) -> None:
    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None)
    sh2 = r["stations"][1]
    # service fee 670.01: P01 20 % = 134.002, P02 15 % = 100.5015, company 65 % = 435.5065
    assert sh2["service_fee"] == D("670.01")
    assert [(p["partner"], p["share"], p["amount"]) for p in sh2["partners"]] == [
        ("P01", D("0.2"), D("134.00")), ("P02", D("0.15"), D("100.50"))]
    assert sh2["company_share"] == D("435.51")
    assert r["stations"][2]["partners"] == [] and r["stations"][2]["company_share"] == D("95.00")
    p01 = r["partners"][0]
    assert p01["partner"] == "P01" and p01["partner_name"] == "嘉定物业"
    assert [(line["station"], line["amount"]) for line in p01["lines"]] == [("SH001", D("34.22")), ("SH002", D("134.00"))]
    assert p01["amount"] == D("168.22") == sum(line["amount"] for line in p01["lines"])
    assert sum(p["amount"] for p in r["partners"]) == r["totals"]["partner_share"] == D("268.72")
    assert r["totals"]["company_share"] == D("610.36")


def test_partner_statements_are_numbered_and_add_up(month: tuple[str, str]) -> None:
    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None, region="EAST")
    s = partner_statements(r, "JS-EAST-202603", issue_date=dt.date(2026, 4, 3))
    assert [x["statement_no"] for x in s["statements"]] == ["JS-EAST-202603-01", "JS-EAST-202603-02"]
    first = s["statements"][0]
    assert first["amount"] == D("168.22") and first["amount_in_words"] == "壹佰陆拾捌元贰角贰分"
    assert first["confirm_by"] == "2026-04-10" and first["period"] == "2026-03"
    assert s["statement_total"] == D("268.72") and s["pending_partners"] == ["P01", "P02"]
    tampered = {**r, "totals": {**r["totals"], "partner_share": D("268.73")}}
    with pytest.raises(ValueError, match="differs"):
        partner_statements(tampered, "JS-EAST-202603")


@pytest.mark.parametrize(("amount", "words"), [
    ("0", "零元整"), ("0.05", "伍分"), ("0.50", "伍角整"), ("1", "壹元整"), ("10", "壹拾元整"),
    ("100.05", "壹佰元零伍分"), ("1005.20", "壹仟零伍元贰角整"), ("12345.67", "壹万贰仟叁佰肆拾伍元陆角柒分"),
    ("100000", "壹拾万元整"), ("1000001", "壹佰万零壹元整"), ("100010000", "壹亿零壹万元整"),
    ("20300405.06", "贰仟零叁拾万零肆佰零伍元零陆分"),
])
def test_amount_in_words(amount: str, words: str) -> None:
    assert amount_in_words(D(amount)) == words


# ---- validation: every error, with row and column, nothing half-imported ---------------------------

GOOD_BILL = BILL_HEADER + bill_row("SH001", peak=("100", "104.80"))
GOOD_ORDER = order_row("A1", "SH001", "95", "99.56", "40.00", "2026-03-01 09:00:00")


@pytest.mark.parametrize(("row", "code", "column", "message"), [
    ("A2,SH001,abc,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "not_a_number", "kwh",
     "order export row 3, column kwh: 'abc' is not a number"),
    ("A2,SH001,NaN,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "not_a_number", "kwh", "'NaN' is not a number"),
    ("A2,SH001,-5,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "negative", "kwh",
     "row 3, column kwh: '-5' must not be negative"),
    ("A2,SH001,5,1.005,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "too_many_decimals", "electricity_fee",
     "'1.005' has more than 2 decimal places"),
    ("A2,SH001,5,1.00,,2026-03-01 09:00:00,2026-03-01 10:00:00", "empty", "service_fee", "column service_fee: '' is empty"),
    (",SH001,5,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "empty", "order_id", "column order_id: '' is empty"),
    ("A2,SH001,5,1.00,1.00,2026-03-01 9h,2026-03-01 10:00:00", "bad_datetime", "start_time", "is not a date and time"),
    ("A2,SH001,5,1.00,1.00,2026-03-01 09:00:00,2026-03-01 08:59:59", "end_before_start", "end_time",
     "row 3, column end_time: end 2026-03-01 08:59:59 is before start 2026-03-01 09:00:00"),
    ("A1,SH001,5,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "duplicate_order", "order_id",
     "row 3, column order_id: order id 'A1' already appears in row 2"),
    ("A2,SH999,5,1.00,1.00,2026-03-01 09:00:00,2026-03-01 10:00:00", "unknown_station", "station",
     "row 3, column station: 'SH999' is not a station in the contracts"),
    ("A2,SH001,5,1.00,1.00,2026-02-28 23:50:00,2026-03-01 00:40:00", "outside_period", "start_time",
     "start 2026-02-28 23:50 is outside the period 2026-03"),
])
def test_order_row_errors(row: str, code: str, column: str, message: str) -> None:
    err = one_error(GOOD_BILL, ORDER_HEADER + GOOD_ORDER + row + "\n", code)
    assert err["file"] == "orders" and err["row"] == 3 and err["column"] == column
    assert message in err["message"], err["message"]
    assert err["message_zh"].startswith("订单导出第 3 行")


def test_station_of_another_region() -> None:
    orders = ORDER_HEADER + GOOD_ORDER + order_row("A2", "GZ001", "5", "1.00", "1.00", "2026-03-01 09:00:00")
    err = one_error(GOOD_BILL, orders, "station_other_region", region="EAST")
    assert err["row"] == 3 and err["column"] == "station"
    assert "station 'GZ001' belongs to region SOUTH, not EAST" in err["message"]


@pytest.mark.parametrize(("row", "code", "column", "message"), [
    (bill_row("SH002", peak=("1x0", "104.80")).strip(), "not_a_number", "peak_kwh", "row 3, column peak_kwh: '1x0' is not a number"),
    (bill_row("SH002", peak=("100", "-104.80")).strip(), "negative", "peak_amount", "'-104.80' must not be negative"),
    (bill_row("SH002", period="2026-04").strip(), "period_mismatch", "period", "'2026-04' is not the settlement period 2026-03"),
    (bill_row("SH002", period="March").strip(), "bad_period", "period", "'March' is not a month"),
    (bill_row("SH001").strip(), "duplicate_row", "station", "station SH001 is already billed in row 2"),
    (bill_row("SH404").strip(), "unknown_station", "station", "'SH404' is not a station in the contracts"),
])
def test_bill_row_errors(row: str, code: str, column: str, message: str) -> None:
    err = one_error(GOOD_BILL + row + "\n", ORDER_HEADER + GOOD_ORDER, code)
    assert err["file"] == "bill" and err["row"] == 3 and err["column"] == column
    assert message in err["message"], err["message"]


def test_bill_totals_are_checked_and_meters_allow_several_rows() -> None:
    bill = BILL_HEADER.strip() + ",total_kwh,total_amount\n" + bill_row("SH001", peak=("100", "104.80"), meter="M1").strip() + \
        ",100,104.80\n" + bill_row("SH001", peak=("50", "52.40"), meter="M2").strip() + ",50,52.41\n"
    err = one_error(bill, ORDER_HEADER + GOOD_ORDER, "total_mismatch")
    assert err["row"] == 3 and err["column"] == "total_amount" and "does not equal the sum of the bands (52.40)" in err["message"]


def test_wrong_headers() -> None:
    err = one_error(GOOD_BILL, "order_id,station,kwh,electricity_fee,start_time,end_time\nA,SH001,1,1,2026-03-01,2026-03-01\n",
                    "missing_column")
    assert err["file"] == "orders" and "header: missing column service_fee (服务费)" in err["message"]
    assert "row" not in err
    err = one_error(GOOD_BILL, "订单号,order_id,站点,电量,电费,服务费,开始时间,结束时间\n", "duplicate_column")
    assert "columns '订单号' and 'order_id' both mean order_id" in err["message"]
    err = one_error("station,period,peak_kwh\nSH001,2026-03,100\n", ORDER_HEADER + GOOD_ORDER, "missing_column")
    assert "each band needs its kWh and amount columns: peak_kwh/peak_amount" in err["message"]
    err = one_error("station,peak_kwh,peak_amount\nSH001,100,104.80\n", ORDER_HEADER + GOOD_ORDER, "missing_column")
    assert "no period column" in err["message"]
    # ...unless the period is given
    assert reconcile("station,peak_kwh,peak_amount\nSH001,100,104.80\n", ORDER_HEADER + GOOD_ORDER, CONTRACTS, None,
                     period="2026-03")["period"] == "2026-03"


def test_empty_files() -> None:
    assert one_error("", ORDER_HEADER + GOOD_ORDER, "empty_file")["message"] == "grid bill: the file is empty"
    assert one_error(GOOD_BILL, ORDER_HEADER, "empty_file")["message"] == "order export: no order rows"
    errs = errors_of(GOOD_BILL, ORDER_HEADER + GOOD_ORDER, contracts=[])
    assert [e["code"] for e in errs[:1]] == ["empty_file"]


@pytest.mark.parametrize(("contracts", "code", "message"), [
    ([{"station": "SH001", "partner": "P01", "share": "130%"}], "bad_share",
     "contracts row 1, column share: '130%' is not a share between 0 and 1"),
    ([{"station": "SH001", "partner": "P01", "share": "0.6"}, {"station": "SH001", "partner": "P02", "share": "0.5"}],
     "shares_exceed_total", "contracts row 2, column share: the shares of station SH001 add up to 1.1"),
    ([{"station": "SH001", "partner": "P01", "share": "0.3"}, {"station": "SH001", "partner": "P01", "share": "0.2"}],
     "duplicate_contract", "partner P01 already has a share of station SH001"),
    ([{"station": "SH001", "share": "0.3"}], "bad_contract", "a share without a partner"),
])
def test_contract_errors(contracts: list[dict[str, Any]], code: str, message: str) -> None:
    err = one_error(GOOD_BILL, ORDER_HEADER + GOOD_ORDER, code, contracts=contracts)
    assert err["file"] == "contracts" and message in err["message"], err


def test_contracts_as_csv_with_chinese_headers() -> None:
    text = "站点编码,站点名称,区域,合作方,合作方名称,分成比例\nSH001,嘉定一号,EAST,P01,嘉定物业,30%\nSH001,嘉定一号,EAST,P02,,abc\n"
    err = one_error(GOOD_BILL, ORDER_HEADER + GOOD_ORDER, "bad_share", contracts=text)
    assert err["row"] == 3 and err["header"] == "分成比例" and err["message_zh"].startswith("分成合同台账第 3 行「分成比例」列")


def test_every_error_is_reported_and_nothing_is_computed() -> None:
    bill = GOOD_BILL + bill_row("SH404") + bill_row("SH002", peak=("x", "1.001"))
    orders = ORDER_HEADER + GOOD_ORDER + "A1,SH001,abc,1.00,1.00,2026-03-01 09:00:00,2026-03-01 08:00:00\n" + \
        "A3,SH009,5,1.00,-1,2026-03-01 09:00:00,2026-03-01 10:00:00\n"
    errs = errors_of(bill, orders, tolerance={"max_loss_rate": "lots"})
    assert [(e["file"], e.get("row"), e.get("column"), e["code"]) for e in errs] == [
        ("tolerance", None, None, "bad_tolerance"),
        ("bill", 3, "station", "unknown_station"),
        ("bill", 4, "peak_kwh", "not_a_number"),
        ("bill", 4, "peak_amount", "too_many_decimals"),
        ("orders", 3, "kwh", "not_a_number"),
        ("orders", 3, "end_time", "end_before_start"),
        ("orders", 3, "order_id", "duplicate_order"),
        ("orders", 4, "service_fee", "negative"),
        ("orders", 4, "station", "unknown_station"),
    ]
    with pytest.raises(SettlementInputError, match=r"tolerance: max_loss_rate 'lots' .* \(and 8 more\)"):
        reconcile(bill, orders, CONTRACTS, {"max_loss_rate": "lots"})


# ---- file formats ---------------------------------------------------------------------------------

CHINESE_BILL = "站点编码,电表号,账期,尖电量,尖电费,峰电量（kWh）,峰电费（元）,平电量,平电费,谷电量,谷电费,备注\n" \
    "SH001,3300012345,2026年3月,10,13.52,100,104.80,50,34.15,40,12.64,抄表正常\n"
CHINESE_ORDERS = "订单号,站点,电量(kWh),电费(元),服务费(元),开始时间,结束时间,车牌\n" \
    "CD001,SH001,95.5,100.08,47.75,2026/3/1 9:05,2026/3/1 10:15,沪A12345\n" \
    "CD002,SH001,\"1,02\",1.00,0.50,2026-03-02T20:00:00+08:00,2026-03-02T20:30:00+08:00,\n" \
    "CD003,SH001,\"1,020.5\",690.00,510.25,2026-03-03 02:00,2026-03-03 08:00,\n"


def test_csv_with_bom_and_chinese_headers() -> None:
    bad = one_error(CHINESE_BILL, "\ufeff" + CHINESE_ORDERS, "not_a_number")
    assert bad["row"] == 3 and bad["header"] == "电量(kWh)" and bad["value"] == "1,02"
    orders = "\ufeff" + CHINESE_ORDERS.replace('"1,02"', "1.02")
    r = reconcile(CHINESE_BILL.encode("utf-8-sig"), orders.encode("utf-8"), CONTRACTS, None)
    s = r["stations"][0]
    assert s["meters"] == ["3300012345"] and s["sold_kwh"] == D("1117.02") and s["order_count"] == 3
    assert s["bands"]["peak"]["order_count"] == 1 and s["bands"]["sharp"]["order_count"] == 1
    assert s["bands"]["valley"]["sold_kwh"] == D("1020.5")
    # Excel on Chinese Windows saves CSV as GBK
    again = reconcile(CHINESE_BILL.encode("gb18030"), orders.encode("gb18030"), CONTRACTS, None)
    assert again["stations"] == r["stations"]


def test_tab_separated_export() -> None:
    orders = (ORDER_HEADER + GOOD_ORDER).replace(",", "\t")
    assert reconcile(GOOD_BILL, orders, CONTRACTS, None)["totals"]["order_count"] == 1


try:
    import openpyxl
except ImportError:  # pragma: no cover - openpyxl is in requirements.txt
    openpyxl = None
needs_openpyxl = pytest.mark.skipif(openpyxl is None, reason="XLSX support needs openpyxl")


def _xlsx(rows: list[list[Any]], date_format: str = "yyyy-mm-dd hh:mm:ss") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    for row in ws.iter_rows():
        for c in row:
            if isinstance(c.value, dt.datetime):
                c.number_format = date_format
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@needs_openpyxl
def test_xlsx_uploads_match_csv(month: tuple[str, str]) -> None:
    bill, orders = month

    def typed(text: str) -> list[list[Any]]:
        out: list[list[Any]] = []
        for i, line in enumerate(text.strip().splitlines()):
            cells: list[Any] = []
            for c in line.split(","):
                if i and len(c) == 19 and c[4] == "-":
                    cells.append(dt.datetime.fromisoformat(c))
                elif i and c.replace(".", "", 1).isdigit() and not c.startswith("0"):
                    cells.append(float(c))  # a spreadsheet keeps numbers as doubles
                else:
                    cells.append(c)
            out.append(cells)
        return out

    ref = reconcile(bill, orders, CONTRACTS, None)
    r = reconcile(_xlsx(typed(bill)), _xlsx(typed(orders), "yyyy/m/d h:mm"), CONTRACTS, None)
    assert r["stations"] == ref["stations"] and r["totals"] == ref["totals"]
    # the operator takes base64 bytes (what a file field or an API client sends)
    b64 = "base64:" + base64.b64encode(_xlsx(typed(orders))).decode()
    out = load_builtin_operators()["settlement/reconcile"](bill=bill, orders=b64, contracts=CONTRACTS)
    assert out["ok"] is True and out["totals"] == ref["totals"]


@needs_openpyxl
def test_xlsx_cells_with_errors_report_spreadsheet_rows() -> None:
    rows = [["订单号", "站点", "电量", "电费", "服务费", "开始时间", "结束时间"],
            ["A1", "SH001", 95, 99.56, 40, dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 1, 10)],
            [None, None, None, None, None, None, None],
            ["A2", "SH001", "n/a", 0.1 + 0.2, 1, dt.datetime(2026, 3, 1, 9), dt.datetime(2026, 3, 1, 8)]]
    errs = errors_of(GOOD_BILL, _xlsx(rows))  # type: ignore[arg-type]
    assert [(e["row"], e["column"], e["code"]) for e in errs] == [
        (4, "kwh", "not_a_number"), (4, "end_time", "end_before_start")]  # 0.30000000000000004 reads as 0.3


@needs_openpyxl
def test_export_xlsx_round_trip(month: tuple[str, str]) -> None:
    bill, orders = month
    orders += order_row("O9", "SH003", "5", "1.00", "1.00", "2026-03-07 12:00:00")
    r = reconcile(bill, orders, CONTRACTS, None, region="EAST")
    statements = partner_statements(r, "JS-EAST-202603", issue_date=dt.date(2026, 4, 3))
    wb = openpyxl.load_workbook(io.BytesIO(export_xlsx(r, statements)))
    assert wb.sheetnames == ["汇总 Summary", "站点对账 Stations", "合作方结算 Partners"]
    summary = {row[0]: row[1] for row in wb["汇总 Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["结算单号 / Settlement no."] == "JS-EAST-202603"
    assert summary["结算月份 / Period"] == "2026-03" and summary["异常站点 / Flagged"] == 1
    assert D(str(summary["服务费 / Service fees"])) == r["totals"]["service_fee"]
    assert D(str(summary["合作方分成 / Partner share"])) == r["totals"]["partner_share"]
    ws = wb["站点对账 Stations"]
    rows = list(ws.iter_rows(min_row=2))
    assert [row[0].value for row in rows] == ["SH001", "SH002", "SH003"]
    flagged = {row[0].value: row[0].fill.fgColor.rgb for row in rows}
    assert flagged["SH003"].endswith("FFC7CE") and not flagged["SH001"].endswith("FFC7CE")
    assert rows[2][16].value == "电费差额超限"
    assert D(str(rows[0][8].value)) == r["stations"][0]["bill_amount"] and rows[0][8].number_format == "#,##0.00"
    assert rows[0][7].number_format == "0.00%"
    partners = list(wb["合作方结算 Partners"].iter_rows(min_row=2, values_only=True))
    totals = [p for p in partners if p[3] == "合计 Total"]
    assert [(p[0], p[1], D(str(p[9])), p[10]) for p in totals] == [
        ("JS-EAST-202603-01", "P01", D("168.22"), "壹佰陆拾捌元贰角贰分"),
        ("JS-EAST-202603-02", "P02", D("100.50"), "壹佰元伍角整")]


# ---- operators ------------------------------------------------------------------------------------

def test_operators_are_registered() -> None:
    ops = load_builtin_operators()
    for name in ("settlement/reconcile", "settlement/partner_statements", "settlement/reminder_notices",
                 "settlement/export_xlsx"):
        assert name in ops


def test_reconcile_operator_returns_errors_instead_of_failing(month: tuple[str, str]) -> None:
    bill, orders = month
    many_bad = ORDER_HEADER + "".join(order_row(f"B{i}", "SH001", "x", "1", "1", "2026-03-01 09:00:00") for i in range(300))
    out = st.reconcile_operator(bill=bill, orders=many_bad, contracts=CONTRACTS, tolerance={})
    assert out["ok"] is False and out["error_count"] == 300 and out["errors_truncated"] is True
    assert len(out["errors"]) == 200 and out["errors"][0]["message"].startswith("order export row 2, column kwh")


def test_reconcile_operator_records_its_sources(month: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    bill, orders = month
    bill_ref = "sha256:" + hashlib.sha256(bill.encode()).hexdigest()
    out = st.reconcile_operator(bill=bill, orders=orders, contracts=CONTRACTS, tolerance={"max_loss_rate": 0.05},
                                period="2026-03", region="EAST", bill_ref=[bill_ref], orders_ref=["sha256:" + "0" * 64])
    assert out["ok"] is True and out["tolerance"]["max_loss_rate"] == D("0.05")
    assert out["sources"]["bill"] == {"attachment": bill_ref, "content_sha256": bill_ref, "bytes": len(bill.encode()),
                                      "matches_attachment": True}
    assert out["sources"]["orders"]["matches_attachment"] is False
    # once the attachment store exists, refs alone are enough
    store = {bill_ref: bill.encode(), "sha256:" + "1" * 64: orders.encode("gb18030")}
    monkeypatch.setattr(st, "ATTACHMENT_READER", store.__getitem__)
    out2 = st.reconcile_operator(bill_ref=[bill_ref], orders_ref=["sha256:" + "1" * 64], contracts=CONTRACTS)
    assert out2["ok"] is True and out2["totals"] == out["totals"]


def test_reminder_notices_for_pending_partners(month: tuple[str, str]) -> None:
    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None, region="EAST")
    s = partner_statements(r, "JS-EAST-202603", issue_date=dt.date(2026, 4, 3))
    out = load_builtin_operators()["settlement/reminder_notices"](statements=s, pending_partners=["P02", "P99"])
    assert out["notice_count"] == 1 and out["notices"][0]["statement_no"] == "JS-EAST-202603-02"
    assert out["notices"][0]["text"] == ("松江投资：您好！2026-03 充电服务费分成结算单 JS-EAST-202603-02（分成金额 ¥100.50，"
                                         "壹佰元伍角整）已于 2026-04-03 发出，请于 2026-04-10 前确认或提出异议。")


@needs_openpyxl
def test_statement_and_export_operators(month: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    bill, orders = month
    ops = load_builtin_operators()
    rec = ops["settlement/reconcile"](bill=bill, orders=orders, contracts=CONTRACTS, region="EAST")
    s = ops["settlement/partner_statements"](reconciliation=rec, settlement_no="JS-EAST-202603", issue_date="2026-04-03")
    assert s["statement_count"] == 2 and s["statements"][1]["confirm_by"] == "2026-04-10"
    written: list[tuple[bytes, str, str | None]] = []

    def writer(content: bytes, filename: str, content_type: str | None = None) -> str:
        written.append((content, filename, content_type))
        return "sha256:" + hashlib.sha256(content).hexdigest()

    monkeypatch.setattr(services, "ATTACHMENT_WRITER", writer)
    ref = ops["settlement/export_xlsx"](reconciliation=rec, statements=s)
    (content, name, ctype), = written
    assert ref == "sha256:" + hashlib.sha256(content).hexdigest()
    assert name == "settlement-EAST-2026-03.xlsx" and ctype == st.XLSX_TYPE
    wb = openpyxl.load_workbook(io.BytesIO(content))
    assert [r[0].value for r in wb["站点对账 Stations"].iter_rows(min_row=2)] == ["SH001", "SH002", "SH003"]
    # the same result is the same file (no time of day inside): a service task run again keeps its ref
    assert ops["settlement/export_xlsx"](reconciliation=rec, statements=s, filename="对账表-JS-EAST-202603") == ref
    assert written[1][0] == content and written[1][1] == "对账表-JS-EAST-202603.xlsx"
    with pytest.raises(ValueError):
        ops["settlement/export_xlsx"](reconciliation={"ok": False, "errors": []})
    with pytest.raises(ValueError):
        ops["settlement/partner_statements"](reconciliation={"ok": False}, settlement_no="JS-EAST-202603")
    monkeypatch.setattr(services, "ATTACHMENT_WRITER", None)
    with pytest.raises(RuntimeError, match="no attachment store"):
        ops["settlement/export_xlsx"](reconciliation=rec)


@needs_openpyxl
def test_export_is_reproducible(month: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """openpyxl stamps the document and every zip entry with the time it saves: the export does not."""
    import time
    import zipfile

    bill, orders = month
    r = reconcile(bill, orders, CONTRACTS, None, region="EAST")
    first = export_xlsx(r)
    later = time.time() + 86400 * 40
    monkeypatch.setattr(time, "time", lambda: later)
    assert export_xlsx(r) == first
    with zipfile.ZipFile(io.BytesIO(first)) as zf:
        assert {i.date_time for i in zf.infolist()} == {(2000, 1, 1, 0, 0, 0)}
        assert b"2000-01-01T00:00:00Z</dcterms:modified>" in zf.read("docProps/core.xml")
