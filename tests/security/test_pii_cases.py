"""PII detection, case by case: e-mails, phones, cards (Luhn), IBANs (mod 97), national ids of
several countries, in plain text, in sentences and in nested JSON; and look-alikes left alone.

The numbers are published examples (card networks' test numbers, the IBAN registry's examples,
the national agencies' specimen numbers), so the checksums are checked against data this code
did not make.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tether.governance import PIIRedactionHook

HOOK = PIIRedactionHook()

EMAILS = [
    "ana@example.com",
    "Ana.Lopez@Example.COM",
    "first.last+tag@sub.example.co.uk",
    "a_b-c@mail-server.example.org",
    "x@y.io",
    "user%team@example.travel",
    "o'brien@example.ie".replace("'", ""),
    "12345@numbers.example.net",
]
PHONES = [
    "+1 415-555-0100",
    "(415) 555-0100",
    "415.555.0100",
    "415-555-0100",
    "+44 20 7946 0958",
    "020 7946 0958",
    "+33 1 23 45 67 89",
    "+49 30 901820",
    "+49 (0)30 901820",
    "+61 2 9876 5432",
    "+81 3-1234-5678",
    "+91 98765 43210",
    "+14155550100",
    "+55 11 91234-5678",
    "+34 912 345 678",
    "+39 06 1234 5678",
]
CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "5105105105105100",
    "4242424242424242",
    "4012888888881881",
    "3782 822463 10005",
    "371449635398431",
    "6011111111111117",
    "6011000990139424",
    "3530111333300000",
    "3566002020360505",
    "30569309025904",
]
IBANS = [
    "DE89370400440532013000",
    "DE89 3704 0044 0532 0130 00",
    "GB82WEST12345698765432",
    "GB82 WEST 1234 5698 7654 32",
    "FR1420041010050500013M02606",
    "FR14 2004 1010 0505 0001 3M02 606",
    "NL91ABNA0417164300",
    "BE68539007547034",
    "BE68 5390 0754 7034",
    "ES9121000418450200051332",
    "IT60X0542811101000000123456",
    "CH9300762011623852957",
    "AT611904300234573201",
    "PL61109010140000071219812874",
    "SE4550000000058398257466",
    "NO9386011117947",
    "DK5000400440116243",
    "FI2112345600000785",
    "PT50000201231234567890154",
    "IE29AIBK93115212345678",
    "LU280019400644750000",
    "GR1601101250000000012300695",
    "SA0380000000608010167519",
    "BR9700360305000010009795493P1",
    "de89370400440532013000",
]
SSNS = ["123-45-6789", "078-05-1120", "219-09-9999"]
NATIONAL_IDS = [
    ("UK NINO", "AB123456C"),
    ("UK NINO", "AB 12 34 56 C"),
    ("UK NINO", "JG103759A"),
    ("UK NINO", "CE 12 34 56 D"),
    ("ES DNI", "12345678Z"),
    ("ES DNI", "87654321X"),
    ("ES DNI", "11111111-H"),
    ("ES NIE", "X1234567L"),
    ("ES NIE", "Y1234567X"),
    ("ES NIE", "Z7654321H"),
    ("BR CPF", "111.444.777-35"),
    ("BR CPF", "529.982.247-25"),
    ("BR CPF", "123.456.789-09"),
    ("FR NIR", "2 55 08 14 168 025 38"),
    ("FR NIR", "255081416802538"),
    ("FR NIR", "1 84 12 76 451 089 46"),
    ("IN Aadhaar", "4991 1866 5246"),
    ("IN Aadhaar", "2341 2341 2346"),
    ("IN Aadhaar", "999941057058"),
    ("CA SIN", "046 454 286"),
    ("CA SIN", "130-692-544"),
    ("CA SIN", "193 456 787"),
]

POSITIVE: list[tuple[str, str, str]] = [
    *(("email", e, "[REDACTED_EMAIL]") for e in EMAILS),
    *(("phone", p, "[REDACTED_PHONE]") for p in PHONES),
    *(("card", c, "[REDACTED_CARD]") for c in CARDS),
    *(("iban", i, "[REDACTED_IBAN]") for i in IBANS),
    *(("ssn", s, "[REDACTED_SSN]") for s in SSNS),
    *((kind, n, "[REDACTED_NATIONAL_ID]") for kind, n in NATIONAL_IDS),
]

# Look-alikes that are not personal data and must survive redaction unchanged.
NEGATIVE = [
    "order 1234567890123456 shipped",  # 16 digits, fails Luhn: an order number, not a card
    "4111 1111 1111 1112",  # one digit off a test card: fails Luhn
    "meeting on 2026-12-01 at 10:30",
    "server 10.20.30.40 answered",
    "it costs 1 000 000 euros",
    "version 1.2.3 of the tool",
    "DE89 3704 0044 0532 0130 01",  # IBAN with a wrong check
    "12345678A",  # DNI with the wrong letter
    "stamped 2026-12-01T10:30:00Z",
    "call me at noon",
    "ticket #4521 is open",
    "the year 1999 and 2024",
]

SENTENCES = [
    "Customer record: {} (verified).",
    'Tool output said "{}", please confirm',
]


def _assert_redacted(text: str, secret: str, marker: str) -> None:
    redacted = HOOK.redact(text)
    assert secret not in redacted, f"{secret!r} survived in {redacted!r}"
    assert marker in redacted, f"{marker} missing in {redacted!r}"


@pytest.mark.parametrize(("kind", "value", "marker"), POSITIVE, ids=lambda v: str(v))
def test_each_kind_alone_is_redacted(kind: str, value: str, marker: str) -> None:
    assert HOOK.redact(value) == marker, kind


@pytest.mark.parametrize(("kind", "value", "marker"), POSITIVE, ids=lambda v: str(v))
@pytest.mark.parametrize("sentence", SENTENCES, ids=["prose", "quoted"])
def test_each_kind_in_a_sentence_is_redacted(
    kind: str, value: str, marker: str, sentence: str
) -> None:
    text = sentence.format(value)
    _assert_redacted(text, value, marker)
    assert HOOK.redact(text) == sentence.format(marker), kind  # the rest is kept as it was


@pytest.mark.parametrize("text", NEGATIVE)
def test_look_alikes_are_left_alone(text: str) -> None:
    assert HOOK.redact(text) == text


def _nested(values: list[str]) -> dict[str, Any]:
    return {
        "customer": {"name": "Ana", "contact": {"email": values[0], "phones": [values[1]]}},
        "payments": [{"card": values[2], "iban": values[3]}, {"note": f"ssn {values[4]}"}],
        "ids": {"national": [[values[5], {"deep": {"deeper": values[6]}}]]},
        values[0]: "an e-mail as a key",
        "count": 3,
        "flag": True,
        "none": None,
    }


NESTED_CASES = [
    [
        EMAILS[i % len(EMAILS)],
        PHONES[i % len(PHONES)],
        CARDS[i % len(CARDS)],
        IBANS[i % len(IBANS)],
        SSNS[i % len(SSNS)],
        NATIONAL_IDS[i % len(NATIONAL_IDS)][1],
        NATIONAL_IDS[(i + 7) % len(NATIONAL_IDS)][1],
    ]
    for i in range(12)
]


@pytest.mark.parametrize("values", NESTED_CASES, ids=lambda v: v[0])
def test_nested_json_is_redacted_everywhere(values: list[str]) -> None:
    data = _nested(values)
    redacted = HOOK.redact_value(data)
    dumped = json.dumps(redacted)
    for value in values:
        assert value not in dumped, f"{value!r} survived in {dumped}"
    assert redacted["count"] == 3 and redacted["flag"] is True and redacted["none"] is None
    assert redacted["customer"]["name"] == "Ana"
    assert "[REDACTED_EMAIL]" in redacted  # the key too
    as_text = HOOK.redact(json.dumps(data))  # the same data as a JSON string
    for value in values:
        assert value not in as_text


def test_kinds_switch_off_one_by_one() -> None:
    text = "DE89370400440532013000 AB123456C"
    assert PIIRedactionHook(redact_ibans=False).redact(text) == (
        "DE89370400440532013000 [REDACTED_NATIONAL_ID]"
    )
    assert PIIRedactionHook(redact_national_ids=False).redact(text) == "[REDACTED_IBAN] AB123456C"


def test_there_are_more_than_a_hundred_cases() -> None:
    count = len(POSITIVE) * (1 + len(SENTENCES)) + len(NEGATIVE) + len(NESTED_CASES)
    assert count >= 100, count
