"""Normalization of emails and domains: what makes two records the same person or company."""
from __future__ import annotations

import random
import unicodedata

import idna
import pytest
import tldextract
from email_validator import EmailNotValidError, validate_email

from sync_engine import identity
from sync_engine.identity import (
    FREE_MAIL_DOMAINS,
    ROLE_LOCAL_PARTS,
    EmailOptions,
    analyze_domain,
    analyze_email,
    company_domain,
    company_domain_of_email,
    is_valid_email,
    normalize_email,
    registrable_domain,
)

FOLD = EmailOptions(fold_plus_tags=True, fold_gmail_dots=True)


# --- the short forms, as identify, validate and the mapping transforms call them ------------------

@pytest.mark.parametrize(("raw", "expected"), [
    (" Jane.Doe@Acme.COM ", "jane.doe@acme.com"),
    ("mailto:bob@acme.com", "bob@acme.com"),
    ("MAILTO: Bob@Acme.com?subject=Hello", "bob@acme.com"),
    ("Jane Doe <Jane.Doe@Acme.com>", "jane.doe@acme.com"),
    ("\tjane@acme.com\u00a0", "jane@acme.com"),
    ("JÜRGEN@BÜCHER.DE", "jürgen@bücher.de"),
    ("jane+news@acme.com", "jane+news@acme.com"),  # folding is off unless config turns it on
    ("not an email", "not an email"),              # invalid text comes back cleaned, as it always did
    ("", None),
    ("   ", None),
    (None, None),
])
def test_normalize_email(raw: str | None, expected: str | None) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("email", ["jane.doe@", "bob@@acme.com", "no-at-sign.acme.com", "a..b@acme.com", "x@acme",
                                   ".jane@acme.com", "jane.@acme.com", "jane@-acme.com", "jane@acme-.com",
                                   "jane@acme.c0m1", "jane@localhost", "jane@acme.test", "jane doe@acme.com",
                                   "@acme.com", '"jane doe"@acme.com', "jane@[10.0.0.1]", "jane@acme..com",
                                   "jane@ab--cd.com", "x" * 250 + "@acme.com", "", None])
def test_invalid_emails_are_refused(email: str | None) -> None:
    assert not is_valid_email(email)
    result = analyze_email(email)
    assert result.value is None and not result.valid and result.reason


@pytest.mark.parametrize("email", ["jane@acme.com", "jane.doe+crm@acme.co.uk", "o'brien@acme.ie", "j_d-1@sub.acme.io",
                                   "jürgen@bücher.de", "jane@xn--bcher-kva.de", "x@acme.example"])
def test_valid_emails_are_accepted(email: str) -> None:
    assert is_valid_email(email)


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://www.acme.com/", "acme.com"),
    ("http://acme.com", "acme.com"),
    ("acme.com/about", "acme.com"),
    ("www.acme.co.uk", "acme.co.uk"),
    ("https://shop.example.com.au:8443/x?y=1", "example.com.au"),
    ("shop.example.com.au", "example.com.au"),
    ("example.co.uk", "example.co.uk"),
    ("ACME.COM", "acme.com"),
    ("gmail.com", "gmail.com"),  # still its registrable domain; company_domain is what refuses it
    ("localhost", None),
    ("", None),
    (None, None),
])
def test_registrable_domain(raw: str | None, expected: str | None) -> None:
    assert registrable_domain(raw) == expected


def test_free_mail_is_never_a_company_key() -> None:
    assert company_domain_of_email("jane@gmail.com") is None
    assert company_domain_of_email("jane@eu.acme.co.uk") == "acme.co.uk"
    assert company_domain_of_email("not an email") is None
    assert company_domain_of_email(None) is None
    assert company_domain("https://www.yahoo.co.uk/") is None
    assert company_domain("https://www.acme.co.uk/") == "acme.co.uk"


# --- emails: what was done and why ------------------------------------------------------------------

def test_case_whitespace_and_mailto_are_steps() -> None:
    result = analyze_email("  MAILTO:Jane.Doe@Acme.COM?subject=hi ")
    assert result.value == "jane.doe@acme.com" and result.valid and result.reason == ""
    assert result.steps == ("trimmed whitespace", "removed 'mailto:'", "removed the mailto query", "lower-cased")
    assert analyze_email("jane@acme.com").steps == ()


