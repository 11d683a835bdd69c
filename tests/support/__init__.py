"""What the tests share: no test module imports another (tests/test_tests.py), so every
helper lives here, as a function to import or a fixture (fixtures.py, registered by
tests/conftest.py).

A town's data arrives the way it does in production, and the tests seed it so:
webhook log lines (webhooks.py) -> ``sync`` -> ``send`` to a loopback fake.

- fixtures.py: ``town``, ``repo`` (an announcements repository), ``api`` (the Cloud API
  fake), ``github`` (the GitHub fake);
- towns.py: a town's working directory and the ways towns differ; the sample's
  repository for the staff form;
- webhooks.py: Meta's webhooks and the receiver's log files;
- database.py: reading a town's database;
- clock.py: the tests' NOW and a clock that moves only when slept on;
- sending.py: the send engine's settings, audiences, runs, statuses arriving;
- sent_town.py: a town whose announcements went out, for the channels;
- announcement_repo.py: announcements as staff write them, a town repository;
- report_data.py: the reports' database of known figures;
- receiver.py, slow_clients.py: the webhook receiver over HTTP, and clients that
  hold it;
- cloud_api_server.py, cloud_api_spec.py: the Cloud API fake and Meta's description
  of its bodies; telegram_api_server.py: the Bot API fake; github/: the GitHub fake;
- cap.py: CAP alerts checked against their schema; browser.py: Chromium and the
  accessibility checks; contact_lists.py: the contact exports staff import.
"""
