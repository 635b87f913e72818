"""Imports every model module so that Base.metadata knows all tables (Alembic, tests)."""
from engine.attachments import models as attachment_models  # noqa: F401
from engine.audit import models as audit_models  # noqa: F401
from engine.db import Base
from engine.deploy import models as deploy_models  # noqa: F401
from engine.instances import models as instance_models  # noqa: F401
from engine.notify import models as notify_models  # noqa: F401
from engine.org import models as org_models  # noqa: F401

metadata = Base.metadata
