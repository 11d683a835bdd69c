"""A chart and the words that say what it shows: the alt text of its image.

A leaf, so that :mod:`.charts` (which draws), :mod:`.alt_text` (which writes the
words) and :mod:`.show` (which hands both to the notebook) share one type without
importing one another in a circle.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec

from matplotlib.figure import Figure

from ..messages import t

P = ParamSpec("P")


class Chart(Figure):
    """A matplotlib figure with its ``alt`` text: the title and the figures a sighted
    reader takes from it, in the reader's language (WCAG 1.1.1)."""

    alt = ""


def described(describe: Callable[P, str]) -> Callable[[Callable[P, Chart]], Callable[P, Chart]]:
    """Give the chart the alt text «title: figures», the figures from ``describe`` called
    with the chart's own arguments; a chart that drew «no data yet» has already said
    so (and why) in ``alt``, and ``describe`` is not asked about data it never drew."""

    def decorate(chart: Callable[P, Chart]) -> Callable[P, Chart]:
        @wraps(chart)
        def draw(*args: P.args, **kwargs: P.kwargs) -> Chart:
            fig = chart(*args, **kwargs)
            figures = fig.alt or describe(*args, **kwargs)
            fig.alt = t("reports.alt.chart", title=fig.axes[0].get_title(loc="left"),
                        figures=figures)
            return fig
        return draw
    return decorate
