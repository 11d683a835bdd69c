"""Reports for administrators: notebooks in notebooks/ executed against the
database and written as HTML.

The figures live here, importable and tested: :mod:`.subscribers` and
:mod:`.deliveries` turn the database into data frames, :mod:`.charts` into
figures, :mod:`.show` into what a notebook displays, and :mod:`.render` runs
the notebooks. The notebooks only call these.
"""

from .render import ReportError, render_reports

__all__ = ["ReportError", "render_reports"]
