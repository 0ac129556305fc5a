"""The schema revision this code expects: the newest migration in
``stripetopup/migrations/versions`` (``tests/test_migrations.py`` keeps them in step).

A leaf of its own (stdlib only), apart from :mod:`stripetopup.schema` (on sqlalchemy and
alembic), so the reads on the driver itself (``driver_reads``) check it too.
"""

from __future__ import annotations

HEAD_REVISION = "0010_recharge_action_links"
