"""The PII detectors behind PIIRedactionHook: patterns, and the checksums that confirm them.

A pattern finds candidates; a checksum (Luhn for cards and Canadian SINs, ISO 7064 mod 97 for
IBANs, the national check digits of Spain, Brazil, India and France) keeps order numbers and
other digit runs that merely look alike from being redacted.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["replace_cards", "replace_ibans", "replace_national_ids", "replace_phones"]


def luhn(digits: str) -> bool:
    """Whether a digit string passes the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


_CARD = re.compile(r"(?<![\d.,-])(?:\d[ -]?){12,18}\d(?![\d])")


def replace_cards(text: str, marker: str) -> str:
    """Card numbers (13 to 19 digits, spaces or dashes allowed) that pass the Luhn check."""

    def one(match: re.Match[str]) -> str:
        digits = _digits(match.group())
        return marker if 13 <= len(digits) <= 19 and luhn(digits) else match.group()

    return _CARD.sub(one, text)


_IBAN = re.compile(
    r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?:[ -][A-Z0-9]{4}){2,7}(?:[ -][A-Z0-9]{1,4})?)\b",
    re.IGNORECASE,
)


def _iban_valid(candidate: str) -> bool:
    compact = re.sub(r"[ -]", "", candidate).upper()
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha():
        return False
    moved = compact[4:] + compact[:4]
    try:
        number = int("".join(str(int(c, 36)) for c in moved))
    except ValueError:
        return False
    return number % 97 == 1


def replace_ibans(text: str, marker: str) -> str:
    """IBANs, compact or in groups of four, that pass the mod 97 check (a trailing word caught
    by the pattern is given back)."""

    def one(match: re.Match[str]) -> str:
        found = match.group()
        candidate = found
        while candidate:
            if _iban_valid(candidate):
                return marker + found[len(candidate) :]
            cut = max(candidate.rfind(" "), candidate.rfind("-"))
            if cut <= 4:
                break
            candidate = candidate[:cut]
        return found

    return _IBAN.sub(one, text)


def _dni(match: re.Match[str]) -> bool:
    raw = re.sub(r"[ -]", "", match.group()).upper()
    body, letter = raw[:-1], raw[-1]
    body = body.replace("X", "0").replace("Y", "1").replace("Z", "2")
    return "TRWAGMYFPDXBNJZSQVHLCKE"[int(body) % 23] == letter


def _cpf(match: re.Match[str]) -> bool:
    digits = [int(c) for c in _digits(match.group())]
    if len(set(digits)) == 1:
        return False
    for size in (9, 10):
        check = sum(d * (size + 1 - i) for i, d in enumerate(digits[:size])) * 10 % 11 % 10
        if check != digits[size]:
            return False
    return True


_VERHOEFF_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_VERHOEFF_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def verhoeff(digits: str) -> bool:
    """Whether a digit string passes the Verhoeff check (Aadhaar numbers)."""
    check = 0
    for index, char in enumerate(reversed(digits)):
        check = _VERHOEFF_D[check][_VERHOEFF_P[index % 8][int(char)]]
    return check == 0


def _aadhaar(match: re.Match[str]) -> bool:
    return verhoeff(_digits(match.group()))


def _nir(match: re.Match[str]) -> bool:
    raw = re.sub(r"\s", "", match.group()).upper()
    body = raw[:13].replace("2A", "19").replace("2B", "18")
    if not body.isdigit():
        return False
    return 97 - int(body) % 97 == int(raw[13:])


def _sin(match: re.Match[str]) -> bool:
    return luhn(_digits(match.group()))


def _always(match: re.Match[str]) -> bool:
    return True


_NATIONAL: list[tuple[re.Pattern[str], Callable[[re.Match[str]], bool]]] = [
    # UK National Insurance number: two letters (not D, F, I, Q, U, V; not BG GB NK KN TN NT ZZ;
    # second not O), six digits, a letter A-D.
    (
        re.compile(
            r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
            r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"
        ),
        _always,
    ),
    # Spain: DNI (8 digits and a check letter) and NIE (X, Y or Z, 7 digits, a check letter).
    (re.compile(r"\b(?:\d{8}|[XYZ]-?\d{7})-?[A-Z]\b", re.IGNORECASE), _dni),
    # Brazil: CPF as written (000.000.000-00), with its two check digits.
    (re.compile(r"(?<![\d.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d])"), _cpf),
    # France: NIR (social security number), 13 characters and a 2-digit key, spaced or not.
    (
        re.compile(
            r"(?<!\d)[12] ?\d{2} ?(?:0[1-9]|1[0-2]|[2-9]\d) ?(?:\d{2}|2A|2B)"
            r" ?\d{3} ?\d{3} ?\d{2}(?!\d)",
            re.IGNORECASE,
        ),
        _nir,
    ),
    # India: Aadhaar, 12 digits (first 2-9) in groups of four, Verhoeff check.
    (re.compile(r"(?<![\d-])[2-9]\d{3}[ -]?\d{4}[ -]?\d{4}(?![\d-])"), _aadhaar),
    # Canada: SIN, 9 digits in groups of three, Luhn check.
    (re.compile(r"(?<![\d-])\d{3}[ -]\d{3}[ -]\d{3}(?![\d-])"), _sin),
]


def replace_national_ids(text: str, marker: str) -> str:
    """National identity numbers of the UK, Spain, Brazil, France, India and Canada (the US
    SSN has a marker of its own), each confirmed by its check digits where it has them."""
    for pattern, valid in _NATIONAL:
        text = pattern.sub(lambda m, ok=valid: marker if ok(m) else m.group(), text)  # type: ignore[misc]
    return text


_PHONE = re.compile(
    r"(?<![\w+.-])(?:\+\d{1,3}[ .-]?(?:\(0\)[ .-]?)?)?(?:\(\d{1,4}\)[ .-]?)?"
    r"\d{1,4}(?:[ .-]\d{2,6}){1,4}(?![\w-])|(?<![\w+])\+\d{8,15}\b"
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[.-]\d{1,2}[.-]\d{2,4}$")
_DOTTED = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


def replace_phones(text: str, marker: str) -> str:
    """Phone numbers: an optional ``+`` country code and area code in parentheses, then groups
    of digits split by spaces, dots or dashes, 7 to 15 digits in all; dates and dotted IP
    addresses are left alone."""

    def one(match: re.Match[str]) -> str:
        found = match.group()
        digits = _digits(found)
        if not 7 <= len(digits) <= 15 or _DATE.match(found) or _DOTTED.match(found):
            return found
        if not found.startswith(("+", "(")) and len(found.split()[0].split("-")[0]) < 2:
            return found  # "1 000 000": a number written with spaces, not a phone
        return marker

    return _PHONE.sub(one, text)
