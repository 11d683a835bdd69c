"""The staff's form: Decap CMS over the same pull requests as the Markdown files.

Why Decap CMS and not Sveltia CMS (same config format, lighter): Decap's
editorial workflow is the review flow (saving a draft opens a branch and a pull
request, "publish" merges it) and Sveltia does not have it; Decap's local git
proxy (``decap-server``, from npm) runs that same workflow on a local repository,
so the form can be tried and tested with no GitHub account, where Sveltia's local
mode needs a person to pick a folder in the browser; and Decap takes a custom
preview pane (``CMS.registerPreviewTemplate``), which the WhatsApp bubble needs.

- :mod:`.config`: ``admin/config.yml`` generated from the announcement model and
  the town's settings, so the form's vocabulary is never written twice;
- :mod:`.preview`: what the preview pane shows: the bubble ``preview`` prints (one
  renderer, :mod:`runner.announcements.bubble`) and validate's problems;
- :mod:`.server`: the local try-out (``make cms``): the admin page, the preview
  endpoint, and decap-server's requests on a scratch copy of the repository;
- :mod:`.proxy`: decap-server itself, on a private Unix socket only the admin server
  reaches; :mod:`.guard`: what the admin server lets through (Host, Origin, the
  session's token, the paths decap-server may touch).
"""
