"""The pull feed (``GET /api/v1/events``, ``TopUpService.outbound_events``, ``stripetopup
outbox list``) and the threshold door (``PUT .../low-balance-threshold``, ``accounts
threshold``), on both databases: pages oldest first after a cursor, bounded input, and a
consumer following the cursor while eight writers commit sees every event exactly once.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from stripetopup.core import TopUpService
from stripetopup.core.outbound.schemas import json_schemas
from stripetopup.web.app import create_app
from tests.conftest import ACCOUNT
from tests.support.cli import Invoke, invoker
from tests.support.outbound import outbound, types_of
from tests.support.servers import serve_in_thread

DOCS_EVENTS = Path(__file__).resolve().parents[1] / "docs" / "events"


@dataclass
class Api:
    http: httpx.Client
    service: TopUpService


@pytest.fixture
def api(service: TopUpService) -> Iterator[Api]:
    _, key = service.create_service_key("feed-reader")
    with (
        serve_in_thread(create_app(service)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http,
    ):
        yield Api(http, service)


def moves(service: TopUpService, count: int) -> None:
    for number in range(count):
        service.credit(ACCOUNT, 100 + number, reason="feed", idempotency_key=f"feed-{number}")


def credits_and_grants(*amounts: int) -> list[tuple[str, int]]:
    """What credits of ``amounts`` write to the feed: each its entry, then its grant."""
    return [(t, cents) for cents in amounts for t in ("balance.credited", "grant.created")]


def typed_amounts(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(e["type"], e["data"]["amount_cents"]) for e in events]


def test_the_feed_pages_oldest_first_and_the_cursor_reads_on(api: Api) -> None:
    moves(api.service, 5)
    first = api.http.get("/api/v1/events", params={"limit": 3}).json()
    assert typed_amounts(first["data"]) == credits_and_grants(100, 101)[:3]
    assert first["has_more"] is True
    second = api.http.get("/api/v1/events", params={"after": first["next_after"]}).json()
    assert typed_amounts(second["data"]) == credits_and_grants(101, 102, 103, 104)[1:]
    assert second["has_more"] is False
    empty = api.http.get("/api/v1/events", params={"after": second["next_after"]}).json()
    assert empty == {"data": [], "has_more": False, "next_after": second["next_after"]}


def test_the_feed_filters_by_type_and_family(api: Api) -> None:
    moves(api.service, 1)
    api.service.debit(ACCOUNT, 50, reason="x", idempotency_key="d")
    api.service.set_low_balance_threshold(ACCOUNT, 1000)

    def types(*wanted: str) -> list[str]:
        response = api.http.get("/api/v1/events", params=[("type", t) for t in wanted])
        return [e["type"] for e in response.json()["data"]]

    assert types("balance.debited") == ["balance.debited"]
    assert types("balance.low,balance.credited") == ["balance.credited", "balance.low"]
    assert types("balance.*") == ["balance.credited", "balance.debited", "balance.low"]
    assert types("grant.*") == ["grant.created"]  # the credit's grant; the debit makes none
    assert types("payment.*", "hold.*") == []


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"after": "evt_123"}, 400, "invalid_request"),
        ({"after": "msg_" + "0" * 26}, 404, "not_found"),
        ({"type": "balance.lowish"}, 400, "invalid_request"),
        ({"type": ",".join(["balance.low"] * 21)}, 400, "invalid_request"),
        ({"limit": 0}, 400, "invalid_request"),
        ({"limit": 101}, 400, "invalid_request"),
        ({"after": "msg_" + "0" * 60}, 400, "invalid_request"),
    ],
)
def test_bad_feed_parameters_are_clear_errors(
    api: Api, params: dict[str, object], status: int, code: str
) -> None:
    response = api.http.get("/api/v1/events", params=params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_the_feed_takes_service_keys_only(api: Api) -> None:
    anonymous = httpx.get(str(api.http.base_url) + "/api/v1/events")
    assert anonymous.status_code == 401


def test_a_consumer_following_the_cursor_sees_every_event_once_while_eight_writers_commit(
    api: Api,
) -> None:
    per_writer, writers = 25, 8
    done = threading.Event()
    seen: list[str] = []

    def consume() -> None:
        after = None
        while True:
            finished = done.is_set()  # read before the page: the last page follows the end
            page = api.service.outbound_events(after=after, limit=7)
            seen.extend(event.id for event in page.data)
            after = page.next_after
            if finished and not page.has_more:
                return

    def write(writer: int) -> None:
        for number in range(per_writer):
            api.service.credit(ACCOUNT, 1, reason="race", idempotency_key=f"w{writer}-{number}")

    consumer = threading.Thread(target=consume)
    consumer.start()
    with ThreadPoolExecutor(max_workers=writers) as pool:
        list(pool.map(write, range(writers)))
    done.set()
    consumer.join(timeout=300)
    assert not consumer.is_alive()
    events = outbound(api.service)
    every = [event["id"] for event in events]
    assert len(every) == 2 * per_writer * writers  # each credit and the grant it made
    assert Counter(event["type"] for event in events) == {
        "balance.credited": per_writer * writers,
        "grant.created": per_writer * writers,
    }
    assert seen == every  # each once, in the feed's order


def test_put_threshold_sets_re_evaluates_and_refuses_bad_bodies(api: Api) -> None:
    moves(api.service, 1)  # 100 cents
    path = f"/api/v1/accounts/{ACCOUNT}/low-balance-threshold"
    keyed = {"Idempotency-Key": "t1"}
    answer = api.http.put(path, json={"threshold_cents": 500}, headers=keyed)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["low_balance_threshold_cents"], answer.json()["below_threshold"]) == (
        500,
        True,
    )
    balance = api.http.get(f"/api/v1/accounts/{ACCOUNT}/balance").json()
    assert (balance["low_balance_threshold_cents"], balance["below_threshold"]) == (500, True)
    for bad in ({"threshold_cents": -1}, {"threshold_cents": 2**31}, {"threshold_cents": "5"}, {}):
        response = api.http.put(path, json=bad, headers=keyed)
        assert response.status_code == 400, (bad, response.text)
    assert api.http.put(path, json={"threshold_cents": 1}).status_code == 400  # no key
    unknown = api.http.put(
        "/api/v1/accounts/acct-nobody/low-balance-threshold",
        json={"threshold_cents": 1},
        headers=keyed,
    )
    assert unknown.status_code == 404
    cleared = api.http.put(path, json={"threshold_cents": None}, headers=keyed).json()
    assert (cleared["low_balance_threshold_cents"], cleared["below_threshold"]) == (None, False)
    assert types_of(api.service, ACCOUNT) == ["balance.credited", "grant.created", "balance.low"]


# The CLI ----------------------------------------------------------------------------------


@pytest.fixture
def cli(service: TopUpService) -> Invoke:
    return invoker(service.settings)


def test_accounts_threshold_sets_shows_and_goes_back_to_the_default(
    cli: Invoke, service: TopUpService
) -> None:
    moves(service, 1)
    result = cli("accounts", "threshold", ACCOUNT, "--below", "5")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (
        f"{ACCOUNT}: low-balance threshold 5.00 USD; available 1.00 USD, below it."
    )
    shown = cli("accounts", "threshold", ACCOUNT, "--json")
    assert json.loads(shown.stdout)["low_balance_threshold_cents"] == 500
    back = cli("accounts", "threshold", ACCOUNT, "--default")
    assert back.stdout.strip() == f"{ACCOUNT}: no low-balance threshold (available 1.00 USD)."
    both = cli("accounts", "threshold", ACCOUNT, "--below", "5", "--default")
    assert (both.exit_code, both.stderr.strip()) == (
        2,
        "Error: give --below or --default, not both",
    )
    bad = cli("accounts", "threshold", ACCOUNT, "--below", "5.001")
    assert bad.exit_code == 2
    assert bad.stderr.strip() == "Error: --below has more than two decimals: 5.001"


def test_outbox_list_prints_the_feed_and_reads_on_after_an_id(
    cli: Invoke, service: TopUpService
) -> None:
    moves(service, 3)
    every = json.loads(cli("outbox", "list", "--json").stdout)["data"]
    assert typed_amounts(every) == credits_and_grants(100, 101, 102)
    balance = ("--type", "balance.*")
    listed = cli("outbox", "list", "--json", "--limit", "2", *balance)
    page = json.loads(listed.stdout)
    assert [e["data"]["amount_cents"] for e in page["data"]] == [100, 101]
    rest = cli("outbox", "list", "--json", "--after", page["next_after"], *balance)
    assert [e["data"]["amount_cents"] for e in json.loads(rest.stdout)["data"]] == [102]
    human = cli("outbox", "list", "--limit", "2", "--type", "balance.*")
    assert human.exit_code == 0
    assert f"stripetopup outbox list --after {page['next_after']}" in human.stdout
    wrong = cli("outbox", "list", "--type", "nonsense")
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith("Error: unknown event type 'nonsense'")


def test_the_committed_json_schemas_are_what_the_models_produce() -> None:
    committed = {path.name: path.read_text() for path in DOCS_EVENTS.glob("*.json")}
    assert committed == json_schemas(), "run: stripetopup outbox schemas docs/events"


def test_outbox_schemas_check_finds_a_stale_file(tmp_path: Path, cli: Invoke) -> None:
    assert cli("outbox", "schemas", str(tmp_path)).exit_code == 0
    assert cli("outbox", "schemas", str(tmp_path), "--check").exit_code == 0
    (tmp_path / "balance.low.json").write_text("{}")
    stale = cli("outbox", "schemas", str(tmp_path), "--check")
    assert (stale.exit_code, stale.stderr.strip()) == (
        1,
        f"Error: out of date in {tmp_path}: balance.low.json",
    )
