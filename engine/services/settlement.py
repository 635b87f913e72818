"""Monthly electricity settlement and partner revenue split (电费结算与分账对账).

`reconcile(bill, orders, contracts, tolerance)` is pure Python over `Decimal` (never float):

- **bill**: the grid utility's bill, one row per meter (or station) and month, kWh and amount by
  time-of-use band 尖/峰/平/谷 (sharp/peak/flat/valley);
- **orders**: the charging platform's order export (order id, station, kWh, electricity fee,
  service fee, start and end time);
- **contracts**: per station its region, name and the partners with their share of the service
  fee (a list of dicts, or a CSV/XLSX file with the same columns);
- **tolerance**: `max_loss_rate` (default 0.08), `max_amount_gap_rate` (0.005), `min_loss_rate`
  (0: selling more than was bought is a meter problem) and `gap_basis` ("sold" or "bill").

Every row is validated first; any error means no result (`SettlementInputError` carries all of
them). Per station it compares energy bought (bill kWh) with energy sold (order kWh), the bill's
amount with the electricity fees charged, breaks both down by time-of-use band (an order counts
in the band of its start time), flags stations beyond tolerance, splits the service fee between
the partners and the company to the fen (largest remainder: the parts always add up), and totals
per region. `export_xlsx(result)` writes the workbook finance downloads (the same result gives
the same bytes).

Amount gap, `gap_basis="sold"` (default): the bill's amount for the energy actually sold,
`bill_amount × sold_kwh / bill_kwh` (the station's average bill price; energy lost is measured by
the loss rate, not counted twice), minus the electricity fees charged, as a share of the bill.
With `gap_basis="bill"` it is simply `bill_amount − electricity_fee` over the bill amount.

Operators: `settlement/reconcile`, `settlement/partner_statements`, `settlement/reminder_notices`,
`settlement/export_xlsx` (stores the workbook as an attachment of the request, returns its ref)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import zipfile
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from engine.services import operator, write_attachment
from engine.services.settlement_io import (
    FEN,
    CellReader,
    Column,
    ErrorSink,
    RowError,
    SettlementInputError,
    data_rows,
    decode_content,
    first_nonblank,
    map_header,
    parse_period,
    parse_share,
    read_table,
    to_decimal,
)

__all__ = [
    "BANDS",
    "DEFAULT_BAND_SCHEDULE",
    "DEFAULT_TOLERANCE",
    "SettlementInputError",
    "allocate_fen",
    "amount_in_words",
    "compile_band_schedule",
    "export_xlsx",
    "partner_statements",
    "reconcile",
    "reminder_notices",
]

BANDS = ("sharp", "peak", "flat", "valley")
BAND_ZH = {"sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"}

# The default time-of-use schedule (many provincial grids use one like it; set yours per region
# through `band_schedule`). Start inclusive, end exclusive; a range may wrap past midnight.
DEFAULT_BAND_SCHEDULE: dict[str, list[str]] = {
    "sharp": ["19:00-21:00"],
    "peak": ["08:00-11:00", "13:00-19:00"],
    "flat": ["07:00-08:00", "11:00-13:00", "21:00-23:00"],
    "valley": ["23:00-07:00"],
}
DEFAULT_TOLERANCE: dict[str, Any] = {
    "max_loss_rate": Decimal("0.08"),
    "max_amount_gap_rate": Decimal("0.005"),
    "min_loss_rate": Decimal("0"),
    "gap_basis": "sold",
}
RATE = Decimal("0.000001")  # rates are fractions kept to 0.0001 %
KWH = Decimal("0.001")
PRICE = Decimal("0.0001")
COMPANY = "本公司"  # the company's own (retained) part of the service fee in allocations

# ---- columns ------------------------------------------------------------------------------

STATION_ALIASES = ("站点", "站点编码", "站点编号", "场站", "场站编码", "电站", "电站编码", "充电站", "充电站编码",
                   "station_code", "station_id", "station_no", "site")
ORDER_COLUMNS = [
    Column("order_id", ("订单号", "订单编号", "充电订单号", "order_no", "order", "order_number"), zh="订单号"),
    Column("station", STATION_ALIASES, zh="站点"),
    Column("kwh", ("电量", "充电量", "充电电量", "用电量", "energy", "energy_kwh", "kwh_charged"), zh="电量"),
    Column("electricity_fee", ("电费", "电费金额", "energy_fee", "power_fee", "elec_fee"), zh="电费"),
    Column("service_fee", ("服务费", "服务费金额", "service_charge"), zh="服务费"),
    Column("start_time", ("开始时间", "充电开始时间", "start", "started_at", "start_at"), zh="开始时间"),
    Column("end_time", ("结束时间", "充电结束时间", "end", "ended_at", "end_at"), zh="结束时间"),
]
BILL_COLUMNS = [
    Column("station", STATION_ALIASES, zh="站点"),
    Column("meter", ("电表号", "表号", "电表", "计量点", "计量点编号", "户号", "meter_no", "meter_id"),
           required=False, zh="电表号"),
    Column("period", ("账期", "月份", "结算月份", "电费年月", "年月", "month", "billing_period"), required=False,
           zh="账期"),
    *[c for band in BANDS for c in (
        Column(f"{band}_kwh", (f"{BAND_ZH[band]}电量", f"{BAND_ZH[band]}时电量", f"{BAND_ZH[band]}段电量",
                               f"{band}_energy"), required=False, zh=f"{BAND_ZH[band]}电量"),
        Column(f"{band}_amount", (f"{BAND_ZH[band]}电费", f"{BAND_ZH[band]}时电费", f"{BAND_ZH[band]}段电费",
                                  f"{band}_fee"), required=False, zh=f"{BAND_ZH[band]}电费"),
    )],
    Column("total_kwh", ("总电量", "合计电量", "电量合计"), required=False, zh="总电量"),
    Column("total_amount", ("总电费", "合计电费", "电费合计", "总金额", "应缴电费"), required=False, zh="总电费"),
]
# 尖 has the sharp band's own name in some bills: 尖峰.
BILL_COLUMNS[3].aliases += ("尖峰电量",)
BILL_COLUMNS[4].aliases += ("尖峰电费",)
CONTRACT_COLUMNS = [
    Column("station", STATION_ALIASES, zh="站点"),
    Column("station_name", ("站点名称", "场站名称", "电站名称", "name"), required=False, zh="站点名称"),
    Column("region", ("区域", "大区", "所属区域"), required=False, zh="区域"),
    Column("partner", ("合作方", "合作方编码", "合作伙伴", "partner_code", "partner_id"), required=False, zh="合作方"),
    Column("partner_name", ("合作方名称", "合作伙伴名称"), required=False, zh="合作方名称"),
    Column("share", ("分成比例", "分成", "服务费分成比例", "share_rate", "partner_share"), required=False,
           zh="分成比例"),
]


# ---- small helpers --------------------------------------------------------------------------

def q_fen(x: Decimal) -> Decimal:
    return x.quantize(FEN, rounding=ROUND_HALF_UP)


def q_rate(x: Decimal) -> Decimal:
    return x.quantize(RATE, rounding=ROUND_HALF_UP)


def ratio(num: Decimal, den: Decimal) -> Decimal | None:
    return q_rate(num / den) if den else None


def pct_text(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{(rate * 100).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}%"


def allocate_fen(total: Decimal, shares: Sequence[tuple[str, Decimal]]) -> dict[str, Decimal]:
    """Split `total` (CNY, to the fen, >= 0) by `shares` (fractions summing to 1) so that the parts
    add up exactly: each part is rounded down to the fen, then the fen left over go one by one to
    the largest remainders; ties go to the earlier entry. Deterministic for the same input."""
    if total < 0:
        raise ValueError("cannot allocate a negative amount")
    exact = [(key, total * share) for key, share in shares]
    parts = {key: amount.quantize(FEN, rounding=ROUND_DOWN) for key, amount in exact}
    left = int((total - sum(parts.values(), Decimal(0))) / FEN)
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i][1] - parts[exact[i][0]]), i))
    for i in order[:left]:
        parts[exact[i][0]] += FEN
    return parts


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_UNITS = ["", "拾", "佰", "仟"]
_SECTIONS = ["", "万", "亿", "万亿"]


def amount_in_words(amount: Decimal) -> str:
    """人民币大写 of an amount: Decimal('12345.67') -> '壹万贰仟叁佰肆拾伍元陆角柒分'."""
    amount = q_fen(Decimal(amount))
    if amount < 0:
        return "负" + amount_in_words(-amount)
    fen_total = int(amount * 100)
    yuan, jiao, fen = fen_total // 100, (fen_total // 10) % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    words = ""
    if yuan:
        sections: list[int] = []
        while yuan:
            sections.append(yuan % 10000)
            yuan //= 10000
        need_zero = False
        for idx in range(len(sections) - 1, -1, -1):
            sec = sections[idx]
            if sec == 0:
                need_zero = bool(words)
                continue
            if words and (need_zero or sec < 1000):
                words += "零"
            need_zero = False
            text, zero = "", False
            for pos in range(3, -1, -1):
                digit = (sec // 10 ** pos) % 10
                if digit == 0:
                    zero = bool(text)
                    continue
                if zero:
                    text += "零"
                    zero = False
                text += _DIGITS[digit] + _UNITS[pos]
            words += text + _SECTIONS[idx]
        words += "元"
    if jiao == 0 and fen == 0:
        return words + "整"
    if jiao:
        words += _DIGITS[jiao] + "角"
    elif words:
        words += "零"
    if fen:
        words += _DIGITS[fen] + "分"
    else:
        words += "整"
    return words


# ---- band schedule --------------------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d{1,2}):?(\d{2})?\s*[-–~至]\s*(\d{1,2}):?(\d{2})?\s*$")


def compile_band_schedule(schedule: Mapping[str, Any] | None = None, month: int | None = None,
                          errors: list[RowError] | None = None) -> list[int]:
    """A 1440-entry table: minute of the day -> index into BANDS. `schedule` maps each band to
    ranges like "08:00-11:00" (or "8-11"); `{"default": {...}, "by_month": {"7": {...}}}` gives
    months their own schedule. Every minute must belong to exactly one band."""
    own_errors: list[RowError] = []
    sink = ErrorSink("band_schedule", errors if errors is not None else own_errors)
    spec: Any = DEFAULT_BAND_SCHEDULE if schedule is None else schedule
    if isinstance(spec, Mapping) and ("default" in spec or "by_month" in spec):
        by_month = spec.get("by_month") or {}
        chosen = by_month.get(str(month)) or by_month.get(month) if month is not None else None
        spec = chosen or spec.get("default") or DEFAULT_BAND_SCHEDULE
    table = [-1] * 1440
    if not isinstance(spec, Mapping):
        sink.file_error("bad_schedule", "must map each band to a list of ranges", "应为各时段对应的时间范围列表")
        return table if errors is not None else _raise(own_errors)
    for band, ranges in spec.items():
        if band not in BANDS:
            sink.file_error("bad_schedule", f"unknown band '{band}' (use {', '.join(BANDS)})",
                            f"未知时段「{band}」（可用 {', '.join(BANDS)}）")
            continue
        for text in ([ranges] if isinstance(ranges, str) else ranges or []):
            m = _RANGE.match(str(text))
            if m is None:
                sink.file_error("bad_schedule", f"'{text}' is not a range like 08:00-11:00",
                                f"「{text}」不是形如 08:00-11:00 的时间范围")
                continue
            h1, m1, h2, m2 = (int(g or 0) for g in m.groups())
            start, end = h1 * 60 + m1, h2 * 60 + m2
            if start >= 1440 or end > 1440 or m1 >= 60 or m2 >= 60:
                sink.file_error("bad_schedule", f"'{text}' is not a time of day", f"「{text}」不是有效时间")
                continue
            minutes = range(start, end) if end > start else [*range(start, 1440), *range(0, end)]
            for minute in minutes:
                if table[minute] != -1 and table[minute] != BANDS.index(band):
                    sink.file_error("bad_schedule", f"{minute // 60:02d}:{minute % 60:02d} is in both "
                                    f"{BANDS[table[minute]]} and {band}",
                                    f"{minute // 60:02d}:{minute % 60:02d} 同时属于 {BAND_ZH[BANDS[table[minute]]]} "
                                    f"与 {BAND_ZH[band]} 时段")
                    break
                table[minute] = BANDS.index(band)
    if -1 in table and not any(e.file == "band_schedule" for e in sink.errors):
        gap = table.index(-1)
        sink.file_error("bad_schedule", f"{gap // 60:02d}:{gap % 60:02d} belongs to no band",
                        f"{gap // 60:02d}:{gap % 60:02d} 不属于任何时段")
    if own_errors:
        _raise(own_errors)
    return table


def _raise(errors: list[RowError]) -> list[int]:
    raise SettlementInputError(errors)


def schedule_text(table: Sequence[int]) -> dict[str, list[str]]:
    """The ranges of each band, for the result and the workbook."""
    out: dict[str, list[str]] = {b: [] for b in BANDS}
    start = 0
    for minute in range(1, 1441):
        if minute == 1440 or table[minute] != table[start]:
            out[BANDS[table[start]]].append(f"{start // 60:02d}:{start % 60:02d}-{minute // 60:02d}:{minute % 60:02d}")
            start = minute
    return out


# ---- tolerance ------------------------------------------------------------------------------

_TOL_ALIASES = {"max_loss_rate": ("max_loss_rate", "loss_rate", "loss", "max_loss"),
                "max_amount_gap_rate": ("max_amount_gap_rate", "amount_gap_rate", "amount_gap", "gap", "max_gap"),
                "min_loss_rate": ("min_loss_rate", "min_loss")}


def parse_tolerance(tolerance: Mapping[str, Any] | None, errors: list[RowError]) -> dict[str, Any]:
    sink = ErrorSink("tolerance", errors)
    out = dict(DEFAULT_TOLERANCE)
    given = dict(tolerance or {})
    for key, aliases in _TOL_ALIASES.items():
        for alias in aliases:
            if alias in given:
                value = given[alias]
                rate = parse_share(value) if isinstance(value, str) and value.strip().endswith("%") else to_decimal(value)
                if rate is None or rate < -1 or rate > 1:
                    sink.file_error("bad_tolerance", f"{alias} '{value}' is not a rate between -1 and 1 (0.08 or '8%')",
                                    f"{alias}「{value}」不是 -1 到 1 之间的比例（如 0.08 或 8%）")
                else:
                    out[key] = rate
                break
    basis = given.get("gap_basis", out["gap_basis"])
    if basis not in ("sold", "bill"):
        sink.file_error("bad_tolerance", f"gap_basis '{basis}' must be 'sold' or 'bill'",
                        f"gap_basis「{basis}」只能是 sold 或 bill")
    else:
        out["gap_basis"] = basis
    return out


# ---- contracts ------------------------------------------------------------------------------

class StationInfo:
    __slots__ = ("code", "name", "region", "partners", "row")

    def __init__(self, code: str, row: int) -> None:
        self.code, self.row = code, row
        self.name = ""
        self.region = ""
        self.partners: list[tuple[str, str, Decimal]] = []  # (partner code, partner name, share)


def _table_of(contracts: Any, errors: list[RowError]) -> tuple[list[list[Any]] | None, int]:
    """Contracts as a table: a list of dicts (row numbers = positions, from 1) or a CSV/XLSX file
    (spreadsheet row numbers, header = row 1). Returns (rows with header first, row offset)."""
    if isinstance(contracts, (list, tuple)):
        if not contracts:
            ErrorSink("contracts", errors).file_error("empty_file", "no contracts given", "未提供合同台账")
            return None, 0
        keys: list[str] = []
        for item in contracts:
            if not isinstance(item, Mapping):
                ErrorSink("contracts", errors).file_error("bad_contract", "each contract must be an object",
                                                          "每条合同应为对象")
                return None, 0
            for k in item:
                if k not in keys:
                    keys.append(k)
        return [list(keys), *[[item.get(k) for k in keys] for item in contracts]], -1
    return read_table(contracts, "contracts", errors), 0


def parse_contracts(contracts: Any, errors: list[RowError], region: str | None = None
                    ) -> tuple[dict[str, StationInfo], dict[str, str]]:
    """Stations of the region (code -> info) and the region of every other station in the file."""
    sink = ErrorSink("contracts", errors)
    rows, offset = _table_of(contracts, errors)
    stations: dict[str, StationInfo] = {}
    elsewhere: dict[str, str] = {}
    if rows is None:
        return stations, elsewhere
    h = first_nonblank(rows)
    if h < 0:
        sink.file_error("empty_file", "the file is empty", "文件为空")
        return stations, elsewhere
    header = map_header(rows[h], CONTRACT_COLUMNS, sink)
    if header is None:
        return stations, elsewhere
    cells = CellReader(sink, header)
    for row_no, r in data_rows(rows[h:]):
        row_no += h + offset
        cells.start(row_no, r)
        code = cells.text("station")
        if not code:
            continue
        st_region = cells.text("region", required=False)
        if region and st_region and st_region != region:
            elsewhere[code] = st_region
            continue
        info = stations.get(code)
        if info is None:
            info = stations[code] = StationInfo(code, row_no)
        name = cells.text("station_name", required=False)
        if name and info.name and name != info.name:
            sink.row(row_no, "conflicting_station", f"station {code} is named '{info.name}' in row {info.row}",
                     f"站点 {code} 在第 {info.row} 行名称为「{info.name}」", "station_name", header.labels.get("station_name"))
        info.name = info.name or name
        if st_region and info.region and st_region != info.region:
            sink.row(row_no, "conflicting_station", f"station {code} is in region {info.region} in row {info.row}",
                     f"站点 {code} 在第 {info.row} 行属于 {info.region} 区域", "region", header.labels.get("region"))
        info.region = info.region or st_region
        partner = cells.text("partner", required=False)
        raw_share = cells.raw("share")
        if not partner:
            if raw_share not in (None, "") and to_decimal(raw_share) not in (None, Decimal(0)):
                sink.row(row_no, "bad_contract", "a share without a partner", "有分成比例但没有合作方",
                         "partner", header.labels.get("partner"))
            continue  # a station operated by the company alone
        share = parse_share(raw_share)
        if share is None:
            cells.error("share", raw_share if raw_share is not None else "", "bad_share",
                       "is not a share between 0 and 1 (0.3 or 30%)", "不是 0 到 1 之间的分成比例（0.3 或 30%）")
            continue
        if any(p[0] == partner for p in info.partners):
            sink.row(row_no, "duplicate_contract", f"partner {partner} already has a share of station {code}",
                     f"合作方 {partner} 在站点 {code} 已有分成", "partner", header.labels.get("partner"), partner)
            continue
        info.partners.append((partner, cells.text("partner_name", required=False) or partner, share))
        total = sum((p[2] for p in info.partners), Decimal(0))
        if total > 1:
            sink.row(row_no, "shares_exceed_total", f"the shares of station {code} add up to {total} (more than 100%)",
                     f"站点 {code} 的分成比例合计 {pct_text(total)}，超过 100%", "share", header.labels.get("share"), raw_share)
    return stations, elsewhere


# ---- bill -----------------------------------------------------------------------------------

class BillAgg:
    __slots__ = ("kwh", "amount", "meters")

    def __init__(self) -> None:
        self.kwh = [Decimal(0)] * 4
        self.amount = [Decimal(0)] * 4
        self.meters: list[str] = []


def _station_check(cells: CellReader, code: str, stations: Mapping[str, StationInfo],
                   elsewhere: Mapping[str, str], region: str | None) -> bool:
    if code in stations:
        return True
    label = cells.header.labels.get("station", "station")
    if code in elsewhere:
        cells.failed = True
        cells.sink.row(cells.row_no, "station_other_region", f"station '{code}' belongs to region {elsewhere[code]}, "
                       f"not {region}", f"站点「{code}」属于 {elsewhere[code]} 区域，不属于 {region}", "station", label, code)
    else:
        cells.error("station", code, "unknown_station", "is not a station in the contracts", "不是合同台账中的站点")
    return False


def parse_bill(bill: Any, errors: list[RowError], stations: Mapping[str, StationInfo],
               elsewhere: Mapping[str, str], period: str | None, region: str | None
               ) -> tuple[str | None, dict[str, BillAgg]]:
    sink = ErrorSink("bill", errors)
    out: dict[str, BillAgg] = {}
    rows = read_table(bill, "bill", errors)
    if rows is None:
        return period, out
    h = first_nonblank(rows)
    if h < 0:
        sink.file_error("empty_file", "the file is empty", "文件为空")
        return period, out
    header = map_header(rows[h], BILL_COLUMNS, sink)
    if header is None:
        return period, out
    bands = [i for i, b in enumerate(BANDS) if f"{b}_kwh" in header.positions or f"{b}_amount" in header.positions]
    missing_pair = [b for b in BANDS if (f"{b}_kwh" in header.positions) != (f"{b}_amount" in header.positions)]
    if not bands or missing_pair:
        what = ", ".join(f"{b}_kwh/{b}_amount" for b in missing_pair) or "no time-of-use band (尖/峰/平/谷电量 and 电费)"
        sink.file_error("missing_column", f"header: each band needs its kWh and amount columns: {what}",
                        "表头：每个时段需要电量与电费两列（尖/峰/平/谷电量、尖/峰/平/谷电费）")
        return period, out
    if "period" not in header.positions and period is None:
        sink.file_error("missing_column", "header: no period column (账期) and no period given",
                        "表头：没有账期列，也未指定结算月份")
        return period, out
    cells = CellReader(sink, header)
    seen: dict[tuple[str, str], int] = {}
    first_period_row = 0
    for row_no, r in data_rows(rows[h:]):
        row_no += h
        cells.start(row_no, r)
        code = cells.text("station")
        meter = cells.text("meter", required=False)
        if "period" in header.positions:
            raw = cells.raw("period")
            p = parse_period(raw)
            if p is None:
                cells.error("period", raw if raw is not None else "", "bad_period", "is not a month (2026-03)",
                           "不是有效的月份（例如 2026-03）")
            elif period is None:
                period, first_period_row = p, row_no
            elif p != period:
                where = f" (row {first_period_row})" if first_period_row else ""
                cells.error("period", raw, "period_mismatch", f"is not the settlement period {period}{where}",
                           f"与结算月份 {period} 不符")
        kwh = [Decimal(0)] * 4
        amount = [Decimal(0)] * 4
        for i in bands:
            b = BANDS[i]
            kwh[i] = cells.number(f"{b}_kwh", required=False) or Decimal(0)
            amount[i] = cells.number(f"{b}_amount", money=True, required=False) or Decimal(0)
        for col, total in (("total_kwh", sum(kwh, Decimal(0))), ("total_amount", sum(amount, Decimal(0)))):
            if col in header.positions and str(cells.raw(col) or "").strip():
                given = cells.number(col, money=col == "total_amount")
                if given is not None and given != total:
                    cells.error(col, cells.raw(col), "total_mismatch", f"does not equal the sum of the bands ({total})",
                               f"与各时段合计（{total}）不符")
        if not code or not _station_check(cells, code, stations, elsewhere, region):
            continue
        key = (code, meter)
        if key in seen:
            hint = "" if meter else "; add a meter column (电表号) for a station with several meters"
            sink.row(row_no, "duplicate_row", f"station {code}{' meter ' + meter if meter else ''} is already billed "
                     f"in row {seen[key]}{hint}", f"站点 {code}{' 电表 ' + meter if meter else ''} 已在第 {seen[key]} 行出现",
                     "station", header.labels.get("station"), code)
            continue
        seen[key] = row_no
        if cells.failed:
            continue
        agg = out.get(code)
        if agg is None:
            agg = out[code] = BillAgg()
        for i in bands:
            agg.kwh[i] += kwh[i]
            agg.amount[i] += amount[i]
        if meter:
            agg.meters.append(meter)
    if not seen and not any(e.file == "bill" for e in errors):
        sink.file_error("empty_file", "no bill rows", "账单没有数据行")
    return period, out


# ---- orders ---------------------------------------------------------------------------------

class OrderAgg:
    __slots__ = ("count", "kwh", "elec", "service")

    def __init__(self) -> None:
        self.count = [0, 0, 0, 0]
        self.kwh = [Decimal(0)] * 4
        self.elec = [Decimal(0)] * 4
        self.service = [Decimal(0)] * 4


def parse_orders(orders: Any, errors: list[RowError], stations: Mapping[str, StationInfo],
                 elsewhere: Mapping[str, str], period: str | None, region: str | None,
                 schedule: Mapping[str, Any] | None) -> tuple[dict[str, OrderAgg], int, list[int]]:
    """Aggregates per station and band; also the number of orders and the band table used."""
    sink = ErrorSink("orders", errors)
    out: dict[str, OrderAgg] = {}
    year, month = (int(period[:4]), int(period[5:7])) if period else (None, None)
    table = compile_band_schedule(schedule, month, errors)
    rows = read_table(orders, "orders", errors)
    if rows is None:
        return out, 0, table
    h = first_nonblank(rows)
    if h < 0:
        sink.file_error("empty_file", "the file is empty", "文件为空")
        return out, 0, table
    header = map_header(rows[h], ORDER_COLUMNS, sink)
    if header is None:
        return out, 0, table
    cells = CellReader(sink, header)
    seen: dict[str, int] = {}
    count = 0
    for row_no, r in data_rows(rows[h:]):
        row_no += h
        cells.start(row_no, r)
        order_id = cells.text("order_id")
        code = cells.text("station")
        kwh = cells.number("kwh")
        elec = cells.number("electricity_fee", money=True)
        service = cells.number("service_fee", money=True)
        start = cells.datetime("start_time")
        end = cells.datetime("end_time")
        if start is not None and end is not None and end < start:
            cells.failed = True
            sink.row(row_no, "end_before_start", f"end {end:%Y-%m-%d %H:%M:%S} is before start {start:%Y-%m-%d %H:%M:%S}",
                     f"结束时间 {end:%Y-%m-%d %H:%M:%S} 早于开始时间 {start:%Y-%m-%d %H:%M:%S}", "end_time",
                     header.labels.get("end_time"), cells.raw("end_time"))
        if start is not None and year is not None and (start.year != year or start.month != month):
            cells.failed = True
            sink.row(row_no, "outside_period", f"start {start:%Y-%m-%d %H:%M} is outside the period {period}",
                     f"开始时间 {start:%Y-%m-%d %H:%M} 不在结算月份 {period} 内", "start_time",
                     header.labels.get("start_time"), cells.raw("start_time"))
        if order_id:
            first = seen.get(order_id)
            if first is not None:
                cells.failed = True
                sink.row(row_no, "duplicate_order", f"order id '{order_id}' already appears in row {first}",
                         f"订单号「{order_id}」与第 {first} 行重复", "order_id", header.labels.get("order_id"), order_id)
            else:
                seen[order_id] = row_no
        if code and not _station_check(cells, code, stations, elsewhere, region):
            continue
        if cells.failed or start is None:
            continue
        count += 1
        agg = out.get(code)
        if agg is None:
            agg = out[code] = OrderAgg()
        band = table[start.hour * 60 + start.minute]
        agg.count[band] += 1
        agg.kwh[band] += kwh  # type: ignore[operator]
        agg.elec[band] += elec  # type: ignore[operator]
        agg.service[band] += service  # type: ignore[operator]
    if not seen and not any(e.file == "orders" for e in errors):
        sink.file_error("empty_file", "no order rows", "订单导出没有数据行")
    return out, count, table


# ---- reconciliation -------------------------------------------------------------------------

def _sum(values: Sequence[Decimal]) -> Decimal:
    return sum(values, Decimal(0))


def _station_row(code: str, info: StationInfo, bill: BillAgg | None, sold: OrderAgg | None,
                 tol: Mapping[str, Any]) -> dict[str, Any]:
    bill = bill or BillAgg()
    sold = sold or OrderAgg()
    bill_kwh, bill_amount = _sum(bill.kwh), _sum(bill.amount)
    sold_kwh, elec, service = _sum(sold.kwh), _sum(sold.elec), _sum(sold.service)
    loss_kwh = bill_kwh - sold_kwh
    expected_fee = q_fen(bill_amount * sold_kwh / bill_kwh) if bill_kwh else None
    if tol["gap_basis"] == "bill":
        amount_gap: Decimal | None = bill_amount - elec
    else:
        amount_gap = expected_fee - elec if expected_fee is not None else None
    flags: list[str] = []
    if bill_kwh == 0:
        if sold_kwh > 0 or elec > 0:
            flags.append("no_bill")
    else:
        # exact comparisons (no division): loss > max * bought
        if loss_kwh > tol["max_loss_rate"] * bill_kwh:
            flags.append("loss_above_tolerance")
        if loss_kwh < tol["min_loss_rate"] * bill_kwh:
            flags.append("loss_below_tolerance")
    if amount_gap is not None and bill_amount and abs(amount_gap) > tol["max_amount_gap_rate"] * bill_amount:
        flags.append("amount_gap_above_tolerance")
    bands = {}
    for i, b in enumerate(BANDS):
        bk, ba, sk, se = bill.kwh[i], bill.amount[i], sold.kwh[i], sold.elec[i]
        bands[b] = {
            "bill_kwh": bk, "bill_amount": ba, "bill_price": (ba / bk).quantize(PRICE, ROUND_HALF_UP) if bk else None,
            "order_count": sold.count[i], "sold_kwh": sk, "electricity_fee": se, "service_fee": sold.service[i],
            "sold_price": (se / sk).quantize(PRICE, ROUND_HALF_UP) if sk else None,
            "loss_kwh": bk - sk,
        }
    parties = [(p[0], p[2]) for p in sorted(info.partners)]
    company_share = 1 - _sum([s for _, s in parties])
    split = allocate_fen(service, [*parties, (COMPANY, company_share)])
    names = {p[0]: p[1] for p in info.partners}
    return {
        "station": code, "station_name": info.name, "region": info.region, "meters": sorted(bill.meters),
        "order_count": sum(sold.count), "bill_kwh": bill_kwh, "sold_kwh": sold_kwh, "loss_kwh": loss_kwh,
        "loss_rate": ratio(loss_kwh, bill_kwh), "bill_amount": bill_amount, "electricity_fee": elec,
        "expected_fee": expected_fee, "amount_gap": amount_gap,
        "amount_gap_rate": ratio(amount_gap, bill_amount) if amount_gap is not None else None,
        "service_fee": service, "bands": bands,
        "partners": [{"partner": p, "partner_name": names[p], "share": s, "amount": split[p]} for p, s in parties],
        "partner_share": _sum([split[p] for p, _ in parties]), "company_share": split[COMPANY],
        "flagged": bool(flags), "flags": flags,
    }


FLAG_TEXT = {
    "loss_above_tolerance": ("loss above tolerance", "损耗率超限"),
    "loss_below_tolerance": ("sold more than bought", "售电量大于购电量"),
    "amount_gap_above_tolerance": ("amount gap above tolerance", "电费差额超限"),
    "no_bill": ("orders but no bill", "有订单但无电费账单"),
}


def _totals(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def s(key: str) -> Decimal:
        return _sum([r[key] for r in rows if r[key] is not None])

    bill_kwh, sold_kwh, bill_amount, elec = s("bill_kwh"), s("sold_kwh"), s("bill_amount"), s("electricity_fee")
    gap = s("amount_gap")
    return {
        "station_count": len(rows), "flagged_count": sum(1 for r in rows if r["flagged"]),
        "order_count": sum(r["order_count"] for r in rows),
        "bill_kwh": bill_kwh, "sold_kwh": sold_kwh, "loss_kwh": bill_kwh - sold_kwh,
        "loss_rate": ratio(bill_kwh - sold_kwh, bill_kwh), "bill_amount": bill_amount, "electricity_fee": elec,
        "amount_gap": gap, "amount_gap_rate": ratio(gap, bill_amount),
        "service_fee": s("service_fee"), "partner_share": s("partner_share"), "company_share": s("company_share"),
    }


def reconcile(bill_csv: str | bytes, orders_csv: str | bytes, contracts: Any, tolerance: Mapping[str, Any] | None = None,
              *, period: str | None = None, region: str | None = None,
              band_schedule: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate every input and reconcile the period; raises SettlementInputError with every
    problem found (and computes nothing) when any input is invalid. See the module docstring."""
    errors: list[RowError] = []
    if period is not None:
        wanted = parse_period(period)
        if wanted is None:
            errors.append(RowError("bill", "bad_period", f"period '{period}' is not a month (2026-03)",
                                   f"结算月份「{period}」无效（例如 2026-03）"))
        period = wanted
    tol = parse_tolerance(tolerance, errors)
    stations, elsewhere = parse_contracts(contracts, errors, region)
    period, bill = parse_bill(bill_csv, errors, stations, elsewhere, period, region)
    sold, order_count, table = parse_orders(orders_csv, errors, stations, elsewhere, period, region, band_schedule)
    if errors:
        raise SettlementInputError(errors)
    codes = sorted(set(bill) | set(sold))
    rows = [_station_row(c, stations[c], bill.get(c), sold.get(c), tol) for c in codes]
    flagged_rows = [{
        "station": r["station"], "station_name": r["station_name"], "flags": r["flags"],
        "reasons": "；".join(FLAG_TEXT[f][1] for f in r["flags"]),
        "bill_kwh": r["bill_kwh"], "sold_kwh": r["sold_kwh"], "loss_rate": r["loss_rate"],
        "loss_pct": pct_text(r["loss_rate"]), "bill_amount": r["bill_amount"], "electricity_fee": r["electricity_fee"],
        "amount_gap": r["amount_gap"], "amount_gap_rate": r["amount_gap_rate"], "amount_gap_pct": pct_text(r["amount_gap_rate"]),
    } for r in rows if r["flagged"]]
    partners: dict[str, dict[str, Any]] = {}
    for r in rows:
        for p in r["partners"]:
            st = partners.setdefault(p["partner"], {"partner": p["partner"], "partner_name": p["partner_name"],
                                                    "lines": [], "station_count": 0, "order_count": 0,
                                                    "sold_kwh": Decimal(0), "service_fee": Decimal(0),
                                                    "amount": Decimal(0)})
            st["lines"].append({"station": r["station"], "station_name": r["station_name"],
                                "order_count": r["order_count"], "sold_kwh": r["sold_kwh"],
                                "service_fee": r["service_fee"], "share": p["share"], "amount": p["amount"]})
            st["station_count"] += 1
            st["order_count"] += r["order_count"]
            st["sold_kwh"] += r["sold_kwh"]
            st["service_fee"] += r["service_fee"]
            st["amount"] += p["amount"]
    totals = _totals(rows)
    regions = sorted({r["region"] for r in rows})
    totals["regions"] = {reg: _totals([r for r in rows if r["region"] == reg]) for reg in regions}
    assert totals["partner_share"] + totals["company_share"] == totals["service_fee"]
    assert totals["order_count"] == order_count
    return {
        "period": period, "region": region, "currency": "CNY",
        "tolerance": {k: tol[k] for k in ("max_loss_rate", "max_amount_gap_rate", "min_loss_rate", "gap_basis")},
        "band_schedule": schedule_text(table),
        "stations": rows,
        "flagged": [r["station"] for r in rows if r["flagged"]],
        "flagged_rows": flagged_rows,
        "partners": [partners[k] for k in sorted(partners)],
        "totals": totals,
    }


