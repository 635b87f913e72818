"""A realistic sample record (the ETO change-order process, Chinese data) for tests, the
benchmark and eyeballing the layout:

    python -m reports.sample out.pdf [--steps 20] [--interim] [--en] [--unsigned] [--pki DIR]

prints the seconds spent rendering and signing.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from reports.record import AttachmentData, RecordData, StepData

ROOT = Path(__file__).resolve().parent.parent
ETO_BPMN = ROOT / "processes" / "eto" / "eto-change-order" / "eto_change_order.bpmn"

# (BPMN id or event type, task name, username, display name, decision, comment, data)
_Step = tuple[str, str, str, str, str | None, str | None, dict[str, Any]]
_PATH: list[_Step] = [
    ("submit_request", "提交需求置换申请", "wang.fang", "王芳", "提交 / submitted",
     "客户要求将逆变器型号由 SUN-50K 更换为 SUN-60K，交期不变。",
     {"order_no": "ETO-2026-0042", "customer": "华东光伏电站（一期）", "old_model": "SUN-50K-G03",
      "new_model": "SUN-60K-G03", "quantity": 24, "reason": "容量扩容，需提升单机功率"}),
    ("planner_triage", "计划员分诊", "li.qiang", "李强", "受理 / accepted", "资料齐全，转仓库、采购、生产评估。",
     {"triage": "accept", "priority": "high"}),
    ("warehouse_assessment", "仓库评估", "zhao.min", "赵敏", "可调拨 / available", None,
     {"stock_old": 30, "stock_new": 6, "transfer_possible": True, "warehouses": ["苏州仓", "合肥仓"]}),
    ("purchasing_assessment", "采购评估", "chen.jie", "陈杰", "需采购 / purchase", "IGBT 模块需重新下单。",
     {"lead_time_days": 21, "extra_cost": 38400.5,
      "suppliers": [{"name": "英飞凌", "lead_time": 21}, {"name": "斯达半导", "lead_time": 18}]}),
    ("production_assessment", "生产评估", "liu.yang", "刘洋", "可排产 / schedulable", None,
     {"line": "总装二线", "delay_days": 5, "overtime_hours": 16}),
    ("sales_director_approval", "销售总监审批", "sun.li", "孙丽", "同意 / approve", "成本增加可接受，需客户书面确认。",
     {"decision": "approve", "margin_after": "18.5%"}),
    ("customer_confirmation", "客户确认", "wang.fang", "王芳", "已确认 / confirmed", "客户已盖章确认，附件为确认函。",
     {"confirmed": True, "confirmation_letter": "确认函-ETO-2026-0042.pdf"}),
    ("supplier_confirmation", "供应商确认", "chen.jie", "陈杰", "已确认 / confirmed", None,
     {"po_no": "PO-88213", "promised_date": "2026-06-18"}),
    ("planner_close", "计划员关闭", "li.qiang", "李强", "关闭 / closed", "已更新主计划与 BOM。",
     {"bom_version": "B.3", "mps_updated": True}),
]

_EXTRA: list[_Step] = [
    ("comment", "评论", "zhou.wei", "周伟", None, "请注意新型号的散热要求，需同步更新安装说明。", {}),
    ("urge", "催办", "wang.fang", "王芳", None, "客户催问进度，请尽快处理。", {}),
    ("transfer", "转办", "chen.jie", "陈杰", None, "本人出差，转交同事处理。", {"to": "he.jun（何军）"}),
    ("send-back", "退回补充信息", "li.qiang", "李强", "退回 / sent back", "请补充客户原始需求邮件。",
     {"missing": ["客户邮件", "现场照片"]}),
]


def sample_steps(count: int = 20) -> list[StepData]:
    """``count`` steps: the happy path of the ETO process, with comments, urges, transfers
    and send-backs in between (as a long-running request accumulates them)."""
    start = dt.datetime(2026, 5, 6, 1, 30, tzinfo=dt.UTC)
    labels = {"order_no": "订单号", "customer": "客户", "quantity": "数量", "reason": "原因",
              "lead_time_days": "采购周期（天）", "extra_cost": "新增成本（元）"}
    path = iter(_PATH)
    steps: list[StepData] = []
    for i in range(count):
        at = start + dt.timedelta(hours=5 * i, minutes=7 * i)
        task = next(path, None) if i % 3 != 2 else None  # every third step is an extra event
        if task is not None:
            bpmn_id, name, user, display, decision, comment, data = task
            steps.append(StepData(name=name, actor=user, actor_display_name=display, at=at, type="complete",
                                  decision=decision, comment=comment, data=dict(data), bpmn_id=bpmn_id,
                                  field_labels={k: v for k, v in labels.items() if k in data}))
        else:
            kind, name, user, display, decision, comment, data = _EXTRA[i % len(_EXTRA)]
            steps.append(StepData(name=name, actor=user, actor_display_name=display, at=at, type=kind,
                                  decision=decision, comment=comment, data=dict(data)))
    return steps


def sample_record(steps: int = 20, interim: bool = False, locale: str = "zh-CN",
                  with_diagram: bool = True) -> RecordData:
    from reports.diagram import render_diagram_svg

    step_list = sample_steps(steps)
    diagram = None
    if with_diagram and ETO_BPMN.exists():
        # the path through the model, in order; an interim record waits at the customer
        path = ["start_event", "gw_request_merge", "submit_request", "planner_triage", "gw_triage",
                "gw_assess_split", "warehouse_assessment", "purchasing_assessment", "production_assessment",
                "gw_assess_join", "compute_impact", "determine_impact_level", "gw_impact",
                "sales_director_approval", "gw_sales_decision", "customer_confirmation", "gw_customer_confirmed",
                "gw_supplier_merge", "supplier_confirmation", "planner_close", "mark_completed", "end_completed"]
        # the steps really made, as the engine knows them from the task tree (parallel branches!)
        moves = list(zip(path, path[1:], strict=False))
        moves = [m for m in moves if m[0] not in ("gw_assess_split", "warehouse_assessment", "purchasing_assessment")]
        moves += [("gw_assess_split", t) for t in ("warehouse_assessment", "purchasing_assessment",
                                                   "production_assessment")]
        moves += [(t, "gw_assess_join") for t in ("warehouse_assessment", "purchasing_assessment")]
        if interim:
            cut = path.index("customer_confirmation")
            done, current = set(path[:cut]), {path[cut]}
            moves = [m for m in moves if m[0] in done]
        else:
            done, current = set(path), set()
        diagram = render_diagram_svg(ETO_BPMN.read_text(encoding="utf-8"), "eto_change_order", done, current,
                                     transitions=moves)
    head = hashlib.sha256(b"sample chain head").hexdigest()
    return RecordData(
        instance_id=42,
        process_name="ETO 定制订单需求置换 / ETO change order",
        model_id="eto:eto-change-order",
        model_version=3,
        model_hash=hashlib.sha256(b"eto model v3").hexdigest(),
        title="ETO-2026-0042 逆变器型号置换（SUN-50K → SUN-60K）",
        status="running" if interim else "complete",
        initiator="wang.fang",
        initiator_display_name="王芳",
        region="华东",
        created_at=dt.datetime(2026, 5, 6, 1, 28, tzinfo=dt.UTC),
        completed_at=None if interim else dt.datetime(2026, 5, 10, 9, 15, tzinfo=dt.UTC),
        chain_head=head,
        event_count=steps + 7,
        metadata={"订单号 order_no": "ETO-2026-0042", "客户 customer": "华东光伏电站（一期）",
                  "金额 amount": 1280000, "影响等级 impact": "高 high"},
        steps=step_list,
        diagram_svg=diagram,
        attachments=[
            AttachmentData("确认函-ETO-2026-0042.pdf", hashlib.sha256(b"letter").hexdigest(), 183_402),
            AttachmentData("现场照片.jpg", hashlib.sha256(b"photo").hexdigest(), 2_482_113),
        ],
        interim=interim,
        locale=locale,
        organisation="新能源审批平台 Demo",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--interim", action="store_true")
    parser.add_argument("--en", action="store_true")
    parser.add_argument("--unsigned", action="store_true")
    parser.add_argument("--pki", type=Path, help="PKI directory (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs after a warm-up")
    args = parser.parse_args(argv)

    from reports.pki import SigningConfig, ensure_pki
    from reports.record import render_record_pdf
    from reports.sign import sign_pdf

    pki = ensure_pki(args.pki or Path(tempfile.mkdtemp()) / "pki")
    config = SigningConfig.from_pki(pki)
    record = sample_record(args.steps, args.interim, "en" if args.en else "zh-CN")
    pdf = render_record_pdf(record)  # warm-up: imports, fonts, key parsing
    if not args.unsigned:
        pdf = sign_pdf(pdf, config)
    timings = []
    for _ in range(max(1, args.repeat)):
        t0 = time.perf_counter()
        pdf = render_record_pdf(record)
        t1 = time.perf_counter()
        if not args.unsigned:
            pdf = sign_pdf(pdf, config)
        t2 = time.perf_counter()
        timings.append((t1 - t0, t2 - t1))
    args.out.write_bytes(pdf)
    render = min(t[0] for t in timings)
    sign = min(t[1] for t in timings)
    print(f"{args.steps} steps: render {render:.3f} s + sign {sign:.3f} s = {render + sign:.3f} s "
          f"(best of {len(timings)}); {len(pdf):,} bytes -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
