"""How a payer pays when it is the second payer on a claim (coordination of benefits).

A payer file's ``as_secondary`` lists, per kind of primary payer, the method the plan uses
when it pays second. Each method is a documented real-world rule (domain.md §10.5):

``supplement``
    A Medigap plan: it pays the listed parts of the patient's share of what Original Medicare
    approved (``deductible``, ``coinsurance``, ``excess`` charges above the approved amount),
    nothing on items Medicare does not cover. Plan N leaves the patient up to a fixed copay
    per office visit (``office_visit_copay``).
``medicare_crossover``
    Medicaid after Medicare: Medicaid pays the Medicare cost share (``payment: cost_share``)
    or, under a state's "lesser of" policy, only up to its own rate minus Medicare's payment
    (``payment: lesser_of``), the rest written off: the clinic accepts Medicaid's payment as
    payment in full (42 CFR 447.15), so the patient owes at most Medicaid's own copay. A
    Qualified Medicare Beneficiary owes nothing for Medicare-covered items (SSA
    §1902(n)(3)(B)). On items Medicare does not cover,
    Medicaid pays as the only payer.
``tricare_for_life``
    TRICARE For Life: it pays the Medicare cost share on items both cover; on items TRICARE
    covers and Medicare does not, TRICARE pays first with its own cost sharing.
``standard``
    Standard coordination of benefits: the plan pays the lesser of its normal benefit
    (computed as if it were primary, with its own deductible and maximum) and what the
    patient still owes. An item the primary excludes is adjudicated as if this plan were
    primary.
``non_duplication``
    Non-duplication (carve-out): the plan pays its normal benefit minus what the primary paid,
    never below zero, and never more than the patient still owes.
``medicare_secondary_payer``
    Original Medicare after an employer group plan (the Medicare Secondary Payer rules, 42 CFR
    411.33(a)): Medicare pays the lowest of what it would pay as primary, the higher of its
    own approved amount and the group plan's allowed amount minus the group plan's payment,
    and what the patient still owes.
``last_resort``
    Medicaid after any other plan: Medicaid is the payer of last resort; the patient owes at
    most the Medicaid copay for an item Medicaid covers; Medicaid pays the rest of the cost
    share (``cost_share``) or up to its rate minus the primary's payment (``lesser_of``); the
    provider accepts that as payment in full (42 CFR 447.15), the rest is written off.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from ._types import Code, Day, Model, Usd

__all__ = ["OfficeVisitCopay", "SecondaryBenefit", "SecondaryMethod", "SupplementPart"]

SecondaryMethod = Literal[
    "supplement",
    "medicare_crossover",
    "tricare_for_life",
    "standard",
    "non_duplication",
    "medicare_secondary_payer",
    "last_resort",
]

#: The parts of the patient's share under Original Medicare a Medigap plan may pay.
SupplementPart = Literal["deductible", "coinsurance", "excess"]

#: Methods that compute the plan's normal benefit as if it were primary.
AS_PRIMARY_METHODS = frozenset(
    {
        "medicare_crossover",
        "tricare_for_life",
        "standard",
        "non_duplication",
        "medicare_secondary_payer",
        "last_resort",
    }
)


#: Of those, the methods whose normal benefit is computed on every line, not only on the lines
#: the first payer does not cover (Medicare crossover joins them when the patient is not a QMB:
#: the patient then owes at most Medicaid's own cost share, 42 CFR 447.15).
EVERY_LINE_METHODS = frozenset(
    {"standard", "non_duplication", "medicare_secondary_payer", "last_resort"}
)


class OfficeVisitCopay(Model):
    """Medigap Plan N: the patient keeps up to ``amount`` of the coinsurance per office visit."""

    amount: Usd
    codes: tuple[Code, ...] = Field(min_length=1, max_length=100, description="office visit codes")


class SecondaryBenefit(Model):
    """How the plan pays after a primary payer of one of the kinds in ``after``."""

    after: tuple[str, ...] = Field(
        min_length=1, max_length=10, description="kinds of primary payer this method follows"
    )
    method: SecondaryMethod = Field(
        description="supplement (Medigap after Medicare); medicare_crossover (Medicaid after "
        "Medicare); tricare_for_life; standard (the lesser of its benefit as if primary and what "
        "the patient still owes); non_duplication (its benefit minus the primary's payment); "
        "medicare_secondary_payer (Medicare after a group plan, 42 CFR 411.33(a)); last_resort "
        "(Medicaid after any other plan)"
    )
    pays: tuple[SupplementPart, ...] = Field(
        default=(), max_length=3, description="supplement: the parts of Medicare's cost share paid"
    )
    office_visit_copay: OfficeVisitCopay | None = Field(
        default=None, description="supplement: what the patient keeps per office visit (Plan N)"
    )
    payment: Literal["cost_share", "lesser_of"] = Field(
        default="cost_share",
        description="medicare_crossover and last_resort: pay the cost share, or at most the "
        "plan's own rate minus the primary's payment",
    )
    sold_to_eligible_before: Day | None = Field(
        default=None,
        description="supplement: sold only to people eligible for Medicare before this date "
        "(Plan F and C: 2020-01-01)",
    )
    source: str = Field(min_length=1, max_length=400, description="where the method is stated")
