"""Keep the task tree shallow so long loops cost the same per step.

SpiffWorkflow keeps every finished task; a request sent back and resubmitted N times grows a
tree N loops deep. Its task iterator stops descending at depth 1000 (BpmnTaskIterator's
max_depth), so after ~250 loops READY tasks become invisible and the workflow stalls without an
error, and before that every step walks the whole history. The history we need lives in the
audit log, so we cut finished ancestors above the live part of the tree, keeping a margin for
send-back and for joins that look at recent siblings."""
from __future__ import annotations

from typing import Any

from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.util.task import TaskState

KEEP_ANCESTORS = 20  # finished tasks kept above the live frontier (a few loop iterations)
SLACK = 10  # re-root only once the finished prefix exceeds KEEP_ANCESTORS + SLACK (amortized)


def _live_subtrees(root: Any, workflow: Any) -> set[Any]:
    """Ids of tasks whose subtree holds an unfinished task or an active subprocess (iterative)."""
    subprocesses = workflow.top_workflow.subprocesses if hasattr(workflow, "top_workflow") else {}
    order, stack = [], [root]
    while stack:
        t = stack.pop()
        order.append(t)
        stack.extend(t.children)
    live: set[Any] = set()
    for t in reversed(order):  # children before parents
        sp = subprocesses.get(t.id)
        if (not t.has_state(TaskState.FINISHED_MASK)) or (sp is not None and not sp.completed) \
                or any(c.id in live for c in t.children):
            live.add(t.id)
    return live


def _chain_length(root: Any) -> int:
    n, t = 0, root
    while len(t._children) == 1 and t.has_state(TaskState.FINISHED_MASK):
        n += 1
        t = t.children[0]
    return n


def _is_user_step(task: Any) -> bool:
    return bool(getattr(task.task_spec, "manual", False)) and task.has_state(TaskState.COMPLETED)


def _send_back_steps(above: list[Any], below: list[Any]) -> list[Any]:
    """The latest occurrence of each completed user step cut off above the new root, each with
    the task before it (a reset step needs a finished parent), oldest first: 退回 can still
    reach every earlier step however long the request has looped."""
    seen = {t.task_spec.name for t in below if _is_user_step(t)}
    picked: list[Any] = []
    for i in range(len(above) - 1, -1, -1):
        t = above[i]
        if _is_user_step(t) and t.task_spec.name not in seen:
            seen.add(t.task_spec.name)
            picked.append(t)
            if i > 0 and above[i - 1] not in picked:
                picked.append(above[i - 1])
    ids = {t.id for t in picked}
    return [t for t in above if t.id in ids]  # keep their order on the path


def compact_workflow(wf: Any, keep: int = KEEP_ANCESTORS) -> int:
    """Re-root one (sub)workflow's tree below its finished prefix. Returns tasks dropped."""
    root = wf.task_tree
    if _chain_length(root) <= keep + SLACK and len(wf.tasks) < 8 * (keep + SLACK):
        return 0
    live = _live_subtrees(root, wf)
    # Walk down while exactly one child is live and the node itself is finished: that path is history.
    path = [root]
    node = root
    while node.has_state(TaskState.FINISHED_MASK):
        live_children = [c for c in node.children if c.id in live]
        if len(live_children) != 1:
            break
        node = live_children[0]
        path.append(node)
    if len(path) <= keep + 1:
        return 0
    new_root = path[-(keep + 1)]
    chain = _send_back_steps(path[:-(keep + 1)], path[-(keep + 1):]) + [new_root]
    keep_ids = {t.id for t in chain}
    stack = [new_root]
    while stack:
        t = stack.pop()
        keep_ids.add(t.id)
        stack.extend(t.children)
    dropped = [tid for tid in wf.tasks if tid not in keep_ids]
    top = getattr(wf, "top_workflow", wf)
    for tid in dropped:
        if tid in top.subprocesses:
            top.delete_subprocess(wf.tasks[tid])
    for tid in dropped:
        del wf.tasks[tid]
    # Splice the kept steps into one chain above the new root; data lives on each task object.
    chain[0]._parent = None
    for upper, lower in zip(chain, chain[1:], strict=False):
        upper._children = [lower.id]
        lower._parent = upper.id
    wf.task_tree = chain[0]
    if wf.last_task is not None and wf.last_task.id not in keep_ids:
        wf.last_task = None
    return len(dropped)


def compact(wf: BpmnWorkflow, keep: int = KEEP_ANCESTORS) -> int:
    dropped = compact_workflow(wf, keep)
    for sp in list(wf.subprocesses.values()):
        if not sp.completed:
            dropped += compact_workflow(sp, keep)
    return dropped