# ---- partner statements ---------------------------------------------------------------------

def partner_statements(reconciliation: Mapping[str, Any], settlement_no: str, *, issue_date: dt.date | None = None,
                       confirm_days: int = 7) -> dict[str, Any]:
    """One numbered statement per partner from a reconciliation result; amounts in figures and
    in words (人民币大写). The statements add up to the reconciliation's partner share."""
    issue_date = issue_date or dt.datetime.now(dt.timezone(dt.timedelta(hours=8))).date()
    due = issue_date + dt.timedelta(days=confirm_days)
    out = []
    for i, p in enumerate(reconciliation.get("partners") or [], start=1):
        amount = Decimal(str(p["amount"]))
        lines = [dict(line) for line in p["lines"]]
        assert _sum([Decimal(str(line["amount"])) for line in lines]) == amount, "statement lines must add up"
        out.append({
            "statement_no": f"{settlement_no}-{i:02d}", "partner": p["partner"], "partner_name": p["partner_name"],
            "period": reconciliation.get("period"), "issue_date": issue_date.isoformat(),
            "confirm_by": due.isoformat(), "station_count": p["station_count"], "order_count": p["order_count"],
            "service_fee": p["service_fee"], "amount": amount, "amount_in_words": amount_in_words(amount),
            "lines": lines, "status": "issued",
        })
    total = _sum([s["amount"] for s in out])
    expected = (reconciliation.get("totals") or {}).get("partner_share")
    if expected is not None and Decimal(str(expected)) != total:
        raise ValueError(f"statements total {total} differs from the reconciliation's partner share {expected}")
    return {"settlement_no": settlement_no, "period": reconciliation.get("period"), "statements": out,
            "statement_count": len(out), "statement_total": total, "statement_total_in_words": amount_in_words(total),
            "pending_partners": [s["partner"] for s in out]}


