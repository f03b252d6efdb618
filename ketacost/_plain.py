"""Plain-language explanations of an estimate's lines, in the patient's language.

(Being written for issue 16: what each charge is in words a patient knows, why a line is not
covered or is self-pay, and who pays what, every amount with "$"; codes only in the details.)
"""

from __future__ import annotations

__all__: list[str] = []
