"""Builders for the money-moving Stripe objects, in the shapes of Stripe's own fixtures.

payment_intent, charge (with card or bank-debit details), refund, dispute and the
balance_transaction entries of a dispute. Imports only the stdlib.
"""

from __future__ import annotations

from typing import Any

from stripetopup.emulator.objects import rand
from stripetopup.emulator.state import Obj, new_id

_NULL_ADDRESS = {
    "city": None,
    "country": None,
    "line1": None,
    "line2": None,
    "postal_code": None,
    "state": None,
}


def payment_intent(
    *, created: int, amount: int, currency: str, metadata: dict[str, str], livemode: bool
) -> Obj:
    pi_id = new_id("pi")
    return {
        "id": pi_id,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": 0,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": None,
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi_id}_secret_{rand(25)}",
        "confirmation_method": "automatic",
        "created": created,
        "currency": currency,
        "customer": None,
        "description": None,
        "excluded_payment_method_types": None,
        "last_payment_error": None,
        "latest_charge": None,
        "livemode": livemode,
        "metadata": dict(metadata),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": new_id("pm"),
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "processing": None,
        "receipt_email": None,
        "review": None,
        "setup_future_usage": None,
        "shipping": None,
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "requires_payment_method",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(*, created: int, pi: Obj, email: str | None, delayed: bool) -> Obj:
    method = "us_bank_account" if delayed else "card"
    details: dict[str, Any] = {"type": method, method: _method_details(delayed, pi["amount"])}
    return {
        "id": new_id("py" if delayed else "ch"),
        "object": "charge",
        "amount": pi["amount"],
        "amount_captured": 0 if delayed else pi["amount"],
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": None if delayed else new_id("txn"),
        "billing_details": {
            "address": dict(_NULL_ADDRESS),
            "email": email,
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "STRIPETOPUP",
        "captured": not delayed,
        "created": created,
        "currency": pi["currency"],
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": pi["livemode"],
        "metadata": dict(pi["metadata"]),
        "on_behalf_of": None,
        "outcome": {
            "advice_code": None,
            "network_advice_code": None,
            "network_decline_code": None,
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": not delayed,
        "payment_intent": pi["id"],
        "payment_method": pi["payment_method"],
        "payment_method_details": details,
        "receipt_email": email,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "pending" if delayed else "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def _method_details(delayed: bool, amount: int) -> Obj:
    if delayed:
        return {
            "account_holder_type": "individual",
            "account_type": "checking",
            "bank_name": "STRIPE TEST BANK",
            "fingerprint": rand(16),
            "last4": "6789",
            "routing_number": "110000000",
        }
    return {
        "amount_authorized": amount,
        "authorization_code": None,
        "brand": "visa",
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "exp_month": 12,
        "exp_year": 2034,
        "fingerprint": rand(16),
        "funding": "credit",
        "last4": "4242",
        "mandate": None,
        "network": "visa",
        "network_transaction_id": None,
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "wallet": None,
    }


def refund(*, created: int, amount: int, charge_obj: Obj, reason: str | None) -> Obj:
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "destination_details": {"card": {"type": "refund"}, "type": "card"},
        "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def dispute(*, created: int, amount: int, charge_obj: Obj, reason: str) -> Obj:
    return {
        "id": new_id("du"),
        "object": "dispute",
        "amount": amount,
        "balance_transactions": [],
        "charge": charge_obj["id"],
        "created": created,
        "currency": charge_obj["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {},
        "evidence_details": {
            "due_by": created + 7 * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
        },
        "is_charge_refundable": False,
        "livemode": charge_obj["livemode"],
        "metadata": {},
        "payment_intent": charge_obj["payment_intent"],
        "payment_method_details": {
            "card": {"brand": "visa", "case_type": "chargeback", "network_reason_code": "10.4"},
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def balance_transaction(*, created: int, amount: int, currency: str, source: str, kind: str) -> Obj:
    fee = 1500 if amount < 0 else -1500
    return {
        "id": new_id("txn"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created,
        "created": created,
        "currency": currency,
        "description": f"Chargeback {kind} for {source}",
        "fee": fee if kind == "withdrawal" else 0,
        "net": amount - (fee if kind == "withdrawal" else 0),
        "reporting_category": "dispute" if kind == "withdrawal" else "dispute_reversal",
        "source": source,
        "status": "available",
        "type": "adjustment",
    }