# ---- XLSX export ----------------------------------------------------------------------------

def export_xlsx(result: Mapping[str, Any], statements: Mapping[str, Any] | None = None) -> bytes:
    """The workbook finance downloads: 汇总 Summary, 站点对账 Stations (flagged rows highlighted),
    合作方结算 Partners (one block of lines per partner with its subtotal)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    money, kwh_fmt, rate_fmt = "#,##0.00", "#,##0.000", "0.00%"
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    flag_fill = PatternFill("solid", fgColor="FFC7CE")
    total_fill = PatternFill("solid", fgColor="F2F2F2")

    def num(v: Any) -> Any:
        if v is None:
            return None
        return v if isinstance(v, (int, Decimal)) else Decimal(str(v))

    def header(ws: Any, titles: Sequence[str], widths: Sequence[int]) -> None:
        ws.append(list(titles))
        for i, w in enumerate(widths, start=1):
            c = ws.cell(row=ws.max_row, column=i)
            c.font, c.fill = bold, head_fill
            c.alignment = Alignment(wrap_text=True, vertical="center")
            ws.column_dimensions[get_column_letter(i)].width = w
        ws.freeze_panes = f"A{ws.max_row + 1}"

    def fmt(ws: Any, row: int, formats: Mapping[int, str]) -> None:
        for col, f in formats.items():
            ws.cell(row=row, column=col).number_format = f

    wb = Workbook()
    ws = wb.active
    ws.title = "汇总 Summary"
    t = result["totals"]
    tol = result.get("tolerance") or {}
    ws.append(["电费结算与分账对账 / Settlement reconciliation"])
    ws["A1"].font = Font(bold=True, size=14)
    info: list[tuple[str, Any, str | None]] = [("结算月份 / Period", result.get("period"), None), ("区域 / Region", result.get("region") or "", None)]
    if statements:
        info.insert(0, ("结算单号 / Settlement no.", statements.get("settlement_no"), None))
    info += [
        ("损耗率容差 / Max loss rate", num(tol.get("max_loss_rate")), rate_fmt),
        ("电费差额容差 / Max amount gap", num(tol.get("max_amount_gap_rate")), rate_fmt),
        ("差额口径 / Gap basis", tol.get("gap_basis"), None),
        ("站点数 / Stations", t["station_count"], "0"), ("异常站点 / Flagged", t["flagged_count"], "0"),
        ("订单数 / Orders", t["order_count"], "#,##0"),
        ("购电量 kWh / Bought", num(t["bill_kwh"]), kwh_fmt), ("售电量 kWh / Sold", num(t["sold_kwh"]), kwh_fmt),
        ("损耗电量 kWh / Loss", num(t["loss_kwh"]), kwh_fmt), ("损耗率 / Loss rate", num(t["loss_rate"]), rate_fmt),
        ("账单电费 / Bill amount", num(t["bill_amount"]), money),
        ("已收电费 / Electricity fees", num(t["electricity_fee"]), money),
        ("电费差额 / Amount gap", num(t["amount_gap"]), money),
        ("服务费 / Service fees", num(t["service_fee"]), money),
        ("合作方分成 / Partner share", num(t["partner_share"]), money),
        ("本公司留存 / Company share", num(t["company_share"]), money),
    ]
    for label, value, f in info:
        ws.append([label, value])
        ws.cell(row=ws.max_row, column=1).font = bold
        if f:
            fmt(ws, ws.max_row, {2: f})
    ws.append([])
    ws.append(["分区域 / By region"])
    ws.cell(row=ws.max_row, column=1).font = bold
    cols = ["区域 Region", "站点 Stations", "异常 Flagged", "订单 Orders", "购电 kWh", "售电 kWh", "损耗率 Loss",
            "账单电费 Bill", "已收电费 Fees", "服务费 Service", "合作方分成 Partners", "本公司 Company"]
    ws.append(cols)
    for i in range(1, len(cols) + 1):
        ws.cell(row=ws.max_row, column=i).font = bold
        ws.cell(row=ws.max_row, column=i).fill = head_fill
    for reg, rt in (t.get("regions") or {}).items():
        ws.append([reg, rt["station_count"], rt["flagged_count"], rt["order_count"], num(rt["bill_kwh"]),
                   num(rt["sold_kwh"]), num(rt["loss_rate"]), num(rt["bill_amount"]), num(rt["electricity_fee"]),
                   num(rt["service_fee"]), num(rt["partner_share"]), num(rt["company_share"])])
        fmt(ws, ws.max_row, {5: kwh_fmt, 6: kwh_fmt, 7: rate_fmt, 8: money, 9: money, 10: money, 11: money, 12: money})
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 18
    for c in "CDEFGHIJKL":
        ws.column_dimensions[c].width = 14

    ws = wb.create_sheet("站点对账 Stations")
    titles = ["站点 Station", "名称 Name", "区域 Region", "订单 Orders", "购电 kWh", "售电 kWh", "损耗 kWh", "损耗率 Loss",
              "账单电费 Bill", "已收电费 Fees", "应收电费 Expected", "差额 Gap", "差额率 Gap %", "服务费 Service",
              "合作方分成 Partners", "本公司 Company", "异常 Flags"]
    for b in BANDS:
        titles += [f"{BAND_ZH[b]} 购电 kWh", f"{BAND_ZH[b]} 账单电费", f"{BAND_ZH[b]} 售电 kWh", f"{BAND_ZH[b]} 已收电费"]
    header(ws, titles, [12, 18, 8, 8] + [13] * 12 + [28] + [12] * 16)
    for r in result["stations"]:
        values = [r["station"], r["station_name"], r["region"], r["order_count"], num(r["bill_kwh"]), num(r["sold_kwh"]),
                  num(r["loss_kwh"]), num(r["loss_rate"]), num(r["bill_amount"]), num(r["electricity_fee"]),
                  num(r["expected_fee"]), num(r["amount_gap"]), num(r["amount_gap_rate"]), num(r["service_fee"]),
                  num(r["partner_share"]), num(r["company_share"]), "；".join(FLAG_TEXT[f][1] for f in r["flags"])]
        for b in BANDS:
            band = r["bands"][b]
            values += [num(band["bill_kwh"]), num(band["bill_amount"]), num(band["sold_kwh"]), num(band["electricity_fee"])]
        ws.append(values)
        row = ws.max_row
        fmt(ws, row, {5: kwh_fmt, 6: kwh_fmt, 7: kwh_fmt, 8: rate_fmt, 9: money, 10: money, 11: money, 12: money,
                      13: rate_fmt, 14: money, 15: money, 16: money,
                      **{18 + 4 * i + j: (kwh_fmt if j % 2 == 0 else money) for i in range(4) for j in range(4)}})
        if r["flagged"]:
            for col in range(1, len(values) + 1):
                ws.cell(row=row, column=col).fill = flag_fill
    ws.auto_filter.ref = ws.dimensions

    ws = wb.create_sheet("合作方结算 Partners")
    header(ws, ["结算单号 Statement", "合作方 Partner", "名称 Name", "站点 Station", "站点名称", "订单 Orders", "售电 kWh",
                "服务费 Service", "分成比例 Share", "分成金额 Amount", "大写 In words"], [20, 12, 20, 12, 18, 8, 13, 13, 10, 13, 30])
    numbers = {s["partner"]: s for s in (statements or {}).get("statements", [])}
    for p in result["partners"]:
        st = numbers.get(p["partner"], {})
        for line in p["lines"]:
            ws.append([st.get("statement_no", ""), p["partner"], p["partner_name"], line["station"], line["station_name"],
                       line["order_count"], num(line["sold_kwh"]), num(line["service_fee"]), num(line["share"]),
                       num(line["amount"]), None])
            fmt(ws, ws.max_row, {7: kwh_fmt, 8: money, 9: rate_fmt, 10: money})
        ws.append([st.get("statement_no", ""), p["partner"], p["partner_name"], "合计 Total", None, p["order_count"],
                   num(p["sold_kwh"]), num(p["service_fee"]), None, num(p["amount"]),
                   amount_in_words(Decimal(str(p["amount"])))])
        row = ws.max_row
        fmt(ws, row, {7: kwh_fmt, 8: money, 10: money})
        for col in range(1, 12):
            ws.cell(row=row, column=col).font = bold
            ws.cell(row=row, column=col).fill = total_fill
    return _save_reproducibly(wb)


XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_FIXED_TIME = dt.datetime(2000, 1, 1)  # document properties and zip entry times: see _save_reproducibly


class _FixedTimeZip(zipfile.ZipFile):
    """A zip whose entries all carry the same time (openpyxl writes them as it goes)."""

    def writestr(self, zinfo_or_arcname: Any, data: Any, compress_type: int | None = None,
                 compresslevel: int | None = None) -> None:
        if isinstance(zinfo_or_arcname, str):
            info = zipfile.ZipInfo(zinfo_or_arcname, date_time=_FIXED_TIME.timetuple()[:6])
            info.compress_type = self.compression
            info.external_attr = 0o600 << 16
            zinfo_or_arcname = info
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename: Any, arcname: Any = None, compress_type: int | None = None,
              compresslevel: int | None = None) -> None:
        # openpyxl writes each worksheet to a temporary file first, then adds it with its mtime.
        with open(filename, "rb") as f:
            data = f.read()
        self.writestr(str(arcname if arcname is not None else filename), data, compress_type, compresslevel)


def _save_reproducibly(wb: Any) -> bytes:
    """The workbook's bytes without the time of day in them (openpyxl's save stamps the document
    and each zip entry with the current time): the same content gives the same file, so it keeps
    one content address however often the service task runs again."""
    import io

    from openpyxl.writer.excel import ExcelWriter

    wb.properties.created = wb.properties.modified = _FIXED_TIME
    buf = io.BytesIO()
    ExcelWriter(wb, _FixedTimeZip(buf, "w", zipfile.ZIP_DEFLATED, allowZip64=True)).save()  # closes the zip
    return buf.getvalue()


# ---- operators ------------------------------------------------------------------------------

# Set by the platform once its attachment store exists: reads a `sha256:<hex>` ref's bytes.
ATTACHMENT_READER: Callable[[str], bytes] | None = None
MAX_ERRORS_IN_DATA = 200


def _first_ref(ref: Any) -> str | None:
    if isinstance(ref, (list, tuple)):
        ref = ref[0] if ref else None
    return ref if isinstance(ref, str) and ref.startswith("sha256:") else None


def _source(name: str, content: Any, ref: Any) -> tuple[Any, dict[str, Any]]:
    """The file's content (given, or read through ATTACHMENT_READER) and what the audit trail
    should know about it: the attachment ref, the content's own sha256, whether they match."""
    attachment = _first_ref(ref)
    if (content is None or content == "") and attachment and ATTACHMENT_READER is not None:
        content = ATTACHMENT_READER(attachment)
    info: dict[str, Any] = {"attachment": attachment}
    try:
        raw = decode_content(content) if isinstance(content, (str, bytes, bytearray)) else None
    except ValueError:
        raw = None
    if raw is not None:
        data = raw.encode("utf-8") if isinstance(raw, str) else raw
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        info.update(content_sha256=digest, bytes=len(data), matches_attachment=digest == attachment if attachment else None)
    return content, info


