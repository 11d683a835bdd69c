"""Every request body the runner builds conforms to Meta's OpenAPI description of the
Cloud API's send-message request (facebook/openapi, business-messaging-api_v23.0.yaml,
vendored in tests/openapi/ and read by tests/support/cloud_api_spec.py).

Two ways in, both through the runner's own code:

- the bytes the loopback Cloud API received from CLI runs: the shipped sample, and
  towns set up with ``init --town`` (welcome as a topic menu or as a template, media
  headers by upload id and by link, a correction quoting the original, named
  parameters and a text header);
- every reply body of every reference town (:func:`runner.send.payloads.reply_bodies`)
  and every kind of announcement body, with and without a template.

Media upload is multipart, not JSON, and out of scope.
"""

from __future__ import annotations

import json
import shutil
import tomllib
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path

import pytest

from runner.announcements.reading import read
from runner.announcements.render import render
from runner.cli import main
from runner.config import Settings, load_settings
from runner.send.payloads import reply_bodies
from runner.towns import names as town_names
from runner.whatsapp.bodies import QuotingPayload, announcement_message, compile_payload
from tests.openapi.extract import cut
from tests.support.announcement_repo import announcement
from tests.support.clock import NOW
from tests.support.cloud_api_spec import as_meant, literally, load, parse, refusals
from tests.support.towns import make_town
from tests.support.webhooks import message, write

REPO = Path(__file__).resolve().parents[2]
WA_ID = "393330000001"
WAMID = "wamid.HBgMMzkzMzMwMDAwMDAxFQIAERgSQUJDMTIzREVGNDU2AA=="


def kinds(raw: bytes) -> set[str]:
    """What a body exercises, to show a scenario covered what it claims to."""
    body = parse(raw)
    found = {body["type"]}
    if "context" in body:
        found.add("quote")
    if body["type"] == "interactive":
        found.add("interactive:" + body["interactive"]["type"])
    if body["type"] == "template":
        for comp in body["template"].get("components", []):
            for param in comp.get("parameters", []):
                found.add(f"{comp['type']}:{param['type']}")
                media = param.get(param["type"])
                if isinstance(media, dict):
                    found.add(f"{comp['type']}:{param['type']}:{next(iter(media))}")
                if "parameter_name" in param:
                    found.add("named")
    return found


def assert_conform(bodies: list[bytes]) -> set[str]:
    assert bodies, "no body was sent: the scenario exercised nothing"
    wrong = {raw: problems for raw in bodies if (problems := refusals(raw))}
    assert not wrong, "\n".join(f"{raw.decode()}\n  -> {'; '.join(p)}"
                                for raw, p in wrong.items())
    return set().union(*map(kinds, bodies))


