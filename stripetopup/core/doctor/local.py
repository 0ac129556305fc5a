"""The local ``doctor`` checks: settings, the database, failure streaks and secret rotation.

Each check is a small function returning :class:`~stripetopup.core.doctor.types.Check`
values; none of them talks to Stripe or to the network (see ``stripe_account`` and
``webhook``). Messages name settings and labels, never a secret's value.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import Session

from stripetopup import schema
from stripetopup.config import Settings
from stripetopup.core.context import Context
from stripetopup.core.doctor.types import Check, fail, ok, warn
from stripetopup.core.events.log import PING_TYPE
from stripetopup.dates import utcnow
from stripetopup.db import check_connection
from stripetopup.errors import DatabaseError
from stripetopup.store import event_health, ledger
from stripetopup.store import events as events_log

STREAK_WINDOW = 100
STREAK_FAIL = 3
FAILED_24H_FAIL = 10
UNUSED_SECRET_DAYS = 7
REPLAY_FIX = (
    "see `stripetopup events --failed` for the errors, fix the cause, "
    "then `stripetopup replay --failed`"
)


# Settings -------------------------------------------------------------------------------
# Refused settings with a check of their own below; any other gets a "setting" line.
_OWN_CHECK = {"STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET", "STRIPE_CURRENCY"}


def settings_checks(settings: Settings) -> list[Check]:
    return [
        stripe_key(settings),
        webhook_secrets(settings),
        currency(settings),
        allowed_origins(settings),
        *refused_settings(settings),
    ]


def _invalid(name: str, variable: str, why: str) -> Check:
    return fail(
        name, f"{variable} is invalid: {why}", f"correct {variable} in .env or the environment"
    )


def refused_settings(settings: Settings) -> list[Check]:
    """One failed check per refused setting (doctor loads settings with keep_going)."""
    return [
        _invalid(variable, variable, why)
        for variable, why in settings.problems.items()
        if variable not in _OWN_CHECK
    ]


def currency(settings: Settings) -> Check:
    if "STRIPE_CURRENCY" in settings.problems:
        return _invalid("currency", "STRIPE_CURRENCY", settings.problems["STRIPE_CURRENCY"])
    return ok("currency", f"{settings.stripe_currency} (only this currency is credited)")


def stripe_key(settings: Settings) -> Check:
    if "STRIPE_SECRET_KEY" in settings.problems:
        return _invalid("stripe key", "STRIPE_SECRET_KEY", settings.problems["STRIPE_SECRET_KEY"])
    if settings.stripe_secret_key is None:
        return fail(
            "stripe key",
            "STRIPE_SECRET_KEY is not set",
            "set STRIPE_SECRET_KEY to a restricted key (rk_...) or secret key (sk_...)",
        )
    kind = "restricted key (rk_)" if settings.is_restricted_key else "secret key (sk_)"
    mode = "live" if settings.livemode else "test"
    where = f", API at {settings.stripe_api_base}" if settings.stripe_api_base else ""
    return ok("stripe key", f"{mode}-mode {kind}{where}")


def webhook_secrets(settings: Settings) -> Check:
    if "STRIPE_WEBHOOK_SECRET" in settings.problems:
        why = settings.problems["STRIPE_WEBHOOK_SECRET"]
        return _invalid("webhook secrets", "STRIPE_WEBHOOK_SECRET", why)
    secrets = settings.webhook_secrets
    if not secrets:
        return fail(
            "webhook secrets",
            "STRIPE_WEBHOOK_SECRET is not set",
            "set STRIPE_WEBHOOK_SECRET to the endpoint's signing secret (whsec_...)",
        )
    labels = ", ".join(secret.label for secret in secrets)
    noun = "secret" if len(secrets) == 1 else "secrets"
    return ok("webhook secrets", f"{len(secrets)} {noun} (labels: {labels})")


def allowed_origins(settings: Settings) -> Check:
    origins = settings.allowed_frontend_origins
    if not origins:
        return warn(
            "allowed origins",
            "ALLOWED_FRONTEND_ORIGINS is empty: browsers cannot create checkout sessions",
            "set ALLOWED_FRONTEND_ORIGINS to your frontend's origin, like https://app.example.com",
        )
    return ok("allowed origins", ", ".join(origins))


# Database -------------------------------------------------------------------------------
def database_checks(ctx: Context) -> tuple[list[Check], bool]:
    """Reachable, migrated, balances equal entries; and whether the log may be queried."""
    if "DATABASE_URL" in ctx.settings.problems:
        return [fail("database", "not checked: DATABASE_URL is invalid", None)], False
    dialect = ctx.engine.dialect.name
    new_file = _new_sqlite_file(ctx)
    if new_file is not None:  # connecting would create it; the first real command will
        return [ok("database", f"{new_file} does not exist yet: created on first use")], False
    try:
        check_connection(ctx.engine)
        revision = schema.current_revision(ctx.engine)
    except DatabaseError as exc:
        fix = "check DATABASE_URL and that the database server is running"
        return [fail("database", exc.message, fix)], False
    checks = [ok("database", f"reachable ({dialect})")]
    if revision != schema.HEAD_REVISION:
        found = revision or "an empty database"
        message = f"schema is at {found}, this version needs {schema.HEAD_REVISION}"
        checks.append(fail("database schema", message, "run `stripetopup db upgrade`"))
        return checks, False
    checks.append(ok("database schema", f"at {revision}"))
    checks.append(ledger_balances(ctx))
    return checks, True


def _new_sqlite_file(ctx: Context) -> str | None:
    """The SQLite file DATABASE_URL names, when it does not exist yet."""
    url = ctx.engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    path = os.path.abspath(str(url.database))
    return None if os.path.exists(path) else f"SQLite file {path}"


def ledger_balances(ctx: Context) -> Check:
    with Session(ctx.engine) as session:
        mismatches = ledger.verify_balances(session)
    if not mismatches:
        return ok("ledger balances", "every cached balance equals the sum of its entries")
    shown = "; ".join(
        f"{m.account_id}: balance {m.cached_cents}, entries sum {m.entries_cents}"
        for m in mismatches[:5]
    )
    more = f" (and {len(mismatches) - 5} more)" if len(mismatches) > 5 else ""
    return fail(
        "ledger balances",
        f"{len(mismatches)} account(s) differ from their entries: {shown}{more}",
        "run `stripetopup ledger verify` and investigate before moving more money",
    )


# The event log --------------------------------------------------------------------------
def failure_streak(ctx: Context, now: datetime | None = None) -> Check:
    """Consecutive most recent failures and failures in the last 24 h (doctor pings excluded)."""
    now = now or utcnow()
    with Session(ctx.engine) as session:
        outcomes = event_health.recent_outcomes(
            session, limit=STREAK_WINDOW, exclude_types=[PING_TYPE]
        )
        last_day = event_health.failed_since(
            session, now - timedelta(hours=24), exclude_types=[PING_TYPE]
        )
    streak = next((i for i, o in enumerate(outcomes) if o != events_log.FAILED), len(outcomes))
    shown = f"{streak}+" if streak == STREAK_WINDOW else str(streak)
    message = f"{shown} most recent event(s) failed in a row; {last_day} failed in the last 24 h"
    if streak >= STREAK_FAIL or last_day >= FAILED_24H_FAIL:
        return fail(
            "event failures", message + ": Stripe disables endpoints that keep failing", REPLAY_FIX
        )
    if streak or last_day:
        return warn("event failures", message, REPLAY_FIX)
    return ok("event failures", "no failed events in the last 24 h, and the latest did not fail")


def secret_rotation(ctx: Context, now: datetime | None = None) -> list[Check]:
    """One line per labelled secret: when it last matched an event (doctor pings excluded)."""
    labels = [secret.label for secret in ctx.settings.webhook_secrets]
    if not labels:
        return []
    with Session(ctx.engine) as session:
        last = event_health.last_matched_by_label(session, exclude_types=[PING_TYPE])
    return rotation_checks(labels, last, now or utcnow())


def rotation_checks(labels: Sequence[str], last: dict[str, datetime], now: datetime) -> list[Check]:
    cutoff = now - timedelta(days=UNUSED_SECRET_DAYS)
    recent = [label for label in labels if label in last and last[label] >= cutoff]
    return [_rotation_check(label, labels, last, recent) for label in labels]


def _rotation_check(
    label: str, labels: Sequence[str], last: dict[str, datetime], recent: list[str]
) -> Check:
    name = f"secret '{label}'"
    when = last.get(label)
    seen = (
        f"last matched an event at {when:%Y-%m-%d %H:%M} UTC" if when else "never matched an event"
    )
    others = [other for other in recent if other != label]
    if label in recent or not others:
        return ok(name, seen)
    in_use = ", ".join(f"'{other}'" for other in others)
    if when is None and label == labels[-1]:
        return warn(
            name,
            f"{seen} while {in_use} did: Stripe may not be signing with this (newest) secret yet",
            "check that this is the whsec_ the Stripe dashboard shows for the endpoint; "
            "during a roll it starts matching once the old secret expires",
        )
    return warn(
        name,
        f"{seen}; {in_use} matched in the last {UNUSED_SECRET_DAYS} days: "
        "it can probably be removed",
        f"remove '{label}:whsec_...' from STRIPE_WEBHOOK_SECRET and restart the server",
    )
