"""The audit log's hash chain (pure functions): any chain of appends verifies, and any single
change to it (an edited field, a removed or re-ordered entry) is detected."""

from __future__ import annotations

import dataclasses
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ketacost.records._audit import (
    GENESIS,
    AuditEntry,
    canonical_entry,
    entry_hash,
    verify_chain,
)

# Small alphabets keep an example cheap (2,000 per property in the ci profile); the hash
# sees every character of the canonical JSON whatever they are.
_detail = st.dictionaries(
    st.sampled_from(["bill", "check", "findings", "gfe"]),
    st.one_of(st.integers(-5, 5), st.sampled_from(["", "a", "é", "\u2028"]), st.none()),
    max_size=3,
)
_content = st.tuples(
    st.sampled_from(["init", "save-gfe", "check-bill", "purge"]),
    st.sampled_from(["root", "front-desk", "Dr Ng"]),
    st.sampled_from([None, "0" * 32, "a1" * 16]),
    _detail,
)


def chain(contents: list[tuple[str, str, str | None, dict[str, Any]]]) -> list[AuditEntry]:
    """Entries appended one after another, as Records._audit appends them."""
    out: list[AuditEntry] = []
    prev = GENESIS
    for seq, (action, actor, record_id, detail) in enumerate(contents, start=1):
        at = f"2026-11-30T12:00:{seq % 60:02d}+00:00"
        digest = entry_hash(prev, canonical_entry(seq, at, actor, action, record_id, detail))
        out.append(AuditEntry(seq, at, actor, action, record_id, detail, prev, digest))
        prev = digest
    return out


def test_worked_example_of_one_entry() -> None:
    (entry,) = chain([("init", "clinic", None, {"schema": "0001"})])
    canonical = (
        '{"action":"init","actor":"clinic","at":"2026-11-30T12:00:01+00:00",'
        '"detail":{"schema":"0001"},"record_id":null,"seq":1}'
    )
    assert canonical_entry(1, entry.at, "clinic", "init", None, {"schema": "0001"}) == canonical
    import hashlib

    assert entry.hash == hashlib.sha256(("0" * 64 + canonical).encode()).hexdigest()
    assert verify_chain([entry]) == []


_FIELDS = ("at", "actor", "action", "record_id", "detail", "hash", "prev_hash", "seq")


@given(
    st.lists(_content, min_size=1, max_size=6),
    st.data(),
)
def test_any_chain_verifies_and_any_single_modification_is_detected(
    contents: list[Any], data: st.DataObject
) -> None:
    entries = chain(contents)
    head = entries[-1].hash
    assert verify_chain(entries, anchor=head) == []
    i = data.draw(st.integers(0, len(entries) - 1), label="entry")
    how = data.draw(st.sampled_from(["edit", "delete", "swap"]), label="how")
    changed = list(entries)
    if how == "delete":
        del changed[i]
    elif how == "swap":
        if len(entries) < 2:
            return
        j = data.draw(st.integers(0, len(entries) - 1).filter(lambda j: j != i), label="other")
        changed[i], changed[j] = changed[j], changed[i]
    else:
        field = data.draw(st.sampled_from(_FIELDS), label="field")
        old = getattr(entries[i], field)
        if field == "seq":
            new: Any = old + data.draw(st.integers(1, 5))
        elif field == "detail":
            new = {**old, "tampered": True}
        elif field == "record_id":
            new = "f" * 32 if old != "f" * 32 else None
        else:
            new = (old or "") + "x"
        changed[i] = dataclasses.replace(entries[i], **{field: new})
    assert verify_chain(changed, anchor=head) != []
