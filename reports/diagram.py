"""Draw a BPMN model as SVG from its diagram interchange (BPMN DI), on the server.

The record must show the path an instance took without a browser (bpmn-js) and without
external tools, so this draws the BPMN 2.0 notation itself from the DI coordinates: pools and
lanes, tasks (rounded rectangles with a type marker), events (circles; end events thick),
gateways (diamonds with their marker), data objects, annotations, and the flows as polylines
with arrowheads along their waypoints. Completed elements and the flows between them are
green; current (waiting) elements orange.

The model is user-supplied XML: parsed with entity resolution, DTD loading and network
access off. The SVG is built with lxml, so element names end up escaped.
"""
from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
SVG = "http://www.w3.org/2000/svg"

FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans SC', 'Source Han Sans SC', 'Microsoft YaHei', sans-serif"
FONT_SIZE = 12.0
SMALL_FONT_SIZE = 11.0

# Colours: ink for the untouched model, green for the path taken, orange for where it waits.
INK = "#3c4043"
MUTED = "#80868b"
FILL = "#ffffff"
DONE_STROKE, DONE_FILL = "#2e7d32", "#e8f5e9"
CURRENT_STROKE, CURRENT_FILL = "#e65100", "#fff3e0"
LANE_FILL = "#fafafa"

TASKS = {"task", "userTask", "manualTask", "scriptTask", "serviceTask", "businessRuleTask",
         "sendTask", "receiveTask", "callActivity", "subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway", "complexGateway"}
FLOWS = {"sequenceFlow", "messageFlow", "association", "dataInputAssociation", "dataOutputAssociation"}


@dataclass(frozen=True)
class _Bounds:
    x: float
    y: float
    w: float
    h: float

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2


@dataclass(frozen=True)
class _Element:
    id: str
    kind: str  # BPMN local name, e.g. "userTask"
    name: str
    node: etree._Element


def _local(tag: object) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _num(value: str | None) -> float:
    try:
        result = float(value) if value is not None else 0.0
    except ValueError:
        return 0.0
    return result if math.isfinite(result) else 0.0


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _bounds(node: etree._Element | None) -> _Bounds | None:
    if node is None:
        return None
    b = node.find(f"{{{DC}}}Bounds")
    if b is None:
        return None
    return _Bounds(_num(b.get("x")), _num(b.get("y")), _num(b.get("width")), _num(b.get("height")))


# --- text --------------------------------------------------------------------------------

def _char_width(ch: str, size: float) -> float:
    """Rough advance width: CJK glyphs are one em, Latin about half. Good enough to wrap
    labels the way a person would expect; the PDF renderer does the real shaping."""
    if unicodedata.east_asian_width(ch) in ("W", "F"):
        return size  # CJK ideographs and full-width punctuation: exactly one em in Noto CJK
    if ch in "mwMW@%":
        return size * 0.8
    if ch.isupper():
        return size * 0.6
    if ch in "iljtf.,:;'!|()[] ":
        return size * 0.26
    if ch.isdigit():
        return size * 0.55
    return size * 0.5


def text_width(text: str, size: float = FONT_SIZE) -> float:
    return sum(_char_width(ch, size) for ch in text)


def _tokens(text: str) -> list[str]:
    """Break opportunities: between CJK characters, and at spaces between Latin words."""
    out: list[str] = []
    word = ""
    for ch in text:
        if ch.isspace():
            if word:
                out.append(word)
                word = ""
            out.append(" ")
        elif unicodedata.east_asian_width(ch) in ("W", "F"):
            if word:
                out.append(word)
                word = ""
            out.append(ch)
        else:
            word += ch
    if word:
        out.append(word)
    return out


def wrap_text(text: str, max_width: float, size: float = FONT_SIZE) -> list[str]:
    """Greedy wrap, then balanced: the narrowest width that needs no more lines, so that
    "提交需求置换申请" becomes 4 + 4 characters rather than 7 + a lonely 1."""
    lines = _wrap_greedy(text, max_width, size)
    if len(lines) < 2:
        return lines
    low, high = max_width / len(lines), max_width
    for _ in range(12):
        mid = (low + high) / 2
        if len(_wrap_greedy(text, mid, size)) <= len(lines):
            high = mid
        else:
            low = mid
    return _wrap_greedy(text, high, size)


