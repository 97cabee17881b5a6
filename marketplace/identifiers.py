"""Unified social credit code (统一社会信用代码, GB 32100-2015)."""
import re

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
_SHAPE = re.compile(f"^[{ALPHABET}]{{18}}$")


def uscc_check_char(first17: str) -> str:
    """The 18th character for the given first 17 characters."""
    total = sum(ALPHABET.index(ch) * w for ch, w in zip(first17, WEIGHTS, strict=False))
    value = 31 - total % 31
    return ALPHABET[0 if value == 31 else value]


def normalise_uscc(code: str) -> str:
    """Upper-case and strip spaces, as people type codes with both."""
    return re.sub(r"\s+", "", code or "").upper()


def is_valid_uscc(code: str) -> bool:
    """True when `code` is 18 characters of the alphabet and its check character is right."""
    code = normalise_uscc(code)
    return bool(_SHAPE.match(code)) and uscc_check_char(code[:17]) == code[17]


def make_uscc(first17: str) -> str:
    """Complete 17 characters with their check character (demo data and tests)."""
    return first17 + uscc_check_char(first17)
