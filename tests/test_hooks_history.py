"""What became of each outbound event, on both databases: every attempt recorded (one row
per try, written with its outcome), ``hooks events`` and its ``--failed`` filter,
``hooks replay`` sending again, and bad input refused in one line. A real receiver on
loopback verifies every delivery with ``standardwebhooks``; a ManualClock moves the
retry schedule.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from stripetopup.config import Settings
from stripetopup.core import TopUpService
from stripetopup.errors import NotFound, UsageError
from stripetopup.ids import new_message_id
from tests.conftest import ACCOUNT, make_settings
from tests.support.cli import Invoke, invoker
from tests.support.clock import ManualClock
from tests.support.receiver import Receiver
from tests.support.servers import serve_in_thread

NO_STRIPE = "http://127.0.0.1:9"  # these tests never call Stripe
BALANCE = ["balance.*"]  # a credit also writes grant.created: count balance events only


def hooks_settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        NO_STRIPE,
        hooks_retry_schedule=(60, 600),
        hooks_timeout_seconds=5.0,
        hooks_lease_seconds=60,
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def hooks(database_url: str, clock: ManualClock) -> Iterator[TopUpService]:
    service = TopUpService.from_settings(hooks_settings(database_url), clock=clock)
    service.open_account(ACCOUNT)
    yield service
    service.close()


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    app = Receiver()
    with serve_in_thread(app) as url:
        yield app, url


def credit(service: TopUpService) -> str:
    """Credit 1.00; the id of its balance.credited event."""
    service.credit(ACCOUNT, 100, reason="history test", idempotency_key=uuid.uuid4().hex)
    newest = next(e for e in service.hook_events(limit=10) if e.type == "balance.credited")
    return newest.id


def test_every_attempt_is_recorded_with_its_answer_and_the_same_webhook_id(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    app.script("/a", 500, 500, 200)
    added = hooks.add_hook(url + "/a", events=BALANCE)
    event_id = credit(hooks)
    start = clock.now
    assert hooks.deliver_hooks_once().failed == 1
    assert hooks.hook_attempts(event_id)[0].attempt == 1  # written with the outcome
    clock.advance(60)
    assert hooks.deliver_hooks_once().failed == 1
    clock.advance(600)
    assert hooks.deliver_hooks_once().delivered == 1

    tries = hooks.hook_attempts(event_id)
    assert [(a.attempt, a.status_code, a.error) for a in tries] == [
        (1, 500, "answered 500"),
        (2, 500, "answered 500"),
        (3, 200, None),
    ]
    assert [a.at for a in tries] == [start, start + timedelta(seconds=60), clock.now]
    assert {(a.delivery_id, a.endpoint_id, a.event_id) for a in tries} == {
        (tries[0].delivery_id, added.endpoint.id, event_id)
    }
    assert all(a.duration_ms >= 0 for a in tries)
    got = app.at("/a")
    assert [r.webhook_id for r in got] == [event_id] * 3
    assert all(r.verifies_with(added.secret) for r in got)
    [done] = hooks.hook_deliveries()
    assert (done.state, done.attempts) == ("delivered", 3)


def test_hooks_events_failed_lists_exactly_the_undelivered_ones_dead_included(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    app.script("/bad", 200, 500)  # the first event lands, then every attempt fails
    ok = hooks.add_hook(url + "/ok", events=BALANCE).endpoint.id
    bad = hooks.add_hook(url + "/bad", events=BALANCE).endpoint.id
    first, second = credit(hooks), credit(hooks)
    assert hooks.deliver_hooks_once().delivered == 3  # two to /ok, the first to /bad

    [failed] = hooks.hook_events(failed_only=True)
    assert failed.id == second
    states = {d.endpoint_id: (d.state, d.attempts) for d in failed.deliveries}
    assert states == {ok: ("delivered", 1), bad: ("failed", 1)}
    every = hooks.hook_events()
    assert [e.id for e in every if e.type == "balance.credited"] == [second, first]
    # Other types a credit writes (grant.created) are listed too, with no delivery.
    assert all(e.deliveries == [] for e in every if not e.type.startswith("balance."))

    clock.advance(60)
    hooks.deliver_hooks_once()
    clock.advance(600)
    assert hooks.deliver_hooks_once().dead == 1
    [dead] = hooks.hook_events(failed_only=True, endpoint_id=bad)
    assert dead.id == second
    assert [(d.endpoint_id, d.state) for d in dead.deliveries] == [(bad, "dead")]
    assert hooks.hook_events(failed_only=True, endpoint_id=ok) == []
    assert {e.id for e in hooks.hook_events(endpoint_id=ok)} == {first, second}

    clock.advance(3600)
    fourth = credit(hooks)
    recent = hooks.hook_events(since=clock.now - timedelta(seconds=60))
    assert {e.id for e in recent if e.type == "balance.credited"} == {fourth}


def test_replay_sends_an_event_again_and_replay_failed_only_those_since(
    hooks: TopUpService, receiver: tuple[Receiver, str], clock: ManualClock
) -> None:
    app, url = receiver
    added = hooks.add_hook(url + "/a", events=BALANCE)
    delivered = credit(hooks)
    assert hooks.deliver_hooks_once().delivered == 1
    replayed = hooks.retry_delivery(delivered)  # `hooks replay MSG`
    assert replayed.retried == 1
    assert hooks.deliver_hooks_once().delivered == 1
    assert [r.webhook_id for r in app.at("/a")] == [delivered, delivered]
    assert all(r.verifies_with(added.secret) for r in app.at("/a"))
    assert [a.attempt for a in hooks.hook_attempts(delivered)] == [1, 1]  # a fresh schedule

    app.script("/a", 500)
    old = credit(hooks)
    assert hooks.deliver_hooks_once().failed == 1
    clock.advance(3600)
    new = credit(hooks)
    # old is due again and older: it fails first, and new waits (pending, never tried).
    assert hooks.deliver_hooks_once().failed == 1
    assert {e.id for e in hooks.hook_events(failed_only=True)} == {old}
    only_new = hooks.replay_failed_hooks(since=clock.now - timedelta(seconds=120))
    assert only_new.retried == 0  # new was never tried: pending, nothing to replay
    app.script("/a", 200)
    everything = hooks.replay_failed_hooks(endpoint_id=added.endpoint.id)
    assert everything.retried == 1
    assert hooks.deliver_hooks_once().delivered == 2
    assert {r.webhook_id for r in app.at("/a")} == {delivered, old, new}
    assert hooks.hook_events(failed_only=True) == []


def test_bad_input_to_the_history_is_refused_cleanly(hooks: TopUpService) -> None:
    with pytest.raises(UsageError, match="invalid event id 'msg_nope'"):
        hooks.hook_attempts("msg_nope")
    unknown = new_message_id()
    with pytest.raises(NotFound, match=f"no outbound event {unknown}"):
        hooks.hook_attempts(unknown)
    with pytest.raises(UsageError, match="invalid endpoint id"):
        hooks.hook_events(endpoint_id="ep_nope")
    with pytest.raises(NotFound, match="no webhook endpoint"):
        hooks.replay_failed_hooks(endpoint_id="ep_" + "0" * 24)
    with pytest.raises(UsageError, match="--limit must be 1 to"):
        hooks.hook_events(limit=0)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["attempts", "evt_1"], "Error: invalid event id 'evt_1': outbound event ids are msg_"),
        (["attempts", "msg_" + "0" * 26], "Error: no outbound event msg_" + "0" * 26),
        (["events", "--since", "soon"], "Error: --since: 'soon' is not a date"),
        (["events", "--since", "2999-01-01"], "Error: --since: '2999-01-01' is in the future"),
        (["events", "--endpoint", "ep_x"], "Error: invalid endpoint id 'ep_x'"),
        (["replay"], "Error: give an event id (msg_...) or --failed (one of them)"),
        (["replay", "msg_" + "0" * 26, "--failed"], "Error: give an event id (msg_...) or"),
        (["replay", "msg_" + "0" * 26, "--since", "7d"], "Error: --since goes with --failed"),
        (["replay", "--failed", "--since", "x"], "Error: --since: 'x' is not a date"),
        (["replay", "msg_" + "0" * 26], "Error: no webhook delivery of event msg_"),
    ],
)
def test_the_history_commands_refuse_bad_input_with_one_line(
    settings: Settings, args: list[str], message: str
) -> None:
    result = invoker(settings)("hooks", *args)
    assert result.exit_code in (1, 2)
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output


def test_the_history_commands_show_attempts_events_and_replay(
    settings: Settings, service: TopUpService
) -> None:
    app = Receiver()
    app.script("/in", 500)
    with serve_in_thread(app) as url:
        cli: Invoke = invoker(settings)
        endpoint_id = cli("hooks", "add", url + "/in", "--events", "balance.*").stdout.split()[2]
        service.credit(ACCOUNT, 100, reason="test", idempotency_key="k1")
        assert "failed 1" in cli("hooks", "deliver", "--once").stdout
        [event] = json.loads(cli("hooks", "events", "--failed", "--json").stdout)
        assert event["type"] == "balance.credited"
        [delivery] = event["deliveries"]
        assert (delivery["endpoint_id"], delivery["state"]) == (endpoint_id, "failed")
        [tried] = json.loads(cli("hooks", "attempts", event["id"], "--json").stdout)
        assert (tried["attempt"], tried["status_code"]) == (1, 500)
        assert tried["error"] == "answered 500"
        replayed = cli("hooks", "replay", "--failed", "--since", "1h", "--json")
        assert json.loads(replayed.stdout)["delivery_ids"] == [delivery["id"]]
        app.script("/in", 200)
        assert "delivered 1" in cli("hooks", "deliver", "--once").stdout
        table = cli("hooks", "attempts", event["id"])
        assert table.exit_code == 0
        assert delivery["id"] in table.stdout
        assert json.loads(cli("hooks", "events", "--failed", "--json").stdout) == []
        listing = cli("hooks", "events", "--endpoint", endpoint_id)
        assert listing.exit_code == 0
        assert event["id"] in listing.stdout
        [shown] = json.loads(cli("hooks", "events", "--endpoint", endpoint_id, "--json").stdout)
        assert [d["state"] for d in shown["deliveries"]] == ["delivered"]
        assert cli("hooks", "retry", event["id"]).exit_code == 0  # the old name still works
        assert len(app.at("/in")) == 2
