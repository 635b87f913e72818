"""Reading settlement input files: CSV or XLSX, English or Chinese headers, every cell checked.

Parsing never stops at the first problem: each function returns `(rows, errors)` and a caller
that gets any error must not use the rows ("nothing is half-imported"). Errors name the file,
the spreadsheet row (the header is row 1, the first data row is row 2, as Excel shows it) and
the column, in English and Chinese.

Numbers become `Decimal` straight from their text (never through float). XLSX cells that
openpyxl hands over as float are converted with `Decimal(repr(x))`, the shortest decimal that
round-trips, which is what Excel displays. Money has at most two decimals (CNY to the fen)."""
from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation
from typing import Any

# ---- errors ----------------------------------------------------------------------------------

FILE_LABELS = {"bill": ("grid bill", "电网电费账单"), "orders": ("order export", "订单导出"),
               "contracts": ("contracts", "分成合同台账"), "band_schedule": ("band schedule", "分时时段表"),
               "tolerance": ("tolerance", "容差设置")}


@dataclass
class RowError:
    """One problem in one input: where it is (file, spreadsheet row, column) and what it is."""

    file: str
    code: str
    message: str
    message_zh: str
    row: int | None = None
    column: str | None = None
    header: str | None = None
    value: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "code": self.code}
        if self.row is not None:
            out["row"] = self.row
        if self.column is not None:
            out["column"] = self.column
        if self.header is not None:
            out["header"] = self.header
        if self.value is not None:
            out["value"] = self.value
        out["message"] = self.message
        out["message_zh"] = self.message_zh
        return out


class SettlementInputError(ValueError):
    """Raised by the convenience wrappers when inputs are invalid; carries every error."""

    def __init__(self, errors: Sequence[RowError]) -> None:
        self.errors = list(errors)
        first = self.errors[0].message if self.errors else "invalid input"
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(first + more)


def _short(value: Any, limit: int = 40) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class ErrorSink:
    """Collects errors of one file with the row/column wording filled in."""

    def __init__(self, file: str, errors: list[RowError]) -> None:
        self.file = file
        self.errors = errors
        self.label_en, self.label_zh = FILE_LABELS.get(file, (file, file))

    def file_error(self, code: str, message: str, message_zh: str) -> None:
        self.errors.append(RowError(self.file, code, f"{self.label_en}: {message}",
                                    f"{self.label_zh}：{message_zh}"))

    def cell(self, row: int, column: str, header: str, value: Any, code: str, what: str, what_zh: str) -> None:
        shown = _short(value)
        self.errors.append(RowError(
            self.file, code, f"{self.label_en} row {row}, column {column}: '{shown}' {what}",
            f"{self.label_zh}第 {row} 行「{header}」列：'{shown}' {what_zh}",
            row=row, column=column, header=header, value=shown))

    def row(self, row: int, code: str, message: str, message_zh: str, column: str | None = None,
            header: str | None = None, value: Any = None) -> None:
        where = f"row {row}" + (f", column {column}" if column else "")
        where_zh = f"第 {row} 行" + (f"「{header or column}」列" if column else "")
        self.errors.append(RowError(self.file, code, f"{self.label_en} {where}: {message}",
                                    f"{self.label_zh}{where_zh}：{message_zh}", row=row, column=column,
                                    header=header, value=None if value is None else _short(value)))


# ---- content: text, bytes, base64, XLSX ---------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"
_DATA_URL = re.compile(r"^data:[\w.+/-]*;base64,", re.I)