def test_display_name_is_dropped() -> None:
    result = analyze_email('"Doe, Jane" <jane@acme.com>')
    assert result.value == "jane@acme.com" and "dropped the display name" in result.steps


@pytest.mark.parametrize("raw", ["jürgen@bücher.de", "JÜRGEN@BÜCHER.DE", "jürgen@xn--bcher-kva.de",
                                 unicodedata.normalize("NFD", "jürgen@bücher.de"), "jürgen@ＢÜＣＨＥＲ.de"])
def test_idn_emails_meet_in_one_key(raw: str) -> None:
    result = analyze_email(raw)
    assert result.value == "jürgen@bücher.de"
    assert result.domain == "xn--bcher-kva.de"  # the company key is ASCII, like every domain key
    assert result.company_domain == "xn--bcher-kva.de"


def test_punycode_domain_is_shown_in_unicode() -> None:
    result = analyze_email("jane@xn--bcher-kva.de")
    assert result.value == "jane@bücher.de"
    assert "normalized Unicode (NFC) and the domain (IDNA)" in result.steps


@pytest.mark.parametrize(("raw", "off", "on"), [
    ("jane+news@acme.com", "jane+news@acme.com", "jane@acme.com"),
    ("jane+a+b@acme.com", "jane+a+b@acme.com", "jane@acme.com"),
    ("+news@acme.com", "+news@acme.com", "+news@acme.com"),  # nothing left before the tag: kept
    ("j.a.n.e@gmail.com", "j.a.n.e@gmail.com", "jane@gmail.com"),
    ("J.Ane+x@GoogleMail.com", "j.ane+x@googlemail.com", "jane@gmail.com"),
    ("j.ane@acme.com", "j.ane@acme.com", "j.ane@acme.com"),  # dots matter everywhere but Gmail
])
def test_plus_tag_and_gmail_dot_folding(raw: str, off: str, on: str) -> None:
    assert analyze_email(raw).value == off
    assert analyze_email(raw, FOLD).value == on


def test_folding_options_are_separate_and_explained() -> None:
    plus_only = analyze_email("j.ane+x@gmail.com", EmailOptions(fold_plus_tags=True))
    assert plus_only.value == "j.ane@gmail.com" and plus_only.steps == ("folded plus tag '+x'",)
    dots_only = analyze_email("j.ane+x@googlemail.com", EmailOptions(fold_gmail_dots=True))
    assert dots_only.value == "jane+x@gmail.com"
    assert dots_only.steps == ("removed dots (Gmail ignores them)", "googlemail.com is gmail.com")
    assert EmailOptions() == EmailOptions(fold_plus_tags=False, fold_gmail_dots=False)


@pytest.mark.parametrize(("raw", "role"), [
    ("info@acme.com", True), ("Sales@Acme.com", True), ("support+eu@acme.com", True), ("noreply@acme.com", True),
    ("postmaster@acme.com", True), ("jane@acme.com", False), ("information@acme.com", False),
    ("jane.info@acme.com", False),
])
def test_role_addresses_are_flagged(raw: str, role: bool) -> None:
    assert analyze_email(raw).role is role
    assert analyze_email(raw).valid  # flagged, still matched like any address


def test_free_mail_address() -> None:
    result = analyze_email("Jane@Yahoo.co.uk")
    assert result.free_mail and result.domain == "yahoo.co.uk" and result.company_domain is None
    work = analyze_email("jane@eu.acme.co.uk")
    assert not work.free_mail and work.company_domain == "acme.co.uk"


def test_invalid_email_keeps_its_cleaned_text_and_reason() -> None:
    result = analyze_email(" Jane@Acme ")
    assert result.cleaned == "jane@acme" and not result.valid
    assert "period" in result.reason and result.steps == ("trimmed whitespace", "lower-cased")


def _email_validator_accepts(text: str) -> bool:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        return False
    return True


