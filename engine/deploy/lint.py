"""Deploy-time checks read from the model XML itself, before SpiffWorkflow builds specs: dangling
references (flows, boundary hosts, default flows, called processes and decisions) and every
expression the engine will evaluate (scripts, conditions, timers, multi-instance, messages,
service parameters, DMN cells), compiled by the sandbox. Each problem names the file, the line
and the element id; SpiffWorkflow's own messages for the same faults are vaguer or missing."""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from lxml import etree

from engine.deploy.xml import parse_model_xml
from engine.errors import ElementError
from engine.sandbox import compile_errors

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

# (namespace, tag) of text that runs as a script, and of text evaluated as an expression.
EXEC_TEXT = {(BPMN, "script"), (SPIFF, "preScript"), (SPIFF, "postScript")}
EVAL_TEXT = {
    (BPMN, "conditionExpression"), (BPMN, "timeDuration"), (BPMN, "timeDate"), (BPMN, "timeCycle"),
    (BPMN, "loopCardinality"), (BPMN, "completionCondition"), (BPMN, "loopCondition"), (BPMN, "condition"),
    (SPIFF, "messagePayload"), (SPIFF, "expression"),
}
# Containers whose own id is less useful to a designer than the element they belong to.
_NOT_AN_ELEMENT = ("EventDefinition", "LoopCharacteristics", "extensionElements", "Expression", "properties")
# Hit policies SpiffWorkflow evaluates as DMN defines them (PRIORITY and OUTPUT ORDER need output
# value lists it does not read; anything else is not DMN).
HIT_POLICIES = ("UNIQUE", "FIRST", "ANY", "COLLECT", "RULE ORDER")


@dataclass
class LintResult:
    errors: list[ElementError]
    references: list[Reference]
    defined: set[str]  # process ids, and `dmn:<decision id>`, the files define


@dataclass
class Reference:
    """A call activity's process or a business rule task's decision, to be found somewhere."""

    file: str
    element_id: str | None
    line: int | None
    target: str  # process id, or `dmn:<decision id>`


def _ns_tag(el: etree._Element) -> tuple[str, str]:
    q = etree.QName(el)
    return q.namespace or "", q.localname


def _owner(el: etree._Element) -> etree._Element | None:
    """The nearest enclosing element with an id that a designer would recognise (the task, the
    sequence flow, the event), skipping event definitions, loop characteristics, extension elements
    and the like."""
    node: etree._Element | None = el
    fallback = None
    while node is not None:
        if isinstance(node.tag, str) and node.get("id"):
            fallback = fallback if fallback is not None else node
            if not node.tag.startswith(f"{{{SPIFF}}}") and not any(node.tag.endswith(part) for part in _NOT_AN_ELEMENT):
                return node
        node = node.getparent()
    return fallback


def _error(file: str, el: etree._Element | None, message: str) -> ElementError:
    owner = _owner(el) if el is not None else None
    return ElementError(file, message, line=getattr(el, "sourceline", None),
                        element_id=owner.get("id") if owner is not None else None)


def _script_errors(file: str, el: etree._Element, source: str, mode: str, what: str) -> list[ElementError]:
    return [_error(file, el, f"{what}: {problem}") for problem in compile_errors(source, mode)]


def _elements(tree: etree._Element) -> Iterator[etree._Element]:
    return (el for el in tree.iter() if isinstance(el.tag, str))


