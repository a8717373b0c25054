"""A loopback TCP proxy in front of an emulator that can refuse or blackhole every connection.

The emulators keep everything in memory, so stopping one to make it unreachable
loses what it holds. Behind this proxy an emulator stays up while the functions
see it go away: `refuse` resets every connection and every new one (as a stopped
server would), `blackhole` swallows all bytes and answers nothing (as a partition
would) until the connections are reset when the window ends.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

from devtools.emulators import free_port

MODES = ("up", "refuse", "blackhole")


def _reset(sock: socket.socket) -> None:
    """Close with an RST instead of a FIN, as a dead peer's kernel would answer."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class _Link:
    """One client connection and its upstream connection (None while blackholed)."""

    def __init__(self, client: socket.socket, upstream: socket.socket | None) -> None:
        self.client = client
        self.upstream = upstream
        self.blackholed = upstream is None
        self.closed = threading.Event()

    def close(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        _reset(self.client)
        if self.upstream is not None:
            _reset(self.upstream)


class Proxy:
    """Forward 127.0.0.1:port to 127.0.0.1:target_port, in one of MODES."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.mode = "up"
        self._links: set[_Link] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._stopped = threading.Event()

    @property
    def host(self) -> str:
        """host:port, for an emulator environment variable."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> Proxy:
        """Listen and accept in a background thread."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name=f"proxy-{self.port}", daemon=True).start()
        return self

    def set_mode(self, mode: str) -> None:
        """Switch mode: refusing resets every link; leaving a blackhole resets the swallowed links."""
        if mode not in MODES:
            raise ValueError(f"unknown proxy mode {mode!r}")
        with self._lock:
            previous, self.mode = self.mode, mode
            links = list(self._links)
        if mode == "refuse" or (previous == "blackhole" and mode != "blackhole"):
            for link in links:
                if mode == "refuse" or link.blackholed:
                    link.close()
        if mode == "blackhole":
            for link in links:
                link.blackholed = True

    def stop(self) -> None:
        """Stop accepting and reset every link."""
        self._stopped.set()
        if self._listener is not None:
            self._listener.close()
        with self._lock:
            links = list(self._links)
        for link in links:
            link.close()

    def _accept_loop(self) -> None:
        listener = self._listener
        while listener is not None and not self._stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            mode = self.mode
            if mode == "refuse":
                _reset(client)
                continue
            upstream = None
            if mode == "up":
                try:
                    upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
                except OSError:
                    _reset(client)
                    continue
            link = _Link(client, upstream)
            with self._lock:
                self._links.add(link)
            threading.Thread(target=self._pump, args=(link, True), daemon=True).start()
            if upstream is not None:
                threading.Thread(target=self._pump, args=(link, False), daemon=True).start()

    def _pump(self, link: _Link, outbound: bool) -> None:
        """Copy one direction of a link; a blackholed link reads and drops everything."""
        source = link.client if outbound else link.upstream
        if source is None:
            return
        source.settimeout(0.5)
        try:
            while not link.closed.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                if link.blackholed:
                    continue
                sink = link.upstream if outbound else link.client
                if sink is None:
                    continue
                sink.sendall(data)
        except OSError:
            pass
        finally:
            link.close()
            with self._lock:
                self._links.discard(link)
