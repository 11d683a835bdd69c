"""Channels: what else one announcement becomes once it has gone out on WhatsApp.

- :mod:`.selection`: which announcements have gone out (the one rule every channel
  follows) and the :class:`~.selection.Entry` they all read;
- :mod:`.markup`: the text citizens received, as HTML for pages and for Telegram;
- :mod:`.site` the public archive, :mod:`.atom` the Atom feeds, :mod:`.cap` the
  CAP 1.2 alerts; :mod:`.publish` builds the whole static site from them;
- :mod:`.telegram` the Bot API client, :mod:`.mirror` posts each announcement to
  the town's channel once; :mod:`.store` holds every SQL statement of the channels.
"""
