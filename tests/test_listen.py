"""The sockets ``serve`` claims: connections accepted on them go out without Nagle's delay.

Without TCP_NODELAY a keep-alive answer written as headers then body waits for the client's
delayed ACK (about 40 ms a request); asyncio sets the option only on sockets that say they
are TCP, so the claimed socket must. Checked on real connections, not timed.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from stripetopup.cli.listen import claim


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_connections_accepted_on_a_claimed_socket_have_tcp_nodelay(host: str) -> None:
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6 on this machine")
    try:
        sock = claim(host, 0, option="--port")
    except Exception as exc:  # an IPv6-less loopback refuses ::1
        pytest.skip(f"cannot listen on {host}: {exc}")
    port = sock.getsockname()[1]

    async def scenario() -> int:
        accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        def connected(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            conn = writer.get_extra_info("socket")
            accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=sock)
        async with server:
            _reader, writer = await asyncio.open_connection(host, port)
            nodelay = await asyncio.wait_for(accepted, 30)
            writer.close()
            return nodelay

    assert asyncio.run(scenario()) != 0
