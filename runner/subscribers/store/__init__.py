"""The subscribers stage's store: every SQL statement of subscribers/, each a named
function in the module of its concept. The rest of the stage (the logs' steps, the
lifecycle, the staff's tools, the rights) calls them and runs no SQL itself.

- :mod:`.staging`: the stage, the webhook lines parsed into flat tables;
- :mod:`.inbound`, :mod:`.delivery_statuses`, :mod:`.imports`, :mod:`.templates`: the stage
  into ``inbound`` and ``citizens``, ``statuses``, ``imports``, ``template_updates``;
- :mod:`.reads`: how far each log file was read, malformed lines, webhook errors,
  ``sync_meta``;
- :mod:`.subscriber_states`: whose state is replayed, and the outcome stored (``subscribers``,
  ``subscriber_events``, ``consents``, the replies a keyword earns);
- :mod:`.notices`: the notices' dates, the notices and hints queued;
- :mod:`.erasure`: a citizen's rows out, and forgotten citizens out of a stage;
- :mod:`.citizens`, :mod:`.access_record`: what staff read, and a citizen's whole record.

Named Python functions rather than one ``queries.sql``, as in the send stage's store:
the statements are put together from the vocabulary's words and from shared pieces.

Temporary tables live on the connection of one sync or one staff command; each is
made and dropped by one module of the store (``CREATE OR REPLACE``: a stale one is
never read), its contract written there:

- the stage (:mod:`.staging`): the attached in-memory database ``stage`` with
  ``stage.stage_items`` and ``stage.template_items``, and the views
  ``stage_messages`` and ``stage_statuses`` over them, made by
  :func:`.staging.attach` and :func:`.staging.split`, dropped by
  :func:`.staging.detach` after the sync's transaction; ``stage_values`` lives
  within one statement there, ``template_lines`` on a parsing worker's cursor
  (:mod:`.templates`);
- ``stage_affected`` (:mod:`.subscriber_states`): the citizens whose state a sync replays,
  filled by the steps that find them;
- each step's own tables, dropped when the step ends: ``stage_links``,
  ``stage_identities``, ``new_ids``, ``stage_ids``, ``stage_verdicts``,
  ``stage_picks``, ``stage_new``, ``stage_citizens`` (:mod:`.inbound`); ``rids``,
  ``stage_statuses_kept``, ``stage_merged`` (:mod:`.delivery_statuses`); ``stage_records``,
  ``stage_import_ids``, ``stage_imports`` (:mod:`.imports`); ``stage_reads``,
  ``stage_problems`` (:mod:`.reads`); ``forgotten`` (:mod:`.erasure`); ``ids``
  (:mod:`.subscriber_states`), ``decided`` (:mod:`.citizens`);
- the replay's ``rc_*`` (:mod:`.subscriber_states`), dropped once its outcome is stored.
"""
