"""Exact money and distance units.

Internally money is integer *fen* (0.01 yuan) per tonne or in total, and
distances are integer *decikilometres* (0.1 km).  Tariff rates are kept as
integer micro-yuan so that the per-tonne transport cost can be computed
exactly in integers and rounded to the fen exactly once.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

FEN_PER_YUAN = 100
#: one unit of the exact per-tonne transport cost: 1e-7 yuan, i.e. a
#: micro-yuan rate (yuan/t/km * 1e6) times a distance in 0.1 km.
E7_PER_FEN = 100_000


def to_decimal(value: object) -> Decimal:
    """Convert an int, float or numeric string to Decimal without binary noise.

    Floats go through ``repr`` (the shortest round-tripping form), so the JSON
    literal ``0.45`` becomes ``Decimal('0.45')`` and not 0.450000000000000011.
    """
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("not a finite number")
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            d = Decimal(value.strip())
        except InvalidOperation:
            raise TypeError(f"{value!r} is not a number") from None
        if not d.is_finite():
            raise ValueError("not a finite number")
        return d
    raise TypeError(f"{value!r} is not a number")


def scaled_int(value: Decimal, decimals: int) -> int:
    """``value * 10**decimals`` as an int; ValueError if that is not whole."""
    scaled = value.scaleb(decimals)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {decimals} decimal places")
    return int(scaled)


def fen_to_yuan(fen: int) -> Decimal:
    """Integer fen -> Decimal yuan with exactly two decimals."""
    sign, digits, _ = Decimal(int(fen)).as_tuple()
    return Decimal((sign, digits, -2))  # exact at any size (a division would round to 28 digits)


def yuan_str(amount: Decimal | int) -> str:
    """Money as the JSON string form: two decimals, e.g. ``"1234.50"``."""
    if isinstance(amount, int):
        amount = fen_to_yuan(amount)
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def e7_to_fen(cost_e7: int) -> int:
    """Round a non-negative cost in 1e-7 yuan to the fen, half up, exactly."""
    return (int(cost_e7) + E7_PER_FEN // 2) // E7_PER_FEN


def dkm_to_km(dkm: int) -> Decimal:
    """Integer decikilometres -> Decimal km with one decimal."""
    return Decimal(int(dkm)).scaleb(-1)
