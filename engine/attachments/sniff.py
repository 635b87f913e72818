"""What a file is, from its bytes: a small signature table for the kinds we accept (no libmagic).

The file's name and the client's Content-Type must agree with the content; the content type we
store and serve is ours, never the client's."""
from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

from engine.errors import DomainError


class UnsupportedType(DomainError):
    code, status = "unsupported_media_type", 415


@dataclass(frozen=True)
class Kind:
    name: str
    mimetype: str
    extensions: tuple[str, ...]
    # Content types a browser may send for it (besides the generic application/octet-stream).
    aliases: tuple[str, ...] = ()


_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
KINDS: dict[str, Kind] = {k.name: k for k in (
    Kind("pdf", "application/pdf", (".pdf",), ("application/x-pdf",)),
    Kind("png", "image/png", (".png",)),
    Kind("jpeg", "image/jpeg", (".jpg", ".jpeg", ".jpe", ".jfif"), ("image/pjpeg", "image/jpg")),
    Kind("webp", "image/webp", (".webp",)),
    Kind("xlsx", _XLSX, (".xlsx",), ("application/zip",)),
    Kind("docx", _DOCX, (".docx",), ("application/zip",)),
    Kind("xls", "application/vnd.ms-excel", (".xls",), ("application/msexcel", "application/x-msexcel")),
    Kind("zip", "application/zip", (".zip",), ("application/x-zip-compressed", "application/x-zip", "multipart/x-zip")),
    # Windows browsers send application/vnd.ms-excel for .csv when Excel is installed.
    Kind("csv", "text/csv", (".csv",), ("text/plain", "application/csv", "text/comma-separated-values",
                                        "text/x-csv", "application/vnd.ms-excel")),
    Kind("txt", "text/plain", (".txt",)),
)}
GENERIC_TYPES = {"", "application/octet-stream", "binary/octet-stream", "application/unknown"}

_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The compound file's stream of an Excel workbook: "Workbook" (BIFF8) or "Book" (BIFF5), UTF-16LE.
_XLS_STREAMS = ("Workbook\0".encode("utf-16-le"), "Book\0".encode("utf-16-le"))
# Control characters that text files do not hold (tab, LF, FF, CR and DOS's EOF are fine).
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0e-\x19\x1b-\x1f\x7f]")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Detected:
    kind: Kind
    content_type: str  # with charset for text


def _ooxml(path: Path) -> str | None:
    """docx / xlsx / plain zip; None when it is not a readable zip."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
    except (zipfile.BadZipFile, OSError, ValueError):
        return None
    if "[Content_Types].xml" in names and not any(n.endswith("vbaProject.bin") for n in names):
        if "word/document.xml" in names:
            return "docx"
        if "xl/workbook.xml" in names:
            return "xlsx"
    return "zip"


def _contains(path: Path, needles: tuple[bytes, ...]) -> bool:
    keep = max(len(n) for n in needles) - 1
    tail = b""
    with path.open("rb") as f:
        while chunk := f.read(_CHUNK):
            window = tail + chunk
            if any(n in window for n in needles):
                return True
            tail = window[-keep:]
    return False


def _text_charset(path: Path) -> str | None:
    """utf-8 or gb18030 when the whole file is text in it (no NUL or other control bytes)."""
    for charset in ("utf-8", "gb18030"):
        decoder = codecs.getincrementaldecoder(charset)()
        try:
            with path.open("rb") as f:
                while chunk := f.read(_CHUNK):
                    text = decoder.decode(chunk)
                    if _NOT_TEXT.search(text):
                        return None
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return charset
    return None


def sniff(path: Path) -> tuple[str, str | None] | None:
    """(kind name or "text", charset for text) from the content alone, or None."""
    with path.open("rb") as f:
        head = f.read(64)
    if head.startswith(b"%PDF-"):
        return "pdf", None
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", None
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg", None
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp", None
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        found = _ooxml(path)
        return (found, None) if found else None
    if head.startswith(_OLE2):
        return ("xls", None) if _contains(path, _XLS_STREAMS) else None  # .doc, .msg, ...: not accepted
    charset = _text_charset(path)
    return ("text", charset) if charset else None


def _ext(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""


def classify(path: Path, filename: str, declared_type: str | None, allowed: tuple[str, ...] | list[str]) -> Detected:
    """The kind of an uploaded file. Raises UnsupportedType (415) for content we do not accept,
    a kind not in `allowed`, or a name / declared type that says something else than the bytes."""
    found = sniff(path)
    if found is None:
        raise UnsupportedType("this type of file is not accepted (allowed: " + ", ".join(allowed) + ")",
                              {"allowed": list(allowed)})
    detected, charset = found
    ext = _ext(filename)
    if detected == "text":
        name = "csv" if ext == ".csv" else "txt"
        if ext and ext not in KINDS[name].extensions:
            raise UnsupportedType(f"the content is text, but the file name ends in {ext}",
                                  {"detected": "text", "extension": ext})
    else:
        name = detected
        if ext and ext not in KINDS[name].extensions:
            if name in ("docx", "xlsx") and ext == ".zip":
                name = "zip"  # an Office file is a zip too
            else:
                raise UnsupportedType(f"the content is {detected.upper()}, but the file name ends in {ext}",
                                      {"detected": detected, "extension": ext})
    kind = KINDS[name]
    if name not in allowed:
        raise UnsupportedType(f"{name} files are not accepted (allowed: {', '.join(allowed)})",
                              {"detected": name, "allowed": list(allowed)})
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in GENERIC_TYPES and declared != kind.mimetype and declared not in kind.aliases:
        raise UnsupportedType(f"the content is {name}, but it was sent as {declared}",
                              {"detected": name, "declared": declared})
    content_type = f"{kind.mimetype}; charset={charset}" if charset else kind.mimetype
    return Detected(kind, content_type)
