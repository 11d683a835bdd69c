"""Channels: what else one announcement becomes once it has gone out on WhatsApp.

- :mod:`.selection`: which announcements have gone out (the one rule every channel
  follows) and the :class:`~.selection.Entry` they all read;
- :mod:`.bubble_text`: the text citizens' WhatsApp showed them (the bubble's), as
  HTML for pages and for Telegram, and the announcement as plain text for CAP;
- :mod:`.site` the public archive, :mod:`.atom` the Atom feeds, :mod:`.cap` the
  CAP 1.2 alerts, :mod:`.join` how to subscribe; :mod:`.site_build` builds the whole
  static site from them (the ``publish`` command);
- :mod:`.telegram` the Bot API client, :mod:`.mirror` posts each announcement to
  the town's channel once (the ``telegram`` command);
- :mod:`.store`: the channels' store, every SQL statement of channels/ (what the send
  stage recorded, the Telegram journal).
"""
