"""Safe XML loading for BPMN and DMN: no DTDs, no entities, no network, bounded size."""
from __future__ import annotations

import re

from lxml import etree

from engine.errors import ElementError, ModelInvalid

MAX_MODEL_FILE_BYTES = 5 * 1024 * 1024
_DTD_RE = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
        huge_tree=False, remove_blank_text=False,
    )


def parse_model_xml(filename: str, text: str | bytes) -> etree._Element:
    data = text.encode("utf-8") if isinstance(text, str) else text
    if len(data) > MAX_MODEL_FILE_BYTES:
        raise ModelInvalid([ElementError(filename, f"file is larger than {MAX_MODEL_FILE_BYTES // (1024 * 1024)} MB")])
    m = _DTD_RE.search(data)
    if m:
        line = data[: m.start()].count(b"\n") + 1
        raise ModelInvalid([ElementError(filename, "DTDs and XML entities are not allowed", line=line)])
    # lxml refuses an encoding declaration on str input; always parse bytes.
    try:
        return etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        raise ModelInvalid([ElementError(filename, f"invalid XML: {exc.msg}", line=exc.lineno)]) from exc
