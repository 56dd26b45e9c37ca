"""A TCP proxy on a free 127.0.0.1 port that a test can cut, to simulate a dependency outage.

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/test"
        ...
        proxy.close()   # new connections are refused, open ones are cut (like a stopped server)
        proxy.open()    # the dependency is back: connections go through again
        proxy.cut()     # only cut the open connections, keep accepting new ones
        proxy.hang()    # accept and keep connections but forward nothing (a hung or unreachable host)

Refusing is real: while closed the listening socket itself is closed, so a client's connect()
fails with ECONNREFUSED, as when the server is down. The port stays reserved for this proxy
between close() and open() on a best-effort basis (SO_REUSEADDR; the port is re-bound at once).
"""

from __future__ import annotations

import selectors
import socket
import threading
import time


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._accept_thread: threading.Thread | None = None
        self._hanging = threading.Event()
        self._held: list[socket.socket] = []
        self.open()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def open(self) -> None:
        """Accept and forward connections again (on the same port)."""
        self._resume()
        with self._lock:
            if self._listener is not None:
                return
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            self.port = listener.getsockname()[1]
            self._listener = listener
            self._accept_thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
            self._accept_thread.start()

    def close(self) -> None:
        """Refuse new connections and cut the open ones: the dependency is down."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        if self._accept_thread is not None:
            self._accept_thread.join(timeout=5)
            self._accept_thread = None
        self._resume()
        self.cut()

    def hang(self) -> None:
        """Keep accepting, forward nothing: every request waits until the client's own timeout."""
        self._hanging.set()

    def _resume(self) -> None:
        self._hanging.clear()
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def cut(self) -> None:
        """Reset every open connection (both sides see the connection drop)."""
        with self._lock:
            pairs, self._pairs = self._pairs, set()
        for pair in pairs:
            for sock in pair:
                _reset(sock)

    def stop(self) -> None:
        self.close()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self._lock:
                still_open = self._listener is listener
            if not still_open:
                _reset(client)
                return
            if self._hanging.is_set():
                with self._lock:
                    self._held.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _reset(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            threading.Thread(target=self._pump, args=(pair,), daemon=True).start()

    def _pump(self, pair: tuple[socket.socket, socket.socket]) -> None:
        client, upstream = pair
        peer = {client: upstream, upstream: client}
        selector = selectors.DefaultSelector()
        graceful = False
        try:
            selector.register(client, selectors.EVENT_READ)
            selector.register(upstream, selectors.EVENT_READ)
            while True:
                with self._lock:
                    if pair not in self._pairs:
                        return
                if self._hanging.is_set():
                    time.sleep(0.1)
                    continue
                for key, _ in selector.select(timeout=0.5):
                    data = key.fileobj.recv(65536)
                    if not data:  # one side closed: pass the close on, after what was sent
                        graceful = True
                        return
                    peer[key.fileobj].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            selector.close()
            with self._lock:
                cut = pair not in self._pairs
                self._pairs.discard(pair)
            for sock in pair:
                if graceful and not cut:
                    _close(sock)
                else:
                    _reset(sock)


def _close(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0) so the peer sees the connection drop at once."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
