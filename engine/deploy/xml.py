"""Safe XML loading for BPMN and DMN: no DTDs, no entities, no network, bounded size, UTF-8 only."""
from __future__ import annotations

import re

from lxml import etree

from engine.errors import ElementError, ModelInvalid

MAX_MODEL_FILE_BYTES = 5 * 1024 * 1024
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]*?\bencoding\s*=\s*["']([^"']*)["']""")


def _parser() -> etree.XMLParser:
    # encoding= overrides the document's declaration: the bytes the DTD check scanned are the
    # bytes the parser reads (a UTF-7 or UTF-16 declaration cannot hide a DOCTYPE from it).
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False, encoding="utf-8",
    )


def parse_model_xml(filename: str, text: str | bytes) -> etree._Element:
    try:
        data = text.encode("utf-8") if isinstance(text, str) else text
    except UnicodeEncodeError as exc:
        raise ModelInvalid([ElementError(filename, f"not valid Unicode text ({exc.reason})")]) from None
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelInvalid([ElementError(filename, f"file is larger than {MAX_MODEL_FILE_BYTES // (1024 * 1024)} MB")])
    if not data.strip():
        raise ModelInvalid([ElementError(filename, "the file is empty")])
    m = _DTD_RE.search(data)
    if m:
        line = data[: m.start()].count(b"\n") + 1
        raise ModelInvalid([ElementError(filename, "DTDs and XML entities are not allowed", line=line)])
    declared = _ENCODING_RE.match(data)
    if declared and declared[1].decode("ascii", "replace").strip().lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise ModelInvalid([ElementError(
            filename, f"model files are UTF-8; the XML declaration says encoding=\"{declared[1].decode('ascii', 'replace')}\"",
            line=1)])
    # lxml refuses an encoding declaration on str input; always parse bytes.
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ModelInvalid([ElementError(filename, f"invalid XML: {exc.msg}", line=exc.lineno)]) from exc
