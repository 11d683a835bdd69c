"""Meta's OpenAPI description of the Cloud API's send-message body, as a validator.

The description is vendored (tests/openapi/, cut unmodified from facebook/openapi's
``business-messaging-api_v23.0.yaml`` by tests/openapi/extract.py), so the suite
needs no network. It is read as OpenAPI 3.1 says, with JSON Schema 2020-12 and its
``$ref``s resolved by ``referencing``, plus two readings and one list of additions,
each written once below:

- :func:`_union_of_parts`: an ``allOf`` whose parts say ``additionalProperties: false``
  is one object whose allowed keys are the union of its parts';
- :func:`_dispatch`: a discriminator on a base schema without ``oneOf`` (the
  inheritance pattern) makes a value also meet the subtype its mapping names;
- :data:`DOCUMENTED`: fields the Cloud API documents that the file lacks; and
  :data:`CLOSED`, the one place read stricter than the file.

``refusals(body)`` says what is wrong with a body (its bytes, as sent), ``[]`` when
Meta's description accepts it.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = (Path(__file__).resolve().parents[1] / "openapi"
        / "business-messaging-api_v23.0.messages.yaml")
URI = "urn:facebook-openapi:business-messaging-api_v23.0"
OPERATION = ("/{Version}/{Phone-Number-ID}/messages", "post")
SCHEMAS = "#/components/schemas/"

# Fields the Cloud API documents (../shared/cloud-api.md) that the file lacks, by the
# schema they belong to. Without them the description refuses bodies Meta accepts.
DOCUMENTED: dict[str, dict[str, dict]] = {
    "BaseMessageProperties": {
        # Echoed in the status webhooks of the message (cloud-api.md §2, [M-status]):
        # how sync finds the delivery again. At most 512 characters as Meta's send
        # reference has it (not in cloud-api.md: UNCONFIRMED there).
        "biz_opaque_callback_data": {"type": "string", "maxLength": 512},
        # A business-scoped user id, sent to instead of a phone number; `to` wins
        # when both are given (cloud-api.md §1, [M-bsuid]): so one of them is required.
        "recipient": {"type": "string", "pattern": r"^[A-Z]{2}\.[A-Za-z0-9]{1,128}$"},
    },
    # Named template parameters ({{name}} placeholders): each body parameter says
    # the name it fills, lowercase letters, digits and underscores (Meta's template
    # reference; UNCONFIRMED in cloud-api.md, which does not cover named parameters).
    "TextParameter": {"parameter_name": {"type": "string", "pattern": r"^[a-z0-9_]+$"}},
}
EITHER_RECIPIENT = {"anyOf": [{"required": ["to"]}, {"required": ["recipient"]}]}
# Stricter than the file, on purpose: of the eleven message types only the template's
# part leaves out ``additionalProperties: false``. The top-level keys are the same for
# every type, and an announcement always goes as a template, so it is read closed
# like its ten siblings: an unknown key in the body the runner sends most is refused.
CLOSED = ("TemplateMessage",)


def load() -> dict:
    return yaml.load(SPEC.read_text("utf-8"), Loader=getattr(yaml, "CSafeLoader",
                                                             yaml.SafeLoader))


def _add_documented(schemas: dict) -> None:
    for name, fields in DOCUMENTED.items():
        schema = schemas[name]
        # The part of an allOf that holds the properties (the schema itself if none).
        target = next((p for p in schema.get("allOf", []) if "properties" in p), schema)
        target["properties"].update(fields)
    base = schemas["BaseMessageProperties"]
    base["required"] = [k for k in base["required"] if k != "to"]
    base["allOf"] = [EITHER_RECIPIENT]


def _union_of_parts(node, schemas: dict) -> None:
    """Every message type is ``allOf: [BaseMessageProperties, {..., additionalProperties:
    false}]``. Read literally, the second part refuses ``to``, ``messaging_product``
    and every other key of the first, so no body could ever pass: the file means one
    object whose keys are the union of its parts'. JSON Schema 2020-12 says exactly
    that with ``unevaluatedProperties: false`` on the allOf (the keys any part
    evaluated are allowed), so the parts' own ``additionalProperties: false`` moves there.
    """
    if isinstance(node, list):
        for item in node:
            _union_of_parts(item, schemas)
        return
    if not isinstance(node, dict):
        return
    parts = node.get("allOf")
    if isinstance(parts, list):
        closed = False
        for i, part in enumerate(parts):
            ref = part.get("$ref", "")
            if ref.startswith(SCHEMAS):
                shared = schemas[ref[len(SCHEMAS):]]
                if shared.get("additionalProperties") is False:
                    # a copy, opened: the shared schema stays closed where it is used alone
                    parts[i] = {k: v for k, v in shared.items() if k != "additionalProperties"}
                    closed = True
            elif part.get("additionalProperties") is False:
                del part["additionalProperties"]
                closed = True
        if closed:
            node["unevaluatedProperties"] = False
    for value in node.values():
        _union_of_parts(value, schemas)


def _dispatch(schemas: dict) -> None:
    """``ParameterObject`` and ``TemplateComponent`` carry a discriminator but no
    ``oneOf``: OpenAPI's inheritance pattern, where ``TextParameter`` is ``allOf:
    [ParameterObject, {text...}]`` and the mapping names the subtype a value of that
    ``type`` is. JSON Schema ignores ``discriminator``, which would leave a text
    parameter without its ``text`` unchecked. So wherever a base is referenced (except
    inside its own subtypes, which would loop), the value must also meet the subtype
    its discriminator names."""
    bases = {name: s["discriminator"] for name, s in schemas.items()
             if "discriminator" in s and "oneOf" not in s and "anyOf" not in s}
    for base, disc in bases.items():
        prop = disc["propertyName"]
        schemas[f"{base} (by {prop})"] = {"$ref": SCHEMAS + base, "allOf": [
            {"if": {"required": [prop], "properties": {prop: {"const": key}}},
             "then": {"$ref": target}} for key, target in disc["mapping"].items()]}
    subtypes = {target[len(SCHEMAS):]: base for base, disc in bases.items()
                for target in disc["mapping"].values()}

    def rewrite(node, inside: str | None) -> None:
        if isinstance(node, list):
            for item in node:
                rewrite(item, inside)
        elif isinstance(node, dict):
            ref = node.get("$ref", "")
            base = ref[len(SCHEMAS):]
            if base in bases and subtypes.get(inside) != base:
                node["$ref"] = f"{SCHEMAS}{base} (by {bases[base]['propertyName']})"
            for value in node.values():
                rewrite(value, inside)

    for name in [n for n in schemas if " (by " not in n]:
        rewrite(schemas[name], name)


def read_as_meant(spec: dict) -> dict:
    """A copy of ``spec`` with the readings and additions above applied."""
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    _add_documented(schemas)
    for name in CLOSED:
        next(p for p in schemas[name]["allOf"] if "$ref" not in p)["additionalProperties"] = False
    _dispatch(schemas)
    _union_of_parts(schemas, schemas)
    return spec


class Reading:
    """A reading of the description: its validator, and what it refuses in a body."""

    def __init__(self, spec: dict) -> None:
        path, method = OPERATION
        body = spec["paths"][path][method]["requestBody"]["content"]["application/json"]
        registry = Registry().with_resource(URI, Resource(spec, DRAFT202012))
        self.validator = Draft202012Validator({"$ref": URI + body["schema"]["$ref"]},
                                              registry=registry)
        message = spec["components"]["schemas"][body["schema"]["$ref"][len(SCHEMAS):]]
        self.types = message["discriminator"]["mapping"]  # message type -> its schema
        self.examples = {name: ex["value"] for name, ex in body.get("examples", {}).items()}

    def refusals(self, body: bytes | str | dict) -> list[str]:
        """What this reading refuses in ``body``, one line per problem; [] when none."""
        try:
            data = parse(body)
        except ValueError as exc:
            return [f"not a JSON body: {exc}"]
        errors = list(self.validator.iter_errors(data))
        if not errors:
            return []
        # The oneOf over message types says only "not valid under any of the given
        # schemas": the errors against the body's own type say what is wrong.
        kind = data.get("type") if isinstance(data, dict) else None
        own = []
        if kind in self.types:
            typed = self.validator.evolve(schema={"$ref": URI + self.types[kind]})
            own = sorted(typed.iter_errors(data), key=lambda e: list(e.absolute_path))
            # A part that fails evaluates nothing, so its keys come back as "unevaluated"
            # too: noise beside the real error, which is shown alone.
            real = [e for e in own if e.validator != "unevaluatedProperties"]
            own = real or own
        return [f"{'/'.join(map(str, e.absolute_path)) or '(body)'}: {_say(e)}"
                for e in own or [best_match(errors)]]


def _say(error) -> str:
    """The error's message, without the whole body that anyOf/oneOf messages repeat."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        return "none of: " + "; ".join(sorted({sub.message for sub in error.context}))
    return error.message


@cache
def as_meant() -> Reading:
    """The description with the readings and additions above: what the tests hold to."""
    return Reading(read_as_meant(load()))


@cache
def literally() -> Reading:
    """The description exactly as published (to show why the readings are needed)."""
    return Reading(load())


def _no_duplicate_keys(pairs):
    keys = [k for k, _ in pairs]
    duplicated = sorted({k for k in keys if keys.count(k) > 1})
    if duplicated:
        raise ValueError(f"duplicate keys: {', '.join(duplicated)}")
    return dict(pairs)


def parse(body: bytes | str | dict) -> dict:
    """A body as the API reads it: UTF-8 JSON, no key twice (a parser would silently
    keep only one of them)."""
    if isinstance(body, dict):
        return body
    return json.loads(body, object_pairs_hook=_no_duplicate_keys)


def refusals(body: bytes | str | dict) -> list[str]:
    """What Meta's description, read as meant, refuses in ``body``; [] when nothing."""
    return as_meant().refusals(body)
