"""The staff's subscriber commands: list, decide, show, export, near misses, erase lines.

Erasing cannot be undone, so ``forget`` and ``erase-lines`` ask first (``--yes`` for
scripts); with no terminal to ask and no ``--yes`` they refuse, exit 2, and erase
nothing.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from .errors import BanditoreError
from .messages import t
from .subscribers.lifecycle.decisions import ACTIONS
from .vocabulary import SUBSCRIBER_STATES

if TYPE_CHECKING:
    from .config import Settings

    # What each add_* function adds its command to (a parser's add_subparsers()).
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]

# Answers that mean yes, in either language.
YES = {"sì", "si", "s", "yes", "y"}


def ask(command: str) -> Callable[[str], bool]:
    """A confirmation for ``command``: the question on the terminal, or a refusal
    (exit 2) when there is no terminal to ask."""

    def confirm(question: str) -> bool:
        if not sys.stdin.isatty():
            raise BanditoreError(t("cli.confirm-needs-terminal", command=command))
        print(question, file=sys.stderr)
        try:
            return input(t("cli.confirm-question")).strip().casefold() in YES
        except EOFError:
            return False

    return confirm


def add_subscribers(commands: Commands) -> None:
    p = commands.add_parser("subscribers", help=t("subscribers.help"))
    sub = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    ls = sub.add_parser("list", help=t("subscribers.list-help"))
    ls.add_argument("--state", choices=SUBSCRIBER_STATES)
    ls.add_argument("--format", choices=["table", "json"], default="table")
    ls.add_argument("--unmasked", action="store_true", help=t("subscribers.unmasked-help"))
    ls.set_defaults(handler=_subscribers_list)
    for action in ACTIONS:
        d = sub.add_parser(action, help=t(f"subscribers.{action}-help"))
        d.add_argument("who", help=t("subscribers.who-help"))
        if action == "forget":
            d.add_argument("--yes", action="store_true", help=t("subscribers.yes-help"))
        d.set_defaults(handler=_subscribers_decide)
    show = sub.add_parser("show", help=t("rights.show-help"))
    show.add_argument("who", help=t("subscribers.who-help"))
    show.set_defaults(handler=_subscribers_show)
    export = sub.add_parser("export", help=t("rights.export-help"))
    export.add_argument("who", help=t("subscribers.who-help"))
    export.add_argument("--format", choices=["json", "text"], default="json")
    export.set_defaults(handler=_subscribers_export)
    near = sub.add_parser("near-misses", help=t("rights.near-misses.help"))
    near.add_argument("--since", metavar="YYYY-MM-DD", help=t("rights.near-misses.since-help"))
    near.add_argument("--format", choices=["table", "json"], default="table")
    near.set_defaults(handler=_subscribers_near_misses)
    erase = sub.add_parser("erase-lines", help=t("rights.erase-lines-help"))
    erase.add_argument("citizen_id", metavar="ID", help=t("rights.erase-id-help"))
    erase.add_argument("paths", nargs="*", metavar="PATH", help=t("rights.erase-paths-help"))
    erase.add_argument("--yes", action="store_true", help=t("subscribers.yes-help"))
    erase.set_defaults(handler=_subscribers_erase_lines)
    imp = sub.add_parser("import", help=t("import.help"))
    imp.add_argument("file", metavar="FILE", help=t("import.file-help"))
    imp.add_argument("--consented-on", required=True, metavar="YYYY-MM-DD",
                     help=t("import.consented-on-help"))
    imp.add_argument("--notice-version", metavar="V", help=t("import.notice-version-help"))
    imp.add_argument("--column", metavar="NAME|N", help=t("import.column-help"))
    imp.set_defaults(handler=_subscribers_import)


def _subscribers_list(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.staff.listing import listing

    print(listing(settings, state=args.state, fmt=args.format, unmasked=args.unmasked))
    return 0


def _subscribers_show(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.rights.access import show

    print(show(settings, args.who))
    return 0


def _subscribers_export(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.rights.access import export

    print(export(settings, args.who, args.format))
    return 0


def _subscribers_near_misses(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.staff.near_misses import report

    print(report(settings, args.since, args.format))
    return 0


def _subscribers_erase_lines(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.rights.erase_lines import erase_copy

    erased = erase_copy(settings, args.citizen_id, args.paths,
                        confirm=None if args.yes else ask("subscribers erase-lines"))
    print(t("rights.erased-lines", removed=erased.removed, rewritten=erased.rewritten,
            files=len(erased.files)))
    return 0


def _subscribers_import(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.staff.imports import import_file

    result = import_file(settings, args.file, args.consented_on,
                         notice_version=args.notice_version, column=args.column)
    print(result.text())
    return result.exit_code


def _subscribers_decide(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.staff.decide import decide

    confirm = None if getattr(args, "yes", True) else ask(f"subscribers {args.action}")
    result = decide(settings, args.action, args.who, os.environ, confirm=confirm)
    print(result.text(settings))
    return result.exit_code
