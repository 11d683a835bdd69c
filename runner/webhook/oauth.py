"""The staff form's GitHub login, served by the receiver host beside the webhook.

Decap CMS, deployed with the site, logs staff in to GitHub with its *external OAuth
client* flow; GitHub's code exchange needs the OAuth app's client secret, which a
static site cannot hold, so two small endpoints on the receiver do it:

* ``GET /auth?provider=github&scope=repo``: a redirect to GitHub's authorize page with
  the app's client id, the scope asked and a random ``state``, also set as a cookie
  (``HttpOnly``, ``SameSite=Lax``, 10 minutes) so only the browser that started the
  login can finish it;
* ``GET /callback?code=...&state=...``: the state checked against the cookie, the code
  exchanged for a token at GitHub's token address (``POST /login/oauth/access_token``),
  and a small page that hands the token to the form in the window that opened it, as
  Decap expects: it posts ``authorizing:github``, waits for the form's answer, then
  posts ``authorization:github:success:{"token": ..., "provider": "github"}`` (or
  ``...:error:...``) to the form's origin only, the origin of ``site_url``.

Settings: ``cms_oauth_client_id`` and the secret ``BANDITORE_CMS_OAUTH_CLIENT_SECRET``
(environment only), ``site_url`` (where the form is), ``github_url`` (GitHub, or a
GitHub Enterprise server; the tests' fake one). Without a client id the endpoints are
not there and the receiver answers as before. Nothing here logs a code or a token.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import secrets
from collections.abc import Callable, Iterable
from http.cookies import CookieError, SimpleCookie
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from ..errors import ConfigError
from ..messages import t

if TYPE_CHECKING:
    from ..config import Settings

log = logging.getLogger("banditore.webhook")

AUTH_PATH, CALLBACK_PATH = "/auth", "/callback"
STATE_COOKIE = "banditore_oauth_state"
SCOPES = ("repo", "public_repo")  # what Decap's GitHub backend asks for
PROVIDER = "github"

_PAGE = """<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head>
<body><p>{text}</p>
<script>
(function () {{
  var origin = {origin};
  var message = {message};
  function answer(event) {{
    if (event.origin !== origin) return;
    window.removeEventListener("message", answer, false);
    window.opener.postMessage(message, origin);
  }}
  if (!window.opener) return;
  window.addEventListener("message", answer, false);
  window.opener.postMessage("authorizing:{provider}", origin);
}})();
</script></body></html>
"""


class OAuthApp:
    """The two endpoints in front of ``inner`` (the webhook application)."""

    def __init__(self, inner: Callable, client_id: str, client_secret: str, site_origin: str,
                 github_url: str, language: str = "it", session: requests.Session | None = None):
        self.inner = inner
        self.client_id, self._secret = client_id, client_secret
        self.site_origin = site_origin
        self.github = github_url.rstrip("/")
        self.language = language
        self.http = session or requests.Session()

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") == "GET" and path == AUTH_PATH:
            return self._auth(environ, start_response)
        if environ.get("REQUEST_METHOD") == "GET" and path == CALLBACK_PATH:
            return self._callback(environ, start_response)
        return self.inner(environ, start_response)

    def _auth(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        scope = query.get("scope", ["repo"])[0]
        state = secrets.token_urlsafe(24)
        target = f"{self.github}/login/oauth/authorize?" + urlencode({
            "client_id": self.client_id, "scope": scope if scope in SCOPES else "repo",
            "state": state})
        cookie = (f"{STATE_COOKIE}={state}; Path={CALLBACK_PATH}; Max-Age=600; HttpOnly; "
                  f"SameSite=Lax{'; Secure' if _https(environ) else ''}")
        start_response("302 Found", [("Location", target), ("Set-Cookie", cookie),
                                     ("Cache-Control", "no-store"), ("Content-Length", "0")])
        return [b""]

    def _callback(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        code, state = query.get("code", [""])[0], query.get("state", [""])[0]
        expected = _cookie(environ.get("HTTP_COOKIE"), STATE_COOKIE)
        if not state or not expected or not hmac.compare_digest(state, expected):
            log.info("oauth callback refused: state does not match")
            return self._page(start_response, "403 Forbidden", error="state")
        if not code:
            return self._page(start_response, "400 Bad Request",
                              error=query.get("error", ["no code"])[0])
        try:
            answer = self.http.post(f"{self.github}/login/oauth/access_token", timeout=20,
                                    headers={"Accept": "application/json"},
                                    data={"client_id": self.client_id,
                                          "client_secret": self._secret, "code": code})
            body = answer.json()
        except (requests.RequestException, ValueError) as exc:
            log.warning("oauth code exchange failed: %s", type(exc).__name__)
            return self._page(start_response, "502 Bad Gateway", error="exchange")
        token = body.get("access_token") if isinstance(body, dict) else None
        if not token:
            log.info("oauth code exchange refused by GitHub: %s", body.get("error"))
            return self._page(start_response, "403 Forbidden",
                              error=str(body.get("error") or "refused"))
        return self._page(start_response, "200 OK", token=token)

    def _page(self, start_response: Callable, status: str, *, token: str | None = None,
              error: str | None = None) -> Iterable[bytes]:
        if token is not None:
            message = f"authorization:{PROVIDER}:success:" + json.dumps(
                {"token": token, "provider": PROVIDER})
            text = t("oauth.done", self.language)
        else:
            message = f"authorization:{PROVIDER}:error:" + json.dumps({"message": error})
            text = t("oauth.failed", self.language, error=error)
        # json.dumps for the script's strings, with "<" escaped so no "</script>" closes it.
        page = _PAGE.format(lang=self.language, title=html.escape(t("oauth.title", self.language)),
                            text=html.escape(text), provider=PROVIDER,
                            origin=_script(self.site_origin), message=_script(message))
        body = page.encode()
        start_response(status, [("Content-Type", "text/html; charset=utf-8"),
                                ("Content-Length", str(len(body))),
                                ("Cache-Control", "no-store"),
                                ("Set-Cookie", f"{STATE_COOKIE}=; Path={CALLBACK_PATH}; "
                                               "Max-Age=0; HttpOnly; SameSite=Lax"),
                                ("Referrer-Policy", "no-referrer")])
        return [body]


def _script(value: str) -> str:
    return json.dumps(value).replace("<", "\\u003c")


def _cookie(header: str | None, name: str) -> str:
    try:
        jar = SimpleCookie(header or "")
    except CookieError:
        return ""
    return jar[name].value if name in jar else ""


def _https(environ: dict) -> bool:
    forwarded = environ.get("HTTP_X_FORWARDED_PROTO", "")
    return environ.get("wsgi.url_scheme") == "https" or forwarded.lower() == "https"


def site_origin(site_url: str) -> str:
    """``https://town.github.io/avvisi/`` -> ``https://town.github.io``: where the form
    runs, the only window the token is posted to."""
    parts = urlsplit(site_url.strip())
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def with_oauth(inner: Callable, settings: Settings) -> Callable:
    """``inner`` with the login endpoints in front when the town set up the OAuth app;
    a half set-up one (an id without its secret or without site_url) is refused."""
    if not settings.cms_oauth_client_id:
        return inner
    secret = settings.cms_oauth_client_secret
    origin = site_origin(settings.site_url)
    if secret is None or not secret.get_secret_value() or not origin:
        raise ConfigError(t("oauth.incomplete", settings.language))
    return OAuthApp(inner, settings.cms_oauth_client_id, secret.get_secret_value(), origin,
                    settings.github_url, settings.language)
