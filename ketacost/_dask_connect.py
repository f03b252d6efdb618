"""Connecting to a Dask scheduler within a deadline, or one error line (``ketacost[dask]``).

Dask's client honours its ``timeout`` only while the TCP connection is being made: a listener
that accepts and then says nothing (a silent port, an HTTP server) holds it far longer, and
bytes that are not Dask's are read as a frame length (``MemoryError: Unable to allocate
3.07 EiB``). A Dask scheduler speaks first on a new connection (its handshake, a frame whose
8-byte little-endian length comes first), so a ``tcp://`` address is probed for that length
before the client connects: no answer within the deadline, or a length no handshake has, is
"not a Dask scheduler". Then the client connects and waits for one worker, both within the
deadline. A client that failed to start is closed, so its ``__del__`` prints nothing.
"""

from __future__ import annotations

import contextlib
import gc
import socket
import struct
import sys
import time
from collections.abc import Iterator
from typing import Any

from ._errors import InvalidArgumentError

__all__ = ["connect", "probe"]

_MAX_HANDSHAKE = 1 << 20  # a Dask handshake is a few hundred bytes


def _host_port(scheduler: str) -> tuple[str, int] | None:
    """The host and port of a ``tcp://`` (or schemeless) address; ``None``: another scheme."""
    scheme, _, rest = scheduler.rpartition("://")
    if scheme not in ("", "tcp"):
        return None
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise InvalidArgumentError(f"not a Dask scheduler address: {scheduler} (tcp://HOST:PORT)")
    return host.strip("[]"), int(port)


def probe(scheduler: str, timeout: float) -> None:
    """Check that ``scheduler`` answers as a Dask scheduler within ``timeout`` seconds.

    Raises:
        InvalidArgumentError: nothing listens there, nothing answers in time, or what
            answers is not a Dask scheduler.
    """
    address = _host_port(scheduler)
    if address is None:
        return  # tls://, ws://, inproc://: Dask's own connect decides
    deadline = time.monotonic() + timeout
    header = b""
    try:
        with socket.create_connection(address, timeout=timeout) as s:
            while len(header) < 8:
                s.settimeout(max(0.001, deadline - time.monotonic()))
                got = s.recv(8 - len(header))
                if not got:
                    break
                header += got
    except TimeoutError:
        raise _error(scheduler, f"no answer within {timeout:g} s") from None
    except OSError as exc:
        raise _error(scheduler, f"{exc.strerror or type(exc).__name__}") from None
    if len(header) < 8 or not 0 < struct.unpack("<Q", header)[0] <= _MAX_HANDSHAKE:
        raise _error(scheduler, "not a Dask scheduler")


def _error(scheduler: str, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"cannot reach the Dask scheduler at {scheduler}: {why}")


@contextlib.contextmanager
def _quiet_unraisable() -> Iterator[None]:
    """Drop the "Exception ignored in" reports of a client that failed to start."""
    hook = sys.unraisablehook
    sys.unraisablehook = lambda _: None
    try:
        yield
    finally:
        gc.collect()  # the failed client's __del__ runs here, reported to nobody
        sys.unraisablehook = hook


@contextlib.contextmanager
def connect(distributed: Any, scheduler: str, timeout: float) -> Iterator[Any]:
    """A Dask client of ``scheduler`` with at least one worker, closed on exit.

    Raises:
        InvalidArgumentError: the scheduler is not reached, not a Dask scheduler, or has no
            worker, within ``timeout`` seconds.
    """
    start = time.monotonic()
    probe(scheduler, timeout)
    client: Any = None
    with _quiet_unraisable():
        try:
            client = distributed.Client(
                scheduler,
                timeout=max(0.1, timeout - (time.monotonic() - start)),
                set_as_default=False,
                direct_to_workers=False,
            )
        except (OSError, TimeoutError, ValueError, MemoryError) as exc:
            raise _error(
                scheduler, f"not reached within {timeout:g} s ({type(exc).__name__})"
            ) from None
    try:
        try:
            client.wait_for_workers(1, timeout=max(0.1, timeout - (time.monotonic() - start)))
        except (TimeoutError, OSError):
            raise _error(scheduler, f"no worker within {timeout:g} s") from None
        yield client
    finally:
        client.close()
