"""Claiming the ports ``serve`` listens on, before anything is printed or started.

A port that is taken (or a host that is not this machine's) is one line naming the option
to change, exit 2 like any other configuration problem, instead of uvicorn's log line and
exit 3 or a traceback from the emulator's thread. The socket is returned bound and
listening and is handed to uvicorn as it is, so nothing can take the port between this
check and the server starting. Imports the stdlib and errors.
"""

from __future__ import annotations

import errno
import socket

from stripetopup.errors import ConfigError


def claim(host: str, port: int, *, option: str) -> socket.socket:
    """A socket listening on ``host:port`` (bound as uvicorn binds one), or ConfigError.

    ``option`` is the command-line option the port came from, named in the message.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on connections whose socket says
    # it is TCP, and without it Nagle holds a response's body behind its headers until the
    # client's delayed ACK (about 40 ms a request on keep-alive connections).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening now (not when uvicorn starts) is what makes the port ours: Linux lets
        # two SO_REUSEADDR sockets bind one port as long as neither listens.
        sock.listen(2048)
    except (OSError, ValueError, TypeError, UnicodeError) as exc:
        sock.close()
        raise ConfigError(_why(exc, host, port, option)) from None
    sock.set_inheritable(True)  # uvicorn's --workers hand it to their processes
    return sock


def bound_port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def _why(exc: Exception, host: str, port: int, option: str) -> str:
    code = getattr(exc, "errno", None)
    if code == errno.EADDRINUSE:
        return f"port {port} on {host} is already in use ({option})"
    if code == errno.EACCES:
        hint = "; ports below 1024 need privileges" if port < 1024 else ""
        return f"no permission to listen on port {port} on {host} ({option}{hint})"
    if code == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}: not an address of this machine (--host)"
    if isinstance(exc, socket.gaierror | ValueError | TypeError | UnicodeError):
        return f"cannot listen on {host!r}: not a host name or address (--host)"
    reason = getattr(exc, "strerror", None) or type(exc).__name__
    return f"cannot listen on port {port} on {host} ({option}): {reason}"
