"""Stripe list pagination (limit, starting_after, ending_before, created filters) and ``expand``.

Pages are cut from a ``SortedIndex`` by bisection, newest first, so paging through tens of
thousands of objects costs O(log n + limit) per page. Imports only the stdlib.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stripetopup.emulator.state import EmulatorState, Obj, SortedIndex
from stripetopup.emulator.stripe_errors import StripeError, invalid_integer, out_of_range

# field -> "virtual" (computed list) or "ref" (an id that expands to the object)
EXPANDABLE: dict[str, dict[str, str]] = {
    "checkout.session": {
        "payment_intent": "ref",
        "line_items": "virtual",
        "customer": "ref",
        "invoice": "ref",
        "payment_link": "ref",
        "setup_intent": "ref",
        "subscription": "ref",
    },
    "payment_intent": {"latest_charge": "ref", "customer": "ref", "payment_method": "ref"},
    "charge": {
        "payment_intent": "ref",
        "refunds": "virtual",
        "balance_transaction": "ref",
        "customer": "ref",
    },
    "refund": {"charge": "ref", "payment_intent": "ref", "balance_transaction": "ref"},
    "dispute": {"charge": "ref", "payment_intent": "ref"},
    "invoice": {"customer": "ref"},
}


def parse_int(params: dict[str, Any], name: str, value: Any) -> int:
    if isinstance(value, int):
        return value
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise invalid_integer(name, value)
    return int(value)


def parse_limit(params: dict[str, Any]) -> int:
    if "limit" not in params:
        return 10
    limit = parse_int(params, "limit", params["limit"])
    if limit < 1:
        raise out_of_range("limit", "This value must be greater than or equal to 1.")
    if limit > 100:
        raise out_of_range("limit", "This value must be less than or equal to 100.")
    return limit


def created_bounds(params: dict[str, Any]) -> tuple[int | None, int | None]:
    """``created`` (int or {gt,gte,lt,lte}) -> half-open ``[gte, lt)`` bounds."""
    raw = params.get("created")
    if raw is None:
        return None, None
    if not isinstance(raw, dict):
        value = parse_int(params, "created", raw)
        return value, value + 1
    gte: int | None = None
    lt: int | None = None
    for op, value in raw.items():
        number = parse_int(params, f"created[{op}]", value)
        if op == "gte":
            gte = number if gte is None else max(gte, number)
        elif op == "gt":
            gte = number + 1 if gte is None else max(gte, number + 1)
        elif op == "lt":
            lt = number if lt is None else min(lt, number)
        elif op == "lte":
            lt = number + 1 if lt is None else min(lt, number + 1)
        else:
            raise StripeError(
                400, f"Received unknown parameter: created[{op}]", param=f"created[{op}]"
            )
    return gte, lt


def page(
    state: EmulatorState,
    index: SortedIndex,
    table: dict[str, Obj],
    params: dict[str, Any],
    *,
    url: str,
    object_name: str,
    keep: Callable[[Obj], bool] | None = None,
    floor: int | None = None,
) -> Obj:
    """One page of a list, newest first, as Stripe returns it."""
    limit = parse_limit(params)
    gte, lt = created_bounds(params)
    if floor is not None:
        gte = floor if gte is None else max(gte, floor)
    lo, hi = index.bounds(gte, lt)
    after, before = params.get("starting_after"), params.get("ending_before")
    if after and before:
        raise StripeError(
            400, "You may only specify one of these parameters: ending_before, starting_after."
        )
    descending = True
    if after:
        hi = min(hi, _cursor(index, after, object_name, "starting_after"))
    elif before:
        lo = max(lo, _cursor(index, before, object_name, "ending_before") + 1)
        descending = False
    found: list[Obj] = []
    for object_id in index.ids_between(lo, hi, descending):
        obj = table[object_id]
        if keep is None or keep(obj):
            found.append(obj)
            if len(found) > limit:
                break
    has_more = len(found) > limit
    found = found[:limit]
    if not descending:
        found.reverse()
    expands = _list_expands(params)
    data = [expand(state, obj, expands) for obj in found]
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _cursor(index: SortedIndex, object_id: Any, object_name: str, param: str) -> int:
    position = index.position(str(object_id))
    if position is None:
        raise StripeError(
            400, f"No such {object_name}: '{object_id}'", code="resource_missing", param=param
        )
    return position


def expand_params(params: dict[str, Any]) -> list[str]:
    raw = params.get("expand") or []
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, dict):
        return [str(v) for v in raw.values()]
    return [str(v) for v in raw]


def _list_expands(params: dict[str, Any]) -> list[str]:
    out = []
    for path in expand_params(params):
        if not path.startswith("data."):
            raise StripeError(
                400,
                f"This property cannot be expanded ({path}). "
                f"You may want to try expanding 'data.{path}' instead.",
                param="expand",
            )
        out.append(path[len("data.") :])
    return out


def expand(state: EmulatorState, obj: Obj, paths: list[str], prefix: str = "") -> Obj:
    """A shallow copy of ``obj`` with the given dotted paths expanded (stored objects untouched)."""
    if not paths:
        return obj
    groups: dict[str, list[str]] = {}
    for path in paths:
        head, _, rest = path.partition(".")
        groups.setdefault(head, [])
        if rest:
            groups[head].append(rest)
    out = dict(obj)
    allowed = EXPANDABLE.get(str(obj.get("object")), {})
    for field, subpaths in groups.items():
        kind = allowed.get(field)
        if kind is None:
            raise StripeError(
                400, f"This property cannot be expanded ({prefix}{field}).", param="expand"
            )
        if kind == "virtual":
            out[field] = _virtual(state, obj, field)
            continue
        value = obj.get(field)
        if isinstance(value, str):
            target = state.lookup(value)
            if target is not None and target.get("deleted") is True:
                # a deleted customer expands to Stripe's stub, as retrieving it does
                out[field] = {"id": target["id"], "object": target["object"], "deleted": True}
            elif target is not None:
                out[field] = expand(state, target, subpaths, f"{prefix}{field}.")
        elif isinstance(value, dict):
            out[field] = expand(state, value, subpaths, f"{prefix}{field}.")
    return out


def _virtual(state: EmulatorState, obj: Obj, field: str) -> Obj:
    if field == "line_items":
        items = state.line_items.get(obj["id"], [])
        url = f"/v1/checkout/sessions/{obj['id']}/line_items"
    else:
        items = sorted(
            (r for r in state.refunds.values() if r["charge"] == obj["id"]),
            key=lambda r: state.refund_index.keys[r["id"]],
            reverse=True,
        )
        url = f"/v1/charges/{obj['id']}/refunds"
    return {"object": "list", "data": list(items), "has_more": False, "url": url}
