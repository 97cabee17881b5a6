"""Catalogue of the solid-waste materials the exchange trades.

Plain data only, so that the marketplace can import it and check its own
database catalogue against it without pulling in numpy or OR-Tools.
"""
from __future__ import annotations

from decimal import Decimal

#: material code -> its grades, best first; an empty tuple means ungraded.
MATERIALS: dict[str, tuple[str, ...]] = {
    "fly_ash": ("I", "II", "III"),
    "gbf_slag": ("S105", "S95", "S75"),
    "steel_slag": ("I", "II"),
    "fgd_gypsum": (),
    "coal_gangue": (),
    "furnace_slag": (),
    "carbide_slag": (),
    "gasification_slag": (),
    "ferroalloy_slag": (),
}

#: Environmental-protection tax avoided per tonne utilised instead of
#: landfilled (yuan/t).  Coal gangue is taxed at 5 yuan/t, every other
#: industrial solid waste in the catalogue at 25 yuan/t.
ENV_TAX_YUAN_PER_T: dict[str, Decimal] = {
    code: (Decimal("5") if code == "coal_gangue" else Decimal("25")) for code in MATERIALS
}


def grade_rank(material: str, grade: str | None) -> int | None:
    """Index of ``grade`` in the material's best-first list (0 = best).

    Returns None when ``grade`` is None; raises KeyError/ValueError for an
    unknown material or a grade the material does not have.
    """
    if grade is None:
        return None
    return MATERIALS[material].index(grade)


def grade_meets(material: str, grade: str | None, min_grade: str | None) -> bool:
    """True when a supply of ``grade`` satisfies a demand's ``min_grade``.

    No ``min_grade`` accepts anything (including an ungraded supply); a
    supply without a grade never meets an explicit ``min_grade``.
    """
    if min_grade is None:
        return True
    if grade is None:
        return False
    grades = MATERIALS[material]
    return grades.index(grade) <= grades.index(min_grade)
