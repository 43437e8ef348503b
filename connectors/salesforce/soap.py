"""Salesforce's SOAP `merge()` call: the request envelope, the MergeResult, and SOAP faults.

The REST API has no merge; the documented call is the partner SOAP API's `merge(MergeRequest[])`
(`POST /services/Soap/u/{version}`, the session id in a `SessionHeader`). simple-salesforce has no
helper for it, so the connector posts the envelope built here with its own session, and the emulator
parses the same envelope and answers with the shapes built here. One module for both sides keeps the
two in step; `tests/connectors/salesforce/test_merge.py` pins the request shape with `responses`.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
SOBJECT = "urn:sobject.partner.soap.sforce.com"
FAULT_NS = "urn:fault.partner.soap.sforce.com"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
CONTENT_TYPE = "text/xml; charset=UTF-8"
MERGEABLE = ("Account", "Contact", "Lead")  # the only objects merge() accepts
MAX_MERGED = 2  # up to three records per request, the master included


def soap_path(version: str) -> str:
    return f"/services/Soap/u/{version}"


@dataclass(frozen=True, slots=True)
class MergeRequest:
    object: str
    master_id: str
    loser_ids: tuple[str, ...]
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class MergeError:
    status_code: str
    message: str
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MergeResult:
    """One MergeResult: `id` the master, `merged_ids` the records deleted, `updated_related_ids` the
    children re-parented to the master."""

    success: bool
    id: str | None = None
    merged_ids: tuple[str, ...] = ()
    updated_related_ids: tuple[str, ...] = ()
    errors: tuple[MergeError, ...] = ()


class SoapFault(Exception):
    """A SOAP fault: the whole call was refused (bad session, malformed id, limit)."""

    def __init__(self, code: str, message: str, status: int = 500) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


# --- the client side --------------------------------------------------------------------------------

def merge_envelope(session_id: str, request: MergeRequest) -> str:
    """The partner-API envelope for one MergeRequest; `fields` become values set on the master."""
    values = "".join(f"<o:{name}>{_text(value)}</o:{name}>" for name, value in request.fields.items()
                     if value is not None)
    losers = "".join(f"<p:recordToMergeIds>{escape(i)}</p:recordToMergeIds>" for i in request.loser_ids)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:p="{PARTNER}" xmlns:o="{SOBJECT}">'
        f"<soapenv:Header><p:SessionHeader><p:sessionId>{escape(session_id)}</p:sessionId></p:SessionHeader>"
        "</soapenv:Header>"
        "<soapenv:Body><p:merge><p:request>"
        f"<p:masterRecord><o:type>{escape(request.object)}</o:type><o:Id>{escape(request.master_id)}</o:Id>"
        f"{values}</p:masterRecord>{losers}"
        "</p:request></p:merge></soapenv:Body></soapenv:Envelope>"
    )


def _parse(text: str | bytes) -> ET.Element:
    """Parse an envelope. ElementTree resolves no external entities and Python's expat caps entity
    expansion, and the only peers are the org the connector was configured for or our own client."""
    try:
        return ET.fromstring(text)  # noqa: S314 - see the docstring
    except ET.ParseError as exc:
        raise SoapFault("INVALID_XML", f"not a SOAP envelope: {exc}") from None


def parse_merge_response(text: str | bytes) -> list[MergeResult]:
    """The MergeResults of a `mergeResponse`; raises `SoapFault` for a fault envelope."""
    root = _parse(text)
    fault = root.find(f".//{{{SOAPENV}}}Fault")
    if fault is not None:
        code = (fault.findtext("faultcode") or "").rpartition(":")[2] or "UNKNOWN_EXCEPTION"
        raise SoapFault(code, fault.findtext("faultstring") or code)
    out = []
    for result in root.iter(f"{{{PARTNER}}}result"):
        errors = tuple(MergeError(e.findtext(f"{{{PARTNER}}}statusCode") or "",
                                  e.findtext(f"{{{PARTNER}}}message") or "",
                                  tuple(f.text or "" for f in e.findall(f"{{{PARTNER}}}fields")))
                       for e in result.findall(f"{{{PARTNER}}}errors"))
        out.append(MergeResult(
            success=(result.findtext(f"{{{PARTNER}}}success") or "").strip() == "true",
            id=result.findtext(f"{{{PARTNER}}}id") or None,
            merged_ids=tuple(e.text or "" for e in result.findall(f"{{{PARTNER}}}mergedRecordIds")),
            updated_related_ids=tuple(e.text or "" for e in result.findall(f"{{{PARTNER}}}updatedRelatedIds")),
            errors=errors))
    return out


# --- the emulator side ------------------------------------------------------------------------------

def session_of(body: bytes) -> str:
    """The `SessionHeader` session id of an envelope ("" when there is none or it is not XML)."""
    try:
        root = _parse(body)
    except SoapFault:
        return ""
    return (root.findtext(f".//{{{PARTNER}}}SessionHeader/{{{PARTNER}}}sessionId") or "").strip()


def parse_merge_request(body: bytes) -> list[MergeRequest]:
    """The MergeRequests of a `merge` envelope; a SoapFault for anything else."""
    root = _parse(body)
    call = root.find(f"{{{SOAPENV}}}Body/{{{PARTNER}}}merge")
    if call is None:
        raise SoapFault("INVALID_OPERATION", "this emulator serves only the merge() SOAP call")
    out = []
    for req in call.findall(f"{{{PARTNER}}}request"):
        master = req.find(f"{{{PARTNER}}}masterRecord")
        if master is None:
            raise SoapFault("INVALID_FIELD", "MergeRequest.masterRecord is required")
        values = {child.tag.rpartition("}")[2]: child.text for child in master}
        object_, master_id = values.pop("type", None), values.pop("Id", None)
        if not object_ or not master_id:
            raise SoapFault("INVALID_FIELD", "masterRecord needs a type and an Id")
        losers = tuple((e.text or "").strip() for e in req.findall(f"{{{PARTNER}}}recordToMergeIds"))
        out.append(MergeRequest(object_, master_id.strip(), losers, values))
    if not out:
        raise SoapFault("INVALID_FIELD", "merge() needs at least one MergeRequest")
    return out


def merge_response(results: Sequence[MergeResult]) -> str:
    def one(r: MergeResult) -> str:
        errors = "".join(
            "<errors>" + "".join(f"<fields>{escape(f)}</fields>" for f in e.fields)
            + f"<message>{escape(e.message)}</message><statusCode>{escape(e.status_code)}</statusCode></errors>"
            for e in r.errors)
        ident = f"<id>{escape(r.id)}</id>" if r.id else '<id xsi:nil="true"/>'
        return ("<result>" + errors + ident
                + "".join(f"<mergedRecordIds>{escape(i)}</mergedRecordIds>" for i in r.merged_ids)
                + f"<success>{_text(r.success)}</success>"
                + "".join(f"<updatedRelatedIds>{escape(i)}</updatedRelatedIds>" for i in r.updated_related_ids)
                + "</result>")
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns="{PARTNER}" xmlns:xsi="{XSI}">'
            "<soapenv:Body><mergeResponse>" + "".join(one(r) for r in results)
            + "</mergeResponse></soapenv:Body></soapenv:Envelope>")


def fault_envelope(code: str, message: str) -> str:
    """Salesforce's fault shape: `sf:CODE` and `CODE: message`, with the detail element."""
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:sf="{FAULT_NS}" xmlns:xsi="{XSI}">'
            f"<soapenv:Body><soapenv:Fault><faultcode>sf:{escape(code)}</faultcode>"
            f"<faultstring>{escape(code)}: {escape(message)}</faultstring>"
            '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
            "</sf:UnexpectedErrorFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