def check_bpmn(file: str, tree: etree._Element) -> tuple[list[ElementError], list[Reference]]:
    """Problems of one BPMN file, and the processes and decisions it needs from elsewhere."""
    errors: list[ElementError] = []
    refs: list[Reference] = []
    ns, local = _ns_tag(tree)
    if (ns, local) != (BPMN, "definitions"):
        return [_error(file, tree, f"the root element must be bpmn:definitions (namespace {BPMN}), "
                                   f"not {local}" + (f" in namespace {ns}" if ns else ""))], []
    ids: dict[str, etree._Element] = {}
    flows: dict[str, etree._Element] = {}
    for el in _elements(tree):
        el_ns, el_local = _ns_tag(el)
        if el_ns == BPMN and el_local == "sequenceFlow" and el.get("id"):
            flows[el.get("id")] = el
        elif el.get("id"):
            ids.setdefault(el.get("id"), el)
        parent = el.getparent()
        if (el_ns, el_local) in EXEC_TEXT and (el.text or "").strip():
            if el_local != "script" or (parent is not None and _ns_tag(parent)[1] == "scriptTask"):
                errors += _script_errors(file, el, el.text or "", "exec", f"{el_local} error")
        elif (el_ns, el_local) in EVAL_TEXT and (el.text or "").strip():
            errors += _script_errors(file, el, el.text or "", "eval", f"{el_local} expression error")
        elif (el_ns, el_local) == (BPMN, "formalExpression") and parent is not None \
                and _ns_tag(parent)[1] == "correlationPropertyRetrievalExpression" and (el.text or "").strip():
            errors += _script_errors(file, el, el.text or "", "eval", "correlation expression error")
        elif (el_ns, el_local) == (SPIFF, "parameter") and el.get("value"):
            errors += _script_errors(file, el, el.get("value") or "", "eval", f"parameter '{el.get('id')}' error")
        if (el_ns, el_local) == (BPMN, "callActivity") and el.get("calledElement"):
            refs.append(Reference(file, el.get("id"), el.sourceline, el.get("calledElement") or ""))
        if (el_ns, el_local) == (SPIFF, "calledDecisionId") and (el.text or "").strip():
            owner = _owner(el)
            refs.append(Reference(file, owner.get("id") if owner is not None else None, el.sourceline,
                                  f"dmn:{(el.text or '').strip()}"))
    for fid, flow in flows.items():
        for attr in ("sourceRef", "targetRef"):
            target = flow.get(attr)
            if not target:
                errors.append(_error(file, flow, f"sequence flow {fid} has no {attr}"))
            elif target not in ids:
                errors.append(_error(file, flow, f"sequence flow {fid} {attr} '{target}' names no element of this file"))
    for el in _elements(tree):
        el_ns, el_local = _ns_tag(el)
        if el_ns != BPMN:
            continue
        host = el.get("attachedToRef")
        if el_local == "boundaryEvent" and host is not None and host not in ids:
            errors.append(_error(file, el, f"boundary event {el.get('id')} is attached to '{host}', "
                                           "which names no element of this file"))
        default = el.get("default")
        if default is not None and (default not in flows or flows[default].get("sourceRef") != el.get("id")):
            errors.append(_error(file, el, f"default flow '{default}' of {el.get('id')} is not one of its outgoing "
                                           "sequence flows"))
        for attr in ("messageRef", "signalRef", "errorRef", "escalationRef"):
            ref = el.get(attr)
            if ref and ref not in ids:
                errors.append(_error(file, el, f"{attr} '{ref}' names no element of this file"))
    return errors, refs


def _dmn_entry_errors(file: str, el: etree._Element, input_expr: str | None, text: str) -> list[ElementError]:
    """Mirror SpiffWorkflow's DMNEngine.evaluate: `?` stands for the input; a cell that parses on
    its own is compared with ==, otherwise it is appended to the input (`< 500`)."""
    text = text.strip()
    if not text or text == "-":
        return []
    if "?" in text:
        return _script_errors(file, el, text.replace("?", "dmninputexpr"), "eval", "input entry error")
    if not compile_errors(text, "eval"):
        return []
    if not compile_errors(f"v {text}", "eval"):
        return _script_errors(file, el, f"({input_expr or 'v'}) {text}", "eval", "input entry error")
    return _script_errors(file, el, text, "eval", "input entry error")


