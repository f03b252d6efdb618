"""The audit log's hash chain: pure functions, no database.

Each entry's hash is ``sha256(previous hash + canonical entry)``, the first entry's previous
hash being :data:`GENESIS`. A changed entry no longer hashes to its stored hash; a deleted or
re-ordered entry breaks the next entry's link (its ``prev_hash`` and its ``seq``). Deleting
the newest entries leaves a shorter chain that still verifies: compare the head with one
noted elsewhere (``anchor``) to detect that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["GENESIS", "AuditEntry", "canonical_entry", "entry_hash", "verify_chain"]

#: The previous hash of the first entry.
GENESIS = "0" * 64


@dataclass(frozen=True)
class AuditEntry:
    """One audit log entry as stored: what was done, to which record, by whom, when."""

    seq: int
    at: str  # UTC time, ISO 8601
    actor: str
    action: str
    record_id: str | None
    detail: Mapping[str, Any]
    prev_hash: str
    hash: str


def canonical_entry(
    seq: int,
    at: str,
    actor: str,
    action: str,
    record_id: str | None,
    detail: Mapping[str, Any],
) -> str:
    """The canonical JSON of an entry's content: sorted keys, no spaces, ASCII only."""
    return json.dumps(
        {
            "action": action,
            "actor": actor,
            "at": at,
            "detail": detail,
            "record_id": record_id,
            "seq": seq,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )


def entry_hash(prev_hash: str, canonical: str) -> str:
    """sha256 of the previous entry's hash followed by this entry's canonical JSON."""
    return hashlib.sha256((prev_hash + canonical).encode("ascii")).hexdigest()


def verify_chain(entries: Iterable[AuditEntry], *, anchor: str | None = None) -> list[str]:
    """Every problem in a chain of entries in ``seq`` order (empty when it is intact).

    Args:
        entries: the stored entries, lowest ``seq`` first.
        anchor: a head hash noted earlier outside the database; it must still be in the chain
            (this detects deleted newest entries, which a chain alone cannot).
    """
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    seen: set[str] = set()
    for e in entries:
        if e.seq != expected_seq:
            problems.append(f"entry {e.seq}: expected entry {expected_seq} (an entry is missing)")
        if e.prev_hash != prev:
            problems.append(f"entry {e.seq}: does not follow the entry before it (broken link)")
        canonical = canonical_entry(e.seq, e.at, e.actor, e.action, e.record_id, e.detail)
        if entry_hash(e.prev_hash, canonical) != e.hash:
            problems.append(f"entry {e.seq}: its content does not match its hash (changed)")
        seen.add(e.hash)
        prev = e.hash
        expected_seq = e.seq + 1
    if anchor is not None and anchor not in seen:
        problems.append(f"the noted head {anchor[:12]}… is not in the chain (entries removed)")
    return problems
