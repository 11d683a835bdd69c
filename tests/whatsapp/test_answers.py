"""Errors are classified by error.code (Meta's error-code reference), never by HTTP status."""

import pytest

from runner.whatsapp.answers import (
    CONNECTION_ERROR,
    HTTP_ERROR,
    Action,
    ApiError,
    classify,
    parse_error,
)


@pytest.mark.parametrize(
    ("code", "action"),
    [
        (130429, Action.THROUGHPUT),
        (131056, Action.PAIR_RATE),
        (131049, Action.RETRY_LATER),
        *[(c, Action.RETRY) for c in (1, 2, 4, 80007, 131000, 131016, 131057, 133004)],
        *[(c, Action.STOP) for c in (0, 3, 10, 190, 200, 299, 368, 131005, 131031, 130497,
                                     131042, 131048, 132015, 132016)],
        *[(c, Action.PERMANENT) for c in (100, 131026, 131047, 131050, 131051, 131052, 131053,
                                          131008, 131009, 135000, 132018, 132000, 132001,
                                          132005, 132007, 132012, 130472, 131021, 131030,
                                          131037, 131062, 131063, 131064, 137000)],
        (CONNECTION_ERROR, Action.RETRY),
        (424242, Action.PERMANENT),  # unknown: fail the one message, never guess a retry
    ],
)
def test_every_documented_code_has_its_action(code, action):
    assert classify(code) is action


@pytest.mark.parametrize("status", [400, 401, 403, 429, 500, 503])
def test_the_http_status_does_not_change_a_coded_error(status):
    # Meta answers 400 for throttling; copies say 429. Same code, same action.
    assert classify(130429, status) is Action.THROUGHPUT
    assert classify(131026, status) is Action.PERMANENT
    assert classify(190, status) is Action.STOP


@pytest.mark.parametrize(("status", "action"), [(500, Action.RETRY), (502, Action.RETRY),
                                                (503, Action.RETRY), (429, Action.RETRY),
                                                (400, Action.PERMANENT), (404, Action.PERMANENT)])
def test_without_a_meta_body_the_status_decides(status, action):
    assert classify(HTTP_ERROR, status) is action


def test_parse_meta_error_body():
    body = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                      "code": 130429, "error_data": {"messaging_product": "whatsapp",
                                                     "details": "Message failed"},
                      "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}
    err = parse_error(400, body)
    assert err == ApiError(130429, "(#130429) Rate limit hit", 400, "Message failed")
    assert err.action is Action.THROUGHPUT


@pytest.mark.parametrize("body", [None, "oops", {}, {"error": "x"}, {"error": {"code": "1"}}])
def test_anything_else_is_an_http_error(body):
    err = parse_error(502, body)
    assert err.code == HTTP_ERROR and err.title == "HTTP 502" and err.action is Action.RETRY


@pytest.mark.parametrize(("header", "seconds"), [("30", 30.0), ("1.5", 1.5), (None, None),
                                                 ("Wed, 21 Oct 2026 07:28:00 GMT", None)])
def test_retry_after_is_read_when_present(header, seconds):
    assert parse_error(503, None, header).retry_after == seconds
    assert parse_error(400, {"error": {"code": 130429, "message": "x"}},
                       header).retry_after == seconds