def _wrap_greedy(text: str, max_width: float, size: float) -> list[str]:
    lines: list[str] = []
    for paragraph in text.replace("\r", "").split("\n"):
        line = ""
        for token in _tokens(paragraph):
            candidate = line + token
            if text_width(candidate.strip(), size) <= max_width or not line.strip():
                line = candidate
            else:
                lines.append(line.strip())
                line = "" if token == " " else token
            # A single word longer than the box: cut it by characters.
            while text_width(line.strip(), size) > max_width and len(line.strip()) > 1:
                cut = len(line)
                while cut > 1 and text_width(line[:cut], size) > max_width:
                    cut -= 1
                lines.append(line[:cut].strip())
                line = line[cut:]
        if line.strip():
            lines.append(line.strip())
    return lines


# --- the drawing ---------------------------------------------------------------------------

class _Svg:
    def __init__(self) -> None:
        self.root = etree.Element(f"{{{SVG}}}svg", nsmap={None: SVG})
        self.layers = {name: etree.SubElement(self.root, f"{{{SVG}}}g", {"class": name})
                       for name in ("containers", "flows", "shapes", "labels")}

    def add(self, layer: str, tag: str, **attrs: str | float) -> etree._Element:
        clean = {k.rstrip("_").replace("_", "-"): (_fmt(v) if isinstance(v, float | int) else v)
                 for k, v in attrs.items()}
        return etree.SubElement(self.layers[layer], f"{{{SVG}}}{tag}", clean)

    def text(self, layer: str, lines: list[str], x: float, y: float, size: float = FONT_SIZE,
             anchor: str = "middle", fill: str = INK, rotate: float | None = None) -> None:
        """One <text> per line: multi-line tspans are the part of SVG text that renderers
        disagree on most. Centring is done here from estimated widths rather than with
        text-anchor: WeasyPrint draws every anchored text into its own transparency group
        (a form XObject), ~150 of them per diagram, which slowed rendering and made pyHanko's
        modification analysis walk the page resources hundreds of times when verifying."""
        line_height = size * 1.25
        for i, line in enumerate(lines):
            shift = {"middle": text_width(line, size) / 2, "end": text_width(line, size)}.get(anchor, 0.0)
            attrs: dict[str, str | float] = {
                "x": x - shift, "y": y + i * line_height, "font_size": size, "font_family": FONT_FAMILY,
                "fill": fill,
            }
            if rotate is not None:  # about the anchor point, so the shift runs along the text
                attrs["transform"] = f"rotate({_fmt(rotate)} {_fmt(x)} {_fmt(y + i * line_height)})"
            self.add(layer, "text", **attrs).text = line


def _style(state: str | None, default_fill: str = FILL) -> tuple[str, str]:
    if state == "current":
        return CURRENT_STROKE, CURRENT_FILL
    if state == "done":
        return DONE_STROKE, DONE_FILL
    return INK, default_fill


def _event_definition(node: etree._Element) -> str | None:
    for child in node:
        name = _local(child.tag)
        if name.endswith("EventDefinition"):
            return name[: -len("EventDefinition")]
    return None


