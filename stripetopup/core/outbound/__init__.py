"""The outbound room: events for the host application, and their delivery.

Endpoints (``endpoints``, URL and filter checks in ``urls``), Standard Webhooks signing
(``signing``), one attempt (``delivery``), the retry schedule (``schedule``), fan-out from
the outbox (``fanout``), the worker (``worker``), deliveries and retries (``history``), and
their answers (``hook_types``).

May import stripetopup.core.context and the layers below core; no other room.
"""
