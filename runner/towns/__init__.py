"""The five reference services as settings files, and adopting one.

``runner/towns/<town>.toml`` holds a ``[tool.banditore]`` table that reproduces
the town's service. :func:`adopt` (``python -m runner init --town jesi``)
writes it into the repository's pyproject.toml: the town's keys replace the
same keys, every other line of the file (packaging, tools, settings the town
file does not set, comments) stays as it was. The result is checked by the
settings model before it is written, atomically. The town's template catalogue
(``templates/<town>.toml``) becomes ``templates.toml`` unless the repository's
catalogue already knows every template the new settings use (the town's own, as
``templates sync`` wrote it); one that does not would fail every announcement, so
it is replaced and kept beside as ``templates.toml.bak``.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import tomlkit
from pydantic import ValidationError

from ..config import Settings
from ..config.explain import explain, explain_toml
from ..errors import ConfigError
from ..files import replace_durably
from ..messages import t


def names() -> list[str]:
    return sorted(entry.name.removesuffix(".toml") for entry in resources.files(__package__)
                  .iterdir() if entry.name.endswith(".toml"))


@dataclass
class Adopted:
    town: str
    path: Path
    written: list[str] = field(default_factory=list)  # keys set from the town file
    kept: list[str] = field(default_factory=list)  # keys of the file the town file does not set
    templates: Path | None = None  # the catalogue written, when there was none
    templates_kept: Path | None = None  # the catalogue left as it was
    templates_replaced: Path | None = None  # the old catalogue, set aside here
    missing: list[str] = field(default_factory=list)  # what it lacked

    def text(self) -> str:
        lines = [t("towns.adopted", town=self.town, path=self.path,
                   keys=", ".join(self.written))]
        if self.kept:
            lines.append(t("towns.kept", keys=", ".join(self.kept)))
        if self.templates_replaced:
            lines.append(t("towns.templates-replaced", path=self.templates, town=self.town,
                           missing=", ".join(self.missing), old=self.templates_replaced))
        elif self.templates:
            lines.append(t("towns.templates-written", path=self.templates, town=self.town))
        if self.templates_kept:
            lines.append(t("towns.templates-kept", path=self.templates_kept, town=self.town))
        lines.append(t("towns.review", path=self.path))
        return "\n".join(lines)


def adopt(town: str, path: str | Path = "pyproject.toml") -> Adopted:
    """Write the reference settings of ``town`` into the ``[tool.banditore]`` table of
    ``path`` (created if missing), keeping the rest of the file."""
    town = town.strip().lower()
    if town not in names():
        close = difflib.get_close_matches(town, names(), n=1)
        raise ConfigError(t("towns.unknown", town=town, towns=", ".join(names()),
                            guess=t("config.did-you-mean", name=close[0]) if close else ""))
    path = Path(path)
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(explain_toml(str(exc))) from None
    document = tomlkit.parse(text)
    source = tomlkit.parse((resources.files(__package__) / f"{town}.toml").read_text("utf-8"))
    wanted = source["tool"]["banditore"]
    tool = document.setdefault("tool", tomlkit.table(is_super_table=True))
    table = tool.setdefault("banditore", tomlkit.table())
    result = Adopted(town, path, written=list(wanted), kept=[k for k in table if k not in wanted])
    for key, value in wanted.items():
        table[key] = value
    new = tomlkit.dumps(document)
    try:
        Settings.model_validate(tomllib.loads(new)["tool"]["banditore"])
    except ValidationError as exc:  # a kept key that the town's values make wrong
        raise ConfigError(explain(exc.errors(), {}, Settings.model_fields)) from None
    replace_durably(path, new.encode("utf-8"),
                    path.stat().st_mode & 0o7777 if path.exists() else 0o644)
    wanted_templates = {(name, config.language) for name, config in Settings.model_validate(
        tomllib.loads(new)["tool"]["banditore"]).templates.items()}
    _templates(result, path.parent / Settings.model_fields["templates_file"].default,
               wanted_templates)
    return result


def _templates(result: Adopted, catalogue: Path, wanted: set[tuple[str, str]]) -> None:
    """The town's template catalogue (the exact text to submit to Meta) becomes the
    repository's, unless the repository's already knows every template the settings
    use: then it is the town's own and stays."""
    shipped = resources.files(__package__) / "templates" / f"{result.town}.toml"
    if not shipped.is_file():
        return
    if catalogue.exists():
        result.missing = sorted(f"{name} ({language})" for name, language in
                                wanted - _known(catalogue))
        if not result.missing:
            result.templates_kept = catalogue
            return
        result.templates_replaced = catalogue.with_name(catalogue.name + ".bak")
        replace_durably(result.templates_replaced, catalogue.read_bytes(), 0o644)
    replace_durably(catalogue, shipped.read_bytes(), 0o644)
    result.templates = catalogue


def _known(catalogue: Path) -> set[tuple[str, str]]:
    """(name, language) of the templates in a catalogue file (none if unreadable)."""
    try:
        entries = tomllib.loads(catalogue.read_text(encoding="utf-8")).get("template", [])
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    return {(str(e.get("name")), str(e.get("language"))) for e in entries if isinstance(e, dict)}