def _draw_event_marker(svg: _Svg, kind: str, b: _Bounds, stroke: str, filled: bool) -> None:
    cx, cy, r = b.cx, b.cy, min(b.w, b.h) / 2
    fill = stroke if filled else "none"
    if kind == "timer":
        svg.add("shapes", "circle", cx=cx, cy=cy, r=r * 0.6, fill="white", stroke=stroke, stroke_width=1.5)
        svg.add("shapes", "path", d=f"M{_fmt(cx)},{_fmt(cy - r * 0.45)} L{_fmt(cx)},{_fmt(cy)} "
                f"L{_fmt(cx + r * 0.3)},{_fmt(cy + r * 0.15)}", fill="none", stroke=stroke, stroke_width=1.5)
    elif kind == "message":
        w, h = r * 0.95, r * 0.65
        x0, y0 = cx - w / 2, cy - h / 2
        svg.add("shapes", "rect", x=x0, y=y0, width=w, height=h, fill="white" if not filled else stroke,
                stroke=stroke, stroke_width=1.2)
        svg.add("shapes", "path", d=f"M{_fmt(x0)},{_fmt(y0)} L{_fmt(cx)},{_fmt(cy)} L{_fmt(x0 + w)},{_fmt(y0)}",
                fill="none", stroke="white" if filled else stroke, stroke_width=1.2)
    elif kind == "signal":
        s = r * 0.55
        svg.add("shapes", "path", d=f"M{_fmt(cx)},{_fmt(cy - s)} L{_fmt(cx + s)},{_fmt(cy + s * 0.7)} "
                f"L{_fmt(cx - s)},{_fmt(cy + s * 0.7)} Z", fill=fill, stroke=stroke, stroke_width=1.2)
    elif kind == "error":
        s = r * 0.5
        svg.add("shapes", "path", d=f"M{_fmt(cx - s)},{_fmt(cy + s)} L{_fmt(cx - s * 0.4)},{_fmt(cy - s)} "
                f"L{_fmt(cx + s * 0.2)},{_fmt(cy + s * 0.2)} L{_fmt(cx + s)},{_fmt(cy - s)} "
                f"L{_fmt(cx + s * 0.4)},{_fmt(cy + s)} L{_fmt(cx - s * 0.2)},{_fmt(cy - s * 0.2)} Z",
                fill=fill, stroke=stroke, stroke_width=1.2)
    elif kind == "terminate":
        svg.add("shapes", "circle", cx=cx, cy=cy, r=r * 0.55, fill=stroke, stroke="none")
    elif kind == "conditional":
        w, h = r * 0.8, r * 1.0
        svg.add("shapes", "rect", x=cx - w / 2, y=cy - h / 2, width=w, height=h, fill="white",
                stroke=stroke, stroke_width=1.2)
        for i in range(1, 4):
            y = cy - h / 2 + i * h / 4
            svg.add("shapes", "line", x1=cx - w / 3, y1=y, x2=cx + w / 3, y2=y, stroke=stroke, stroke_width=1)
    elif kind in ("escalation", "link", "compensate", "cancel"):
        s = r * 0.5
        svg.add("shapes", "path", d=f"M{_fmt(cx)},{_fmt(cy - s)} L{_fmt(cx + s)},{_fmt(cy + s)} "
                f"L{_fmt(cx)},{_fmt(cy + s * 0.3)} L{_fmt(cx - s)},{_fmt(cy + s)} Z",
                fill=fill, stroke=stroke, stroke_width=1.2)


def _draw_event(svg: _Svg, el: _Element, b: _Bounds, state: str | None) -> None:
    stroke, fill = _style(state)
    r = min(b.w, b.h) / 2
    width = 3.5 if el.kind == "endEvent" else 1.5
    dashed = el.kind == "boundaryEvent" and el.node.get("cancelActivity") == "false"
    attrs: dict[str, str | float] = {"cx": b.cx, "cy": b.cy, "r": r, "fill": fill, "stroke": stroke,
                                     "stroke_width": width}
    if el.kind == "startEvent" and el.node.get("isInterrupting") == "false" or dashed:
        attrs["stroke_dasharray"] = "5,3"
    svg.add("shapes", "circle", **attrs)
    if el.kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        inner: dict[str, str | float] = {"cx": b.cx, "cy": b.cy, "r": r - 3, "fill": "none",
                                         "stroke": stroke, "stroke_width": 1.2}
        if dashed:
            inner["stroke_dasharray"] = "5,3"
        svg.add("shapes", "circle", **inner)
    definition = _event_definition(el.node)
    if definition:
        throwing = el.kind in ("endEvent", "intermediateThrowEvent")
        _draw_event_marker(svg, definition, b, stroke, filled=throwing)


def _draw_gateway(svg: _Svg, el: _Element, b: _Bounds, state: str | None, marker_visible: bool) -> None:
    stroke, fill = _style(state)
    cx, cy = b.cx, b.cy
    points = f"{_fmt(cx)},{_fmt(b.y)} {_fmt(b.x + b.w)},{_fmt(cy)} {_fmt(cx)},{_fmt(b.y + b.h)} {_fmt(b.x)},{_fmt(cy)}"
    svg.add("shapes", "polygon", points=points, fill=fill, stroke=stroke, stroke_width=1.5)
    s = min(b.w, b.h) * 0.2
    if el.kind == "exclusiveGateway" and marker_visible:
        svg.add("shapes", "path", d=f"M{_fmt(cx - s)},{_fmt(cy - s)} L{_fmt(cx + s)},{_fmt(cy + s)} "
                f"M{_fmt(cx + s)},{_fmt(cy - s)} L{_fmt(cx - s)},{_fmt(cy + s)}", stroke=stroke, stroke_width=3.5)
    elif el.kind == "parallelGateway":
        s *= 1.25
        svg.add("shapes", "path", d=f"M{_fmt(cx)},{_fmt(cy - s)} L{_fmt(cx)},{_fmt(cy + s)} "
                f"M{_fmt(cx - s)},{_fmt(cy)} L{_fmt(cx + s)},{_fmt(cy)}", stroke=stroke, stroke_width=3.5)
    elif el.kind == "inclusiveGateway":
        svg.add("shapes", "circle", cx=cx, cy=cy, r=s * 1.2, fill="none", stroke=stroke, stroke_width=2.5)
    elif el.kind == "eventBasedGateway":
        svg.add("shapes", "circle", cx=cx, cy=cy, r=s * 1.35, fill="none", stroke=stroke, stroke_width=1.2)
        svg.add("shapes", "circle", cx=cx, cy=cy, r=s * 1.1, fill="none", stroke=stroke, stroke_width=1.2)
        pts = " ".join(f"{_fmt(cx + s * 0.7 * math.sin(a))},{_fmt(cy - s * 0.7 * math.cos(a))}"
                       for a in (i * 2 * math.pi / 5 for i in range(5)))
        svg.add("shapes", "polygon", points=pts, fill="none", stroke=stroke, stroke_width=1.2)
    elif el.kind == "complexGateway":
        d = " ".join(f"M{_fmt(cx - s * math.cos(a))},{_fmt(cy - s * math.sin(a))} "
                     f"L{_fmt(cx + s * math.cos(a))},{_fmt(cy + s * math.sin(a))}"
                     for a in (0, math.pi / 4, math.pi / 2, 3 * math.pi / 4))
        svg.add("shapes", "path", d=d, stroke=stroke, stroke_width=3)


