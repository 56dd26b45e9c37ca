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

One thread forwards every connection: each pass over the ready sockets forwards all of them, so
bytes the target wrote on one connection before another (Redis writes a pub/sub notification to a
subscriber before it answers the publisher's next command) reach the clients in that order, as
they would without a proxy. A thread per connection would let the answer overtake the notification.
"""

from __future__ import annotations

import collections
import selectors
import socket
import threading
from collections.abc import Callable

_LISTENER, _WAKE = "listener", "wake"


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._selector = selectors.DefaultSelector()
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector.register(self._wake_read, selectors.EVENT_READ, _WAKE)
        self._commands: collections.deque = collections.deque()
        self._listener: socket.socket | None = None
        self._peers: dict[socket.socket, socket.socket] = {}  # both directions of every forwarded connection
        self._held: list[socket.socket] = []  # accepted while hanging
        self._hanging = False
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()
        self.open()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    # -- what a test calls (each waits until the forwarding thread has done it) -------------------

    def open(self) -> None:
        """Accept and forward connections again (on the same port)."""
        self._call(self._open)

    def close(self) -> None:
        """Refuse new connections and cut the open ones: the dependency is down."""
        self._call(self._close)

    def hang(self) -> None:
        """Keep accepting, forward nothing: every request waits until the client's own timeout."""
        self._call(self._hang)

    def cut(self) -> None:
        """Reset every open connection (both sides see the connection drop)."""
        self._call(self._cut)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._call(self._stop)
            self._thread.join(timeout=5)
            self._wake_read.close()
            self._wake_write.close()

    def __enter__(self) -> "TcpProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def _call(self, command: Callable[[], None]) -> None:
        done = threading.Event()
        failure: list[BaseException] = []
        self._commands.append((command, done, failure))
        self._wake_write.send(b"x")
        if not done.wait(timeout=10):
            raise TimeoutError("the TCP proxy's thread did not answer")
        if failure:
            raise failure[0]

    # -- the forwarding thread ---------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stopped:
            for key, _ in self._selector.select():
                if key.data == _WAKE:
                    self._run_commands()
                elif key.data == _LISTENER:
                    self._accept(key.fileobj)
                elif key.fileobj in self._peers and not self._hanging:  # not closed or hung earlier in this pass
                    self._forward(key.fileobj)
        self._selector.close()

    def _run_commands(self) -> None:
        self._wake_read.recv(4096)
        while self._commands:
            command, done, failure = self._commands.popleft()
            try:
                command()
            except BaseException as exc:  # handed to the caller
                failure.append(exc)
            done.set()

    def _open(self) -> None:
        self._resume()
        if self._listener is not None:
            return
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._selector.register(listener, selectors.EVENT_READ, _LISTENER)

    def _close(self) -> None:
        if self._listener is not None:
            self._selector.unregister(self._listener)
            self._listener.close()
            self._listener = None
        self._resume()
        self._cut()

    def _hang(self) -> None:
        if not self._hanging:
            self._hanging = True
            for sock in self._peers:
                self._selector.unregister(sock)

    def _resume(self) -> None:
        """Forward again; connections accepted while hanging are reset (their clients gave up)."""
        if self._hanging:
            self._hanging = False
            for sock in self._peers:
                self._selector.register(sock, selectors.EVENT_READ)
        held, self._held = self._held, []
        for sock in held:
            _reset(sock)

    def _cut(self) -> None:
        while self._peers:
            self._drop(next(iter(self._peers)), graceful=False)

    def _stop(self) -> None:
        self._close()
        self._stopped = True

    def _accept(self, listener: socket.socket) -> None:
        try:
            client, _ = listener.accept()
        except OSError:
            return
        if self._hanging:  # kept, never read: its request waits unanswered
            self._held.append(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        for sock in (client, upstream):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(upstream, selectors.EVENT_READ)

    def _forward(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(65536)
            if data:
                self._peers[sock].sendall(data)
                return
        except OSError:
            self._drop(sock, graceful=False)
            return
        self._drop(sock, graceful=True)  # one side closed: pass the close on, after what was sent

    def _drop(self, sock: socket.socket, *, graceful: bool) -> None:
        peer = self._peers.pop(sock)
        del self._peers[peer]
        for each in (sock, peer):
            if not self._hanging:
                self._selector.unregister(each)
            _close(each) if graceful else _reset(each)


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
