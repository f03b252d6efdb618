"""How the workers of ``ketacost serve --workers N`` share new connections between them.

The workers share one listening socket, and the system wakes every idle one when a
connection arrives. asyncio's own event loop then takes every connection waiting (up to 100)
in one go, so 4 clients connecting together often all landed on one worker (3 / 1, or
4 / 0, over 2 workers in ``bench_web.py``): one core then idles while the other runs
behind. Keep-alive connections stay where they land, so the split lasts.

- Each worker writes how many connections it holds (open, or taken from the socket and not
  yet open) in its slot of a small file the workers share (:class:`Connections`; made by
  the parent, removed when it stops).
- Its event loop (:class:`BalancedAcceptLoop`) takes one connection each time it is woken.
  A worker that holds more connections than the least-loaded other worker first waits
  :data:`ACCEPT_DELAY_SECONDS` for each connection more (at most :data:`MOST_AHEAD` of
  them: 20 ms), leaving the connection to a worker that holds fewer; then it takes one if
  one is still waiting. A worker never waits when no other worker holds fewer, nor when it
  is alone (started without the file, or its others have stopped).
- A worker that stops accepting (it is stopping: SIGTERM, SIGHUP, SIGTTOU) empties its slot
  first, so the others never wait for it. A worker killed (SIGKILL) leaves its slot, which
  counts while its process id is in use: its replacement, started at once, takes it.
- The cost: a worker that holds more than another, which does not take the connection
  (it is stuck, or stopped with SIGSTOP), takes at most one new connection every 5 to 20 ms.
"""

from __future__ import annotations

import asyncio
import mmap
import os
import struct
import sys
from collections.abc import Coroutine
from typing import Any

__all__ = [
    "ACCEPT_DELAY_SECONDS",
    "LOOP",
    "MOST_AHEAD",
    "SLOTS",
    "BalancedAcceptLoop",
    "Connections",
    "CountedProtocol",
    "make_slots_file",
]

#: Seconds a worker waits for each connection it holds more than the least-loaded other
#: worker, at most :data:`MOST_AHEAD` of them, before it takes a new connection.
ACCEPT_DELAY_SECONDS = 0.005
MOST_AHEAD = 4
#: Slots in the shared file: one a worker (``ketacost serve`` allows at most 32 workers, and
#: SIGHUP or SIGTTIN start more for a while; a worker that finds none free does not share,
#: and never waits).
SLOTS = 64
_SLOT = struct.Struct("=ii")  # a worker's process id (0: free) and the connections it holds
#: The asyncio methods :class:`BalancedAcceptLoop` overrides (not public; the same from
#: Python 3.11 to 3.13).
_OVERRIDDEN = ("_accept_connection", "_accept_connection2", "_start_serving", "_stop_serving")
#: uvicorn's import string for the workers' event loop: asyncio's own loop where it lacks
#: what :class:`BalancedAcceptLoop` overrides (a future Python).
LOOP = (
    "ketacost.web._balance:BalancedAcceptLoop"
    if all(hasattr(asyncio.SelectorEventLoop, name) for name in _OVERRIDDEN)
    else "asyncio"
)


