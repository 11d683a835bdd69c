"""Execute the report notebooks against the database and write them as HTML.

Parameters reach a notebook the papermill way: a cell tagged ``parameters``
holds the defaults and a cell tagged ``injected-parameters`` is inserted right
after it with the real values. Papermill itself is not used: this is the one
thing we need from it, and nbclient (which papermill wraps) already executes.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from ..errors import BanditoreError
from ..messages import MissingMessage, t
from . import data
from .period import DayAsked

if TYPE_CHECKING:
    # For the annotations only: the functions import these where they run.
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbformat import NotebookNode

    from ..config import Settings


# Older jupyter_core releases warn (DeprecationWarning) that Jupyter is moving
# its paths to platformdirs unless told which to use; opting in keeps that
# warning out of the CLI and out of pytest's filterwarnings=error.
os.environ.setdefault("JUPYTER_PLATFORM_DIRS", "1")

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"

# The lab template minus the scripts it loads from CDNs (require.js, MathJax,
# Mermaid): reports must open offline and must not tell a third party who reads them.
# Its PNG block writes no alt, and nbconvert then fills in «No description has been
# provided for this image», in English, for every chart (WCAG 1.1.1): ours writes
# the output's ``alt`` metadata (what show.figure gives IPython's Image), "" marking
# an image as decorative. An image without it keeps nbconvert's placeholder, which
# the reports' tests refuse. Charts are embedded PNGs, never files beside the page.
_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block data_png scoped -%}
{%- set alt = output | get_metadata('alt', 'image/png') -%}
{%- set width = output | get_metadata('width', 'image/png') -%}
{%- set height = output | get_metadata('height', 'image/png') -%}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}"
{%- if alt is not none %} alt="{{ alt | escape_html }}"{% endif %}
{%- if width is not none %} width="{{ width | escape_html }}"{% endif %}
{%- if height is not none %} height="{{ height | escape_html }}"{% endif %}>
</div>
{%- endblock data_png -%}
"""


class ReportParameters(TypedDict):
    """What the notebooks' ``parameters`` cell receives: the same names, real values."""

    database: str
    since: str  # the period's first day, "YYYY-MM-DD"
    until: str  # its last day
    now: str  # when the report is made, ISO time
    timezone: str
    language: str
    town: str
    weekly_cap: int
    prices: dict[str, float]
    price_currency: str


class ReportError(BanditoreError):
    """A notebook failed while running; the message names the notebook and the cell."""

    exit_code = 1


def default_notebooks_dir() -> Path:
    """notebooks/ in the current directory (the town's repository), else the checkout's."""
    here = Path("notebooks")
    return here if here.is_dir() else Path(__file__).resolve().parents[2] / "notebooks"


def render_reports(settings: Settings, out_dir: str | Path = "reports", *,
                   since: DayAsked = None, until: DayAsked = None,
                   notebooks_dir: str | Path | None = None,
                   progress: Callable[[str], None] = print, timeout: int = 600) -> list[Path]:
    """Run every ``*.ipynb`` in ``notebooks_dir`` against ``settings.database`` and
    write ``out_dir/<name>.html`` for each; returns the paths written. Raises
    :class:`ReportError` naming each failing notebook and cell, after trying all."""
    notebooks = sorted(Path(notebooks_dir or default_notebooks_dir()).glob("*.ipynb"))
    if not notebooks:
        raise ReportError(t("reports.render.no-notebooks", path=notebooks_dir or "notebooks"))
    parameters = report_parameters(settings, since=since, until=until)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written, failures = [], []
    for path in notebooks:
        started = time.monotonic()
        try:
            html = render_notebook(path, parameters, timeout=timeout)
        except ReportError as exc:
            failures.append(str(exc))
            progress(t("reports.render.failed", name=path.name))
            continue
        target = out / f"{path.stem}.html"
        target.write_text(html, encoding="utf-8")
        written.append(target)
        progress(t("reports.render.done", name=path.name, path=target,
                   seconds=f"{time.monotonic() - started:.1f}"))
    if failures:
        raise ReportError("\n".join(failures))
    return written