def test_fast_path_agrees_with_email_validator() -> None:
    """The ASCII fast path must accept exactly what email-validator accepts (lower-case, no spaces)."""
    rng = random.Random(5)
    alphabet = "abz09.-_+'!#@"
    corpus = [
        "a@b.co", "a.b@c.d.com", "a-@b.com", "-a@b.com", "a@b-c.com", "a@b.c-d", "a@b.c1", "a@b.1c", "a@1.2.3.4",
        "a@b.test", "a@b.local", "a@b.onion", "a@b.arpa", "a@b.invalid", "a@x.localhost", "a@xn--bcher-kva.de",
        "a@xn--zz.com", "a@ab--c.com", "ab--c@d.com", "a@" + "b" * 63 + ".com", "a@" + "b" * 64 + ".com",
        "a" * 64 + "@b.com", "a" * 65 + "@b.com", "a@" + ("b" * 60 + ".") * 4 + "com", "a" * 240 + "@bcdef.com",
        "a" * 245 + "@bcdef.com", "a@b_c.com", "a@b.co_m", "a@.b.com", "a@b.com.", "a.@b.com", "{a}|~@b.com",
    ]
    for _ in range(3000):
        local = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        domain = ".".join("".join(rng.choice("abz09-_") for _ in range(rng.randint(0, 5)))
                          for _ in range(rng.randint(1, 3)))
        corpus.append(f"{local}@{domain}")
    disagree = [e for e in corpus if analyze_email(e).valid != _email_validator_accepts(e)]
    assert disagree == []


# --- domains ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "value", "host"), [
    ("example.co.uk", "example.co.uk", "example.co.uk"),
    ("shop.example.com.au", "example.com.au", "shop.example.com.au"),
    ("https://www.shop.example.com.au:8443/x?y=1#z", "example.com.au", "shop.example.com.au"),
    ("HTTP://WWW.ACME.COM", "acme.com", "acme.com"),
    ("  www.acme.com.  ", "acme.com", "acme.com"),
    ("acme.com:8080", "acme.com", "acme.com"),
    ("//acme.com/path", "acme.com", "acme.com"),
    ("https://user:secret@acme.com/", "acme.com", "acme.com"),
    ("acme.com?utm_source=x", "acme.com", "acme.com"),
    ("acme.com#about", "acme.com", "acme.com"),
    ("jane@eu.acme.co.uk", "acme.co.uk", "eu.acme.co.uk"),
    ("mailto:jane@acme.com", "acme.com", "acme.com"),
    ("https://www.bücher.de/", "xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("BÜCHER.DE", "xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("xn--bcher-kva.de", "xn--bcher-kva.de", "xn--bcher-kva.de"),
    ("例え.jp", "xn--r8jz45g.jp", "xn--r8jz45g.jp"),
    ("acme.myshopify.com", "acme.myshopify.com", "acme.myshopify.com"),  # a shop on a platform is its own
    ("www.ck", "www.ck", "www.ck"),                                      # PSL exception rule
])
def test_analyze_domain(raw: str, value: str, host: str) -> None:
    result = analyze_domain(raw)
    assert (result.value, result.host, result.valid, result.reason) == (value, host, True, "")


@pytest.mark.parametrize(("raw", "reason"), [
    ("co.uk", "public suffix"), ("myshopify.com", "public suffix"), ("localhost", "not under a public suffix"),
    ("192.168.0.1", "not under a public suffix"), ("http://[::1]:8080/", "IP address"), ("acme inc", "not a host"),
    ("acme..com", "not a host"), ("acme.com:http", "not a port"), ("", "empty"), ("https://", "empty"),
    ("acme.notatld", "not under a public suffix"), ("-acme.com", "not a host"),
])
def test_no_domain(raw: str, reason: str) -> None:
    result = analyze_domain(raw)
    assert result.value is None and not result.valid and reason in result.reason


def test_domain_steps_say_what_was_dropped() -> None:
    assert analyze_domain("HTTPS://WWW.Shop.Example.com.au:8443/x?y=1").steps == (
        "lower-cased", "removed scheme 'https://'", "removed path, query and fragment '/x?y=1'",
        "removed port ':8443'", "removed 'www.'", "removed subdomain 'shop' (public suffix 'com.au')")
    assert analyze_domain("acme.com").steps == ()
    assert "IDN to Punycode 'xn--bcher-kva.de'" in analyze_domain("bücher.de").steps


