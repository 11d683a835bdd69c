"""Reports for administrators: notebooks in notebooks/ executed against the
database and written as HTML.

The figures live here, importable and tested: :mod:`.subscriptions` and
:mod:`.deliveries` turn the database into data frames, :mod:`.charts` into
figures, :mod:`.show` into what a notebook displays, and :mod:`.notebooks` runs
the notebooks. The notebooks only call these.
"""

from .notebooks import ReportError, render_reports

__all__ = ["ReportError", "render_reports"]
