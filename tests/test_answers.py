# ruff: noqa: E501  (the expected JSON is kept on one line a sample, as it is printed)
"""Every answer's JSON is byte-for-byte what it was before answers became pydantic models.

The expected strings were printed by the hand-written ``to_json()`` methods these models
replaced: same keys, same order, same formats (ISO times with ``+00:00``, ``"5.00"`` strings).
Fields added since (the balance's credit grants, issue 14, and its low-balance threshold and
flag, issue 13) are pinned here too; a host reading the old keys sees them unchanged.
No database: the answers are built from values, the way the core builds them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from stripetopup.core.auth.types import Credential
from stripetopup.core.checkout.types import CheckoutLink
from stripetopup.core.doctor.types import Check, DoctorReport
from stripetopup.core.events.types import EventOutcome, EventRecord, ReplayBatch
from stripetopup.core.ledger.types import (
    Balance,
    BalanceDifference,
    Entry,
    LedgerVerification,
    OpenedAccount,
    Posted,
)
from stripetopup.core.payments.types import Decision, Payment, PaymentDetail, Resolution
from stripetopup.core.reconcile.types import Difference, ReconcileReport
from stripetopup.core.spending.types import HoldChange, HoldView, Spent

T = datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=UTC)
T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
BAL = Balance("acct_é", 1250, 300, "usd")
ENTRY = Entry(
    7,
    "acct_é",
    -505,
    "usd",
    "debit",
    "manual:k1",
    745,
    "café ☕",
    "cli:ops",
    "cs_1",
    "pi_1",
    "evt_1",
    T,
)
ENTRY2 = Entry(
    8,
    "u2",
    500,
    "usd",
    "credit",
    "checkout_session:cs_2",
    500,
    None,
    "webhook",
    None,
    None,
    None,
    T0,
)
PAY = Payment(
    "cs_1", "acct_é", 500, 505, "usd", "complete", "paid", "credited", None, False, "pi_1", 7, T
)
PAY2 = Payment(
    "cs_2",
    None,
    None,
    None,
    "eur",
    "open",
    "unpaid",
    "attention",
    "unknown account",
    True,
    None,
    None,
    T0,
    "cli:ops",
    T,
    "assigned",
)
HOLD = HoldView(
    "hold_" + "a" * 24, "acct_é", 250, 100, "usd", "open", "lunch", "service:app", T, T0, None
)
HOLD2 = HoldView(
    "hold_" + "b" * 24, "u2", 250, 250, "usd", "captured", None, "service:app", T, T0, T
)
DIFF = Difference(
    "paid_not_credited",
    "cs_1",
    "acct_é",
    505,
    None,
    "usd",
    "paid on Stripe",
    "reconcile --fix",
    "pi_1",
    True,
    "credited",
)
DIFF2 = Difference("amount_mismatch", "cs_2", None, None, 500, "usd", "x", "look", None)
OUT = EventOutcome("evt_1", "checkout.session.completed", "credited", "ok", "acct_é", 505, 7, False)
OUT2 = EventOutcome("evt_2", "charge.refunded", "ignored", "why")
REC = EventRecord(
    "evt_1",
    "checkout.session.completed",
    "credited",
    None,
    2,
    "primary",
    False,
    T,
    T0,
    '{"id": "evt_1", "n": [1, 2]}',
    1,
)
REC2 = EventRecord("evt_2", "x", None, "boom", 1, None, True, T0, None, "{not json", 0)
CRED = Credential("tok_abc", "user", "acct_é", T, None, None)
CRED2 = Credential("stk_abc", "service", "app", T0, T, T)


SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "balance": lambda: BAL.to_json(),
    "opened_account": lambda: OpenedAccount(BAL, True).to_json(),
    "entry": lambda: ENTRY.to_json(),
    "entry_bare": lambda: ENTRY2.to_json(),
    "posted": lambda: Posted(ENTRY, True).to_json(),
    "posted_again": lambda: Posted(ENTRY2, False).to_json(),
    "checkout_link": lambda: CheckoutLink(
        "cs_1", "https://checkout/x", "acct_é", 505, "usd"
    ).to_json(),
    "payment": lambda: PAY.to_json(),
    "payment_resolved": lambda: PAY2.to_json(),
    "event_outcome": lambda: OUT.to_json(),
    "event_outcome_bare": lambda: OUT2.to_json(),
    "event_record": lambda: REC.to_json(),
    "event_record_payload": lambda: REC.to_json(with_payload=True),
    "event_record_bad_payload": lambda: REC2.to_json(with_payload=True),
    "credential": lambda: CRED.to_json(),
    "credential_revoked": lambda: CRED2.to_json(),
    "resolution": lambda: Resolution(
        "assigned", True, PAY, 7, 505, (("refund:re_1", -100), ("dispute:du_1", -5)), 400
    ).to_json(),
    "resolution_bare": lambda: Resolution("dismissed", False, PAY2).to_json(),
    "payment_detail": lambda: PaymentDetail(
        PAY2,
        (
            Decision("dismissed", False, None, "cli:ops", "spam", T0),
            Decision("assigned", True, "acct_é", "cli:x", "ok", T),
        ),
    ).to_json(),
    "ledger_verification": lambda: LedgerVerification(
        3, (BalanceDifference("acct_é", 500, 450),)
    ).to_json(),
    "ledger_verification_ok": lambda: LedgerVerification(0, ()).to_json(),
    "spent": lambda: Spent(ENTRY, True).to_json(),
    "hold": lambda: HOLD.to_json(),
    "hold_captured": lambda: HOLD2.to_json(),
    "hold_change": lambda: HoldChange(HOLD, True).to_json(),
    "hold_change_entry": lambda: HoldChange(HOLD2, False, ENTRY).to_json(),
    "difference": lambda: DIFF.to_json(),
    "difference_bare": lambda: DIFF2.to_json(),
    "reconcile_report": lambda: ReconcileReport(
        T0, T, True, 12, 2, {"amount_mismatch": 1, "paid_not_credited": 1}, 1, 1, (DIFF, DIFF2)
    ).to_json(),
    "reconcile_summary": lambda: ReconcileReport(T0, T, False, 0, 1, {}, 0, 0).summary_json(),
    "replay_batch": lambda: ReplayBatch(
        (OUT, OUT2, EventOutcome("evt_3", "t", "failed", "x"))
    ).to_json(),
    "replay_batch_empty": lambda: ReplayBatch(()).to_json(),
    "check": lambda: Check("database", "warn", "slow", "fix it").to_json(),
    "doctor_report": lambda: DoctorReport(
        (Check("a", "ok", "fine"), Check("b", "fail", "bad", "do x"))
    ).to_json(),
}

TODAY = {
    "balance": '{"account_id":"acct_é","balance_cents":1250,"balance":"12.50","paid_cents":0,"promotional_cents":0,"deficit_cents":0,"held_cents":300,"available_cents":950,"available":"9.50","next_expiry":null,"currency":"usd","low_balance_threshold_cents":null,"below_threshold":false}',
    "opened_account": '{"account_id":"acct_é","balance_cents":1250,"balance":"12.50","paid_cents":0,"promotional_cents":0,"deficit_cents":0,"held_cents":300,"available_cents":950,"available":"9.50","next_expiry":null,"currency":"usd","low_balance_threshold_cents":null,"below_threshold":false,"created":true}',
    "entry": '{"id":7,"account_id":"acct_é","amount_cents":-505,"currency":"usd","kind":"debit","source":"manual:k1","balance_after_cents":745,"reason":"café ☕","actor":"cli:ops","checkout_session_id":"cs_1","payment_intent_id":"pi_1","event_id":"evt_1","created_at":"2026-03-04T05:06:07.890123+00:00","amount":"-5.05","balance_after":"7.45"}',
    "entry_bare": '{"id":8,"account_id":"u2","amount_cents":500,"currency":"usd","kind":"credit","source":"checkout_session:cs_2","balance_after_cents":500,"reason":null,"actor":"webhook","checkout_session_id":null,"payment_intent_id":null,"event_id":null,"created_at":"2026-03-04T05:06:07+00:00","amount":"5.00","balance_after":"5.00"}',
    "posted": '{"status":"applied","entry":{"id":7,"account_id":"acct_é","amount_cents":-505,"currency":"usd","kind":"debit","source":"manual:k1","balance_after_cents":745,"reason":"café ☕","actor":"cli:ops","checkout_session_id":"cs_1","payment_intent_id":"pi_1","event_id":"evt_1","created_at":"2026-03-04T05:06:07.890123+00:00","amount":"-5.05","balance_after":"7.45"},"balance_cents":745,"balance":"7.45"}',
    "posted_again": '{"status":"already_applied","entry":{"id":8,"account_id":"u2","amount_cents":500,"currency":"usd","kind":"credit","source":"checkout_session:cs_2","balance_after_cents":500,"reason":null,"actor":"webhook","checkout_session_id":null,"payment_intent_id":null,"event_id":null,"created_at":"2026-03-04T05:06:07+00:00","amount":"5.00","balance_after":"5.00"},"balance_cents":500,"balance":"5.00"}',
    "checkout_link": '{"id":"cs_1","url":"https://checkout/x","account_id":"acct_é","amount_cents":505,"amount":"5.05","currency":"usd"}',
    "payment": '{"checkout_session_id":"cs_1","account_id":"acct_é","amount_requested_cents":500,"amount_total_cents":505,"currency":"usd","status":"complete","payment_status":"paid","state":"credited","attention_reason":null,"livemode":false,"payment_intent_id":"pi_1","credited_entry_id":7,"created_at":"2026-03-04T05:06:07.890123+00:00","resolved_by":null,"resolved_at":null,"resolution":null,"amount_total":"5.05"}',
    "payment_resolved": '{"checkout_session_id":"cs_2","account_id":null,"amount_requested_cents":null,"amount_total_cents":null,"currency":"eur","status":"open","payment_status":"unpaid","state":"attention","attention_reason":"unknown account","livemode":true,"payment_intent_id":null,"credited_entry_id":null,"created_at":"2026-03-04T05:06:07+00:00","resolved_by":"cli:ops","resolved_at":"2026-03-04T05:06:07.890123+00:00","resolution":"assigned","amount_total":null}',
    "event_outcome": '{"event_id":"evt_1","event_type":"checkout.session.completed","result":"credited","detail":"ok","account_id":"acct_é","amount_cents":505,"entry_id":7,"dry_run":false,"amount":"5.05"}',
    "event_outcome_bare": '{"event_id":"evt_2","event_type":"charge.refunded","result":"ignored","detail":"why","account_id":null,"amount_cents":null,"entry_id":null,"dry_run":false}',
    "event_record": '{"event_id":"evt_1","type":"checkout.session.completed","outcome":"credited","error":null,"attempts":2,"secret_label":"primary","livemode":false,"received_at":"2026-03-04T05:06:07.890123+00:00","processed_at":"2026-03-04T05:06:07+00:00","replays":1}',
    "event_record_payload": '{"event_id":"evt_1","type":"checkout.session.completed","outcome":"credited","error":null,"attempts":2,"secret_label":"primary","livemode":false,"received_at":"2026-03-04T05:06:07.890123+00:00","processed_at":"2026-03-04T05:06:07+00:00","payload":{"id":"evt_1","n":[1,2]},"replays":1}',
    "event_record_bad_payload": '{"event_id":"evt_2","type":"x","outcome":null,"error":"boom","attempts":1,"secret_label":null,"livemode":true,"received_at":"2026-03-04T05:06:07+00:00","processed_at":null,"payload":"{not json","replays":0}',
    "credential": '{"id":"tok_abc","kind":"user","subject":"acct_é","created_at":"2026-03-04T05:06:07.890123+00:00","last_used_at":null,"revoked_at":null,"active":true}',
    "credential_revoked": '{"id":"stk_abc","kind":"service","subject":"app","created_at":"2026-03-04T05:06:07+00:00","last_used_at":"2026-03-04T05:06:07.890123+00:00","revoked_at":"2026-03-04T05:06:07.890123+00:00","active":false}',
    "resolution": '{"action":"assigned","status":"applied","payment":{"checkout_session_id":"cs_1","account_id":"acct_é","amount_requested_cents":500,"amount_total_cents":505,"currency":"usd","status":"complete","payment_status":"paid","state":"credited","attention_reason":null,"livemode":false,"payment_intent_id":"pi_1","credited_entry_id":7,"created_at":"2026-03-04T05:06:07.890123+00:00","resolved_by":null,"resolved_at":null,"resolution":null,"amount_total":"5.05"},"entry_id":7,"amount_cents":505,"reversals":[{"source":"refund:re_1","amount_cents":-100},{"source":"dispute:du_1","amount_cents":-5}],"balance_cents":400,"balance":"4.00"}',
    "resolution_bare": '{"action":"dismissed","status":"already_applied","payment":{"checkout_session_id":"cs_2","account_id":null,"amount_requested_cents":null,"amount_total_cents":null,"currency":"eur","status":"open","payment_status":"unpaid","state":"attention","attention_reason":"unknown account","livemode":true,"payment_intent_id":null,"credited_entry_id":null,"created_at":"2026-03-04T05:06:07+00:00","resolved_by":"cli:ops","resolved_at":"2026-03-04T05:06:07.890123+00:00","resolution":"assigned","amount_total":null},"entry_id":null,"amount_cents":null,"reversals":[],"balance_cents":null,"balance":null}',
    "payment_detail": '{"checkout_session_id":"cs_2","account_id":null,"amount_requested_cents":null,"amount_total_cents":null,"currency":"eur","status":"open","payment_status":"unpaid","state":"attention","attention_reason":"unknown account","livemode":true,"payment_intent_id":null,"credited_entry_id":null,"created_at":"2026-03-04T05:06:07+00:00","resolved_by":"cli:ops","resolved_at":"2026-03-04T05:06:07.890123+00:00","resolution":"assigned","amount_total":null,"history":[{"action":"dismissed","forced":false,"account_id":null,"actor":"cli:ops","reason":"spam","at":"2026-03-04T05:06:07+00:00"},{"action":"assigned","forced":true,"account_id":"acct_é","actor":"cli:x","reason":"ok","at":"2026-03-04T05:06:07.890123+00:00"}]}',
    "ledger_verification": '{"ok":false,"accounts":3,"differences":[{"account_id":"acct_é","balance_cents":500,"entries_cents":450,"difference_cents":50,"difference":"0.50"}],"grant_problems":[]}',
    "ledger_verification_ok": '{"ok":true,"accounts":0,"differences":[],"grant_problems":[]}',
    "spent": '{"object":"debit","account_id":"acct_é","amount_cents":505,"amount":"5.05","currency":"usd","balance_after_cents":745,"balance_after":"7.45","entry":{"id":7,"account_id":"acct_é","amount_cents":-505,"currency":"usd","kind":"debit","source":"manual:k1","balance_after_cents":745,"reason":"café ☕","actor":"cli:ops","checkout_session_id":"cs_1","payment_intent_id":"pi_1","event_id":"evt_1","created_at":"2026-03-04T05:06:07.890123+00:00","amount":"-5.05","balance_after":"7.45"}}',
    "hold": '{"object":"hold","id":"hold_aaaaaaaaaaaaaaaaaaaaaaaa","account_id":"acct_é","status":"open","amount_cents":250,"amount":"2.50","captured_cents":100,"held_cents":150,"currency":"usd","reason":"lunch","expires_at":"2026-03-04T05:06:07.890123+00:00","created_at":"2026-03-04T05:06:07+00:00","closed_at":null}',
    "hold_captured": '{"object":"hold","id":"hold_bbbbbbbbbbbbbbbbbbbbbbbb","account_id":"u2","status":"captured","amount_cents":250,"amount":"2.50","captured_cents":250,"held_cents":0,"currency":"usd","reason":null,"expires_at":"2026-03-04T05:06:07.890123+00:00","created_at":"2026-03-04T05:06:07+00:00","closed_at":"2026-03-04T05:06:07.890123+00:00"}',
    "hold_change": '{"object":"hold","id":"hold_aaaaaaaaaaaaaaaaaaaaaaaa","account_id":"acct_é","status":"open","amount_cents":250,"amount":"2.50","captured_cents":100,"held_cents":150,"currency":"usd","reason":"lunch","expires_at":"2026-03-04T05:06:07.890123+00:00","created_at":"2026-03-04T05:06:07+00:00","closed_at":null}',
    "hold_change_entry": '{"object":"hold","id":"hold_bbbbbbbbbbbbbbbbbbbbbbbb","account_id":"u2","status":"captured","amount_cents":250,"amount":"2.50","captured_cents":250,"held_cents":0,"currency":"usd","reason":null,"expires_at":"2026-03-04T05:06:07.890123+00:00","created_at":"2026-03-04T05:06:07+00:00","closed_at":"2026-03-04T05:06:07.890123+00:00","entry":{"id":7,"account_id":"acct_é","amount_cents":-505,"currency":"usd","kind":"debit","source":"manual:k1","balance_after_cents":745,"reason":"café ☕","actor":"cli:ops","checkout_session_id":"cs_1","payment_intent_id":"pi_1","event_id":"evt_1","created_at":"2026-03-04T05:06:07.890123+00:00","amount":"-5.05","balance_after":"7.45"}}',
    "difference": '{"kind":"paid_not_credited","checkout_session_id":"cs_1","account_id":"acct_é","amount_cents":505,"local_cents":null,"currency":"usd","detail":"paid on Stripe","fix":"reconcile --fix","payment_intent_id":"pi_1","fixed":true,"action":"credited","fixable":true,"amount":"5.05","local":null}',
    "difference_bare": '{"kind":"amount_mismatch","checkout_session_id":"cs_2","account_id":null,"amount_cents":null,"local_cents":500,"currency":"usd","detail":"x","fix":"look","payment_intent_id":null,"fixed":false,"action":null,"fixable":false,"amount":null,"local":"5.00"}',
    "reconcile_report": '{"summary":{"since":"2026-03-04T05:06:07+00:00","until":"2026-03-04T05:06:07.890123+00:00","fix":true,"sessions":12,"payment_intents":0,"pages":2,"differences":2,"fixed":1,"remaining":1,"grant_problems":0,"by_kind":{"paid_not_credited":1,"refund_not_debited":0,"dispute_not_debited":0,"credited_not_paid":0,"amount_mismatch":1,"currency_mismatch":0,"livemode_mismatch":0,"unknown_account":0,"unknown_attempt":0,"pending_too_long":0,"unknown_to_stripe":0}},"items":[{"kind":"paid_not_credited","checkout_session_id":"cs_1","account_id":"acct_é","amount_cents":505,"local_cents":null,"currency":"usd","detail":"paid on Stripe","fix":"reconcile --fix","payment_intent_id":"pi_1","fixed":true,"action":"credited","fixable":true,"amount":"5.05","local":null},{"kind":"amount_mismatch","checkout_session_id":"cs_2","account_id":null,"amount_cents":null,"local_cents":500,"currency":"usd","detail":"x","fix":"look","payment_intent_id":null,"fixed":false,"action":null,"fixable":false,"amount":null,"local":"5.00"}]}',
    "reconcile_summary": '{"since":"2026-03-04T05:06:07+00:00","until":"2026-03-04T05:06:07.890123+00:00","fix":false,"sessions":0,"payment_intents":0,"pages":1,"differences":0,"fixed":0,"remaining":0,"grant_problems":0,"by_kind":{"paid_not_credited":0,"refund_not_debited":0,"dispute_not_debited":0,"credited_not_paid":0,"amount_mismatch":0,"currency_mismatch":0,"livemode_mismatch":0,"unknown_account":0,"unknown_attempt":0,"pending_too_long":0,"unknown_to_stripe":0}}',
    "replay_batch": '{"summary":{"events":3,"by_result":{"credited":1,"ignored":1,"failed":1}},"items":[{"event_id":"evt_1","event_type":"checkout.session.completed","result":"credited","detail":"ok","account_id":"acct_é","amount_cents":505,"entry_id":7,"dry_run":false,"amount":"5.05"},{"event_id":"evt_2","event_type":"charge.refunded","result":"ignored","detail":"why","account_id":null,"amount_cents":null,"entry_id":null,"dry_run":false},{"event_id":"evt_3","event_type":"t","result":"failed","detail":"x","account_id":null,"amount_cents":null,"entry_id":null,"dry_run":false}]}',
    "replay_batch_empty": '{"summary":{"events":0,"by_result":{}},"items":[]}',
    "check": '{"name":"database","status":"warn","message":"slow","fix":"fix it"}',
    "doctor_report": '{"checks":[{"name":"a","status":"ok","message":"fine","fix":null},{"name":"b","status":"fail","message":"bad","fix":"do x"}],"ok":false}',
}


def compact(value: Any) -> str:
    """JSON as the web door writes it (and, but for indentation, as ``--json`` does)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_an_answer_prints_the_same_json_as_before(name: str) -> None:
    assert compact(SAMPLES[name]()) == TODAY[name]
