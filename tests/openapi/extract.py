"""Cut, from Meta's OpenAPI description of the Cloud API, the part the conformance
tests need, unmodified: the send-message request body (``POST
/{Version}/{Phone-Number-ID}/messages``, its schema and Meta's examples) and every
schema it reaches through ``$ref`` or a discriminator's mapping.

The full file (facebook/openapi, ``business-messaging-api_v23.0.yaml``, MIT) is
about 1 MB; the part is about 50 KB. Run it again when Meta publishes a new file::

    git -C <clone of facebook/openapi> show HEAD:business-messaging-api_v23.0.yaml > full.yaml
    python tests/openapi/extract.py full.yaml <commit> \
        > tests/openapi/business-messaging-api_v23.0.messages.yaml

and ``--check`` compares a full file with the vendored part (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import yaml

SOURCE = "facebook/openapi"
FILE = "business-messaging-api_v23.0.yaml"
OPERATION = ("/{Version}/{Phone-Number-ID}/messages", "post")
VENDORED = Path(__file__).with_name("business-messaging-api_v23.0.messages.yaml")


def _refs(node):
    """Every schema name ``node`` points to: ``$ref`` and discriminator mappings."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            elif key == "mapping" and isinstance(value, dict):
                yield from value.values()
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def cut(spec: dict) -> dict:
    """The request body of the send operation and the schemas it reaches, in the
    source's order, each exactly as written there."""
    path, method = OPERATION
    body = spec["paths"][path][method]["requestBody"]
    schemas = spec["components"]["schemas"]
    wanted: set[str] = set()
    todo = list(_refs(body))
    while todo:
        ref = todo.pop()
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise ValueError(f"a reference outside the schemas: {ref}")
        name = ref[len(prefix):]
        if name not in wanted:
            wanted.add(name)
            todo.extend(_refs(schemas[name]))
    return {
        "openapi": spec["openapi"],
        "info": spec["info"],
        "paths": {path: {method: {"requestBody": body}}},
        "components": {"schemas": {k: v for k, v in schemas.items() if k in wanted}},
    }


def header(commit: str, digest: str) -> str:
    return (f"# Part of {FILE} from github.com/{SOURCE} at commit {commit}\n"
            f"# (sha256 of the whole file: {digest}), cut by tests/openapi/extract.py:\n"
            f"# the send-message request body and the schemas it reaches, unmodified.\n"
            f"# Copyright (c) Meta Platforms, Inc. and affiliates. MIT License: see\n"
            f"# tests/openapi/LICENSE (the repository's LICENSE file, as published).\n")


def dump(part: dict) -> str:
    return yaml.safe_dump(part, sort_keys=False, allow_unicode=True, width=1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full", type=Path, help=f"the whole {FILE}")
    parser.add_argument("commit", nargs="?", default="", help=f"the {SOURCE} commit it is from")
    parser.add_argument("--check", action="store_true",
                        help="compare with the vendored part instead of printing it")
    args = parser.parse_args()
    raw = args.full.read_bytes()
    part = cut(yaml.load(raw, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))
    if args.check:
        vendored = yaml.load(VENDORED.read_text("utf-8"),
                             Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        same = vendored == part
        print("same" if same else "different")
        return 0 if same else 1
    sys.stdout.write(header(args.commit, hashlib.sha256(raw).hexdigest()) + dump(part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