def _draw_task_marker(svg: _Svg, kind: str, b: _Bounds, stroke: str) -> None:
    """Small type icon in the top-left corner, as in bpmn-js."""
    x, y = b.x + 6, b.y + 6
    if kind == "userTask":
        svg.add("shapes", "circle", cx=x + 7, cy=y + 4.5, r=3.5, fill="none", stroke=stroke, stroke_width=1.2)
        svg.add("shapes", "path", d=f"M{_fmt(x + 1)},{_fmt(y + 15)} Q{_fmt(x + 1)},{_fmt(y + 8.5)} {_fmt(x + 7)},"
                f"{_fmt(y + 8.5)} Q{_fmt(x + 13)},{_fmt(y + 8.5)} {_fmt(x + 13)},{_fmt(y + 15)} Z",
                fill="none", stroke=stroke, stroke_width=1.2)
    elif kind == "scriptTask":
        svg.add("shapes", "rect", x=x, y=y, width=11, height=14, fill="none", stroke=stroke, stroke_width=1.1)
        for i in range(3):
            yy = y + 4 + i * 3.5
            svg.add("shapes", "line", x1=x + 2.5, y1=yy, x2=x + 8.5, y2=yy, stroke=stroke, stroke_width=1)
    elif kind == "businessRuleTask":
        svg.add("shapes", "rect", x=x, y=y, width=16, height=12, fill="none", stroke=stroke, stroke_width=1.1)
        svg.add("shapes", "rect", x=x, y=y, width=16, height=3.5, fill=stroke, stroke="none")
        svg.add("shapes", "line", x1=x, y1=y + 7.75, x2=x + 16, y2=y + 7.75, stroke=stroke, stroke_width=0.8)
        svg.add("shapes", "line", x1=x + 5, y1=y + 3.5, x2=x + 5, y2=y + 12, stroke=stroke, stroke_width=0.8)
    elif kind == "serviceTask":
        cx, cy = x + 7, y + 7
        for i in range(8):
            a = i * math.pi / 4
            svg.add("shapes", "line", x1=cx + 4 * math.cos(a), y1=cy + 4 * math.sin(a),
                    x2=cx + 7 * math.cos(a), y2=cy + 7 * math.sin(a), stroke=stroke, stroke_width=2)
        svg.add("shapes", "circle", cx=cx, cy=cy, r=4.5, fill="white", stroke=stroke, stroke_width=1.2)
        svg.add("shapes", "circle", cx=cx, cy=cy, r=1.8, fill="none", stroke=stroke, stroke_width=1)
    elif kind in ("sendTask", "receiveTask"):
        filled = kind == "sendTask"
        svg.add("shapes", "rect", x=x, y=y + 2, width=16, height=11, fill=stroke if filled else "none",
                stroke=stroke, stroke_width=1.1)
        svg.add("shapes", "path", d=f"M{_fmt(x)},{_fmt(y + 2)} L{_fmt(x + 8)},{_fmt(y + 8)} L{_fmt(x + 16)},{_fmt(y + 2)}",
                fill="none", stroke="white" if filled else stroke, stroke_width=1.1)
    elif kind == "manualTask":
        svg.add("shapes", "path", d=f"M{_fmt(x)},{_fmt(y + 6)} h10 a2,2 0 0 1 0,4 h-2 v2 h-8 Z",
                fill="none", stroke=stroke, stroke_width=1.1)


