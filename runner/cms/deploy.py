"""The form on the public site: ``publish --form`` writes ``admin/`` beside the archive.

What the static host (GitHub Pages) serves at ``<site>/admin/``: the committed page
and preview files of ``admin/``, Decap's JavaScript from ``node_modules`` (``npm ci``
installs it, never a CDN), and ``config.yml`` generated from the settings as
:mod:`.config` makes it, without ``local_backend`` (that is ``make cms``'s, on a
developer's machine). Staff log in to GitHub through the receiver host's OAuth
endpoints (:mod:`runner.webhook.oauth`, ``cms_auth_url``); saving opens a pull request.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from ..channels.site_build import PublishResult, publish
from ..errors import ConfigError
from ..messages import t
from .config import CONFIG_PATH, HEADER, build_config

if TYPE_CHECKING:
    from ..config import Settings

DECAP_DIST = Path("node_modules/decap-cms/dist")
PAGE_FILES = ("index.html", "preview.js", "preview.css", "a11y.js", "a11y.css")


def publish_site(settings: Settings, out: str | Path = "site", *,
                 form: bool = False) -> PublishResult:
    """``publish``, and with ``form`` the staff's form in ``<out>/admin/``."""
    if form:
        _check_form_files()
    result = publish(settings, out)
    if form:
        write_form(settings, Path(out) / "admin")
        result.notes.append(t("cms.deployed", out=Path(out) / "admin"))
    return result


def _check_form_files() -> None:
    if not (DECAP_DIST / "decap-cms.js").is_file():
        raise ConfigError(t("cms.no-node-modules", path=DECAP_DIST.resolve()))


def write_form(settings: Settings, target: Path) -> None:
    """The form's files in ``target`` (replaced whole)."""
    _check_form_files()
    new = target.with_name(target.name + ".new")
    shutil.rmtree(new, ignore_errors=True)
    (new / "decap-cms").mkdir(parents=True)
    for name in PAGE_FILES:
        shutil.copyfile(CONFIG_PATH.parent / name, new / name)
    for script in DECAP_DIST.glob("*.js"):
        shutil.copyfile(script, new / "decap-cms" / script.name)
    config = build_config(settings)
    config.pop("local_backend", None)
    (new / "config.yml").write_text(
        HEADER + yaml.safe_dump(config, allow_unicode=True, sort_keys=False, width=100),
        encoding="utf-8")
    shutil.rmtree(target, ignore_errors=True)
    new.rename(target)
