"""One account-id rule and one hold-id shape at the web door, a JWT's sub and the Python API.

Both databases: an id no account can have (NUL, control characters, too long) is the same
400 ``invalid_account_id`` / ``invalid_hold_id`` naming the parameter, never a 500, and
changes nothing; an account opened by an earlier release with an id off today's rule
stays readable and spendable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import jwt
import pytest
from pydantic import SecretStr

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.emulator import EmulatorServer
from stripetopup.errors import InvalidAccountId, InvalidHoldId, NotFound
from stripetopup.ids import ACCOUNT_ID_RULE, new_hold_id
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT, ORIGIN, make_settings
from tests.support.accounts import LEGACY, open_as_an_earlier_release, row_counts
from tests.support.servers import serve_in_thread

LEGACY_LONG = "L" * 150  # within the 200 of the column, beyond today's 128
UNKNOWN_HOLD = "hold_" + "0" * 24
JWT_SECRET = "jwt-ids-secret-" + "z" * 32

# Path segments (as sent, percent-encoded) that no account can have.
IMPOSSIBLE_ACCOUNTS = ["a%00b", "%00", "a%01b", "tab%09", "x" * 201]
# Path segments that are not the shape of a hold id.
BAD_HOLDS = ["hold_%00", "hold_", "hold_nope", "HOLD_" + "0" * 24, "hold_" + "0" * 25, "x%00"]


@dataclass
class Api:
    http: httpx.Client
    service: TopUpService
    writes: int = 0

    def post(self, path: str, body: object = None) -> httpx.Response:
        self.writes += 1  # a new Idempotency-Key for every write
        key = f"k{self.writes}"
        return self.http.post("/api/v1" + path, json=body, headers={"Idempotency-Key": key})

    def get(self, path: str) -> httpx.Response:
        return self.http.get("/api/v1" + path)


@pytest.fixture
def api(service: TopUpService) -> Iterator[Api]:
    service.credit(ACCOUNT, 5000, reason="test funds", idempotency_key="fund")
    _, key = service.create_service_key("billing-worker")
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
    ):
        yield Api(http, service)


def assert_error(response: httpx.Response, status: int, code: str, param: str | None) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "param", "request_id"}
    assert (body["error"]["code"], body["error"]["param"]) == (code, param)
    return str(body["error"]["message"])


def account_routes(segment: str) -> list[tuple[str, str, object]]:
    return [
        ("GET", f"/accounts/{segment}/balance", None),
        ("GET", f"/accounts/{segment}/entries", None),
        ("POST", f"/accounts/{segment}/debits", {"amount_cents": 1}),
        ("POST", f"/accounts/{segment}/holds", {"amount_cents": 1}),
    ]


def hold_routes(segment: str) -> list[tuple[str, str, object]]:
    return [
        ("GET", f"/holds/{segment}", None),
        ("POST", f"/holds/{segment}/capture", {}),
        ("POST", f"/holds/{segment}/release", None),
    ]


def call(api: Api, method: str, path: str, body: object) -> httpx.Response:
    return api.get(path) if method == "GET" else api.post(path, body)


# The web door ---------------------------------------------------------------------------


@pytest.mark.parametrize("segment", IMPOSSIBLE_ACCOUNTS)
def test_an_account_id_no_account_can_have_is_400_on_every_route_and_changes_nothing(
    api: Api, segment: str
) -> None:
    before = row_counts(api.service)
    for method, path, body in account_routes(segment):
        message = assert_error(
            call(api, method, path, body), 400, "invalid_account_id", "account_id"
        )
        assert message.endswith(f": account ids are {ACCOUNT_ID_RULE}"), path
    assert row_counts(api.service) == before


def test_a_nul_in_an_account_id_is_named_in_the_message(api: Api) -> None:
    message = assert_error(
        api.get("/accounts/a%00b/balance"), 400, "invalid_account_id", "account_id"
    )
    assert message == f"invalid account id 'a\\x00b': account ids are {ACCOUNT_ID_RULE}"


@pytest.mark.parametrize("segment", BAD_HOLDS)
def test_a_hold_id_not_of_our_shape_is_400_on_every_route_and_changes_nothing(
    api: Api, segment: str
) -> None:
    api.post(f"/accounts/{ACCOUNT}/holds", {"amount_cents": 100})
    before = row_counts(api.service)
    for method, path, body in hold_routes(segment):
        message = assert_error(call(api, method, path, body), 400, "invalid_hold_id", "hold_id")
        assert message.endswith(": hold ids are hold_ followed by 24 lowercase hex digits")
    assert row_counts(api.service) == before


def test_an_unknown_account_of_the_rule_is_404_saying_how_to_open_it(api: Api) -> None:
    for method, path, body in account_routes("acct-nobody"):
        message = assert_error(call(api, method, path, body), 404, "not_found", None)
        assert message == (
            "unknown account: acct-nobody; open it with: stripetopup accounts create acct-nobody"
        )


def test_an_unknown_account_off_the_rule_is_400_with_the_rule(api: Api) -> None:
    before = row_counts(api.service)
    for method, path, body in account_routes("no%20such%20account"):
        message = assert_error(
            call(api, method, path, body), 400, "invalid_account_id", "account_id"
        )
        assert message == (
            f"invalid account id 'no such account': account ids are {ACCOUNT_ID_RULE}"
        )
    assert row_counts(api.service) == before


def test_an_unknown_hold_of_our_shape_is_404(api: Api) -> None:
    for method, path, body in hold_routes(UNKNOWN_HOLD):
        assert_error(call(api, method, path, body), 404, "not_found", None)


def test_an_account_opened_by_an_earlier_release_stays_readable_and_spendable(api: Api) -> None:
    for account_id, segment in ((LEGACY, "Legacy%20Id!"), (LEGACY_LONG, LEGACY_LONG)):
        open_as_an_earlier_release(api.service, account_id)
        api.service.credit(account_id, 300, reason="old money")
        assert api.get(f"/accounts/{segment}/balance").json()["balance_cents"] == 300
        debit = api.post(f"/accounts/{segment}/debits", {"amount_cents": 100})
        assert debit.status_code == 201, debit.text
        hold = api.post(f"/accounts/{segment}/holds", {"amount_cents": 50})
        assert hold.status_code == 201, hold.text
        hold_id = hold.json()["id"]
        assert api.post(f"/holds/{hold_id}/capture", {}).status_code == 200
        entries = api.get(f"/accounts/{segment}/entries").json()["data"]
        assert [e["amount_cents"] for e in entries] == [-50, -100, 300]


# A JWT's sub ----------------------------------------------------------------------------


@pytest.fixture
def jwt_url(database_url: str, emulator: EmulatorServer) -> Iterator[tuple[str, TopUpService]]:
    settings: Settings = make_settings(database_url, emulator.url, jwt_secret=SecretStr(JWT_SECRET))
    service = TopUpService.from_settings(settings)
    service.open_account(ACCOUNT)
    with serve_in_thread(create_app(service)) as url:
        yield url, service
    service.close()


def _bearer(subject: object) -> dict[str, str]:
    token = jwt.encode({"sub": subject, "exp": int(time.time()) + 3600}, JWT_SECRET, "HS256")
    return {"Authorization": f"Bearer {token}", "Origin": ORIGIN}


@pytest.mark.parametrize("subject", ["a\x00b", "\x00", "tab\t", "", "x" * 201, "\ud800"])
def test_a_signed_jwt_whose_sub_no_account_can_have_is_401(
    jwt_url: tuple[str, TopUpService], subject: str
) -> None:
    url, service = jwt_url
    before = row_counts(service)
    with httpx.Client(base_url=url, timeout=60) as http:
        balance = http.get("/billing/balance", headers=_bearer(subject))
        checkout = http.post(
            "/billing/checkout-session", json={"amount_cents": 500}, headers=_bearer(subject)
        )
    for response in (balance, checkout):
        message = assert_error(response, 401, "unauthorized", None)
        assert message == "invalid token: sub must name the account"
    assert row_counts(service) == before


def test_a_jwt_for_an_account_of_an_earlier_release_is_accepted(
    jwt_url: tuple[str, TopUpService],
) -> None:
    url, service = jwt_url
    open_as_an_earlier_release(service, LEGACY)
    with httpx.Client(base_url=url, timeout=60) as http:
        response = http.get("/billing/balance", headers=_bearer(LEGACY))
    assert response.status_code == 200, response.text


# The Python API -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "account_id",
    [
        "bad id!",
        "",
        " alice",
        "alice ",
        "-alice",
        ".alice",
        "a/b",
        "a%00b",
        "a\x00b",
        "x" * 129,
        "caf\u00e9",
        "a\nb",
    ],
)
def test_opening_an_account_off_the_rule_is_refused_and_opens_nothing(
    service: TopUpService, account_id: str
) -> None:
    before = row_counts(service)
    with pytest.raises(InvalidAccountId) as caught:
        service.open_account(account_id)
    assert caught.value.message.endswith(f": account ids are {ACCOUNT_ID_RULE}")
    assert caught.value.param == "account_id"
    assert row_counts(service) == before


@pytest.mark.parametrize(
    "account_id",
    [
        "0b9b0b3c-6f0e-4b8e-9d7a-3f1c2b4a5e6d",
        "ann+eu@example.com",
        "user_123",
        "org:42",
        "A.b-C",
        "7",
        "x" * 128,
    ],
)
def test_ids_a_host_application_uses_open_accounts(service: TopUpService, account_id: str) -> None:
    opened = service.open_account(account_id)
    assert (opened.account_id, opened.created) == (account_id, True)
    again = service.open_account(account_id)
    assert (again.account_id, again.created) == (account_id, False)
    assert service.balance(account_id).balance_cents == 0


def test_every_python_entry_point_refuses_an_impossible_account_id(service: TopUpService) -> None:
    before = row_counts(service)
    for call_with in (
        lambda a: service.balance(a),
        lambda a: service.ledger(a),
        lambda a: service.credit(a, 100, reason="r"),
        lambda a: service.debit(a, 100, reason="r"),
        lambda a: service.spend(a, 100, idempotency_key="k"),
        lambda a: service.place_hold(a, 100, idempotency_key="k"),
        lambda a: service.create_token(a),
        lambda a: service.payments(account_id=a),
    ):
        for account_id in ("a\x00b", "", "x" * 201):
            with pytest.raises(InvalidAccountId):
                call_with(account_id)
    assert row_counts(service) == before


def test_every_python_hold_entry_point_refuses_a_hold_id_not_of_our_shape(
    service: TopUpService,
) -> None:
    for hold_id in ("hold_\x00", "hold_nope", "h" * 100, ""):
        with pytest.raises(InvalidHoldId, match="hold ids are hold_ followed by 24"):
            service.get_hold(hold_id)
        with pytest.raises(InvalidHoldId):
            service.capture_hold(hold_id, idempotency_key="c")
        with pytest.raises(InvalidHoldId):
            service.release_hold(hold_id, idempotency_key="r")
    with pytest.raises(NotFound, match="unknown hold"):
        service.get_hold(new_hold_id())


def test_a_token_is_never_issued_for_an_unknown_account(service: TopUpService) -> None:
    before = row_counts(service)
    with pytest.raises(NotFound) as caught:
        service.create_token("acct-nobody")
    assert caught.value.message == (
        "unknown account: acct-nobody; open it with: stripetopup accounts create acct-nobody "
        "(or tokens create acct-nobody --open)"
    )
    assert row_counts(service) == before


def test_an_account_of_an_earlier_release_is_found_reopened_and_spent_from(
    service: TopUpService,
) -> None:
    open_as_an_earlier_release(service, LEGACY)
    assert service.open_account(LEGACY).created is False
    service.credit(LEGACY, 500, reason="old money")
    assert service.spend(LEGACY, 200, idempotency_key="s").entry.amount_cents == -200
    assert service.balance(LEGACY).balance_cents == 300
    assert service.create_token(LEGACY)[0].subject == LEGACY


@pytest.mark.parametrize(
    "account_id", ["ann+eu@example.com", "org:42", "0b9b0b3c-6f0e-4b8e-9d7a-3f1c2b4a5e6d"]
)
def test_an_id_of_the_rule_works_as_a_spend_api_path_segment(api: Api, account_id: str) -> None:
    api.service.open_account(account_id)
    api.service.credit(account_id, 300, reason="funds")
    response = api.get(f"/accounts/{account_id}/balance")
    assert response.status_code == 200, response.text
    assert response.json()["account_id"] == account_id
    assert api.post(f"/accounts/{account_id}/debits", {"amount_cents": 100}).status_code == 201
