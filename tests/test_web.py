"""The auditors' page (api/web.py, api/static) in a real headless Chromium.

The browser is Debian's ``/usr/bin/chromium`` (scripts/install_browser.sh),
driven by Playwright's Python client; ``playwright install`` is never run.
The browser may only talk to the loopback service: every other request is
aborted and fails the test. Without the browser the test is skipped, unless
``CI`` is set, where it fails.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

if TYPE_CHECKING:  # pragma: no cover
    from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-proxy-server",
]
SCREENSHOT_ENV = "PROVENANCE_SCREENSHOT_DIR"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _need_browser() -> None:
    """Skip without Debian's chromium or the playwright package; under CI=1 fail instead."""
    missing = None
    if not CHROMIUM.exists():
        missing = f"{CHROMIUM} is missing (run scripts/install_browser.sh)"
    elif importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed in this environment"
    if missing is None:
        return
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"CI is set and the browser test cannot run: {missing}")
    pytest.skip(f"browser test skipped: {missing}")


class _Server:
    """A uvicorn server for ``app`` on a free loopback port, in a thread."""

    def __init__(self, app: FastAPI) -> None:
        import uvicorn

        self.port = _free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="uvicorn-web-test", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def __enter__(self) -> _Server:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the uvicorn server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


def _app(anvil_url: str, registry: str, index_path: Path) -> FastAPI:
    """The real service app (which includes the page's router), indexing every 0.1 s."""
    from api.app import create_app
    from api.settings import ServiceSettings

    settings = ServiceSettings(rpc_url=anvil_url, registry=registry, index_path=index_path, poll_interval=0.1)
    return create_app(settings)


