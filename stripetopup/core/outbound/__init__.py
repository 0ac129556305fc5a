"""Outbound events: what stripetopup tells the host application, and their delivery.

The catalogue of event types (``catalogue``), writing one into the outbox in the caller's
transaction (``emit``), the ledger posting that emits ``balance.credited``/``debited``
(``posting``), low-balance thresholds and their once-per-crossing flag (``thresholds``),
the pull feed (``feed``) and the JSON Schemas (``schemas``), with their answers in
``types``. Delivering events to the host's webhook endpoints belongs in this room too.

Delivery to the host's webhook endpoints: endpoints (``endpoints``; URL and filter checks
in ``urls``), Standard Webhooks signing (``signing``), one attempt (``delivery``), the retry
schedule (``schedule``), fan-out from the outbox (``fanout``), the worker (``worker``),
deliveries and retries (``history``), with their answers in ``hook_types``.

May import ``core.context`` and ``core.answers`` of the core, and store, db, models,
errors, ids, money, dates and redact (delivery also httpx and standardwebhooks); no other
room (the ledger, spending, events and payments rooms import this one to emit).
"""