@operator("settlement/reconcile")
def reconcile_operator(bill: Any = None, orders: Any = None, contracts: Any = None, tolerance: Any = None,
                       period: str | None = None, region: str | None = None, band_schedule: Any = None,
                       bill_ref: Any = None, orders_ref: Any = None, contracts_ref: Any = None) -> dict[str, Any]:
    """Service task: reconcile one period. File parameters take CSV text, `base64:`-prefixed (or
    data-URL) bytes of a CSV or XLSX file, or nothing when the `*_ref` attachment can be read.
    Returns the result with `ok: true`, or `ok: false` with the errors (at most 200 of them in the
    task data, `error_count` says how many there were): a bad upload is sent back, not half-used."""
    bill, bill_info = _source("bill", bill, bill_ref)
    orders, orders_info = _source("orders", orders, orders_ref)
    if isinstance(contracts, (str, bytes, bytearray)) or contracts is None:
        contracts, contracts_info = _source("contracts", contracts, contracts_ref)
    else:
        contracts_info = {"attachment": _first_ref(contracts_ref), "rows": len(contracts)}
    sources = {"bill": bill_info, "orders": orders_info, "contracts": contracts_info}
    try:
        result = reconcile(bill, orders, contracts, tolerance or None, period=period or None, region=region or None,
                           band_schedule=band_schedule or None)
    except SettlementInputError as exc:
        return {"ok": False, "error_count": len(exc.errors), "errors_truncated": len(exc.errors) > MAX_ERRORS_IN_DATA,
                "errors": [e.to_dict() for e in exc.errors[:MAX_ERRORS_IN_DATA]], "sources": sources}
    return {"ok": True, **result, "sources": sources}


