"""Reports for administrators: notebooks in notebooks/ executed against the
database and written as HTML.

The figures live here, importable and tested: :mod:`.store` holds every query (the
only SQL of reports/); :mod:`.subscriptions`, :mod:`.deliveries`, :mod:`.lifecycle`,
:mod:`.costs` and :mod:`.reasons` turn what it reads into data frames,
:mod:`.charts` into figures (each a :mod:`.figure` ``Chart`` that :mod:`.alt_text`
describes in words for its alt text), :mod:`.show` into what a notebook displays;
:mod:`.data` opens the database and resolves the :mod:`.period`, and
:mod:`.notebooks` runs the notebooks. The notebooks only call these.
"""

from .notebooks import ReportError, render_reports

__all__ = ["ReportError", "render_reports"]
