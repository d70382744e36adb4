"""A TCP port on this machine that counts who connects: the far end of a clone that must never happen,
or a tarpit that accepts and never answers."""
from __future__ import annotations

import socket
import threading


class Listener:
    """Listens on ``host`` (loopback by default; ``0.0.0.0`` as most services bind) and counts connections.

    ``hold``: keep each connection open and silent (a tarpit) instead of closing it at once.
    """

    def __init__(self, host: str = "127.0.0.1", *, hold: bool = False):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.hold = hold
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            if self.hold:
                self.held.append(conn)
            else:
                conn.close()

    def close(self):
        self.stop.set()
        for conn in self.held:
            conn.close()
        self.sock.close()
