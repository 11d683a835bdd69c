"""Rules about an announcement's place in a chain (original -> corrections ->
withdrawal) and about drills.

- ``lifecycle-reference``: ``updates`` / ``cancels`` name an announcement of the
  repository other than this one, and not both at once;
- ``lifecycle-withdrawn``: what they name was not already withdrawn (by an
  earlier ``cancels``): a withdrawn alert has nothing left to correct;
- ``lifecycle-category``: a correction or withdrawal keeps the original's
  category, since it goes to the original's recipients, who were chosen by it;
- ``exercise-recipients``: a drill needs the staff test group configured;
- ``title-label``: a title that already says "Rettifica:" is not printed as
  "RETTIFICA: Rettifica: …"; staff are told (a warning);
- ``already-sent``: a pull request that edits an announcement citizens already
  received is told that the edit reaches none of them (a warning: a correction is
  a new file with ``updates``).
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from ...messages import t
from ..counts_file import read_counts
from ..render import applicable_labels, repeated_label
from .registry import problem, rule

if TYPE_CHECKING:
    from collections.abc import Iterator

    from ..model import Announcement
    from ..problems import Problem
    from .context import Context


def _key(ann: Announcement) -> str:
    return "updates" if ann.updates else "cancels"


@rule("lifecycle-reference", scope="repo", needs=("updates", "cancels"))
def reference_exists(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    if ann.updates and ann.cancels:
        yield problem(ann, "lifecycle-reference", "lifecycle-both", "cancels")
        return
    ref = ann.references
    if ref is None:
        return
    if ref == ann.id:
        yield problem(ann, "lifecycle-reference", "lifecycle-self", _key(ann), id=ref)
    elif ref not in ctx.id_files:
        close = difflib.get_close_matches(ref, list(ctx.id_files), n=1, cutoff=0.6)
        yield problem(ann, "lifecycle-reference", "lifecycle-unknown", _key(ann), id=ref,
                      hint=f" «{close[0]}»?" if close else "")


@rule("lifecycle-withdrawn", scope="repo", needs=("updates", "cancels"))
def reference_not_withdrawn(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    ref = ann.references
    if ref is None:
        return
    mine = (ann.effective_publish_at, ann.id)
    for other in ctx.announcements:
        if other.cancels == ref and other.id != ann.id \
                and (other.effective_publish_at, other.id) < mine:
            yield problem(ann, "lifecycle-withdrawn", "lifecycle-withdrawn", _key(ann),
                          id=ref, by=other.id)
            return


@rule("lifecycle-category", scope="repo",
      needs=("updates", "cancels", "category"))
def keeps_category(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    original = ctx.by_id.get(ann.references) if ann.references else None
    if original is not None and original.category != ann.category:
        yield problem(ann, "lifecycle-category", "lifecycle-category", "category",
                      id=original.id, category=original.category, mine=ann.category)


@rule("exercise-recipients", needs=("status",))
def drill_has_recipients(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    if ann.is_drill and not ctx.settings.test_recipients:
        yield problem(ann, "exercise-recipients", "exercise-recipients", "status",
                      status=ann.status)


@rule("title-label", needs=("title", "status", "updates", "cancels"))
def title_repeats_label(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    found = repeated_label(ann, ctx.settings).strip(" :-–—·.")
    if found:
        kind, label = next(iter(applicable_labels(ann, ctx.settings).items()))
        yield problem(ann, "title-label", "title-label", "title", severity="warning",
                      found=found, label=label, what=t(f"policy.title-label-{kind}"))


@rule("already-sent", scope="review")
def edited_after_sending(ann: Announcement, ctx: Context) -> Iterator[Problem]:
    """An edit to an announcement citizens already received reaches none of them."""
    count = read_counts(ctx.settings).sent.get(ann.id, 0)
    if count:
        yield problem(ann, "already-sent", "already-sent", 1, severity="warning", count=count)