def _draw_loop_marker(svg: _Svg, node: etree._Element, b: _Bounds, stroke: str) -> None:
    for child in node:
        name = _local(child.tag)
        cx, y = b.cx, b.y + b.h - 14
        if name == "multiInstanceLoopCharacteristics":
            sequential = child.get("isSequential") == "true"
            for i in (-4, 0, 4):
                if sequential:
                    svg.add("shapes", "line", x1=cx - 5, y1=y + 5 + i, x2=cx + 5, y2=y + 5 + i,
                            stroke=stroke, stroke_width=1.8)
                else:
                    svg.add("shapes", "line", x1=cx + i, y1=y, x2=cx + i, y2=y + 10, stroke=stroke, stroke_width=1.8)
        elif name == "standardLoopCharacteristics":
            svg.add("shapes", "path", d=f"M{_fmt(cx - 3)},{_fmt(y + 10)} A5,5 0 1 1 {_fmt(cx + 3)},{_fmt(y + 10)}",
                    fill="none", stroke=stroke, stroke_width=1.4)


def _draw_activity(svg: _Svg, el: _Element, b: _Bounds, state: str | None, expanded: bool) -> None:
    stroke, fill = _style(state)
    width = 3.5 if el.kind == "callActivity" else (2.5 if state == "current" else 1.5)
    attrs: dict[str, str | float] = {"x": b.x, "y": b.y, "width": b.w, "height": b.h, "rx": 10, "ry": 10,
                                     "fill": fill if not expanded or state else "none", "stroke": stroke,
                                     "stroke_width": width}
    if el.node.get("triggeredByEvent") == "true":
        attrs["stroke_dasharray"] = "6,3"
    svg.add("containers" if expanded else "shapes", "rect", **attrs)
    if el.kind == "transaction":
        svg.add("containers" if expanded else "shapes", "rect", x=b.x + 3, y=b.y + 3, width=b.w - 6,
                height=b.h - 6, rx=8, ry=8, fill="none", stroke=stroke, stroke_width=1.2)
    _draw_task_marker(svg, el.kind, b, stroke)
    _draw_loop_marker(svg, el.node, b, stroke)
    if el.kind in ("subProcess", "callActivity", "transaction", "adHocSubProcess") and not expanded:
        svg.add("shapes", "rect", x=b.cx - 7, y=b.y + b.h - 16, width=14, height=14, fill="none",
                stroke=stroke, stroke_width=1.2)
        svg.add("shapes", "path", d=f"M{_fmt(b.cx - 4)},{_fmt(b.y + b.h - 9)} h8 M{_fmt(b.cx)},"
                f"{_fmt(b.y + b.h - 13)} v8", stroke=stroke, stroke_width=1.2)
    if not el.name:
        return
    if expanded:
        svg.text("labels", wrap_text(el.name, b.w - 12), b.x + 8, b.y + 18, anchor="start")
        return
    lines = wrap_text(el.name, b.w - 10)
    max_lines = max(1, int((b.h - 8) / (FONT_SIZE * 1.25)))
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][:-1] + "…"
    top = b.cy - (len(lines) - 1) * FONT_SIZE * 1.25 / 2 + FONT_SIZE * 0.35
    svg.text("labels", lines, b.cx, top)


def _draw_container(svg: _Svg, el: _Element, b: _Bounds, horizontal: bool) -> None:
    """Pool or lane: a rectangle with its name in a header strip, vertical when the lanes run
    horizontally (the usual layout)."""
    fill = LANE_FILL if el.kind == "participant" else "none"
    svg.add("containers", "rect", x=b.x, y=b.y, width=b.w, height=b.h, fill=fill, stroke=INK, stroke_width=1.2)
    if not el.name:
        return
    if horizontal:
        strip = 30.0
        if el.kind == "participant":
            svg.add("containers", "line", x1=b.x + strip, y1=b.y, x2=b.x + strip, y2=b.y + b.h,
                    stroke=INK, stroke_width=1.2)
        lines = wrap_text(el.name, b.h - 10)[:2]
        x = b.x + strip / 2 + FONT_SIZE * 0.35 - (len(lines) - 1) * FONT_SIZE * 0.6
        for i, line in enumerate(lines):
            xx = x + i * FONT_SIZE * 1.2
            svg.text("labels", [line], xx, b.cy, rotate=-90)
    else:
        svg.add("containers", "line", x1=b.x, y1=b.y + 30, x2=b.x + b.w, y2=b.y + 30, stroke=INK, stroke_width=1.2)
        svg.text("labels", wrap_text(el.name, b.w - 10)[:1], b.cx, b.y + 19)


