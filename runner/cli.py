"""The command line: parse arguments, call one library function, map errors to exit codes.

Exit codes: 0 success, 1 something was found wrong (a policy violation, failed
deliveries), 2 usage or configuration error. No SQL and no business rule here.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from . import messages
from .config import load_settings, pseudonym_key_check
from .config.explain import config_language
from .errors import BanditoreError, ConfigError
from .messages import t
from .subscribers.decisions import ACTIONS
from .vocabulary import SUBSCRIBER_STATES

if TYPE_CHECKING:
    from .config import Settings



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="banditore",
        description=t("cli.description"),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def add_init(commands):
    p = commands.add_parser("init", help=t("towns.help"))
    p.add_argument("--town", required=True, help=t("towns.town-help"))
    p.add_argument("--pyproject", default="pyproject.toml", metavar="PATH",
                   help=t("towns.path-help"))
    p.set_defaults(handler=_init)


def _init(args, settings: Settings | None) -> int:
    from .towns import adopt

    print(adopt(args.town, args.pyproject).text())
    return 0


def add_webhook(commands):
    p = commands.add_parser("webhook", help=t("webhook.help"))
    actions = p.add_subparsers(dest="webhook_action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help=t("webhook.serve-help"))
    serve.add_argument("--host", default="127.0.0.1", help=t("webhook.host-help"))
    serve.add_argument("--port", type=int, default=8080, help=t("webhook.port-help"))
    serve.set_defaults(handler=_webhook_serve)


def _webhook_serve(args, settings: Settings) -> int:
    from .webhook.server import serve

    serve(settings, args.host, args.port,
          on_ready=lambda url: print(t("webhook.listening", url=url), flush=True))
    return 0


def add_validate(commands):
    p = commands.add_parser("validate", help=t("validate.help"))
    p.add_argument("paths", nargs="*", metavar="PATH", help=t("validate.paths-help"))
    p.add_argument("--format", choices=["text", "github", "json"], default="text",
                   help=t("validate.format-help"))
    p.add_argument("--review-dir", metavar="DIR", help=t("review.dir-help"))
    p.set_defaults(handler=_validate)


def _validate(args, settings: Settings) -> int:
    from .announcements.publish import publish
    from .announcements.validate import check
    from .channels.cap import check_settings

    check_settings(settings)  # the town's CAP needs site_url: said at review time
    result = check(settings, args.paths or None)
    print(publish(result, settings, args.format, os.environ, review_dir=args.review_dir))
    return result.exit_code


def add_preview(commands):
    p = commands.add_parser("preview", help=t("preview.help"))
    p.add_argument("path", metavar="PATH", help=t("preview.path-help"))
    p.set_defaults(handler=_preview)


def _preview(args, settings: Settings) -> int:
    from .announcements.validate import preview

    text, code = preview(settings, args.path)
    print(text)
    return code


def add_send(commands):
    p = commands.add_parser("send", help=t("send.help"))
    p.add_argument("--dry-run", action="store_true", help=t("send.dry-run-help"))
    p.add_argument("--retry-failed", action="store_true", help=t("send.retry-failed-help"))
    p.set_defaults(handler=_send)


def _send(args, settings: Settings) -> int:
    from .pipeline import send_valid
    from .send import report

    summary = send_valid(settings, os.environ, dry_run=args.dry_run,
                         retry_failed=args.retry_failed)
    print(report(summary))
    return summary.exit_code


def add_report(commands):
    p = commands.add_parser("report", help=t("reports.cli.help"))
    p.add_argument("--out", default="reports", metavar="DIR", help=t("reports.cli.out-help"))
    p.add_argument("--since", metavar="YYYY-MM-DD", help=t("reports.cli.since-help"))
    p.add_argument("--until", metavar="YYYY-MM-DD", help=t("reports.cli.until-help"))
    p.set_defaults(handler=_report)


def _report(args, settings: Settings) -> int:
    try:
        from .reports import render_reports
    except ModuleNotFoundError as exc:  # the reports extra is not installed
        raise ConfigError(t("reports.cli.missing-extra", module=exc.name)) from None

    written = render_reports(settings, args.out, since=args.since, until=args.until,
                             progress=lambda line: print(line, flush=True))
    print(t("reports.cli.written", count=len(written), out=args.out))
    return 0


def add_sync(commands):
    p = commands.add_parser("sync", help=t("sync.help"))
    p.add_argument("--rebuild", action="store_true", help=t("sync.rebuild-help"))
    p.set_defaults(handler=_sync)


def _sync(args, settings: Settings) -> int:
    from .subscribers.sync import sync

    print("\n".join(sync(settings, rebuild=args.rebuild).lines_text()))
    return 0




def add_subscribers(commands):
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
    erase.set_defaults(handler=_subscribers_erase_lines)


def _subscribers_list(args, settings: Settings) -> int:
    from .subscribers.staff import listing

    print(listing(settings, state=args.state, fmt=args.format, unmasked=args.unmasked))
    return 0


def _subscribers_show(args, settings: Settings) -> int:
    from .subscribers.access import show

    print(show(settings, args.who))
    return 0


def _subscribers_export(args, settings: Settings) -> int:
    from .subscribers.access import export

    print(export(settings, args.who, args.format))
    return 0


def _subscribers_near_misses(args, settings: Settings) -> int:
    from .subscribers.near_misses import report

    print(report(settings, args.since, args.format))
    return 0


def _subscribers_erase_lines(args, settings: Settings) -> int:
    from .subscribers.erasure import erase_copy

    erased = erase_copy(settings, args.citizen_id, args.paths)
    print(t("rights.erased-lines", removed=erased.removed, rewritten=erased.rewritten,
            files=len(erased.files)))
    return 0


def _subscribers_decide(args, settings: Settings) -> int:
    from .subscribers.staff import decide

    result = decide(settings, args.action, args.who, os.environ)
    print(result.text(settings))
    return result.exit_code


def add_templates(commands):
    p = commands.add_parser("templates", help=t("templates.help"))
    actions = p.add_subparsers(dest="templates_action", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help=t("templates.sync-help"))
    sync.set_defaults(handler=_templates_sync)


def _templates_sync(args, settings: Settings) -> int:
    from .whatsapp.templates import sync_catalogue

    print(sync_catalogue(settings).text())
    return 0


def add_publish(commands):
    p = commands.add_parser("publish", help=t("publish.help"))
    p.add_argument("--out", default="site", metavar="DIR", help=t("publish.out-help"))
    p.add_argument("--form", action="store_true", help=t("cms.form-help"))
    p.set_defaults(handler=_publish)


def _publish(args, settings: Settings) -> int:
    from .cms.deploy import publish_site

    print("\n".join(publish_site(settings, args.out, form=args.form).lines(settings)))
    return 0


def add_telegram(commands):
    p = commands.add_parser("telegram", help=t("telegram.help"))
    p.add_argument("--repost", metavar="ID", help=t("telegram.repost-help"))
    p.set_defaults(handler=_telegram)


def _telegram(args, settings: Settings) -> int:
    from .channels.mirror import mirror

    summary = mirror(settings, repost=args.repost)
    print("\n".join(summary.lines()))
    return summary.exit_code


def add_run(commands):
    p = commands.add_parser("run", help=t("send.run-help"))
    p.set_defaults(handler=_run)


def _run(args, settings: Settings) -> int:
    from .pipeline import run

    return run(settings, os.environ, emit=lambda text: print(text, flush=True))


def add_cms(commands):
    p = commands.add_parser("cms", help=t("cms.help"))
    actions = p.add_subparsers(dest="cms_action", required=True, metavar="ACTION")
    config = actions.add_parser("config", help=t("cms.config-help"))
    what = config.add_mutually_exclusive_group()
    what.add_argument("--write", action="store_true", help=t("cms.write-help"))
    what.add_argument("--check", action="store_true", help=t("cms.check-help"))
    config.set_defaults(handler=_cms_config)
    serve = actions.add_parser("serve", help=t("cms.serve-help"))
    serve.add_argument("--port", type=int, default=8765, help=t("cms.port-help"))
    serve.set_defaults(handler=_cms_serve)


def _cms_config(args, settings: Settings) -> int:
    from .cms.config import config_command

    text, code = config_command(settings, "check" if args.check else
                                "write" if args.write else "print")
    if text:
        print(text, file=sys.stderr if code else sys.stdout)
    return code


def _cms_serve(args, settings: Settings) -> int:
    from .cms.server import serve

    serve(settings, args.port,
          on_ready=lambda url, repo: print(t("cms.listening", url=url, repo=repo), flush=True))
    return 0


# init is how a broken configuration gets fixed: it runs without settings.
WITHOUT_SETTINGS = {"init"}
# The commands that make or match pseudonymous citizen ids.
PSEUDONYMOUS = {"sync", "run", "subscribers"}

# In the order a reader meets them: setting up, the announcement workflow and its
# public channels, then subscribers, templates, reports, the receiver and the form.
COMMANDS: list = [add_init, add_validate, add_preview, add_sync, add_send, add_run,
                  add_publish, add_telegram, add_subscribers, add_templates, add_report,
                  add_webhook, add_cms]


def main(argv: list[str] | None = None) -> int:
    # Settings first, so help and errors are in the town's language; a broken
    # configuration still lets --help through and is reported after parsing.
    try:
        settings, config_error = load_settings(), None
        messages.set_language(settings.language)
    except ConfigError as exc:
        settings, config_error = None, exc
        messages.set_language(config_language())
    args = build_parser().parse_args(argv)
    try:
        if config_error and args.command not in WITHOUT_SETTINGS:
            raise config_error
        if args.command in PSEUDONYMOUS and (warning := pseudonym_key_check(settings, os.environ)):
            print(warning, file=sys.stderr)
        return args.handler(args, settings)
    except ConfigError as exc:
        print(t("cli.config-error", detail=exc), file=sys.stderr)
        return exc.exit_code
    except BanditoreError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
