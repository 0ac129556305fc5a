"""The SQL text of :mod:`stripetopup.store.balances`' statements, compiled per dialect, as
constants: what ``stripetopup balance`` runs on the driver itself
(:mod:`stripetopup.store.driver_balances`).

Why constants: building and compiling the statements needs sqlalchemy, and importing it
(with its PostgreSQL dialect) cost ``stripetopup balance`` more than half its start-up.
The statements in ``store.balances`` stay the one source: these are exactly their text as
``store.credit_statements.DIALECTS`` compiles them (named parameters on both drivers), with
the values the statements bind themselves and the names of their UTC timestamp parameters
(whose bind processor the driver reads apply). ``tests/test_driver_reads.py`` compiles the
statements and asserts equality, so the two cannot drift; when a statement changes,
``python -m tests.support.balance_sql`` prints these constants anew.

A leaf of the store: imports nothing (no sqlalchemy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Compiled:
    """One statement's compiled text for a dialect, what it binds itself, and which of its
    parameters are UTC timestamps."""

    sql: str
    defaults: Mapping[str, object]
    timestamps: tuple[str, ...] = field(default=())


SQLITE: dict[str, Compiled] = {
    "account": Compiled(
        (
            "SELECT accounts.id, accounts.account_id, accounts.balance_cents, "
            "accounts.low_balance_threshold_cents, accounts.below_threshold \n"
            "FROM accounts \n"
            "WHERE accounts.account_id = :account_id"
        ),
        {},
    ),
    "live": Compiled(
        (
            "SELECT credit_grants.category, credit_grants.remaining_cents, "
            "credit_grants.expires_at \n"
            "FROM credit_grants \n"
            "WHERE credit_grants.account_pk = :account_pk AND credit_grants.status = "
            ":status_1 AND credit_grants.remaining_cents > :remaining_cents_1"
        ),
        {"status_1": "live", "remaining_cents_1": 0},
    ),
    "deficit": Compiled(
        (
            "SELECT (SELECT coalesce(sum(grant_draws.amount_cents), :coalesce_2) AS "
            "coalesce_1 \n"
            "FROM grant_draws \n"
            "WHERE grant_draws.account_pk = :account_pk AND grant_draws.grant_pk IS NULL) AS "
            "anon_1"
        ),
        {"coalesce_2": 0},
    ),
    "held": Compiled(
        (
            "SELECT (SELECT coalesce(sum(holds.amount_cents - holds.captured_cents), "
            ":coalesce_2) AS coalesce_1 \n"
            "FROM holds \n"
            "WHERE holds.account_pk = :account_pk AND holds.status = :status_1 AND "
            "holds.expires_at > :now) AS anon_1"
        ),
        {"coalesce_2": 0, "status_1": "open"},
        ("now",),
    ),
    "drawable_total": Compiled(
        (
            "SELECT coalesce(sum(credit_grants.remaining_cents - coalesce(anon_1.reserved, "
            ":coalesce_2)), :coalesce_3) AS coalesce_1 \n"
            "FROM credit_grants LEFT OUTER JOIN (SELECT grant_reservations.grant_pk AS "
            "grant_pk, sum(grant_reservations.amount_cents) AS reserved \n"
            "FROM grant_reservations JOIN holds ON holds.id = grant_reservations.hold_pk \n"
            "WHERE holds.status = :status_1 AND holds.expires_at > :now AND "
            "grant_reservations.hold_pk != :except_hold GROUP BY grant_reservations.grant_pk) "
            "AS anon_1 ON anon_1.grant_pk = credit_grants.id \n"
            "WHERE credit_grants.account_pk = :account_pk AND credit_grants.status = "
            ":status_2 AND credit_grants.remaining_cents > :remaining_cents_1 AND "
            "credit_grants.effective_at <= :now AND (credit_grants.expires_at IS NULL OR "
            "credit_grants.expires_at > :now) AND credit_grants.remaining_cents - "
            "coalesce(anon_1.reserved, :coalesce_2) > :param_1"
        ),
        {
            "coalesce_2": 0,
            "coalesce_3": 0,
            "status_1": "open",
            "status_2": "live",
            "remaining_cents_1": 0,
            "param_1": 0,
        },
        ("now",),
    ),
    "listing": Compiled(
        (
            "SELECT accounts.account_id, accounts.balance_cents \n"
            "FROM accounts ORDER BY accounts.account_id\n"
            " LIMIT :limit OFFSET :param_1"
        ),
        {"param_1": 0},
    ),
}
POSTGRESQL: dict[str, Compiled] = {
    "account": Compiled(
        (
            "SELECT accounts.id, accounts.account_id, accounts.balance_cents, "
            "accounts.low_balance_threshold_cents, accounts.below_threshold \n"
            "FROM accounts \n"
            "WHERE accounts.account_id = %(account_id)s::VARCHAR"
        ),
        {},
    ),
    "live": Compiled(
        (
            "SELECT credit_grants.category, credit_grants.remaining_cents, "
            "credit_grants.expires_at \n"
            "FROM credit_grants \n"
            "WHERE credit_grants.account_pk = %(account_pk)s::INTEGER AND "
            "credit_grants.status = %(status_1)s::VARCHAR AND credit_grants.remaining_cents > "
            "%(remaining_cents_1)s::BIGINT"
        ),
        {"status_1": "live", "remaining_cents_1": 0},
    ),
    "deficit": Compiled(
        (
            "SELECT (SELECT coalesce(sum(grant_draws.amount_cents), %(coalesce_2)s::INTEGER) "
            "AS coalesce_1 \n"
            "FROM grant_draws \n"
            "WHERE grant_draws.account_pk = %(account_pk)s::INTEGER AND grant_draws.grant_pk "
            "IS NULL) AS anon_1"
        ),
        {"coalesce_2": 0},
    ),
    "held": Compiled(
        (
            "SELECT (SELECT coalesce(sum(holds.amount_cents - holds.captured_cents), "
            "%(coalesce_2)s::INTEGER) AS coalesce_1 \n"
            "FROM holds \n"
            "WHERE holds.account_pk = %(account_pk)s::INTEGER AND holds.status = "
            "%(status_1)s::VARCHAR AND holds.expires_at > %(now)s::TIMESTAMP WITH TIME ZONE) "
            "AS anon_1"
        ),
        {"coalesce_2": 0, "status_1": "open"},
        ("now",),
    ),
    "drawable_total": Compiled(
        (
            "SELECT coalesce(sum(credit_grants.remaining_cents - coalesce(anon_1.reserved, "
            "%(coalesce_2)s::INTEGER)), %(coalesce_3)s::INTEGER) AS coalesce_1 \n"
            "FROM credit_grants LEFT OUTER JOIN (SELECT grant_reservations.grant_pk AS "
            "grant_pk, sum(grant_reservations.amount_cents) AS reserved \n"
            "FROM grant_reservations JOIN holds ON holds.id = grant_reservations.hold_pk \n"
            "WHERE holds.status = %(status_1)s::VARCHAR AND holds.expires_at > "
            "%(now)s::TIMESTAMP WITH TIME ZONE AND grant_reservations.hold_pk != "
            "%(except_hold)s::INTEGER GROUP BY grant_reservations.grant_pk) AS anon_1 ON "
            "anon_1.grant_pk = credit_grants.id \n"
            "WHERE credit_grants.account_pk = %(account_pk)s::INTEGER AND "
            "credit_grants.status = %(status_2)s::VARCHAR AND credit_grants.remaining_cents > "
            "%(remaining_cents_1)s::BIGINT AND credit_grants.effective_at <= "
            "%(now)s::TIMESTAMP WITH TIME ZONE AND (credit_grants.expires_at IS NULL OR "
            "credit_grants.expires_at > %(now)s::TIMESTAMP WITH TIME ZONE) AND "
            "credit_grants.remaining_cents - coalesce(anon_1.reserved, "
            "%(coalesce_2)s::INTEGER) > %(param_1)s::BIGINT"
        ),
        {
            "coalesce_2": 0,
            "coalesce_3": 0,
            "status_1": "open",
            "status_2": "live",
            "remaining_cents_1": 0,
            "param_1": 0,
        },
        ("now",),
    ),
    "listing": Compiled(
        (
            "SELECT accounts.account_id, accounts.balance_cents \n"
            "FROM accounts ORDER BY accounts.account_id \n"
            " LIMIT %(limit)s"
        ),
        {},
    ),
}

BY_DIALECT: dict[str, dict[str, Compiled]] = {"sqlite": SQLITE, "postgresql": POSTGRESQL}
