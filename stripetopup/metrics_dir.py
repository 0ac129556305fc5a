"""Where ``serve``'s worker processes keep their Prometheus metrics (multiprocess mode).

prometheus-client decides at import time whether metrics live in this process's memory or in
files under ``$PROMETHEUS_MULTIPROC_DIR`` that any worker can sum when scraped. ``serve`` calls
:func:`prepare` before anything imports the library, so every worker it starts writes to one
fresh, empty directory: counts from an earlier run never leak into this one. A leaf module:
imports the standard library and stripetopup.errors only (never prometheus_client).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path

from stripetopup.errors import ConfigError

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare() -> Path:
    """An empty metrics directory for this ``serve``, named in the environment workers inherit.

    An operator's ``PROMETHEUS_MULTIPROC_DIR`` is emptied of metric files and kept; otherwise
    a private temporary directory is made and removed when ``serve`` exits. ConfigError
    when the operator's directory cannot be made or emptied.
    """
    configured = os.environ.get(VARIABLE)
    if configured:
        path = Path(configured)
        try:
            path.mkdir(parents=True, exist_ok=True)
            for stale in path.glob("*.db"):
                stale.unlink()
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise ConfigError(f"{VARIABLE} {configured} cannot be used: {reason}") from None
        return path
    path = Path(tempfile.mkdtemp(prefix="stripetopup-metrics-"))
    os.environ[VARIABLE] = str(path)
    atexit.register(shutil.rmtree, path, ignore_errors=True)
    return path
