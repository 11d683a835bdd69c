"""The reports' connection and period, on the ``db_path`` of the module asking for them."""

import pytest

from runner.messages import set_language
from runner.reports import data


@pytest.fixture
def con(db_path):
    set_language("it")
    connection = data.open_db(db_path)
    yield connection
    connection.close()


@pytest.fixture
def period(con):
    return data.resolve_period(con, now="2024-04-03T10:00:00+02:00")
