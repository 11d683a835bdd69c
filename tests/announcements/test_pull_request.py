"""The comment the trusted workflow computes from a pull request's files read as data
(runner/announcements/pull_request.py); the workflow itself runs in
tests/test_review_comment_workflow.py."""

import json

import pytest

from runner.announcements.pull_request import comment, read_listing
from runner.cli import main
from runner.errors import ConfigError
from tests.support.announcement_repo import Repo, announcement


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """main's checkout in tmp_path/main; the pull request's files in tmp_path/fetched."""
    checkout = tmp_path / "main"
    checkout.mkdir()
    monkeypatch.chdir(checkout)
    r = Repo(checkout)
    r.add("2024-04-02-esistente", body="Testo su main.")
    return r


def fetch(tmp_path, files: dict) -> list[dict]:
    for path, text in files.items():
        target = tmp_path / "fetched" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(text if isinstance(text, bytes) else text.encode())
    return [{"filename": path, "status": "modified"} for path in files]


def listing(entries) -> list:
    return read_listing("\n".join(json.dumps(e) for e in entries))


def test_the_pull_requests_version_is_checked_not_mains(repo, tmp_path):
    entries = fetch(tmp_path, {"announcements/2024/2024-04-02-esistente.md": announcement(
        body="Ora con il cellulare 347 1234567.")})
    text = comment(repo.settings(), listing(entries), tmp_path / "fetched")
    assert "Qui c'è un numero di cellulare" in text
    assert (repo.root / "announcements/2024/2024-04-02-esistente.md").read_text().count("347") == 0


def test_a_moved_file_is_not_its_own_duplicate(repo, tmp_path):
    repo.write("announcements/2024/vecchi/2024-04-01-spostato.md", announcement())
    entries = fetch(tmp_path, {"announcements/2024/2024-04-01-spostato.md": announcement()})
    entries[0].update(status="renamed",
                      previous_filename="announcements/2024/vecchi/2024-04-01-spostato.md")
    text = comment(repo.settings(), listing(entries), tmp_path / "fetched")
    assert "stesso nome" not in text and "nessun problema" in text


def test_media_added_by_the_pull_request_is_found(repo, tmp_path):
    from tests.support.announcement_repo import PNG_RGB

    entries = fetch(tmp_path, {
        "announcements/media/nuova.png": PNG_RGB,
        "announcements/2024/2024-04-03-foto.md": announcement(
            template="foto", media="announcements/media/nuova.png")})
    text = comment(repo.settings(), listing(entries), tmp_path / "fetched")
    assert "nessun problema" in text


def test_settings_changed_by_the_pull_request_are_named(repo, tmp_path):
    entries = fetch(tmp_path, {"announcements/2024/2024-04-03-nuovo.md": announcement()})
    entries.append({"filename": "pyproject.toml", "status": "modified"})
    text = comment(repo.settings(), listing(entries), tmp_path / "fetched")
    assert "> Questa richiesta cambia anche `pyproject.toml`" in text


def test_no_announcement_changed_no_comment(repo, tmp_path):
    entries = fetch(tmp_path, {"docs/x.md": "x"})
    assert comment(repo.settings(), listing(entries), tmp_path / "fetched") == ""


@pytest.mark.parametrize("path", ["../fuori.md", "/etc/passwd", "announcements/../../x.md",
                                  "announcements/./a.md", "announcements\\a.md", ""])
def test_a_path_that_could_leave_the_fetched_folder_is_refused(path):
    with pytest.raises(ConfigError, match="non è un percorso del repository"):
        read_listing(json.dumps({"filename": path, "status": "added"}))


def test_a_fetched_entry_that_is_not_a_plain_file_is_refused(repo, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text(announcement())
    link = tmp_path / "fetched/announcements/2024/2024-04-03-link.md"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    entries = [{"filename": "announcements/2024/2024-04-03-link.md", "status": "added"}]
    with pytest.raises(ConfigError, match="non è stato scaricato come file normale"):
        comment(repo.settings(), listing(entries), tmp_path / "fetched")


def test_the_command_writes_the_comment_or_nothing(repo, tmp_path, capsys):
    entries = fetch(tmp_path, {"announcements/2024/2024-04-03-nuovo.md": announcement()})
    (tmp_path / "changed.jsonl").write_text("\n".join(json.dumps(e) for e in entries))
    out = tmp_path / "comment.md"
    assert main(["review-pr", "--files", str(tmp_path / "changed.jsonl"),
                 "--fetched", str(tmp_path / "fetched"), "--out", str(out)]) == 0
    assert out.read_text().startswith("<!-- banditore-review -->")
    (tmp_path / "changed.jsonl").write_text('{"filename": "../x", "status": "added"}')
    assert main(["review-pr", "--files", str(tmp_path / "changed.jsonl"),
                 "--fetched", str(tmp_path / "fetched")]) == 2
    assert "non è un percorso del repository" in capsys.readouterr().err