@contextlib.contextmanager
def _chromium() -> Iterator[Page]:
    """A page in Debian's headless Chromium, with a fresh profile, allowed to reach 127.0.0.1 only.

    On leaving, fails the test if the page tried to reach another host, threw
    a script error or broke its Content-Security-Policy.
    """
    from playwright.sync_api import sync_playwright

    foreign: list[str] = []
    page_errors: list[str] = []

    def only_loopback(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1" or route.request.url.startswith("data:"):
            route.continue_()
        else:
            foreign.append(route.request.url)
            route.abort()

    def policy_violation(message) -> None:
        if "Content Security Policy" in message.text:
            page_errors.append(message.text)

    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            context.route("**/*", only_loopback)
            page = context.new_page()
            page.on("pageerror", lambda err: page_errors.append(str(err)))
            page.on("console", policy_violation)
            page.set_default_timeout(20_000)
            yield page
        finally:
            context.close()
    assert not foreign, f"the page tried to reach other hosts: {foreign}"
    assert not page_errors, f"script errors or policy violations in the page: {page_errors}"


def _verdict(subject: bytes, hostile: str) -> dict:
    """A verdict document as the verify endpoint answers it (provenance.verdict), one line per status,
    and the records seen: the trusted one relied on, a stranger's whose why carries ``hostile``."""
    from provenance.verdict import Check, RecordSeen, Verdict

    checks = (
        Check("integrity", "pass", "OK", "all 3 files match the manifest", {"files": 3}),
        Check("authenticity", "pass", "OK", "signed by the registering address"),
        Check("status", "warn", "DISPUTED", "1 dispute of this record", {"disputes": 1}),
        Check("copyright", "fail", "LICENSE_CONFLICT", f"licenses conflict: {hostile}", {"note": hostile}),
        Check("privacy", "unverifiable", "PRIVACY_UNVERIFIED", "no privacy claim was disclosed"),
        Check("endorsements", "info", "DISPUTED", f"a stranger disputes it: {hostile}", {"disputers": 1}),
    )
    records = (
        RecordSeen(bytes(32), "0x" + "ab" * 20, True, True, "registered", "a trusted publisher's record"),
        RecordSeen(b"\x01" * 32, "0x" + "cd" * 20, False, False, "registered", f"information: {hostile}"),
    )
    return Verdict(subject=subject, record_id=bytes(32), checks=checks, records=records).to_json()


def _wait_for_history(base_url: str, subject: str, count: int, timeout: float = 30) -> None:
    """Wait until the service's indexer has caught up with our registrations."""
    import httpx

    deadline = time.monotonic() + timeout
    while True:
        answer = httpx.get(f"{base_url}v1/history/{subject}", timeout=5, trust_env=False)
        if answer.status_code == 200 and len(answer.json().get("items", [])) >= count:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the index did not catch up: {answer.status_code} {answer.text}")
        time.sleep(0.1)


# ---------------------------------------------------------------- without a browser


def test_page_and_assets_served_with_a_strict_policy():
    from api.web import CONTENT_SECURITY_POLICY, router

    app = FastAPI()
    app.include_router(router)
    client = TestClient(app)

    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
    for asset, media in (("app.js", "text/javascript"), ("style.css", "text/css")):
        assert f'src="static/{asset}"' in page.text or f'href="static/{asset}"' in page.text
        answer = client.get(f"/static/{asset}")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith(media)
        again = client.get(f"/static/{asset}", headers={"If-None-Match": answer.headers["etag"]})
        assert again.status_code == 304

    assert client.get("/static/nothing.js").status_code == 404
    assert client.get("/static/..%2Fweb.py").status_code == 404
    assert client.get("/static/../web.py").status_code == 404


def test_page_loads_nothing_from_elsewhere_and_never_uses_inner_html():
    from api.web import STATIC_DIR

    html = (STATIC_DIR / "index.html").read_text()
    script = (STATIC_DIR / "app.js").read_text()
    css = (STATIC_DIR / "style.css").read_text()
    for text in (html, script, css):
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text and "//cdn" not in text
    for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML(", "document.write", "eval(", "new Function"):
        assert sink not in script, f"app.js uses {sink}"


# ---------------------------------------------------------------- in Chromium


@pytest.mark.chain
@pytest.mark.slow
def test_auditor_page_in_chromium(anvil_url, ledger, make_account, tmp_path):
    _need_browser()
    from playwright.sync_api import expect

    from provenance.record import Kind, Record

    publisher = make_account()
    dataset = Record.create(secrets.token_bytes(32), Kind.DATASET, secrets.token_bytes(32))
    # A uri with markup: the page must show it as text and never run it.
    hostile = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>'
    model = Record.create(secrets.token_bytes(32), Kind.MODEL, secrets.token_bytes(32), [dataset.subject], hostile)
    assert ledger.register(publisher, dataset).succeeded
    assert ledger.register(publisher, model).succeeded
    assert ledger.revoke(publisher, dataset.record_id(publisher.address), "<i>personal data</i> found").succeeded
    dataset_subject = "0x" + dataset.subject.hex()
    model_subject = "0x" + model.subject.hex()

    app = _app(anvil_url, ledger.registry, tmp_path / "index.sqlite")
    screenshot = tmp_path / "web.png"  # the model's page; web-home.png and web-publisher.png besides
    with _Server(app) as server:
        _wait_for_history(server.url, dataset_subject, 2)
        with _chromium() as page:
            page.goto(server.url)

            # The overview lists the publisher and the latest events, which filter by kind.
            expect(page.locator("#publishers")).to_contain_text(publisher.address[2:10])
            expect(page.locator("#events ol.timeline li")).to_have_count(3)
            expect(page.locator("#index-status")).to_contain_text("Index synced to block")
            page.select_option("#event-kind", "RecordRevoked")
            expect(page.locator("#events ol.timeline li")).to_have_count(1)
            expect(page.locator("#events ol.timeline li")).to_contain_text("<i>personal data</i> found")
            page.select_option("#event-kind", "RecordEndorsed")
            expect(page.locator("#events")).to_contain_text("No event indexed yet")
            page.select_option("#event-kind", "RecordRegistered")
            expect(page.locator("#events ol.timeline li")).to_have_count(2)
            page.screenshot(path=str(tmp_path / "web-home.png"), full_page=True)

            # A search that matches no accepted form says what is accepted.
            page.fill("#q", "not-a-digest")
            page.press("#q", "Enter")
            expect(page.locator("#search-error")).to_be_visible()
            expect(page.locator("#search-error")).to_contain_text("64 hex digits")

            # Search the model's subject.
            page.fill("#q", model_subject)
            page.click("#search button")
            expect(page).to_have_url(f"{server.url}#/artifact/{model_subject}")
            expect(page.locator("#subject")).to_have_text(model_subject)
            expect(page.locator("#search-error")).to_be_hidden()

            # The lineage graph: both artifacts and the edge between them.
            graph = page.locator("#lineage svg.lineage")
            expect(graph).to_be_visible()
            expect(graph.locator("g.node")).to_have_count(2)
            expect(graph.locator(f'g.node[data-subject="{model_subject}"]')).to_have_count(1)
            expect(graph.locator(f'g.node[data-subject="{dataset_subject}"]')).to_have_count(1)
            expect(graph.locator("g.edge")).to_have_count(1)
            edge = graph.locator("g.edge")  # from the derived artifact to its parent
            assert edge.get_attribute("data-from") == model_subject
            assert edge.get_attribute("data-to") == dataset_subject
            expect(edge).to_contain_text("derived from")
            expect(graph.locator(f'g.node[data-subject="{model_subject}"]')).to_contain_text("model")
            dataset_node = graph.locator(f'g.node[data-subject="{dataset_subject}"]')
            expect(dataset_node).to_contain_text("dataset · revoked")
            expect(dataset_node).to_have_class(re.compile(r"\brevoked\b"))

            # The history timeline shows the registration, with its transaction.
            history = page.locator("#history ol.timeline li")
            expect(history).to_have_count(1)
            expect(history.first).to_contain_text("RecordRegistered")
            expect(history.first).to_contain_text("UTC")

            # The records table: the publisher, the kind; the hostile uri stays text.
            expect(page.locator("#records")).to_contain_text("model")
            expect(page.locator("#records")).to_contain_text(hostile)
            assert page.evaluate("window.__pwned") is None
            assert page.locator("#records img, #records script").count() == 0

            # The service's verdict: the parent dataset is revoked, so the model fails on lineage.
            verdict = page.locator("#verdict")
            expect(verdict.locator("#overall")).to_have_text("FAIL")
            lineage_row = verdict.locator("table.verdict tbody tr").filter(has_text="PARENT_FAILED")
            expect(lineage_row).to_have_count(1)
            expect(lineage_row.locator("td").nth(0)).to_have_text("lineage")
            expect(lineage_row.locator(".badge")).to_have_text("fail")
            lineage_row.locator("summary").click()  # the evidence opens in place
            expect(lineage_row.locator("pre")).to_contain_text(dataset_subject)
            lineage_row.locator("summary").click()
            page.wait_for_timeout(200)  # let the graph settle for the picture
            page.screenshot(path=str(screenshot), full_page=True)

            # While the service cannot verify (503: node down), a plain line says so.
            unavailable = json.dumps(
                {"type": "about:blank", "title": "Ledger unavailable", "status": 503, "detail": "node down"}
            )
            page.route(
                "**/v1/verify/**",
                lambda route: route.fulfill(status=503, content_type="application/problem+json", body=unavailable),
            )
            page.select_option("#use", "non-commercial")
            expect(verdict.locator("#verdict-unavailable")).to_contain_text("Verification unavailable")
            expect(verdict.locator("#verdict-unavailable")).to_contain_text("node down")
            expect(verdict.locator("table.verdict")).to_have_count(0)
            expect(page.locator("#lineage svg.lineage g.node")).to_have_count(2)
            page.unroute("**/v1/verify/**")

            # Every status in the table, and markup in messages stays text (a Verdict document
            # built here with provenance.verdict, served by the route below).
            verdict_json = _verdict(model.subject, hostile)
            uses: list[str] = []

            def verify(route):
                uses.append(parse_qs(urlsplit(route.request.url).query).get("use", [""])[0])
                route.fulfill(status=200, content_type="application/json", body=json.dumps(verdict_json))

            page.route("**/v1/verify/**", verify)
            page.select_option("#use", "research")
            expect(page).to_have_url(f"{server.url}#/artifact/{model_subject}?use=research")
            expect(verdict.locator("#overall")).to_have_text("FAIL")
            rows = verdict.locator("table.verdict tbody tr")
            expect(rows).to_have_count(len(verdict_json["checks"]))
            for row, check in zip(rows.all(), verdict_json["checks"], strict=True):
                expect(row.locator("td").nth(0)).to_have_text(check["check"])
                expect(row.locator(".badge")).to_have_text(check["status"])
                expect(row.locator("td").nth(2)).to_have_text(check["code"])
                expect(row.locator("td").nth(3)).to_have_text(check["message"])
            info_row = rows.filter(has_text="DISPUTED").filter(has_text="info")
            expect(info_row.locator(".badge")).to_have_class(re.compile(r"\bstatus-info\b"))  # neutral
            expect(verdict.locator("#info-legend")).to_contain_text("weigh nothing")
            seen = verdict.locator("#verdict-records table.records-seen tbody tr")
            expect(seen).to_have_count(2)
            for row, record in zip(seen.all(), verdict_json["records"], strict=True):
                expect(row.locator("td").nth(0).locator("code")).to_have_attribute("title", record["recordId"])
                expect(row.locator("td").nth(1).locator("a")).to_have_attribute("title", record["publisher"])
                expect(row.locator("td").nth(2)).to_have_text("trusted" if record["trusted"] else "not trusted")
                expect(row.locator("td").nth(3)).to_have_text("relied on" if record["relied"] else "not relied on")
                expect(row.locator("td").nth(4)).to_have_text(record["state"])
                expect(row.locator("td").nth(5)).to_have_text(record["why"])
            assert uses[-1] == "research"
            assert page.evaluate("window.__pwned") is None
            assert verdict.locator("img, script").count() == 0
            expect(page.locator("#lineage svg.lineage g.node")).to_have_count(2)
            expect(page.locator("#history ol.timeline li")).to_have_count(1)

            page.unroute("**/v1/verify/**")

            # Clicking the dataset node opens the dataset: revoked, with its reason, newest first.
            graph.locator(f'g.node[data-subject="{dataset_subject}"]').click()
            expect(page).to_have_url(f"{server.url}#/artifact/{dataset_subject}")
            expect(page.locator("#records tbody tr .badge")).to_have_text("revoked")
            dataset_history = page.locator("#history ol.timeline li")
            expect(dataset_history).to_have_count(2)
            expect(dataset_history.nth(0)).to_contain_text("RecordRevoked")
            expect(dataset_history.nth(0)).to_contain_text("<i>personal data</i> found")
            expect(dataset_history.nth(1)).to_contain_text("RecordRegistered")

            # The publisher view: its records and its history.
            page.fill("#q", publisher.address)
            page.press("#q", "Enter")
            publisher_records = page.locator("#publisher-records tbody tr")
            expect(publisher_records).to_have_count(2)
            expect(publisher_records.filter(has_text="dataset").locator(".badge")).to_have_text("revoked")
            expect(publisher_records.filter(has_text="model").locator(".badge")).to_have_text("active")
            expect(page.locator("#history ol.timeline li")).to_have_count(3)
            page.screenshot(path=str(tmp_path / "web-publisher.png"), full_page=True)

            # A file digest nobody registered: a plain message, not an error.
            page.fill("#q", "ab" * 32)
            page.press("#q", "Enter")
            expect(page.locator("#file-artifacts")).to_contain_text("No registered artifact")

            # A file digest that one artifact lists (file digests come from Statements the
            # service holds; this answer is served by the route below), with a link to it.
            digest = secrets.token_hex(32)
            found = json.dumps(
                {"sha256": digest, "artifacts": [{"subject": model_subject, "path": "weights/<b>model</b>.bin"}]}
            )
            page.route(
                f"**/v1/files/{digest}",
                lambda route: route.fulfill(status=200, content_type="application/json", body=found),
            )
            page.fill("#q", digest.upper())
            page.press("#q", "Enter")
            expect(page).to_have_url(f"{server.url}#/file/{digest}")
            expect(page.locator("#file-artifacts tbody tr")).to_have_count(1)
            expect(page.locator("#file-artifacts tbody tr")).to_contain_text("weights/<b>model</b>.bin")
            page.locator("#file-artifacts tbody a").click()
            expect(page).to_have_url(f"{server.url}#/artifact/{model_subject}")

            # A subject nobody registered: said plainly in every section.
            page.fill("#q", "0x" + "cd" * 32)
            page.press("#q", "Enter")
            expect(page.locator("#unknown-subject")).to_be_visible()
            expect(page.locator("#history")).to_contain_text("No event about this subject")
            expect(page.locator("#lineage")).to_contain_text("No lineage is known")

            # A hash that is no page of ours (here with a broken %-escape) says so.
            page.goto(f"{server.url}#/nowhere/%E0%A4%A")
            expect(page.locator("#view .error")).to_contain_text("Unknown page")

    assert screenshot.stat().st_size > 10_000
    _keep_screenshots(tmp_path)


@pytest.mark.chain
@pytest.mark.slow
def test_evaluations_table_in_chromium(anvil_url, ledger, make_account, tmp_path):
    """A model's evaluations (issue 16): one row per result with the evaluator, its trust under the service's
    policy, task, metric, value ± stderr, category, date and status; the evaluator's name stays text."""
    _need_browser()
    from playwright.sync_api import expect

    from api.app import create_app
    from api.settings import ServiceSettings
    from provenance.record import hex32
    from tests.evaluation_world import evaluated_model

    world = evaluated_model(ledger, make_account, tmp_path / "home")
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"trusted_evaluators": [world.lab.address]}))
    app = create_app(ServiceSettings(rpc_url=anvil_url, registry=ledger.registry, index_path=tmp_path / "index.sqlite",
                                     poll_interval=0.1, policy_path=policy))
    for statement in world.statements:  # the service holds every Statement but the stranger's first one
        if statement is not world.stranger_eval:
            app.state.service.index.add_statement(statement)
    model = hex32(world.model.subject)
    with _Server(app) as server:
        _wait_for_history(server.url, model, 5)  # the model's registration and its evaluations' events
        with _chromium() as page:
            page.goto(f"{server.url}#/artifact/{model}")
            rows = page.locator("#evaluations table.evaluations tbody tr")
            expect(rows).to_have_count(4)  # the lab's two results, the revoked one, the one not held
            lab = rows.filter(has_text="mmlu")
            expect(lab.locator("td").nth(0)).to_contain_text("Acme Safety Lab")
            expect(lab.locator("td").nth(0).locator("a")).to_have_attribute("title", world.lab.address)
            expect(lab.locator("td").nth(1)).to_have_text("trusted")
            expect(lab.locator("td.metric")).to_have_text("acc")
            expect(lab.locator("td.value")).to_have_text("0.61 ± 0.004")
            expect(lab.locator("td.task")).to_contain_text("5-shot")
            expect(lab).to_contain_text("safety")
            expect(lab).to_contain_text("2026-11-30")
            toxigen = rows.filter(has_text="0.83 ± 0.012")
            expect(toxigen).to_have_count(1)
            revoked = rows.filter(has_text="0.97")
            expect(revoked.locator("td").nth(1)).to_have_text("not trusted")
            expect(revoked.locator(".badge").filter(has_text="revoked")).to_have_count(1)
            unheld = rows.filter(has_text="results not disclosed")
            expect(unheld).to_have_count(1)
            expect(unheld).to_contain_text("holds no Statement")
            # the evaluation of other weights that names the model as a benchmark is not listed
            other = hex32(world.other_eval.record_id)
            expect(page.locator(f'#evaluations tr[data-record="{other}"]')).to_have_count(0)
            # the history marks the evaluations' events
            expect(page.locator("#history ol.timeline li .evaluation-mark")).to_have_count(4)
            page.screenshot(path=str(tmp_path / "web-evaluations.png"), full_page=True)

            # an artifact nobody evaluated says so (here: the results document of an evaluation)
            page.goto(f"{server.url}#/artifact/{hex32(world.other_eval.subject)}")
            expect(page.locator("#no-evaluations")).to_be_visible()
    _keep_screenshots(tmp_path)


