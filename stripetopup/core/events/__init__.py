"""The events room: a Stripe event's whole path (intake, process, registry -> handlers,
the one exactly-once credit of a session, refund and dispute handlers (of a session's
payment or of an auto-recharge charge), replay, audit line, the event log) and its types.
See docs/architecture.md.

May import the ledger, outbound and recharge rooms, stripetopup.core.context and the layers
below core.
"""