def check_dmn(file: str, tree: etree._Element) -> list[ElementError]:
    errors: list[ElementError] = []
    if _ns_tag(tree)[1] != "definitions" or "DMN" not in _ns_tag(tree)[0].upper():
        return [_error(file, tree, "the root element must be a DMN definitions element")]
    for decision in (el for el in _elements(tree) if _ns_tag(el)[1] == "decision"):
        tables = [el for el in decision if isinstance(el.tag, str) and _ns_tag(el)[1] == "decisionTable"]
        if len(tables) != 1:
            errors.append(_error(file, decision, f"decision '{decision.get('id')}' must have exactly one decision "
                                                 f"table (found {len(tables)})"))
            continue
        table = tables[0]
        policy = (table.get("hitPolicy") or "UNIQUE").upper()
        if policy not in HIT_POLICIES:
            errors.append(_error(file, table, f"hit policy '{table.get('hitPolicy')}' is not supported "
                                              f"(use one of {', '.join(HIT_POLICIES)})"))
        if table.get("aggregation"):
            errors.append(_error(file, table, f"aggregation '{table.get('aggregation')}' is not supported"))
        inputs: list[str | None] = []
        outputs = 0
        for el in table:
            if not isinstance(el.tag, str):
                continue
            local = _ns_tag(el)[1]
            if not el.get("id") and local in ("input", "output", "rule"):
                errors.append(_error(file, el, f"a decision table {local} has no id"))
            if local == "input":
                text_el = next((t for t in el.iter() if isinstance(t.tag, str) and _ns_tag(t)[1] == "text"), None)
                expr = (text_el.text or "").strip() if text_el is not None else ""
                inputs.append(expr or None)
                if expr and text_el is not None:
                    errors += [_error(file, el, f"input expression error: {p}") for p in compile_errors(expr, "eval")]
            elif local == "output":
                outputs += 1
            elif local == "rule":
                errors += _check_rule(file, el, inputs, outputs)
    return errors


def _check_rule(file: str, rule: etree._Element, inputs: list[str | None], outputs: int) -> list[ElementError]:
    errors: list[ElementError] = []
    entries = [e for e in rule if isinstance(e.tag, str) and _ns_tag(e)[1] in ("inputEntry", "outputEntry")]
    n_in = sum(1 for e in entries if _ns_tag(e)[1] == "inputEntry")
    n_out = len(entries) - n_in
    if n_in != len(inputs) or n_out != outputs:
        errors.append(_error(file, rule, f"rule {rule.get('id')} has {n_in} input and {n_out} output entries; "
                                         f"the table has {len(inputs)} inputs and {outputs} outputs"))
        return errors
    i = 0
    for entry in entries:
        if not entry.get("id"):
            errors.append(_error(file, entry, f"an entry of rule {rule.get('id')} has no id"))
        text_el = next((t for t in entry if isinstance(t.tag, str) and _ns_tag(t)[1] == "text"), None)
        text = (text_el.text or "") if text_el is not None else ""
        if _ns_tag(entry)[1] == "inputEntry":
            errors += _dmn_entry_errors(file, entry, inputs[i], text)
            i += 1
        elif text.strip():
            errors += _script_errors(file, entry, text.strip(), "eval", "output entry error")
    return errors


def check_model_files(files: Mapping[str, str]) -> LintResult:
    """Every BPMN and DMN file of a model version: problems, references to resolve, what is defined."""
    result = LintResult([], [], set())
    for name in sorted(files):
        if name.endswith(".bpmn"):
            tree = parse_model_xml(name, files[name])
            bpmn_errors, bpmn_refs = check_bpmn(name, tree)
            result.errors += bpmn_errors
            result.references += bpmn_refs
            result.defined |= {el.get("id") or "" for el in _elements(tree) if _ns_tag(el) == (BPMN, "process")}
        elif name.endswith(".dmn"):
            tree = parse_model_xml(name, files[name])
            result.errors += check_dmn(name, tree)
            result.defined |= {f"dmn:{el.get('id')}" for el in _elements(tree) if _ns_tag(el)[1] == "decision"}
    return result
