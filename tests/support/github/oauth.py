"""The OAuth app the staff form logs in with, and the person who logs in.

- ``GET /login/oauth/authorize``: the user approves at once; a redirect to the app's
  callback (``github.callback``) with a one-time ``code`` and the ``state`` given;
- ``POST /login/oauth/access_token``: that code, the client id and secret -> a token,
  granted everything the person may do (GitHub's error body for anything else);
- ``GET /user``: who the token belongs to.
"""

from __future__ import annotations

import secrets
from urllib.parse import parse_qs, urlencode

from .routes import Answer, Routes, not_found

ROUTES = Routes()
CLIENT_ID, CLIENT_SECRET = "Iv1.banditoretest", "test-client-secret"
USER = {"login": "redazione", "name": "Redazione Comune", "id": 1,
        "avatar_url": "", "email": "redazione@comune.invalid"}


@ROUTES("GET", r"/login/oauth/authorize", "authorize", public=True)
def authorize(github, m, r) -> Answer:
    if r.query.get("client_id") != CLIENT_ID:
        return not_found()
    code = secrets.token_hex(10)
    github.codes.add(code)
    target = github.callback + "?" + urlencode({"code": code, "state": r.query.get("state", "")})
    return Answer(302, headers={"Location": target})


@ROUTES("POST", r"/login/oauth/access_token", "token", public=True)
def access_token(github, m, r) -> Answer:
    form = {k: v[0] for k, v in parse_qs(r.raw.decode()).items()}
    code = form.get("code", "")
    if not (form.get("client_id") == CLIENT_ID and form.get("client_secret") == CLIENT_SECRET
            and code in github.codes):
        return Answer(200, {"error": "bad_verification_code",
                            "error_description": "The code passed is incorrect."})
    github.codes.discard(code)
    token = "gho_" + secrets.token_hex(16)
    github.tokens[token] = None  # a person's token: whatever they may do
    return Answer(200, {"access_token": token, "token_type": "bearer", "scope": "repo"})


@ROUTES("GET", r"(?:/user|/users/redazione)", "user")
def user(github, m, r) -> Answer:
    return Answer(200, USER)