def _draw_artifact(svg: _Svg, el: _Element, b: _Bounds) -> None:
    if el.kind == "dataObjectReference" or el.kind == "dataObject":
        fold = min(10.0, b.w / 3)
        svg.add("shapes", "path", d=f"M{_fmt(b.x)},{_fmt(b.y)} h{_fmt(b.w - fold)} l{_fmt(fold)},{_fmt(fold)} "
                f"v{_fmt(b.h - fold)} h{_fmt(-b.w)} Z M{_fmt(b.x + b.w - fold)},{_fmt(b.y)} v{_fmt(fold)} h{_fmt(fold)}",
                fill=FILL, stroke=INK, stroke_width=1.2)
    elif el.kind == "dataStoreReference":
        e = b.h * 0.12
        svg.add("shapes", "path", d=f"M{_fmt(b.x)},{_fmt(b.y + e)} A{_fmt(b.w / 2)},{_fmt(e)} 0 0 1 {_fmt(b.x + b.w)},"
                f"{_fmt(b.y + e)} V{_fmt(b.y + b.h - e)} A{_fmt(b.w / 2)},{_fmt(e)} 0 0 1 {_fmt(b.x)},"
                f"{_fmt(b.y + b.h - e)} Z M{_fmt(b.x)},{_fmt(b.y + e)} A{_fmt(b.w / 2)},{_fmt(e)} 0 0 0 "
                f"{_fmt(b.x + b.w)},{_fmt(b.y + e)}", fill=FILL, stroke=INK, stroke_width=1.2)
    elif el.kind == "textAnnotation":
        svg.add("shapes", "path", d=f"M{_fmt(b.x + 10)},{_fmt(b.y)} h-10 v{_fmt(b.h)} h10", fill="none",
                stroke=INK, stroke_width=1.2)
        text_node = el.node.find(f"{{{BPMN}}}text")
        text = (text_node.text or "") if text_node is not None else ""
        svg.text("labels", wrap_text(text, b.w - 8), b.x + 5, b.y + 15, anchor="start", size=SMALL_FONT_SIZE)
    elif el.kind == "group":
        svg.add("containers", "rect", x=b.x, y=b.y, width=b.w, height=b.h, rx=10, ry=10, fill="none",
                stroke=MUTED, stroke_width=1.2, stroke_dasharray="8,3,1,3")
    else:  # anything else we don't know: a plain dashed box, so it is at least visible
        svg.add("shapes", "rect", x=b.x, y=b.y, width=b.w, height=b.h, fill="none", stroke=MUTED,
                stroke_width=1, stroke_dasharray="4,3")


def _arrowhead(svg: _Svg, p1: tuple[float, float], p2: tuple[float, float], color: str, open_: bool) -> None:
    """Arrowheads as explicit polygons rather than SVG markers: markers can't take the
    colour of their path in SVG 1.1, and renderers differ in how they support them."""
    dx, dy = p2[0] - p1[0], p2[1] - p1[1]
    length = math.hypot(dx, dy) or 1.0
    ux, uy = dx / length, dy / length
    size, half = 11.0, 4.0
    bx, by = p2[0] - ux * size, p2[1] - uy * size
    left = (bx - uy * half, by + ux * half)
    right = (bx + uy * half, by - ux * half)
    pts = f"{_fmt(left[0])},{_fmt(left[1])} {_fmt(p2[0])},{_fmt(p2[1])} {_fmt(right[0])},{_fmt(right[1])}"
    if open_:
        svg.add("flows", "polyline", points=pts, fill="none", stroke=color, stroke_width=1.3)
    else:
        svg.add("flows", "polygon", points=pts, fill=color, stroke=color, stroke_width=1)


