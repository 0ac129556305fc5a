"""The ``/v1`` routes of the buyer flow: coupons, promotion codes, customers and invoices.

Rows of ``(method, path, resource, permission level, handler)``, wrapped by ``api.endpoint``
like every other Stripe route. Imports only the stdlib.
"""

from __future__ import annotations

from stripetopup.emulator import customer_routes, discounts, intents, invoices, payment_methods
from stripetopup.emulator.calls import Handler

ROUTES: list[tuple[str, str, str, str, Handler]] = [
    ("POST", "/v1/coupons", "coupons", "write", discounts.create_coupon),
    ("GET", "/v1/coupons/{id}", "coupons", "read", discounts.retrieve_coupon),
    ("POST", "/v1/promotion_codes", "promotion_codes", "write", discounts.create_promotion_code),
    ("GET", "/v1/promotion_codes", "promotion_codes", "read", discounts.list_promotion_codes),
    (
        "GET",
        "/v1/promotion_codes/{id}",
        "promotion_codes",
        "read",
        discounts.retrieve_promotion_code,
    ),
    ("GET", "/v1/invoices/{id}", "invoices", "read", invoices.retrieve_invoice),
    ("POST", "/v1/customers", "customers", "write", customer_routes.create_customer),
    ("GET", "/v1/customers", "customers", "read", customer_routes.list_customers),
    ("GET", "/v1/customers/{id}", "customers", "read", customer_routes.retrieve_customer),
    ("POST", "/v1/customers/{id}", "customers", "write", customer_routes.update_customer),
    ("DELETE", "/v1/customers/{id}", "customers", "write", customer_routes.delete_customer),
    (
        "GET",
        "/v1/customers/{id}/payment_methods",
        "customers",
        "read",
        payment_methods.list_for_customer,
    ),
    ("GET", "/v1/payment_methods", "payment_methods", "read", payment_methods.list_payment_methods),
    ("GET", "/v1/payment_methods/{id}", "payment_methods", "read", payment_methods.retrieve),
    ("POST", "/v1/payment_methods/{id}/attach", "payment_methods", "write", payment_methods.attach),
    ("POST", "/v1/payment_methods/{id}/detach", "payment_methods", "write", payment_methods.detach),
    ("POST", "/v1/payment_intents", "payment_intents", "write", intents.create_payment_intent),
    ("GET", "/v1/payment_intents", "payment_intents", "read", intents.list_payment_intents),
    (
        "POST",
        "/v1/payment_intents/{id}/confirm",
        "payment_intents",
        "write",
        intents.confirm_payment_intent,
    ),
]
