"""Browser fixtures: headless Chromium (one per test, fresh profile) against one running
``serve --emulator`` per test process. The tests share an xdist group, so ``--dist
loadgroup`` keeps them on one worker; pytest 9.2 with xdist 3.8 ignores groups
(pytest-xdist#1386), and then each worker starts its own serve, which is correct too.

Chromium and ChromeDriver are required when CI=true (``.ci/run`` installs them); elsewhere
the browser tests skip with a loud reason when they are missing, like the PostgreSQL ones.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.browser.chromium import Buyer, Launch, find_binaries, launch, shots_dir
from tests.browser.host import Host, running_host


@pytest.fixture(scope="session")
def chromium_binaries() -> tuple[str, str]:
    found = find_binaries()
    if isinstance(found, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests need Chromium: {found} (required when CI=true)")
        pytest.skip(f"!!! SKIPPING BROWSER TESTS: {found}")
    return found


@pytest.fixture(scope="package")
def host(
    chromium_binaries: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Host]:
    """One app (and emulator) for the browser tests; each test uses its own account."""
    with running_host(tmp_path_factory.mktemp("host")) as running:
        yield running


@pytest.fixture
def launch_buyer(
    chromium_binaries: tuple[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Launch]:
    """``launch_buyer(javascript=False)``: a browser for this test, quit when it ends."""
    drivers: list[webdriver.Chrome] = []

    def start(*, javascript: bool = True) -> Buyer:
        profile = tmp_path / f"profile-{len(drivers)}"
        driver = launch(chromium_binaries, profile, javascript=javascript)
        drivers.append(driver)
        return Buyer(driver, shots_dir(request.node.name))

    yield start
    for driver in drivers:
        driver.quit()


@pytest.fixture
def buyer(launch_buyer: Launch) -> Buyer:
    return launch_buyer()
