"""The local form (``make cms``) made safe: each way in the security review found, tried
for real over HTTP on 127.0.0.1 against the admin server and decap-server, and refused.

decap-server is reachable only through the admin server (a Unix socket in a private
folder), which checks Host, Origin, the session's token, and every path a request to
decap-server names; the preview reads nothing outside the draft it checks.
"""

from __future__ import annotations

import base64
import shutil
import socket
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from runner.cms.guard import Guard, Refused, content_length
from runner.cms.server import DECAP_SERVER, start
from runner.config import load_settings
from tests.support.towns import sample_repository

ROOT = Path(__file__).resolve().parents[2]
IMAGE = ROOT / "announcements" / "media" / "allerta-vento.png"
FIELDS = {"title": "Allerta: vento forte", "category": "allerta-meteo", "urgency": "emergency",
          "publish_at": "2024-04-03T10:00:00+02:00", "template": "avviso_immagine"}
POISON = "[core]\n\tfsmonitor = touch /tmp/banditore-pwned\n"
needs_decap = pytest.mark.skipif(not (ROOT / DECAP_SERVER).exists(),
                                 reason="make test runs npm ci")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    settings = load_settings(now="2024-04-01T00:00:00+02:00")
    repo = sample_repository(tmp_path_factory.mktemp("town") / "repo", ("announcements",),
                             branch=settings.cms_branch)
    app = start(settings, repo, ROOT)
    try:
        yield app, repo
    finally:
        app.stop()


@pytest.fixture
def session(app):
    """A browser's session: the printed address once, then its cookie."""
    s = requests.Session()
    assert s.get(app[0].url, timeout=10).status_code == 200
    assert "token=" not in s.get(app[0].url, timeout=10).url  # left the address bar
    return s


def persist_media(path: str) -> dict:
    return {"action": "persistMedia", "params": {
        "branch": "main", "asset": {"path": path, "encoding": "base64",
                                    "content": base64.b64encode(POISON.encode()).decode()},
        "options": {"commitMessage": "upload"}}}


@needs_decap
def test_decap_server_has_no_port_only_a_private_socket(app):
    proxy = app[0].proxy
    mode = stat.S_IMODE(proxy.folder.stat().st_mode)
    assert mode == 0o700 and stat.S_ISSOCK(Path(proxy.socket).stat().st_mode)
    config = requests.Session()
    config.get(app[0].url, timeout=10)
    served = config.get(app[0].base + "/admin/config.yml", timeout=10).text
    assert f"url: {app[0].base}/api/v1" in served  # the admin server's own address
    listening = subprocess.run(["ss", "-ltnp"], capture_output=True, text=True).stdout
    assert f"pid={proxy.process.pid}," not in listening  # node listens on no TCP port


@needs_decap
def test_a_write_to_git_config_is_refused(app, session):
    base, repo = app[0].base, app[1]
    before = (repo / ".git" / "config").read_text()
    for path in (".git/config", "announcements/../.git/config", "/.git/config",
                 "announcements/media/.git/config", "announcements/.GIT/hooks/post-commit"):
        answer = session.post(base + "/api/v1", json=persist_media(path), timeout=30)
        assert answer.status_code == 403, (path, answer.text)
    assert (repo / ".git" / "config").read_text() == before
    # Outside the announcements folder, even a plain file is refused.
    answer = session.post(base + "/api/v1", json=persist_media("pyproject.toml"), timeout=30)
    assert answer.status_code == 403 and "outside announcements/" in answer.text
    # ...while the media folder takes an attachment, as the form saves one.
    image = persist_media("announcements/media/nuova.png")
    image["params"]["asset"]["content"] = base64.b64encode(IMAGE.read_bytes()).decode()
    assert session.post(base + "/api/v1", json=image, timeout=60).status_code == 200
    assert (repo / "announcements" / "media" / "nuova.png").read_bytes() == IMAGE.read_bytes()


@needs_decap
def test_another_branch_or_an_unknown_action_is_refused(app, session):
    base = app[0].base
    other = persist_media("announcements/media/x.png")
    other["params"]["branch"] = "--upload-pack=touch /tmp/x"
    assert session.post(base + "/api/v1", json=other, timeout=30).status_code == 403
    assert session.post(base + "/api/v1", json={"action": "runShell"},
                        timeout=30).status_code == 422