@pytest.mark.chain
@pytest.mark.slow
def test_lineage_cycle_in_chromium(anvil_url, ledger, make_account, tmp_path):
    """A registry can record a cycle (another publisher names the model as the dataset's parent):
    the graph still draws each artifact once, the closing edge as an arc, and the page stays usable."""
    _need_browser()
    from playwright.sync_api import expect

    from provenance.record import Kind, Record

    first, second = make_account(), make_account()
    dataset = secrets.token_bytes(32)
    model = Record.create(secrets.token_bytes(32), Kind.MODEL, secrets.token_bytes(32), [dataset])
    assert ledger.register(first, Record.create(dataset, Kind.DATASET, secrets.token_bytes(32))).succeeded
    assert ledger.register(first, model).succeeded
    closing = Record.create(dataset, Kind.DATASET, secrets.token_bytes(32), [model.subject])
    assert ledger.register(second, closing).succeeded
    model_subject, dataset_subject = "0x" + model.subject.hex(), "0x" + dataset.hex()

    with _Server(_app(anvil_url, ledger.registry, tmp_path / "index.sqlite")) as server:
        _wait_for_history(server.url, dataset_subject, 2)
        with _chromium() as page:
            page.goto(f"{server.url}#/artifact/{model_subject}")
            graph = page.locator("#lineage svg.lineage")
            expect(graph.locator("g.node")).to_have_count(2)
            expect(graph.locator("g.edge")).to_have_count(2)
            expect(graph.locator("g.edge.back")).to_have_count(1)
            back = graph.locator("g.edge.back")
            assert back.get_attribute("data-from") == dataset_subject
            assert back.get_attribute("data-to") == model_subject
            expect(page.locator("#lineage .legend")).to_contain_text("close a cycle")
            expect(page.locator("#records tbody tr")).to_have_count(1)
            page.locator("#lineage").screenshot(path=str(tmp_path / "web-lineage-cycle.png"))
    _keep_screenshots(tmp_path)


def _keep_screenshots(directory: Path) -> None:
    """Copy the test's screenshots to $PROVENANCE_SCREENSHOT_DIR when it is set."""
    target = os.environ.get(SCREENSHOT_ENV)
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        for picture in sorted(directory.glob("web*.png")):
            shutil.copyfile(picture, Path(target) / picture.name)