# --- the description, and the reading the tests hold it to ----------------------------
def test_the_vendored_part_holds_everything_it_refers_to():
    spec = load()
    assert cut(spec) == spec  # cutting the part again changes nothing: no $ref leads out
    text = (REPO / "tests" / "openapi" / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Meta Platforms, Inc." in text


def test_read_literally_the_description_refuses_every_message_even_metas_own():
    # allOf [BaseMessageProperties, {..., additionalProperties: false}]: the second part
    # refuses `to`, `type` and every key of the first. Hence the union reading.
    examples = literally().examples
    assert len(examples) > 40
    assert all(literally().refusals(ex) for ex in examples.values())


@pytest.mark.parametrize("name", [
    "Send Text Message", "Send Reply to Text Message", "Send Image Message by ID",
    "Send Image Message by URL", "Send Video Message by URL", "Send Document Message by ID",
    "Send Document Message by URL", "Send List Message", "Send Reply Button"])
def test_read_as_meant_metas_examples_of_what_the_runner_sends_pass(name):
    # (Meta's template examples leave out `language.policy`, which the same file
    # requires: the runner sends it, see runner/whatsapp/bodies.py.)
    assert as_meant().refusals(as_meant().examples[name]) == []


def _welcome() -> bytes:
    settings = Settings(templates={}, default_template=None)
    return reply_bodies(settings)["welcome"].body(WA_ID, "w:wamid.1")


def _template() -> bytes:
    settings = _town_settings("jesi")
    return reply_bodies(settings)["welcome-template"].body(WA_ID, "w:wamid.1")


def _edit(raw: bytes, change) -> bytes:
    body = json.loads(raw)
    change(body)
    return json.dumps(body).encode()


@pytest.mark.parametrize(("build", "change", "said"), [
    (_template, lambda b: b.update(ttl=30), "'ttl' was unexpected"),
    (_template, lambda b: b.pop("to"), "'to' is a required property"),
    (_welcome, lambda b: b.update(extra=1), "'extra' was unexpected"),
    (_welcome, lambda b: b["text"].update(bold=True), "'bold' was unexpected"),
    (_welcome, lambda b: b.pop("messaging_product"), "'messaging_product' is a required"),
    (_template, lambda b: b["template"]["components"][0]["parameters"][0].pop("text"),
     "'text' is a required property"),
    (_template, lambda b: b["template"]["language"].pop("policy"), "'policy' is a required"),
    (_template, lambda b: b["template"]["components"][0].update(type="footer"),
     "'footer' is not one of"),
    (_template, lambda b: b.update(recipient="393330000001"), "does not match"),
    (_template, lambda b: b.update(biz_opaque_callback_data=7), "is not of type 'string'"),
])
def test_a_wrong_body_is_refused(build, change, said):
    good = build()
    assert refusals(good) == []
    found = refusals(_edit(good, change))
    assert any(said in line for line in found), found


def test_a_key_twice_or_no_json_is_refused():
    assert "duplicate keys: to" in refusals(b'{"to":"+39","to":"+39"}')[0]
    assert refusals(b"<html>")[0].startswith("not a JSON body")


def test_a_citizen_known_only_by_a_business_scoped_id_may_be_sent_to():
    body = _edit(_template(), lambda b: (b.pop("to"), b.update(recipient="IT.1349875623984561")))
    assert refusals(body) == []


# --- the bytes the loopback Cloud API received --------------------------------------


@pytest.fixture
def api(api, monkeypatch):
    """The loopback Cloud API, and the environment that sends to it."""
    for name, value in {"WHATSAPP_TOKEN": "test-token", "WHATSAPP_PHONE_NUMBER_ID": "1234",
                        "WHATSAPP_API_BASE": api.base, "RATE_PER_SECOND": "200",
                        "NOW": NOW.isoformat()}.items():
        monkeypatch.setenv(f"BANDITORE_{name}", value)
    return api


def wire(api) -> list[bytes]:
    assert api.nonconforming == []  # the server refused nothing as malformed
    return [a.raw for a in api.accepted]


def test_the_shipped_sample_sends_only_conforming_bodies(api, tmp_path, monkeypatch):
    """The repository's own sample: its announcements (a picture uploaded from the
    repository, text templates), its settings and catalogue, its webhook logs."""
    monkeypatch.chdir(REPO)
    monkeypatch.setenv("BANDITORE_DATABASE", str(tmp_path / "db.duckdb"))
    monkeypatch.setenv("BANDITORE_COUNTS_FILE", str(tmp_path / "counts.json"))
    monkeypatch.setenv("BANDITORE_WEBHOOK_LOGS", str(REPO / "samples" / "logs"))
    assert main(["run"]) == 0
    seen = assert_conform(wire(api))
    assert {"template", "body:text", "header:image:id", "text"} <= seen


def _town(root: Path, town: str, monkeypatch) -> Path:
    """A town's repository set up as staff would: ``init --town``, beside its logs."""
    make_town(root, monkeypatch)
    assert main(["init", "--town", town]) == 0
    return root


def _announce(root: Path, slug: str, **fields) -> None:
    path = root / "announcements" / "2024" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(announcement(**fields), encoding="utf-8")


def _at(moment: datetime) -> int:
    return int(moment.timestamp())


def test_jesi_welcomes_with_the_menu_or_its_template_then_corrects_quoting(
        api, tmp_path, monkeypatch):
    root = _town(tmp_path, "jesi", monkeypatch)
    write(root / "logs" / "a.jsonl", [
        # the window closed long ago: the welcome can only be the template
        message("393330000001", "wamid.old", _at(NOW - timedelta(days=3)), "JESI ON"),
        # within the window: the welcome is the topic menu (an interactive list)
        message("393330000002", "wamid.new", _at(NOW - timedelta(hours=1)), "JESI ON")])
    _announce(root, "2024-04-03-acqua", title="Acqua sospesa in via Roma",
              category="disservizi", publish_at=(NOW - timedelta(minutes=5)).isoformat())
    assert main(["run"]) == 0
    assert main(["run"]) == 0  # an announcement may wait for its citizen's welcome
    _announce(root, "2024-04-03-acqua-rettifica", title="Acqua sospesa in via Verdi",
              category="disservizi", updates="2024-04-03-acqua",
              publish_at=(NOW + timedelta(minutes=30)).isoformat())
    monkeypatch.setenv("BANDITORE_NOW", (NOW + timedelta(hours=1)).isoformat())
    assert main(["run"]) == 0
    seen = assert_conform(wire(api))
    assert {"interactive:list", "template", "body:text", "quote"} <= seen
    names = {parse(raw)["template"]["name"] for raw in wire(api)
             if parse(raw)["type"] == "template"}
    assert names == {"benvenuto", "avviso_comune"}


@pytest.mark.parametrize(("town", "template", "media", "kind"), [
    ("sovere", "avviso_video", "https://www.comune.sovere.bg.it/video/sagra.mp4", "video"),
    ("vimercate", "avviso_documento", "https://www.comune.vimercate.mb.it/allerta.pdf",
     "document"),
])
def test_a_media_header_by_link(api, tmp_path, monkeypatch, town, template, media, kind):
    root = _town(tmp_path, town, monkeypatch)
    settings = load_settings()
    write(root / "logs" / "a.jsonl", [message(
        "393330000001", "wamid.1", _at(NOW - timedelta(hours=1)), settings.subscribe_keywords[0])])
    _announce(root, "2024-04-03-avviso", title="Avviso con allegato", template=template,
              media=media, category=settings.emergency_categories[0], urgency="emergency",
              publish_at=(NOW - timedelta(minutes=5)).isoformat())
    assert main(["run"]) == 0
    assert main(["run"]) == 0  # an announcement may wait for its citizen's welcome
    assert f"header:{kind}:link" in assert_conform(wire(api))


NAMED = """\
[tool.banditore.templates.nominato]
language = "it"
body = ["title", "body"]
parameter_names = ["titolo", "testo"]
"""
NAMED_CATALOGUE = """
[[template]]
name = "nominato"
language = "it"
body = "📢 *{{titolo}}*\\n\\n{{testo}}\\n\\nComune di Prova."
footer = "Per cancellarti scrivi MI CANCELLO"
"""


def test_named_parameters_and_a_text_header(api, tmp_path, monkeypatch):
    from tests.support.announcement_repo import Repo

    make_town(tmp_path, monkeypatch)
    repo = Repo(tmp_path)
    with (tmp_path / "pyproject.toml").open("a") as f:
        f.write(NAMED)
    with (tmp_path / "templates.toml").open("a") as f:
        f.write(NAMED_CATALOGUE)
    write(tmp_path / "logs" / "a.jsonl", [
        message("393330000001", "wamid.1", _at(NOW - timedelta(hours=1)), "MI ISCRIVO")])
    due = (NOW - timedelta(minutes=5)).isoformat()
    repo.add("2024-04-03-nominato", template="nominato", publish_at=due)
    repo.add("2024-04-03-titolo", title="Mercato spostato", template="titolo", publish_at=due)
    assert main(["run"]) == 0
    assert main(["run"]) == 0  # an announcement may wait for its citizen's welcome
    assert {"named", "header:text"} <= assert_conform(wire(api))


# --- every reply and every kind of announcement, built by the runner's functions --------
def _town_settings(town: str, **more) -> Settings:
    source = (resources.files("runner.towns") / f"{town}.toml").read_text("utf-8")
    return Settings.model_validate({**tomllib.loads(source)["tool"]["banditore"], **more})


def _sample_settings() -> Settings:
    return Settings.model_validate(tomllib.loads(
        (REPO / "pyproject.toml").read_text("utf-8"))["tool"]["banditore"])


@pytest.mark.parametrize("town", [*town_names(), "sample"])
def test_every_reply_of_every_town_conforms(town):
    """Welcome and goodbye (as text, as a topic menu, as templates), acknowledgements,
    hints, notices and every topic menu answer: all that reply_bodies builds."""
    settings = _sample_settings() if town == "sample" else _town_settings(town)
    bodies = reply_bodies(settings)
    assert "welcome" in bodies and "goodbye" in bodies
    seen = assert_conform([payload.body(WA_ID, f"{key}:wamid.1")
                           for key, payload in bodies.items()])
    if settings.topics_menu:
        assert "interactive:list" in seen
    if settings.welcome_template:
        assert "template" in seen


MEDIA = {"image": "https://www.comune.esempio.it/foto.jpg",
         "video": "https://www.comune.esempio.it/clip.mp4",
         "document": "https://www.comune.esempio.it/ordinanza.pdf"}
# (template header or None: no template, media): every header a template can carry,
# and a message without a template, plain or with its media and a caption.
ANNOUNCEMENTS = [("none", None), ("text", None), *((kind, url) for kind, url in MEDIA.items()),
                 (None, None), *((None, url) for url in MEDIA.values())]


def _rendered(tmp_path: Path, settings: Settings, **fields):
    path = tmp_path / "announcements" / "2024" / "2024-04-03-avviso.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(announcement(title="Chiusura della piazza", **fields), encoding="utf-8")
    ann, problems, _ = read(path, settings)
    assert ann is not None, problems
    return ann, render(ann, settings)


@pytest.mark.parametrize(("header", "media"), ANNOUNCEMENTS)
def test_every_kind_of_announcement_body_conforms(tmp_path, header, media):
    """As the send stage builds it (runner.send.payloads.build): the message of the
    rendered announcement, by link or by uploaded id, plain and quoting the original."""
    templates = {} if header is None else {"avviso": {
        "language": "it", "body": ["title", "body"], "header": header,
        **({"header_text": "title"} if header == "text" else {})}}
    settings = Settings(templates=templates, default_template=header and "avviso")
    _, rendered = _rendered(tmp_path, settings, **({"media": media} if media else {}))
    bodies = []
    for ref in [{"link": media}, {"id": "1234567890"}] if media else [None]:
        message_part = announcement_message(rendered, ref)
        bodies.append(compile_payload(message_part).body(WA_ID, "a:avviso:c_1"))
        bodies.append(QuotingPayload(message_part).body(WA_ID, "a:avviso:c_1", WAMID))
    seen = assert_conform(bodies)
    assert "quote" in seen
    if header is None:
        assert seen >= {next(k for k, url in MEDIA.items() if url == media) if media else "text"}
    elif header != "none":
        assert any(k.startswith(f"header:{header}") for k in seen)


def test_the_repositorys_own_media_goes_by_its_uploaded_id(tmp_path):
    shutil.copy(REPO / "announcements" / "media" / "allerta-vento.png", tmp_path / "a.png")
    settings = _sample_settings()
    _, rendered = _rendered(tmp_path, settings, media=str(tmp_path / "a.png"),
                            template="avviso_immagine")
    body = compile_payload(announcement_message(rendered, {"id": "9000000001"}))
    assert "header:image:id" in assert_conform([body.body(WA_ID, "a:x:c_1")])
