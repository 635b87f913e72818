"""Monthly settlement reconciliation at scale: 100,000 orders over ~200 stations (target < 10 s).

Generates a realistic month: stations in four regions, a few meters per large station, orders
of cars (15-60 kWh) and buses (150-300 kWh) spread over the day with an evening peak, fees at
time-of-use prices, a grid bill with 2-7 % line loss (and a few stations well above 8 %).
Times the pure reconciliation (CSV parse + validation + computation), the same from XLSX
uploads, and the workbook export. No database, no engine."""
from __future__ import annotations

import csv
import datetime as dt
import io
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from engine.services.settlement import BANDS, compile_band_schedule, export_xlsx, reconcile

PRICES = {"sharp": Decimal("1.3520"), "peak": Decimal("1.0480"), "flat": Decimal("0.6830"), "valley": Decimal("0.3160")}
REGIONS = ["EAST", "SOUTH", "NORTH", "WEST"]
FEN = Decimal("0.01")
# Hour weights of charging starts: night depot charging, a morning bump, an evening peak.
HOUR_WEIGHTS = [6, 6, 5, 4, 3, 3, 4, 6, 7, 6, 5, 5, 6, 6, 5, 5, 6, 7, 9, 10, 9, 8, 7, 6]


def generate(orders: int, stations: int = 200, period: str = "2026-03", seed: int = 20260301
             ) -> tuple[str, str, list[dict[str, Any]]]:
    """(bill CSV, order export CSV, contracts) of one month; deterministic for a seed."""
    rnd = random.Random(seed)
    year, month = int(period[:4]), int(period[5:])
    days = ((dt.date(year + month // 12, month % 12 + 1, 1)) - dt.date(year, month, 1)).days
    table = compile_band_schedule(None, month)
    codes = [f"{REGIONS[i % 4][:1]}{i // 4 + 1:03d}" for i in range(stations)]
    contracts: list[dict[str, Any]] = []
    for i, code in enumerate(codes):
        region = REGIONS[i % 4]
        name = f"{region.title()} 充电站 {i + 1:03d}"
        if i % 10 == 0:  # company-operated
            contracts.append({"station": code, "station_name": name, "region": region})
        elif i % 7 == 0:  # landlord + co-investor
            contracts.append({"station": code, "station_name": name, "region": region, "partner": f"P{i % 37:03d}",
                              "partner_name": f"合作方 {i % 37:03d}", "share": "20%"})
            contracts.append({"station": code, "station_name": name, "region": region, "partner": f"INV{i % 5}",
                              "partner_name": f"投资方 {i % 5}", "share": "0.15"})
        else:
            contracts.append({"station": code, "station_name": name, "region": region, "partner": f"P{i % 37:03d}",
                              "partner_name": f"合作方 {i % 37:03d}", "share": rnd.choice(["0.3", "0.25", "0.35", "30%"])})
    sold = {c: [Decimal(0)] * 4 for c in codes}
    weights = [rnd.paretovariate(1.5) for _ in codes]  # a few busy stations, a long tail
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["订单号", "站点", "电量(kWh)", "电费(元)", "服务费(元)", "开始时间", "结束时间"])
    station_of = rnd.choices(codes, weights=weights, k=orders)
    hours = rnd.choices(range(24), weights=HOUR_WEIGHTS, k=orders)
    for n in range(orders):
        code = station_of[n]
        bus = rnd.random() < 0.08
        kwh = Decimal(rnd.randint(150_000, 300_000) if bus else rnd.randint(15_000, 60_000)).scaleb(-3)
        start = dt.datetime(year, month, rnd.randint(1, days), hours[n], rnd.randint(0, 59), rnd.randint(0, 59))
        minutes = int(kwh / (Decimal(120) if bus else Decimal(60)) * 60) + rnd.randint(5, 20)
        end = start + dt.timedelta(minutes=minutes)
        band = table[start.hour * 60 + start.minute]
        fee = (kwh * PRICES[BANDS[band]]).quantize(FEN, ROUND_HALF_UP)
        service = (kwh * Decimal(rnd.choice(["0.40", "0.60", "0.80"]))).quantize(FEN, ROUND_HALF_UP)
        sold[code][band] += kwh
        w.writerow([f"CD{year}{month:02d}{n + 1:07d}", code, kwh, fee, service, f"{start:%Y-%m-%d %H:%M:%S}",
                    f"{end:%Y-%m-%d %H:%M:%S}"])
    bill = io.StringIO()
    b = csv.writer(bill, lineterminator="\n")
    b.writerow(["站点", "电表号", "账期", "尖电量", "尖电费", "峰电量", "峰电费", "平电量", "平电费", "谷电量", "谷电费"])
    for i, code in enumerate(codes):
        loss = Decimal(rnd.randint(20, 70) if i % 23 else rnd.randint(85, 130)).scaleb(-3)  # 2-7 %, a few > 8 %
        meters = 2 if sum(sold[code]) > 40_000 else 1
        for m in range(meters):
            row: list[Any] = [code, f"{3300000000 + i * 10 + m}", period]
            for k, band_name in enumerate(BANDS):
                bought = (sold[code][k] / (1 - loss) / meters).quantize(Decimal("0.01"), ROUND_HALF_UP)
                row += [bought, (bought * PRICES[band_name]).quantize(FEN, ROUND_HALF_UP)]
            b.writerow(row)
    return bill.getvalue(), out.getvalue(), contracts


def _typed(cell: str) -> Any:
    """A CSV cell as a spreadsheet export types it: numbers as numbers, times as date cells."""
    if len(cell) == 19 and cell[4] == "-" and cell[10] == " ":
        return dt.datetime.fromisoformat(cell)
    try:
        return Decimal(cell) if cell[:1].isdigit() and not cell.isdigit() or "." in cell else cell
    except ArithmeticError:
        return cell


def _to_xlsx(text: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    for row in csv.reader(io.StringIO(text)):
        cells = []
        for value in map(_typed, row):
            cell = WriteOnlyCell(ws, value=value)
            if isinstance(value, dt.datetime):
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def run(orders: int, out: Any = sys.stdout) -> dict[str, float]:
    bill, orders_csv, contracts = generate(orders)
    t0 = time.perf_counter()
    result = reconcile(bill, orders_csv, contracts, {"max_loss_rate": "0.08", "max_amount_gap_rate": "0.005"})
    t_csv = time.perf_counter() - t0
    n_st = result["totals"]["station_count"]
    print(f"settlement: reconcile {orders} orders / {n_st} stations from CSV ({len(orders_csv) / 1e6:.1f} MB): "
          f"{t_csv:.2f} s (target < 10 s)", file=out)
    print(f"settlement: flagged stations {result['totals']['flagged_count']} of {n_st}; partner share "
          f"¥{result['totals']['partner_share']:,} of service fees ¥{result['totals']['service_fee']:,}", file=out)
    t0 = time.perf_counter()
    xlsx = export_xlsx(result)
    t_export = time.perf_counter() - t0
    print(f"settlement: export_xlsx {n_st} stations: {t_export:.2f} s ({len(xlsx) / 1024:.0f} KB)", file=out)
    figures = {"reconcile_csv_s": t_csv, "export_xlsx_s": t_export}
    orders_xlsx, bill_xlsx = _to_xlsx(orders_csv), _to_xlsx(bill)
    t0 = time.perf_counter()
    again = reconcile(bill_xlsx, orders_xlsx, contracts, None)
    t_xlsx = time.perf_counter() - t0
    assert again["totals"] == result["totals"], "XLSX and CSV uploads must reconcile identically"
    print(f"settlement: reconcile {orders} orders from XLSX uploads ({len(orders_xlsx) / 1e6:.1f} MB): "
          f"{t_xlsx:.2f} s", file=out)
    figures["reconcile_xlsx_s"] = t_xlsx
    return figures


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