def make_slots_file() -> str:
    """A new, empty file of :data:`SLOTS` slots (in ``$TMPDIR``) for one server's workers."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="ketacost-connections-")
    with os.fdopen(fd, "wb") as out:
        out.write(bytes(_SLOT.size * SLOTS))
    return path


class Connections:
    """The connections this worker holds, and, through the shared file, the other workers'.

    A worker claims a free slot (or that of a worker gone) when it starts (:meth:`share`);
    its protocol counts each connection while it is open, and its loop each one taken from
    the socket until the protocol has it (both through :meth:`change`); it empties its slot
    when it stops taking connections (:meth:`leave`).
    """

    held = 0  # connections open in this worker
    taking = 0  # taken from the socket, not yet open
    _map: mmap.mmap | None = None
    _slot = -1

    @classmethod
    def share(cls, path: str) -> bool:
        """Claim a slot of the file at ``path``; False (and no sharing) when none is free."""
        if sys.platform == "win32":  # no fcntl locks, and os.kill(pid, 0) would kill
            return False
        import fcntl

        me = os.getpid()
        size = _SLOT.size * SLOTS
        with open(path, "r+b") as file:
            if os.fstat(file.fileno()).st_size < size:  # not one of ours: leave it alone
                return False
            # one worker claims at a time; unlocked by hand: the map keeps a copy of the
            # file's descriptor, which would hold the lock for the worker's life
            fcntl.flock(file, fcntl.LOCK_EX)
            try:
                shared = mmap.mmap(file.fileno(), size)
                for slot in range(SLOTS):
                    pid, _ = _SLOT.unpack_from(shared, slot * _SLOT.size)
                    if pid in (0, me) or not _alive(pid):
                        _SLOT.pack_into(shared, slot * _SLOT.size, me, cls.mine())
                        cls._map, cls._slot = shared, slot
                        return True
            finally:
                fcntl.flock(file, fcntl.LOCK_UN)
        shared.close()
        return False

    @classmethod
    def change(cls, held: int = 0, taking: int = 0) -> None:
        """Count ``held`` more open connections and ``taking`` more being taken; publish."""
        cls.held += held
        cls.taking += taking
        if cls._map is not None:
            _SLOT.pack_into(cls._map, cls._slot * _SLOT.size, os.getpid(), cls.mine())

    @classmethod
    def mine(cls) -> int:
        """The connections this worker holds or is taking."""
        return max(0, cls.held + cls.taking)

    @classmethod
    def ahead(cls) -> int:
        """How many connections this worker holds more than the least-loaded other one (≥ 0).

        0 without the shared file or another worker; a slot whose worker has gone is skipped.
        """
        shared = cls._map
        if shared is None:
            return 0
        mine, me = cls.mine(), os.getpid()
        fewest = mine
        for slot in range(SLOTS):
            pid, count = _SLOT.unpack_from(shared, slot * _SLOT.size)
            if pid not in (0, me) and count < fewest and _alive(pid):
                fewest = count
        return mine - fewest

    @classmethod
    def leave(cls) -> None:
        """Empty this worker's slot and stop sharing: it takes no more connections."""
        if cls._map is not None:
            _SLOT.pack_into(cls._map, cls._slot * _SLOT.size, 0, 0)
            cls._map.close()
            cls._map, cls._slot = None, -1

    @classmethod
    def forget(cls) -> None:
        """Stop sharing (tests; a worker's slot is freed by its replacement)."""
        if cls._map is not None:
            cls._map.close()
        cls._map, cls._slot, cls.held, cls.taking = None, -1, 0, 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: there
        return True
    return True


class CountedProtocol:
    """Counts a worker's connections in :class:`Connections` (mixed in before the protocol)."""

    _counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._counted = True
        # (also still counted as being taken, until the loop's next turn: one too many for
        # that turn, which can only make a wait one step longer)
        Connections.change(held=1)
        super().connection_made(transport)  # type: ignore[misc]

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted:  # once, however often it is called
            self._counted = False
            Connections.change(held=-1)
        super().connection_lost(exc)  # type: ignore[misc]


class BalancedAcceptLoop(asyncio.SelectorEventLoop):
    """A worker's event loop: one new connection a wake, after a wait when it holds more.

    See the module's docstring. It overrides four methods of asyncio's selector loop that
    are not public (:data:`_OVERRIDDEN`), so the workers use it only where they are there
    (:data:`LOOP`). The workers run it, not uvloop.
    """

    def _accept_connection(
        self,
        protocol_factory: Any,
        sock: Any,
        sslcontext: Any = None,
        server: Any = None,
        backlog: int = 100,
        *timeouts: Any,
    ) -> None:
        ahead = min(Connections.ahead(), MOST_AHEAD)
        if ahead:
            self.remove_reader(sock.fileno())  # until the wait is over (it stays ready)
            self.call_later(
                ahead * ACCEPT_DELAY_SECONDS,
                self._resume, protocol_factory, sock, sslcontext, server, backlog, *timeouts,
            )  # fmt: skip
            return
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *timeouts
        )

    def _resume(
        self,
        protocol_factory: Any,
        sock: Any,
        sslcontext: Any,
        server: Any,
        backlog: int,
        *timeouts: Any,
    ) -> None:
        """After a wait: watch the socket again, and take one connection if one still waits.

        Nothing when the server has closed meanwhile (it is stopping). When another worker
        took the connection, the accept finds none and returns.
        """
        if sock.fileno() == -1 or (server is not None and not server.is_serving()):
            return
        self._start_serving(  # type: ignore[attr-defined]
            protocol_factory, sock, sslcontext, server, backlog, *timeouts
        )
        super()._accept_connection(  # type: ignore[misc]
            protocol_factory, sock, sslcontext, server, 1, *timeouts
        )

    def _stop_serving(self, sock: Any) -> None:
        """The server stops taking connections: the other workers no longer wait for this one."""
        Connections.leave()
        super()._stop_serving(sock)  # type: ignore[misc]

    def _accept_connection2(self, *args: Any, **kwargs: Any) -> Coroutine[Any, Any, None]:
        """Counted from the moment it leaves the socket until its protocol has it."""
        Connections.change(taking=1)
        return self._taken(super()._accept_connection2(*args, **kwargs))  # type: ignore[misc]

    async def _taken(self, accepting: Coroutine[Any, Any, None]) -> None:
        try:
            await accepting  # ends once the protocol's connection_made has run
        finally:
            Connections.change(taking=-1)
