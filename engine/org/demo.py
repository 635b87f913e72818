"""The demo organisation: HQ and four regions with the roles the processes need."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from engine.org.models import HQ, User
from engine.org.service import create_user, ensure_group, ensure_region, get_user_by_username, hash_password

REGIONS = [(HQ, "总部", "Headquarters"), ("EAST", "华东", "East"), ("SOUTH", "华南", "South"),
           ("NORTH", "华北", "North"), ("WEST", "西部", "West")]

# (name, display name = the lane name in models, HQ-wide)
GROUPS = [
    ("admin", "系统管理员", True), ("designer", "流程设计师", True), ("auditor", "审计", True),
    ("gm", "总经理", True), ("cfo", "财务总监", True),
    ("regional_manager", "区域经理", False), ("planner", "计划员", False), ("warehouse", "仓库", False),
    ("purchasing", "采购", False), ("production", "生产", False), ("sales_director", "销售总监", False),
    ("operations", "运营支持", False), ("finance", "财务", False), ("engineering", "工程", False),
    ("safety", "安全", False), ("quality", "质量", False), ("legal", "法务", True),
]

# role key -> (group, department, title)
REGIONAL_ROLES = [
    ("manager", "regional_manager", "区域管理部", "区域经理"),
    ("planner", "planner", "计划部", "计划员"),
    ("warehouse", "warehouse", "仓储部", "仓库主管"),
    ("purchasing", "purchasing", "采购部", "采购专员"),
    ("production", "production", "生产部", "生产主管"),
    ("sales", "sales_director", "销售部", "销售总监"),
    ("ops", "operations", "运营支持部", "运营支持"),
    ("finance", "finance", "财务部", "财务专员"),
    ("engineer", "engineering", "工程部", "工程师"),
    ("safety", "safety", "安全部", "安全主管"),
    ("quality", "quality", "质量部", "质量工程师"),
]

NAMES = {
    "EAST": ["陈建华", "李晓梅", "张伟", "王芳", "刘洋", "赵敏", "周杰", "吴静", "徐磊", "沈国强", "钱雨婷"],
    "SOUTH": ["黄志强", "林小燕", "郑浩", "何丽", "梁国栋", "谢婷", "罗斌", "宋佳", "唐勇", "卢志明", "詹晓琳"],
    "NORTH": ["孙立军", "马丽娟", "胡斌", "郭晶", "高峰", "朱红", "韩冬", "冯雪", "曹阳", "贾建军", "常婉清"],
    "WEST": ["杨光", "邓丽", "许强", "彭静", "吕涛", "苏敏", "蒋欣", "蔡明", "丁蕾", "任俊杰", "袁思雨"],
}


@dataclass
class DemoUser:
    username: str
    display_name: str
    region: str
    role: str


def seed_demo(session: Session, password: str) -> list[DemoUser]:
    """Idempotent: existing users are left as they are."""
    for code, name, name_en in REGIONS:
        ensure_region(session, code, name, name_en)
    for name, display, hq_wide in GROUPS:
        ensure_group(session, name, display, hq_wide)
    created: list[DemoUser] = []
    shared_hash = hash_password(password)  # one KDF run: every demo account has the same known password

    def add(username: str, display: str, region: str, dept: str, groups: list[str], role: str,
            manager: User | None = None) -> User:
        existing = get_user_by_username(session, username)
        if existing is not None:
            created.append(DemoUser(username, existing.display_name, existing.region, role))
            return existing
        user = create_user(session, username=username, password=password, display_name=display,
                           email=f"{username}@demo.example.com", region=region, department=dept,
                           groups=groups, manager=manager, password_hash=shared_hash)
        created.append(DemoUser(username, display, region, role))
        return user

    add("admin", "系统管理员", HQ, "信息部", ["admin"], "管理员 / administrator")
    add("designer", "流程设计师", HQ, "PMO", ["designer"], "流程设计师 / process designer")
    add("auditor", "内审员", HQ, "内审部", ["auditor"], "审计 / auditor")
    gm = add("gm", "王总", HQ, "总经办", ["gm"], "总经理 / general manager")
    add("cfo", "李财", HQ, "财务中心", ["cfo", "finance"], "财务总监 / CFO", gm)
    add("legal", "章律", HQ, "法务部", ["legal"], "法务 / legal counsel", gm)
    for code, _name, _en in REGIONS[1:]:
        names = NAMES[code]
        prefix = code.lower()
        manager = add(f"{prefix}_manager", names[0], code, REGIONAL_ROLES[0][2], ["regional_manager"],
                      REGIONAL_ROLES[0][3], gm)
        for i, (key, group, dept, title) in enumerate(REGIONAL_ROLES[1:], start=1):
            add(f"{prefix}_{key}", names[i], code, dept, [group], title, manager)
    session.flush()
    return created
