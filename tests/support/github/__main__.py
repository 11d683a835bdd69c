"""The fake GitHub in a process of its own (bench/dispatch.py): its base URL, then one
JSON line per call."""

from __future__ import annotations

import json
import threading

from tests.support.github import Call, FakeGitHub


def main() -> None:
    server = FakeGitHub()

    def report(call: Call) -> None:
        print(json.dumps({"kind": call.kind, "at": call.at}), flush=True)

    server.on_call = report
    with server:
        print(server.base, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
