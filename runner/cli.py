"""The command line: parse arguments, call one library function, map errors to exit codes.

Exit codes: 0 success, 1 something was found wrong (a policy violation, failed
deliveries), 2 usage or configuration error. No SQL and no business rule here.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO

from . import messages
from .cli_staff import add_subscribers
from .config import load_settings, pseudonym_key_check
from .config.explain import config_language
from .errors import BanditoreError, ConfigError
from .messages import t

if TYPE_CHECKING:
    from .cli_staff import Commands
    from .config import Settings



class _Commands(argparse._SubParsersAction):
    """Subcommands whose ``--help`` starts with what they do (their one-line help)."""

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", kwargs.get("help"))
        return super().add_parser(name, **kwargs)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.register("action", "parsers", _Commands)


class _ReaderMayLeave:
    """stdout for ``banditore run | head``: once the reader has gone, what is left to
    print goes nowhere and the command carries on (a send is never cut short by a
    closed pipe) and exits with its own code, without a traceback."""

    def __init__(self, stream: TextIO) -> None:
        self.stream, self.gone = stream, False

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self.stream.write(text)
            except BrokenPipeError:
                self._leave()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self.stream.flush()
            except BrokenPipeError:
                self._leave()

    def _leave(self) -> None:
        self.gone = True
        try:  # what the interpreter still flushes at exit goes nowhere too
            os.dup2(os.open(os.devnull, os.O_WRONLY), self.stream.fileno())
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="banditore",
        description=t("cli.description"),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(commands)
    return parser


def add_init(commands: Commands) -> None:
    p = commands.add_parser("init", help=t("towns.help"))
    p.add_argument("--town", required=True, help=t("towns.town-help"))
    p.add_argument("--pyproject", default="pyproject.toml", metavar="PATH",
                   help=t("towns.path-help"))
    p.set_defaults(handler=_init)


def _init(args: argparse.Namespace, settings: Settings | None) -> int:
    from .towns import adopt

    print(adopt(args.town, args.pyproject).text())
    return 0


def add_webhook(commands: Commands) -> None:
    p = commands.add_parser("webhook", help=t("webhook.help"))
    actions = p.add_subparsers(dest="webhook_action", required=True, metavar="ACTION")
    serve = actions.add_parser("serve", help=t("webhook.serve-help"))
    serve.add_argument("--host", default="127.0.0.1", help=t("webhook.host-help"))
    serve.add_argument("--port", type=int, default=8080, help=t("webhook.port-help"))
    serve.set_defaults(handler=_webhook_serve)


def _webhook_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .webhook.server import serve

    serve(settings, args.host, args.port,
          on_ready=lambda url: print(t("webhook.listening", url=url), flush=True))
    return 0


def add_validate(commands: Commands) -> None:
    p = commands.add_parser("validate", help=t("validate.help"))
    p.add_argument("paths", nargs="*", metavar="PATH", help=t("validate.paths-help"))
    p.add_argument("--format", choices=["text", "github", "json"], default="text",
                   help=t("validate.format-help"))
    p.add_argument("--review-dir", metavar="DIR", help=t("review.dir-help"))
    p.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace, settings: Settings) -> int:
    from .announcements.report import report_result
    from .announcements.validate import check
    from .channels.cap import check_settings

    check_settings(settings)  # the town's CAP needs site_url: said at review time
    result = check(settings, args.paths or None)
    print(report_result(result, settings, args.format, os.environ, review_dir=args.review_dir))
    return result.exit_code


def add_review_pr(commands: Commands) -> None:
    p = commands.add_parser("review-pr", help=t("pull-request.help"))
    p.add_argument("--files", required=True, metavar="FILE", help=t("pull-request.files-help"))
    p.add_argument("--fetched", required=True, metavar="DIR",
                   help=t("pull-request.fetched-help"))
    p.add_argument("--out", metavar="FILE", help=t("pull-request.out-help"))
    p.set_defaults(handler=_review_pr)


def _review_pr(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from .announcements.pull_request import comment_from_files

    text = comment_from_files(settings, Path(args.files), Path(args.fetched))
    if text and args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    elif text:
        print(text)
    return 0


def add_preview(commands: Commands) -> None:
    p = commands.add_parser("preview", help=t("preview.help"))
    p.add_argument("path", metavar="PATH", help=t("preview.path-help"))
    p.set_defaults(handler=_preview)


def _preview(args: argparse.Namespace, settings: Settings) -> int:
    from .announcements.report import preview

    text, code = preview(settings, args.path)
    print(text)
    return code


def add_send(commands: Commands) -> None:
    p = commands.add_parser("send", help=t("send.help"))
    p.add_argument("--dry-run", action="store_true", help=t("send.dry-run-help"))
    p.add_argument("--retry-failed", action="store_true", help=t("send.retry-failed-help"))
    p.set_defaults(handler=_send)


def _send(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import send_valid
    from .send import report

    summary = send_valid(settings, os.environ, dry_run=args.dry_run,
                         retry_failed=args.retry_failed)
    print(report(summary))
    return summary.exit_code


def add_report(commands: Commands) -> None:
    p = commands.add_parser("report", help=t("reports.cli.help"))
    p.add_argument("--out", default="reports", metavar="DIR", help=t("reports.cli.out-help"))
    p.add_argument("--since", metavar="YYYY-MM-DD", help=t("reports.cli.since-help"))
    p.add_argument("--until", metavar="YYYY-MM-DD", help=t("reports.cli.until-help"))
    p.set_defaults(handler=_report)


def _report(args: argparse.Namespace, settings: Settings) -> int:
    try:
        from .reports import render_reports
    except ModuleNotFoundError as exc:  # the reports extra is not installed
        raise ConfigError(t("reports.cli.missing-extra", module=exc.name)) from None

    written = render_reports(settings, args.out, since=args.since, until=args.until,
                             progress=lambda line: print(line, flush=True))
    print(t("reports.cli.written", count=len(written), out=args.out))
    return 0


def add_sync(commands: Commands) -> None:
    p = commands.add_parser("sync", help=t("sync.help"))
    p.add_argument("--rebuild", action="store_true", help=t("sync.rebuild-help"))
    p.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace, settings: Settings) -> int:
    from .subscribers.sync import sync

    print("\n".join(sync(settings, rebuild=args.rebuild, environ=os.environ).lines_text()))
    return 0




def add_templates(commands: Commands) -> None:
    p = commands.add_parser("templates", help=t("templates.help"))
    actions = p.add_subparsers(dest="templates_action", required=True, metavar="ACTION")
    sync = actions.add_parser("sync", help=t("templates.sync-help"))
    sync.set_defaults(handler=_templates_sync)


def _templates_sync(args: argparse.Namespace, settings: Settings) -> int:
    from .whatsapp.templates import sync_catalogue

    print(sync_catalogue(settings).text())
    return 0


def add_publish(commands: Commands) -> None:
    p = commands.add_parser("publish", help=t("publish.help"))
    p.add_argument("--out", default="site", metavar="DIR", help=t("publish.out-help"))
    p.add_argument("--form", action="store_true", help=t("cms.form-help"))
    p.set_defaults(handler=_publish)


def _publish(args: argparse.Namespace, settings: Settings) -> int:
    from .cms.deploy import publish_site

    print("\n".join(publish_site(settings, args.out, form=args.form).lines(settings)))
    return 0


def add_telegram(commands: Commands) -> None:
    p = commands.add_parser("telegram", help=t("telegram.help"))
    p.add_argument("--repost", metavar="ID", help=t("telegram.repost-help"))
    p.set_defaults(handler=_telegram)


def _telegram(args: argparse.Namespace, settings: Settings) -> int:
    from .channels.mirror import mirror

    summary = mirror(settings, repost=args.repost)
    print("\n".join(summary.lines()))
    return summary.exit_code


def add_run(commands: Commands) -> None:
    p = commands.add_parser("run", help=t("send.run-help"))
    p.set_defaults(handler=_run)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from .pipeline import run

    return run(settings, os.environ, emit=lambda text: print(text, flush=True))


def add_cms(commands: Commands) -> None:
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


def _cms_config(args: argparse.Namespace, settings: Settings) -> int:
    from .cms.config import config_command

    text, code = config_command(settings, "check" if args.check else
                                "write" if args.write else "print")
    if text:
        print(text, file=sys.stderr if code else sys.stdout)
    return code


def _cms_serve(args: argparse.Namespace, settings: Settings) -> int:
    from .cms.server import serve

    serve(settings, args.port,
          on_ready=lambda url, repo: print(t("cms.listening", url=url, repo=repo), flush=True))
    return 0


# init is how a broken configuration gets fixed: it runs without settings.
WITHOUT_SETTINGS = {"init"}
# The commands that make or match pseudonymous citizen ids.
# (subscribers import writes numbers beside the logs and makes no id: it runs on the
# receiver's server, which has no key.)
PSEUDONYMOUS = {"sync", "run", "subscribers"}

# In the order a reader meets them: setting up, the announcement workflow and its
# public channels, then subscribers, templates, reports, the receiver and the form.
COMMANDS: list = [add_init, add_validate, add_preview, add_review_pr, add_sync, add_send, add_run,
                  add_publish, add_telegram, add_subscribers, add_templates, add_report,
                  add_webhook, add_cms]


def main(argv: list[str] | None = None) -> int:
    stdout, sys.stdout = sys.stdout, _ReaderMayLeave(sys.stdout)
    try:
        return _main(argv)
    finally:
        sys.stdout = stdout


def _main(argv: list[str] | None) -> int:
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
        # (settings is None only for a command that runs without them, never these)
        if (settings is not None and args.command in PSEUDONYMOUS
                and getattr(args, "action", None) != "import"
                and (warning := pseudonym_key_check(settings, os.environ))):
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