def report_parameters(settings: Settings, *, since: DayAsked = None,
                      until: DayAsked = None) -> ReportParameters:
    """What the notebooks' ``parameters`` cell receives. The period is resolved
    here, so both reports cover the same days and a missing or unready database
    is reported once, before any kernel starts."""
    database = Path(settings.database).resolve()
    con = data.open_db(database, settings.timezone)
    try:
        period = data.resolve_period(con, since, until, settings.timezone,
                                     settings.current_time())
    finally:
        con.close()
    return {
        "database": str(database),
        "since": period.first_day.isoformat(),
        "until": period.last_day.isoformat(),
        "now": settings.current_time().isoformat(),
        "timezone": settings.timezone,
        "language": settings.language,
        "town": settings.town,
        "weekly_cap": settings.weekly_cap,
        "prices": dict(settings.prices),
        "price_currency": settings.price_currency,
    }


def inject_parameters(nb: NotebookNode, parameters: Mapping[str, object]) -> NotebookNode:
    """Insert the ``injected-parameters`` cell after the ``parameters`` cell
    (or first, if the notebook has none), replacing an earlier injection."""
    import nbformat

    cells = [c for c in nb.cells if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])]
    source = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    injected = nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED_TAG]})
    at = next((i + 1 for i, c in enumerate(cells)
               if PARAMETERS_TAG in c.get("metadata", {}).get("tags", [])), 0)
    nb.cells = [*cells[:at], injected, *cells[at:]]
    return nb


def kernel_manager_class() -> type[AsyncKernelManager]:
    """The kernel manager the reports run with: this very Python, over local sockets.

    The kernelspec search is limited to ipykernel's built-in spec, whose command
    is ``sys.executable``, so a stray user-level «python3» kernelspec can never
    run the reports with another Python (or without the runner package). IPC
    transport keeps the kernel off TCP: nothing listens on a port, and the
    kernel has no reason to warn about unencrypted traffic.
    """
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    class ThisPython(AsyncKernelManager):
        @default("kernel_spec_manager")
        def _only_the_native_kernel(self) -> KernelSpecManager:
            return KernelSpecManager(kernel_dirs=[], ensure_native_kernel=True)

        def __init__(self, **kwargs: object) -> None:
            kwargs.setdefault("transport", "tcp" if sys.platform == "win32" else "ipc")
            super().__init__(**kwargs)

    return ThisPython


def render_notebook(path: Path, parameters: ReportParameters, *, timeout: int = 600) -> str:
    """Execute one notebook with ``parameters`` and return its HTML (no code cells)."""
    import nbformat

    # nbclient's function around NotebookClient(...).execute(), kernel in the current
    # directory (the town's repository): the same run, and a ``.execute`` in runner/
    # is then only ever SQL, which is how a reader finds the stores.
    from nbclient.client import execute as execute_notebook
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    nb = inject_parameters(nbformat.read(path, as_version=4), parameters)
    try:
        execute_notebook(nb, cwd=str(Path.cwd()), kernel_name="python3",
                         kernel_manager_class=kernel_manager_class(), timeout=timeout)
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        raise ReportError(_explain(path, nb, exc)) from None
    return to_html(nb, title=_title(path), language=parameters.get("language", "it"))


def _title(path: Path) -> str:
    try:
        return t(f"reports.{path.stem}.title")
    except MissingMessage:
        return path.stem


def _explain(path: Path, nb: NotebookNode, exc: Exception) -> str:
    """Which cell failed (its number in the notebook as committed, and its first
    line) and with what error."""
    number, cell = 0, None
    for cell_ in nb.cells:
        if INJECTED_TAG in cell_.get("metadata", {}).get("tags", []):
            continue
        number += 1
        if any(o.get("output_type") == "error" for o in cell_.get("outputs", [])):
            cell = cell_
            break
    if cell is None:  # a timeout or a dead kernel leaves no error output
        return t("reports.render.kernel-failed", name=path.name, error=str(exc).strip()[:300])
    error = next(o for o in cell.outputs if o.get("output_type") == "error")
    first_line = next((line for line in cell.source.splitlines() if line.strip()), "")
    return t("reports.render.cell-failed", name=path.name, cell=number, line=first_line.strip(),
             error=f"{error.get('ename')}: {error.get('evalue')}")


def to_html(nb: NotebookNode, title: str, language: str = "it") -> str:
    """Self-contained HTML: outputs only, charts inline, no scripts from the web."""
    import jinja2
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(
        extra_loaders=[jinja2.DictLoader({"banditore.html.j2": _TEMPLATE})],
        template_file="banditore.html.j2",
        exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True,
        embed_images=True, language_code=language,
    )
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title}})
    return body
