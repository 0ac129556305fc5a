"""Seed 20,000 paid sessions in the emulator and page through all of them with the stripe SDK.

Run: .venv/bin/python bench/emulator_seed_and_page.py [--count 20000] [--limit 100]
Prints the seed time and the paging time (total, per page, slowest page).
"""

from __future__ import annotations

import argparse
import time

import httpx
import stripe

from stripetopup.emulator import EmulatorControl, EmulatorServer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--limit", type=int, default=100)
    args = parser.parse_args()
    with EmulatorServer() as server, EmulatorControl(server.url, timeout=120) as control:
        start = control.now() - args.count
        t0 = time.perf_counter()
        seeded = control.seed(count=args.count, state="paid", created_start=start, created_step=1)
        seed_s = time.perf_counter() - t0
        http_client = stripe.RequestsClient()
        client = stripe.StripeClient(
            "sk_test_bench000000000001", base_addresses={"api": server.url}, http_client=http_client
        )
        page_times: list[float] = []
        seen: set[str] = set()
        params = {"limit": args.limit}
        t1 = time.perf_counter()
        while True:
            tp = time.perf_counter()
            page = client.v1.checkout.sessions.list(params=params)
            page_times.append(time.perf_counter() - tp)
            seen.update(s.id for s in page.data)
            if not page.has_more:
                break
            params = {"limit": args.limit, "starting_after": page.data[-1].id}
        page_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        iterated = sum(
            1
            for _ in client.v1.checkout.sessions.list(
                params={"limit": args.limit}
            ).auto_paging_iter()
        )
        auto_s = time.perf_counter() - t2
        http_client.close()
        t3 = time.perf_counter()
        raw_pages = _raw_pages(server.url, args.limit)
        raw_s = time.perf_counter() - t3
    assert len(seen) == seeded["count"] == iterated, (len(seen), seeded["count"], iterated)
    first, last = page_times[0], page_times[-1]
    print(f"seeded {seeded['count']} paid sessions (+PI +charge) in {seed_s:.2f} s")
    print(
        f"paged {len(seen)} sessions in {len(page_times)} pages of {args.limit}: {page_s:.2f} s "
        f"({page_s / len(page_times) * 1000:.1f} ms/page; first {first * 1000:.1f} ms, "
        f"last {last * 1000:.1f} ms, slowest {max(page_times) * 1000:.1f} ms)"
    )
    print(f"auto_paging_iter over all {iterated} sessions: {auto_s:.2f} s")
    print(
        f"same pages with plain httpx (no SDK object building): {raw_s:.2f} s "
        f"({raw_s / raw_pages * 1000:.1f} ms/page)"
    )


def _raw_pages(url: str, limit: int) -> int:
    headers = {"Authorization": "Bearer sk_test_bench000000000001"}
    pages = 0
    with httpx.Client(base_url=url, headers=headers) as http:
        params: dict[str, str | int] = {"limit": limit}
        while True:
            page = http.get("/v1/checkout/sessions", params=params).json()
            pages += 1
            if not page["has_more"]:
                return pages
            params = {"limit": limit, "starting_after": page["data"][-1]["id"]}


if __name__ == "__main__":
    main()
