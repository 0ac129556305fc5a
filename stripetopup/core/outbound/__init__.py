"""Outbound events: what stripetopup tells the host application.

The catalogue of event types (``catalogue``), writing one into the outbox in the caller's
transaction (``emit``), the ledger posting that emits ``balance.credited``/``debited``
(``posting``), low-balance thresholds and their once-per-crossing flag (``thresholds``),
and the pull feed (``feed``), with their answers in ``types``.

May import ``core.context`` and ``core.answers`` of the core, and store, db, models,
errors, ids, money and dates; no other room (the ledger, spending, events and payments
rooms import this one to emit).
"""