def decode_content(value: str | bytes | bytearray | None) -> str | bytes | None:
    """Text stays text; `base64:<...>` or a `data:...;base64,` URL becomes bytes; bytes stay bytes."""
    if value is None:
        return None
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if not isinstance(value, str):
        raise TypeError(f"file content must be text or bytes, not {type(value).__name__}")
    head = value[:200].lstrip()
    if head.lower().startswith("base64:"):
        payload = value.lstrip()[7:]
    elif _DATA_URL.match(head):
        payload = value.lstrip().split(",", 1)[1]
    else:
        return value
    try:
        return base64.b64decode("".join(payload.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 content: {exc}") from exc


def bytes_to_text(data: bytes) -> str:
    """UTF-8 (with or without BOM); Excel on Chinese Windows saves CSV as GBK, so GB18030 next."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_table(value: str | bytes | None, file: str, errors: list[RowError]) -> list[list[Any]] | None:
    """The file's rows as lists of cells (header first), from CSV text/bytes or an XLSX workbook
    (first sheet). None after recording an error when there is nothing readable."""
    sink = ErrorSink(file, errors)
    try:
        content = decode_content(value)
    except (TypeError, ValueError) as exc:
        sink.file_error("unreadable", str(exc), f"无法读取：{exc}")
        return None
    if content is None or (isinstance(content, str) and not content.strip()) or content == b"":
        sink.file_error("empty_file", "the file is empty", "文件为空")
        return None
    if isinstance(content, bytes) and content.startswith(XLSX_MAGIC):
        try:
            return _xlsx_rows(content)
        except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
            sink.file_error("unreadable", f"not a readable XLSX workbook ({type(exc).__name__}: {exc})",
                            f"不是可读取的 XLSX 工作簿（{exc}）")
            return None
    if isinstance(content, bytes):
        try:
            content = bytes_to_text(content)
        except UnicodeDecodeError:
            sink.file_error("unreadable", "not UTF-8 or GB18030 text", "既不是 UTF-8 也不是 GB18030 文本")
            return None
    text = content.removeprefix("\ufeff")
    first_line = text[: text.find("\n")] if "\n" in text else text
    dialect = csv.excel_tab if ("\t" in first_line and "," not in first_line) else csv.excel
    return list(csv.reader(io.StringIO(text, newline=""), dialect))


def _xlsx_rows(content: bytes) -> list[list[Any]]:
    """Rows of the first sheet. Our own streaming reader (100,000 rows in a few seconds, numbers
    read from the XML text, never through float); openpyxl for anything it does not expect."""
    try:
        return _fast_xlsx_rows(content)
    except Exception:  # strict OOXML, unusual packaging...: let openpyxl try
        from openpyxl import load_workbook

        wb = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        try:
            return [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        finally:
            wb.close()


_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
# Built-in number formats that are dates or times (incl. the zh-CN ones 27-36 and 50-58).
_DATE_FORMAT_IDS = {*range(14, 23), *range(27, 37), *range(45, 48), *range(50, 59)}
_EXCEL_DIGITS = Context(prec=15)


def _is_date_format(code: str) -> bool:
    code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", code.lower())
    return any(ch in code for ch in "ydhs") or ("m" in code and ":" in code)


def _excel_number(text: str) -> Decimal:
    """Excel keeps 15 significant digits; its XML may show a double's 17 ('12.339999999999999')."""
    d = Decimal(text)
    if len(text) > 16 and len(d.as_tuple().digits) > 15:
        d = _EXCEL_DIGITS.plus(d)
        d = d.quantize(Decimal(1)) if d == d.to_integral_value() else d.normalize()
    return d


def _excel_datetime(serial: Decimal, date1904: bool) -> dt.datetime:
    base = dt.datetime(1904, 1, 1) if date1904 else dt.datetime(1899, 12, 30)
    days = int(serial)
    seconds = int(((serial - days) * 86400).to_integral_value())
    return base + dt.timedelta(days=days, seconds=seconds)


_COLUMNS: dict[str, int] = {}


def _column_index(ref: str) -> int:
    letters = ref.rstrip("0123456789")
    n = _COLUMNS.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            n = n * 26 + ord(ch) - 64
        n = _COLUMNS[letters] = n - 1
    return n


def _fast_xlsx_rows(content: bytes) -> list[list[Any]]:
    import zipfile

    from lxml import etree

    safe = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    with zipfile.ZipFile(io.BytesIO(content)) as z:
        names = set(z.namelist())
        wb = etree.fromstring(z.read("xl/workbook.xml"), safe)
        date1904 = any(e.get("date1904") in ("1", "true") for e in wb.iter(f"{_NS}workbookPr"))
        rid = next(wb.iter(f"{_NS}sheet")).get(f"{_REL_NS}id")
        rels = etree.fromstring(z.read("xl/_rels/workbook.xml.rels"), safe)
        target = next(r.get("Target") for r in rels if r.get("Id") == rid)
        sheet_path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        shared = _shared_strings(z.read("xl/sharedStrings.xml")) if "xl/sharedStrings.xml" in names else []
        date_styles: set[int] = set()
        if "xl/styles.xml" in names:
            styles = etree.fromstring(z.read("xl/styles.xml"), safe)
            custom = {int(f.get("numFmtId")): f.get("formatCode") or "" for f in styles.iter(f"{_NS}numFmt")}
            xfs = next(styles.iter(f"{_NS}cellXfs"), None)
            for i, xf in enumerate(xfs if xfs is not None else []):
                fid = int(xf.get("numFmtId") or 0)
                if fid in _DATE_FORMAT_IDS or (fid in custom and _is_date_format(custom[fid])):
                    date_styles.add(i)
        return _SheetReader(shared, date_styles, date1904).read(z.read(sheet_path))


def _shared_strings(xml: bytes) -> list[str]:
    """Texts of sharedStrings.xml (rich-text runs joined; phonetic rPh guides left out)."""
    from xml.parsers import expat

    out: list[str] = []
    parts: list[str] = []
    state = {"t": False, "rph": 0}

    def start(name: str, _attrs: dict[str, str]) -> None:
        tag = name.rsplit(":", 1)[-1]
        if tag == "t" and not state["rph"]:
            state["t"] = True
        elif tag == "rPh":
            state["rph"] += 1

    def end(name: str) -> None:
        tag = name.rsplit(":", 1)[-1]
        if tag == "t":
            state["t"] = False
        elif tag == "rPh":
            state["rph"] -= 1
        elif tag == "si":
            out.append("".join(parts))
            parts.clear()

    def chars(data: str) -> None:
        if state["t"]:
            parts.append(data)

    parser = expat.ParserCreate()
    parser.buffer_text = True
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    parser.Parse(xml, True)
    return out


class _SheetReader:
    """Expat callbacks over a worksheet's XML: about 1 µs per cell (lxml elements cost ten)."""

    def __init__(self, shared: list[str], date_styles: set[int], date1904: bool) -> None:
        self.shared, self.date_styles, self.date1904 = shared, date_styles, date1904
        self.rows: list[list[Any]] = []
        self.cells: list[Any] = []
        self.kind: str | None = None
        self.style = 0
        self.text: list[str] | None = None
        self.value_text: str | None = None
        self.inline: list[str] | None = None
        self.local: dict[str, str] = {}

    def _name(self, name: str) -> str:
        local = self.local.get(name)
        if local is None:
            local = self.local[name] = name.rsplit(":", 1)[-1]
        return local

    def read(self, xml: bytes) -> list[list[Any]]:
        from xml.parsers import expat

        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.end
        parser.CharacterDataHandler = self.chars
        parser.Parse(xml, True)
        return self.rows

    def start(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._name(name)
        if tag == "c":
            ref = attrs.get("r")
            if ref is not None:
                col = _column_index(ref)
                while len(self.cells) < col:
                    self.cells.append(None)
            self.kind = attrs.get("t")
            s = attrs.get("s")
            self.style = int(s) if s else 0
            self.value_text = None
            self.inline = None
        elif tag == "v":
            self.text = []
        elif tag == "is":
            self.inline = []
        elif tag == "t" and self.inline is not None:
            self.text = []
        elif tag == "row":
            r = attrs.get("r")
            number = int(r) if r else len(self.rows) + 1
            while len(self.rows) < number - 1:
                self.rows.append([])
            self.cells = []

    def chars(self, data: str) -> None:
        if self.text is not None:
            self.text.append(data)

    def end(self, name: str) -> None:
        tag = self._name(name)
        if tag == "v":
            self.value_text = "".join(self.text or ())
            self.text = None
        elif tag == "t" and self.inline is not None:
            self.inline.append("".join(self.text or ()))
            self.text = None
        elif tag == "c":
            kind, text = self.kind, self.value_text
            value: Any
            if kind == "s":
                value = self.shared[int(text)] if text is not None else None
            elif kind == "inlineStr":
                value = "".join(self.inline) if self.inline is not None else None
            elif kind in ("str", "e", "d"):
                value = text
            elif kind == "b":
                value = text == "1"
            elif text is None:
                value = None
            else:
                number = _excel_number(text)
                value = _excel_datetime(number, self.date1904) if self.style in self.date_styles else number
            self.cells.append(value)
        elif tag == "row":
            self.rows.append(self.cells)
            self.cells = []


# ---- headers --------------------------------------------------------------------------------

_UNIT_SUFFIX = re.compile(r"[（(][^）)]*[）)]\s*$")


def normalize_header(text: Any) -> str:
    """'电量（kWh）' -> '电量', ' Service Fee ' -> 'service_fee'."""
    s = "" if text is None else str(text)
    s = s.replace("\ufeff", "").strip()
    s = _UNIT_SUFFIX.sub("", s).strip()
    return re.sub(r"[\s\-/]+", "_", s.lower())


@dataclass
class Column:
    name: str
    aliases: tuple[str, ...]
    required: bool = True
    zh: str = ""


def _alias_index(columns: Sequence[Column]) -> dict[str, str]:
    index: dict[str, str] = {}
    for c in columns:
        for a in (c.name, *c.aliases):
            index[normalize_header(a)] = c.name
    return index


@dataclass
class Header:
    positions: dict[str, int] = field(default_factory=dict)  # canonical name -> column index
    labels: dict[str, str] = field(default_factory=dict)  # canonical name -> header as written


def map_header(row: Sequence[Any], columns: Sequence[Column], sink: ErrorSink) -> Header | None:
    index = _alias_index(columns)
    header = Header()
    ok = True
    for i, cell in enumerate(row):
        key = normalize_header(cell)
        if not key:
            continue
        name = index.get(key)
        if name is None:
            continue  # extra columns (licence plate, user id...) are ignored
        if name in header.positions:
            sink.file_error("duplicate_column",
                            f"header: columns '{header.labels[name]}' and '{cell}' both mean {name}",
                            f"表头：「{header.labels[name]}」与「{cell}」列重复（都表示 {name}）")
            ok = False
            continue
        header.positions[name] = i
        header.labels[name] = str(cell).strip()
    for c in columns:
        if c.required and c.name not in header.positions:
            sink.file_error("missing_column",
                            f"header: missing column {c.name} ({c.zh or c.aliases[0]}); found: "
                            f"{', '.join(str(x) for x in row if x not in (None, '')) or 'nothing'}",
                            f"表头：缺少「{c.zh or c.name}」列（{c.name}）")
            ok = False
    return header if ok else None


def data_rows(rows: list[list[Any]]) -> Iterator[tuple[int, list[Any]]]:
    """(spreadsheet row number, cells) of every non-blank row after the header."""
    for i in range(1, len(rows)):
        r = rows[i]
        if not r or all(c is None or (isinstance(c, str) and not c.strip()) for c in r):
            continue
        yield i + 1, r


def first_nonblank(rows: list[list[Any]]) -> int:
    for i, r in enumerate(rows):
        if r and any(c is not None and str(c).strip() for c in r):
            return i
    return -1


# ---- cells ----------------------------------------------------------------------------------

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
FEN = Decimal("0.01")


def cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return str(value)


def to_decimal(value: Any) -> Decimal | None:
    """Exact Decimal of a cell, or None when it is not a finite number."""
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):  # XLSX numeric cell: its shortest repr is what Excel shows
        d = Decimal(repr(value))
        return d if d.is_finite() else None
    s = cell_text(value)
    if not s:
        return None
    if "," in s and _THOUSANDS.match(s):
        s = s.replace(",", "")
    try:
        d = Decimal(s)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


class CellReader:
    """Reads typed cells of one row, recording errors instead of raising."""

    def __init__(self, sink: ErrorSink, header: Header) -> None:
        self.sink = sink
        self.header = header
        self.row_no = 0
        self.cells: Sequence[Any] = ()
        self.failed = False

    def start(self, row_no: int, cells: Sequence[Any]) -> None:
        self.row_no, self.cells, self.failed = row_no, cells, False

    def raw(self, name: str) -> Any:
        i = self.header.positions.get(name)
        if i is None or i >= len(self.cells):
            return None
        return self.cells[i]

    def error(self, name: str, value: Any, code: str, what: str, what_zh: str) -> None:
        self.failed = True
        self.sink.cell(self.row_no, name, self.header.labels.get(name, name), value, code, what, what_zh)

    def text(self, name: str, required: bool = True) -> str:
        s = cell_text(self.raw(name))
        if not s and required:
            self.error(name, "", "empty", "is empty", "为空")
        return s

    def number(self, name: str, *, money: bool = False, required: bool = True,
               allow_negative: bool = False) -> Decimal | None:
        raw = self.raw(name)
        if cell_text(raw) == "":
            if required:
                self.error(name, "", "empty", "is empty", "为空")
            return None
        d = to_decimal(raw)
        if d is None:
            self.error(name, raw, "not_a_number", "is not a number", "不是数字")
            return None
        if d < 0 and not allow_negative:
            self.error(name, raw, "negative", "must not be negative", "不能为负数")
            return None
        if money and d != d.quantize(FEN):
            self.error(name, raw, "too_many_decimals", "has more than 2 decimal places (CNY to the fen)",
                      "超过两位小数（金额精确到分）")
            return None
        return d

    def datetime(self, name: str) -> dt.datetime | None:
        raw = self.raw(name)
        if cell_text(raw) == "":
            self.error(name, "", "empty", "is empty", "为空")
            return None
        value = parse_datetime(raw)
        if value is None:
            self.error(name, raw, "bad_datetime", "is not a date and time (e.g. 2026-03-01 08:15:00)",
                      "不是有效的日期时间（例如 2026-03-01 08:15:00）")
        return value


_LOOSE_DT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?(?:[ T]+(\d{1,2})[:：时](\d{1,2})"
                       r"(?:[:：分](\d{1,2})(?:\.(\d{1,6}))?秒?)?)?$")
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def parse_datetime(value: Any) -> dt.datetime | None:
    """Local (Asia/Shanghai) naive datetime of a cell; an offset is converted to +08:00."""
    if isinstance(value, dt.datetime):
        out = value
    elif isinstance(value, dt.date):
        out = dt.datetime(value.year, value.month, value.day)
    else:
        s = cell_text(value)
        try:
            out = dt.datetime.fromisoformat(s)
        except ValueError:
            m = _LOOSE_DT.match(s)
            if m is None:
                return None
            y, mo, d, h, mi, sec, frac = m.groups()
            try:
                out = dt.datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0), int(sec or 0),
                                  int((frac or "0").ljust(6, "0")))
            except ValueError:
                return None
    if out.tzinfo is not None:
        out = out.astimezone(SHANGHAI).replace(tzinfo=None)
    return out


_PERIOD = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")


def parse_period(value: Any) -> str | None:
    """'2026-03', '2026/3', '2026年3月', 202603, an Excel date -> '2026-03' (None if not a month)."""
    if isinstance(value, (dt.date, dt.datetime)):
        return f"{value.year:04d}-{value.month:02d}"
    s = cell_text(value)
    if re.fullmatch(r"\d{6}", s):
        s = f"{s[:4]}-{s[4:]}"
    m = _PERIOD.match(s)
    if m is None:
        d = parse_datetime(s)
        return f"{d.year:04d}-{d.month:02d}" if d is not None else None
    year, month = int(m.group(1)), int(m.group(2))
    return f"{year:04d}-{month:02d}" if 1 <= month <= 12 else None


def parse_share(value: Any) -> Decimal | None:
    """A partner's share of the service fee: 0.3, '0.30' or '30%'; between 0 and 1."""
    if isinstance(value, str) and value.strip().endswith(("%", "％")):
        d = to_decimal(value.strip()[:-1])
        d = d / 100 if d is not None else None
    else:
        d = to_decimal(value)
    if d is None or d < 0 or d > 1:
        return None
    return d

