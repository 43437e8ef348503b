"""Normalization of emails and domains: what makes two records the same person or company."""
from __future__ import annotations

import pytest

from sync_engine.identity import company_domain_of_email, is_valid_email, normalize_email, registrable_domain


@pytest.mark.parametrize(("raw", "expected"), [
    (" Jane.Doe@Acme.COM ", "jane.doe@acme.com"),
    ("mailto:bob@acme.com", "bob@acme.com"),
    ("", None),
    (None, None),
])
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("email", ["jane.doe@", "bob@@acme.com", "no-at-sign.acme.com", "a..b@acme.com",
                                   "x@acme"])
def test_invalid_emails_are_refused(email: str) -> None:
    assert not is_valid_email(email)


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://www.acme.com/", "acme.com"),
    ("http://acme.com", "acme.com"),
    ("acme.com/about", "acme.com"),
    ("www.acme.co.uk", "acme.co.uk"),
    ("https://shop.example.com.au:8443/x?y=1", "example.com.au"),
    ("ACME.COM", "acme.com"),
    ("localhost", None),
    ("", None),
])
def test_registrable_domain(raw: str, expected: str | None) -> None:
    assert registrable_domain(raw) == expected


def test_free_mail_is_never_a_company_key() -> None:
    assert company_domain_of_email("jane@gmail.com") is None
    assert company_domain_of_email("jane@eu.acme.co.uk") == "acme.co.uk"
