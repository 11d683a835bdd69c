"""The command line: parse arguments, call one library function, map errors to exit codes.

Exit codes: 0 success, 1 something was found wrong (a policy violation, failed
deliveries), 2 usage or configuration error. No SQL and no business rule here.
"""

from __future__ import annotations

import argparse
import sys

from . import messages
from .errors import BanditoreError
from .messages import t
from .settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="banditore",
        description="Banditore: the town's WhatsApp information service, run from git.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


COMMANDS: list = []


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        messages.set_language(settings.language)
        return args.handler(args, settings)
    except BanditoreError as exc:
        print(t("cli.config-error", detail=exc) if exc.exit_code == 2 else str(exc),
              file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
