"""Outbound events: what stripetopup tells the host application.

The catalogue of event types (``catalogue``), writing one into the outbox in the caller's
transaction (``emit``), the ledger posting that emits ``balance.credited``/``debited``
(``posting``), low-balance thresholds and their once-per-crossing flag (``thresholds``),
the pull feed (``feed``) and the JSON Schemas (``schemas``), with their answers in
``types``. Delivering events to the host's webhook endpoints belongs in this room too.

May import ``core.context`` and ``core.answers`` of the core, and store, db, models,
errors, ids, money and dates; no other room (the ledger, spending, events and payments
rooms import this one to emit).
"""