@operator("settlement/partner_statements")
def partner_statements_operator(reconciliation: Mapping[str, Any], settlement_no: str,
                                issue_date: str | None = None, confirm_days: int = 7) -> dict[str, Any]:
    """Service task: numbered per-partner statements (`<settlement_no>-01`, ...)."""
    if not reconciliation or not reconciliation.get("ok", True):
        raise ValueError("there is no successful reconciliation to issue statements from")
    day = dt.date.fromisoformat(issue_date) if issue_date else None
    return partner_statements(reconciliation, settlement_no, issue_date=day, confirm_days=int(confirm_days))


def reminder_notices(statements: Mapping[str, Any], pending_partners: Sequence[str]) -> dict[str, Any]:
    """催办: one notice per partner that has not confirmed its statement yet (zh-CN text)."""
    by_partner = {s["partner"]: s for s in statements.get("statements") or []}
    notices = []
    for partner in pending_partners:
        s = by_partner.get(partner)
        if s is None:
            continue
        amount = Decimal(str(s["amount"]))
        notices.append({
            "partner": partner, "partner_name": s["partner_name"], "statement_no": s["statement_no"], "amount": amount,
            "confirm_by": s["confirm_by"],
            "text": (f"{s['partner_name']}：您好！{s['period']} 充电服务费分成结算单 {s['statement_no']}"
                     f"（分成金额 ¥{amount:,.2f}，{s['amount_in_words']}）已于 {s['issue_date']} 发出，"
                     f"请于 {s['confirm_by']} 前确认或提出异议。"),
        })
    return {"settlement_no": statements.get("settlement_no"), "notices": notices, "notice_count": len(notices)}


@operator("settlement/reminder_notices")
def reminder_notices_operator(statements: Mapping[str, Any], pending_partners: Sequence[str]) -> dict[str, Any]:
    """Service task: the reminder notices for partners still to confirm (sent by the platform's
    outbound notification once it exists; the result is kept with the timer's branch)."""
    return reminder_notices(statements, pending_partners)


@operator("settlement/export_xlsx")
def export_xlsx_operator(reconciliation: Mapping[str, Any], statements: Mapping[str, Any] | None = None,
                         filename: str | None = None) -> str:
    """Service task: the reconciliation workbook (`export_xlsx`), stored as a file of the request;
    returns its ref `sha256:<hex>` for a `format: attachment` form field. The same result gives
    the same file and ref. `filename` defaults to `settlement-<region>-<period>.xlsx`."""
    if not reconciliation or not reconciliation.get("ok", True):
        raise ValueError("there is no successful reconciliation to export")
    content = export_xlsx(reconciliation, statements or None)
    name = filename or f"settlement-{reconciliation.get('region') or 'all'}-{reconciliation.get('period')}.xlsx"
    if not name.lower().endswith(".xlsx"):
        name += ".xlsx"
    return write_attachment(content, name, XLSX_TYPE)