def test_public_suffix_agrees_with_tldextract() -> None:
    """revhub's set walk over the bundled list gives tldextract's answer for every rule's neighbours."""
    extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, include_psl_private_domains=True)
    hosts = ["acme.com", "a.b.ck", "www.ck", "x.kawasaki.jp", "city.kawasaki.jp", "foo.bar.notatld", "10.0.0.1"]
    for rule in sorted(extract.tlds)[::3]:
        try:
            base = idna.encode(rule.lstrip("!").replace("*", "x"), uts46=True).decode()
        except idna.IDNAError:
            continue
        hosts += [base, f"a.{base}", f"www.a.{base}"]
    for host in hosts:
        parts = extract(host)
        want = f"{parts.domain}.{parts.suffix}" if parts.domain and parts.suffix else None
        assert analyze_domain(host).value == want, host


# --- the shipped lists --------------------------------------------------------------------------------

def test_free_mail_list_is_large_and_clean() -> None:
    assert len(FREE_MAIL_DOMAINS) > 4000
    assert {"gmail.com", "googlemail.com", "yahoo.co.uk", "hotmail.com", "outlook.com", "icloud.com", "gmx.de",
            "web.de", "comcast.net", "verizon.net", "btinternet.com", "orange.fr", "qq.com", "163.com", "mail.ru",
            "proton.me", "privaterelay.appleid.com", "sympatico.ca"} <= FREE_MAIL_DOMAINS
    assert {"google.com", "microsoft.com", "apple.com", "amazon.com", "acme.com"}.isdisjoint(FREE_MAIL_DOMAINS)
    assert all(d == d.strip().lower() and d.isascii() and "." in d for d in FREE_MAIL_DOMAINS)


def test_a_company_domain_is_never_a_free_mail_one() -> None:
    for domain in FREE_MAIL_DOMAINS:
        assert company_domain(domain) is None, domain
        assert company_domain_of_email(f"jane@{domain}") is None, domain
        assert analyze_email(f"jane@{domain}").company_domain is None, domain


def test_free_mail_covers_subdomains_never_parents() -> None:
    assert analyze_email("bob@austin.rr.com").free_mail
    assert analyze_email("bob@mail.yahoo.co.uk").free_mail
    assert "bounces.amazon.com" in FREE_MAIL_DOMAINS
    assert company_domain("bounces.amazon.com") is None
    assert company_domain("https://www.amazon.com/") == "amazon.com"


def test_role_list() -> None:
    assert {"info", "sales", "support", "admin", "billing", "noreply", "no-reply", "postmaster"} <= ROLE_LOCAL_PARTS
    assert all(r == r.strip().lower() and "@" not in r for r in ROLE_LOCAL_PARTS)


def test_results_are_immutable_values() -> None:
    result = analyze_email("jane@acme.com")
    with pytest.raises(AttributeError):
        result.value = "x"  # type: ignore[misc]
    assert result == analyze_email("jane@acme.com")
    assert hash(analyze_domain("acme.com")) == hash(analyze_domain("acme.com"))


def test_public_api() -> None:
    assert set(identity.__all__) >= {"analyze_email", "analyze_domain", "normalize_email", "is_valid_email",
                                     "registrable_domain", "company_domain_of_email", "EmailOptions"}


def test_canonical_keys_never_make_a_free_mail_domain_a_company() -> None:
    from sync_engine.identify import canonical_key

    assert canonical_key("company", {"website": "https://www.Acme.co.uk/about"}) == "acme.co.uk"
    assert canonical_key("company", {"website": "http://gmail.com"}) is None
    assert canonical_key("person", {"email": " Jane.Doe@Acme.COM "}) == "jane.doe@acme.com"
    assert canonical_key("person", {"email": "jane.doe@"}) is None


def test_the_per_domain_cache_of_the_key_path_stays_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """A daemon sees new domains for months: the cache empties itself at its bound and answers the same."""
    monkeypatch.setattr(identity, "_MAIL_HOSTS_MAX", 3)
    identity.clear_caches()
    keys = identity.email_keys_for(EmailOptions(fold_plus_tags=True))
    for i in range(10):
        assert keys(f" Jane+x@Shop.Firm{i}.co.uk ") == (f"jane@shop.firm{i}.co.uk", f"firm{i}.co.uk")
        assert len(identity._MAIL_HOSTS) <= 3
    assert keys("jane@gmail.com") == ("jane@gmail.com", None)
    identity.clear_caches()