@needs_decap
def test_a_foreign_host_is_refused(app, session):
    base = app[0].base
    port = base.rsplit(":", 1)[1]
    for host in (f"attacker.example:{port}", "127.0.0.1:1", f"127.0.0.1.nip.io:{port}"):
        answer = session.post(base + "/api/v1", json={"action": "info"}, timeout=10,
                              headers={"Host": host})
        assert answer.status_code == 403 and "foreign Host" in answer.text, host
        assert session.get(base + "/admin/config.yml", headers={"Host": host},
                           timeout=10).status_code == 403
    # DNS rebinding: the token in the address does not help a foreign Host either.
    assert requests.get(app[0].url, headers={"Host": f"attacker.example:{port}"},
                        timeout=10, allow_redirects=False).status_code == 403
    # localhost is the server's own too (a browser keeps its cookie apart: sent by hand).
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    assert requests.post(base + "/api/v1", json={"action": "info"}, timeout=10,
                         headers={"Host": f"localhost:{port}", "Cookie": cookie}
                         ).status_code == 200


@needs_decap
def test_a_foreign_origin_is_refused(app, session):
    base = app[0].base
    port = base.rsplit(":", 1)[1]
    for origin in ("http://attacker.example", "http://localhost:3000", "null",
                   f"https://127.0.0.1:{port}"):
        answer = session.post(base + "/api/v1", json={"action": "info"}, timeout=10,
                              headers={"Origin": origin})
        assert answer.status_code == 403 and "foreign Origin" in answer.text, origin
    assert session.post(base + "/api/v1", json={"action": "info"}, timeout=10,
                        headers={"Origin": base}).status_code == 200


@needs_decap
def test_without_the_session_token_nothing_is_served(app):
    base = app[0].base
    anyone = requests.Session()
    assert anyone.post(base + "/api/v1", json={"action": "info"}, timeout=10).status_code == 403
    assert anyone.get(base + "/admin/config.yml", timeout=10).status_code == 403
    assert anyone.get(base + "/admin/?token=guessed", timeout=10).status_code == 403
    forged = {"Cookie": "banditore_cms=guessed"}
    assert anyone.post(base + "/api/preview", json={}, headers=forged,
                       timeout=10).status_code == 403


@needs_decap
def test_a_preview_of_a_file_outside_the_repository_is_refused(app, session, tmp_path):
    secret = tmp_path / "private.png"  # any image on the machine
    shutil.copy(IMAGE, secret)
    base = app[0].base
    for media in (str(secret), "../" * 12 + str(secret).lstrip("/")):
        answer = session.post(base + "/api/preview", timeout=30, json={
            "fields": {**FIELDS, "media": media}, "body": "Raffiche."}).json()
        assert "data:image" not in answer["html"], media  # never embedded
        assert not answer["ok"]  # and validate says why
    inside = session.post(base + "/api/preview", timeout=30, json={
        "fields": {**FIELDS, "media": "announcements/media/nuova.png"}, "body": "Raffiche.",
        "media": {"announcements/media/nuova.png":
                  base64.b64encode(IMAGE.read_bytes()).decode()}}).json()
    assert "data:image/png" in inside["html"]  # the draft's own attachment is shown


@needs_decap
@pytest.mark.parametrize("length", ["-1", "+5", " 5", "٥", "5_0", "0x10"])
def test_a_content_length_not_in_ascii_digits_is_refused(app, session, length):
    host, port = app[0].base.removeprefix("http://").split(":")
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    request = (f"POST /api/preview HTTP/1.1\r\nHost: {host}:{port}\r\nCookie: {cookie}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n{{}}")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request.encode())
        status = conn.recv(200).split(b"\r\n", 1)[0]
    assert status.split()[1] == b"400", status


def test_the_guard_alone():
    guard = Guard(8765, "t" * 43, "main", "announcements")
    guard.check_request("127.0.0.1:8765", None, "banditore_cms=" + "t" * 43)
    guard.check_proxy({"action": "getMedia", "params": {"branch": "main",
                                                       "mediaFolder": "announcements/media"}})
    with pytest.raises(Refused, match="outside"):
        guard.check_proxy({"action": "getMedia", "params": {"branch": "main",
                                                           "mediaFolder": "admin"}})
    with pytest.raises(Refused, match="plain repository path"):
        guard.check_proxy({"action": "deleteFiles", "params": {
            "branch": "main", "paths": ["announcements/x.md", "announcements/.git/index"],
            "options": {"commitMessage": "x"}}})
    assert content_length("12") == 12
    for wrong in ("-1", "", "1.0", "１２"):
        with pytest.raises(Refused):
            content_length(wrong)