def _draw_flow(svg: _Svg, el: _Element, points: list[tuple[float, float]], taken: bool, is_default: bool) -> None:
    if len(points) < 2:
        return
    color = DONE_STROKE if taken else INK
    width = 2.6 if taken else 1.3
    path = " ".join(f"{_fmt(x)},{_fmt(y)}" for x, y in points)
    attrs: dict[str, str | float] = {"points": path, "fill": "none", "stroke": color, "stroke_width": width,
                                     "stroke_linejoin": "round"}
    if el.kind == "messageFlow":
        attrs["stroke_dasharray"] = "8,4"
    elif el.kind != "sequenceFlow":
        attrs["stroke_dasharray"] = "2,3"
        attrs["stroke"] = MUTED
    svg.add("flows", "polyline", **attrs)
    if el.kind == "sequenceFlow":
        _arrowhead(svg, points[-2], points[-1], color, open_=False)
        if is_default:  # the "default flow" slash near the source
            (x1, y1), (x2, y2) = points[0], points[1]
            length = math.hypot(x2 - x1, y2 - y1) or 1.0
            ux, uy = (x2 - x1) / length, (y2 - y1) / length
            mx, my = x1 + ux * 12, y1 + uy * 12
            svg.add("flows", "line", x1=mx - uy * 6 - ux * 4, y1=my + ux * 6 - uy * 4,
                    x2=mx + uy * 6 + ux * 4, y2=my - ux * 6 + uy * 4, stroke=color, stroke_width=1.3)
    elif el.kind == "messageFlow":
        svg.add("flows", "circle", cx=points[0][0], cy=points[0][1], r=4, fill="white", stroke=color, stroke_width=1.2)
        _arrowhead(svg, points[-2], points[-1], color, open_=True)
    elif el.kind in ("dataInputAssociation", "dataOutputAssociation") or el.node.get("associationDirection") == "One":
        _arrowhead(svg, points[-2], points[-1], MUTED, open_=True)


def _external_label(svg: _Svg, name: str, label_bounds: _Bounds | None, anchor: _Bounds | None,
                    fallback: tuple[float, float] | None = None) -> None:
    if not name:
        return
    if label_bounds is not None and label_bounds.w > 0:
        lines = wrap_text(name, max(label_bounds.w, 60.0), SMALL_FONT_SIZE)
        svg.text("labels", lines, label_bounds.cx, label_bounds.y + SMALL_FONT_SIZE * 0.95, size=SMALL_FONT_SIZE)
    elif anchor is not None:
        lines = wrap_text(name, 100.0, SMALL_FONT_SIZE)
        svg.text("labels", lines, anchor.cx, anchor.y + anchor.h + SMALL_FONT_SIZE * 1.2, size=SMALL_FONT_SIZE)
    elif fallback is not None:
        svg.text("labels", wrap_text(name, 100.0, SMALL_FONT_SIZE), fallback[0], fallback[1] - 4, size=SMALL_FONT_SIZE)


def _parse(bpmn_xml: str | bytes) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
                             remove_comments=True, remove_pis=True)
    data = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    return etree.fromstring(data, parser)


def _pick_plane(root: etree._Element, process_id: str | None) -> etree._Element | None:
    planes = root.findall(f"{{{BPMNDI}}}BPMNDiagram/{{{BPMNDI}}}BPMNPlane")
    if not planes:
        return None
    if process_id is None:
        return planes[0]
    # The plane shows the process itself, or a collaboration with a pool for the process.
    owners = {process_id}
    for collab in root.findall(f"{{{BPMN}}}collaboration"):
        for participant in collab.findall(f"{{{BPMN}}}participant"):
            if participant.get("processRef") == process_id and collab.get("id"):
                owners.add(collab.get("id", ""))
    for plane in planes:
        if plane.get("bpmnElement") in owners:
            return plane
    return planes[0]


def _empty_svg(message: str) -> str:
    svg = _Svg()
    svg.root.set("viewBox", "0 0 400 60")
    svg.root.set("width", "400")
    svg.root.set("height", "60")
    svg.text("labels", [message], 200, 35, fill=MUTED)
    return etree.tostring(svg.root, encoding="unicode")


def taken_flows(elements: Iterable[_Element], done: set[str], reached: set[str],
                transitions: set[tuple[str, str]] | None) -> set[str]:
    """Sequence flows on the path taken. With ``transitions`` (source id, target id) known,
    exactly those. Without, inferred: from a completed element to one that was reached
    (completed or current); that can colour a loop-back flow that was never taken when both
    of its ends were reached another way."""
    out = set()
    for el in elements:
        if el.kind != "sequenceFlow":
            continue
        source, target = el.node.get("sourceRef", ""), el.node.get("targetRef", "")
        if transitions is not None:
            if (source, target) in transitions:
                out.add(el.id)
        elif source in done and target in reached:
            out.add(el.id)
    return out


