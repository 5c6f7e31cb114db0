"""Free loopback ports for processes that tests start."""

from __future__ import annotations

import socket

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    The port is released before returning, so something else could take it before our process
    binds it. Linux does not hand a just-released ephemeral port out again at once, so in
    practice that race is rare; a process that can report its own port (bind to port 0 and print
    it) avoids it entirely.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        port: int = sock.getsockname()[1]
        return port