def render_diagram_svg(
    bpmn_xml: str | bytes,
    process_id: str | None,
    completed_ids: set[str],
    current_ids: set[str],
    *,
    transitions: Iterable[tuple[str, str]] | None = None,
) -> str:
    """SVG (a string, no XML declaration: ready to inline in HTML) of the diagram that shows
    ``process_id``, with ``completed_ids`` in green and ``current_ids`` in orange.

    ``transitions``: the (source BPMN id, target BPMN id) steps the instance really made,
    e.g. from SpiffWorkflow's task tree (each task's parent's spec name -> its spec name;
    pairs that name no flow are ignored). Without it the flows taken are inferred from
    ``completed_ids``, which may over-colour a loop-back (see :func:`taken_flows`).
    Raises ``lxml.etree.XMLSyntaxError`` on malformed XML; a model without diagram
    interchange gives a small placeholder SVG.
    """
    root = _parse(bpmn_xml)
    plane = _pick_plane(root, process_id)
    if plane is None:
        return _empty_svg("(no diagram interchange in the model / 模型无图形信息)")

    elements: dict[str, _Element] = {}
    for node in root.iter():
        el_id = node.get("id") if isinstance(node.tag, str) else None
        if el_id and etree.QName(node).namespace == BPMN:
            elements[el_id] = _Element(el_id, _local(node.tag), (node.get("name") or "").strip(), node)
    defaults = {node.get("default") for node in root.iter() if isinstance(node.tag, str) and node.get("default")}

    done = set(completed_ids)
    current = set(current_ids)
    flows_taken = taken_flows(elements.values(), done, done | current,
                              set(transitions) if transitions is not None else None)

    svg = _Svg()
    xs: list[float] = []
    ys: list[float] = []

    def extend(b: _Bounds) -> None:
        xs.extend((b.x, b.x + b.w))
        ys.extend((b.y, b.y + b.h))

    shapes = plane.findall(f"{{{BPMNDI}}}BPMNShape")
    # Containers first (they are backgrounds), then expanded sub-processes, then the rest.
    shapes.sort(key=lambda s: (0 if (elements.get(s.get("bpmnElement", "")) or _Element("", "", "", s)).kind
                               in ("participant", "lane") else 1))
    for shape in shapes:
        el = elements.get(shape.get("bpmnElement", ""))
        b = _bounds(shape)
        if el is None or b is None:
            continue
        extend(b)
        state = "current" if el.id in current else ("done" if el.id in done else None)
        label_node = shape.find(f"{{{BPMNDI}}}BPMNLabel")
        label_bounds = _bounds(label_node)
        if label_bounds is not None:
            extend(label_bounds)
        if el.kind in ("participant", "lane"):
            _draw_container(svg, el, b, shape.get("isHorizontal", "true") != "false")
        elif el.kind in TASKS:
            expanded = shape.get("isExpanded") == "true"
            _draw_activity(svg, el, b, state, expanded)
        elif el.kind in EVENTS:
            _draw_event(svg, el, b, state)
            _external_label(svg, el.name, label_bounds, b)
        elif el.kind in GATEWAYS:
            _draw_gateway(svg, el, b, state, shape.get("isMarkerVisible") == "true")
            _external_label(svg, el.name, label_bounds, b)
        else:
            _draw_artifact(svg, el, b)
            if el.kind not in ("textAnnotation", "group"):
                _external_label(svg, el.name, label_bounds, b)

    for edge in plane.findall(f"{{{BPMNDI}}}BPMNEdge"):
        el = elements.get(edge.get("bpmnElement", ""))
        if el is None:
            continue
        points = [(_num(w.get("x")), _num(w.get("y"))) for w in edge.findall(f"{{{DI}}}waypoint")]
        if not points:
            continue
        xs.extend(p[0] for p in points)
        ys.extend(p[1] for p in points)
        _draw_flow(svg, el, points, el.id in flows_taken, el.id in defaults)
        label_bounds = _bounds(edge.find(f"{{{BPMNDI}}}BPMNLabel"))
        if label_bounds is not None:
            extend(label_bounds)
        mid = len(points) // 2
        fallback = ((points[mid - 1][0] + points[mid][0]) / 2, (points[mid - 1][1] + points[mid][1]) / 2) \
            if len(points) > 1 else points[0]
        _external_label(svg, el.name, label_bounds, None, fallback)

    if not xs:
        return _empty_svg("(empty diagram / 空白流程图)")
    margin = 12.0
    x0, y0 = min(xs) - margin, min(ys) - margin
    width, height = max(xs) - x0 + margin, max(ys) - y0 + margin
    svg.root.set("viewBox", f"{_fmt(x0)} {_fmt(y0)} {_fmt(width)} {_fmt(height)}")
    svg.root.set("width", _fmt(width))
    svg.root.set("height", _fmt(height))
    title = etree.Element(f"{{{SVG}}}title")
    title.text = "BPMN"
    svg.root.insert(0, title)
    return etree.tostring(svg.root, encoding="unicode")
