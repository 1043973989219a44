"""The run browser (`vgpo-eval view`): the page for the demo's run, parsed; then opened in a real headless
Chromium, filtered, an item opened, and a response made of HTML and script shown as text, running nothing.

The demo's run is made once per module (the tiny random model on one synthetic item per task); one of its
counting responses is replaced by hostile HTML, one item gets a second image, one response is a failure and
one is removed, and the run is re-scored, so the page covers failed, missing and multi-image items too."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from vgpo_eval.cli import main
from vgpo_eval.prompts import user_text
from vgpo_eval.report import score_run, write_results_csv
from vgpo_eval.run import read_json, read_samples

HOSTILE = ('<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"></textarea></script>'
           '<b>bold?</b> The answer is \\boxed{3}.')  # fmt: skip


def _rewrite(path: Path, change) -> None:
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    path.write_text("".join(json.dumps(r) + "\n" for r in change(lines)))


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out", str(out), "--n", "1"]) == 0
    run = out / "run"
    _rewrite(run / "counting.responses.jsonl", lambda rows: [r | {"text": HOSTILE} for r in rows])
    _rewrite(
        run / "geo3k.responses.jsonl",
        lambda rows: [r | {"text": "", "error": "RuntimeError: CUDA OOM"} for r in rows],
    )
    _rewrite(run / "wemath.responses.jsonl", lambda rows: [])  # an item still missing: an incomplete run
    _rewrite(run / "mmk12.samples.jsonl", lambda rows: [r | {"images": r["images"] * 2} for r in rows])
    reports = [score_run(run, p, workers=1) for p in ("strict", "paper")]
    write_results_csv(run, reports)
    return run


@pytest.fixture(scope="module")
def page(demo_run) -> Path:
    assert main(["view", str(demo_run)]) == 0
    return demo_run / "view.html"


def _data(html: str) -> dict:
    found = re.search(r'<script type="application/json" id="data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


def test_the_page_holds_the_run_item_by_item(demo_run, page):
    html = page.read_text(encoding="utf-8")
    data = _data(html)
    (run,) = data["runs"]
    assert run["protocols"] == ["strict", "paper"] and run["path"] == str(demo_run)
    samples = {s.id: s for p in demo_run.glob("*.samples.jsonl") for s in read_samples(p)}
    assert len(data["items"]) == len(samples) == 10  # one per task, every task of the demo
    report = read_json(demo_run / "report.strict.json")
    for task, row in run["reports"]["strict"]["tasks"].items():
        assert row["accuracy"] == report["tasks"][task]["accuracy"]
    assert run["reports"]["strict"]["tasks"]["geo3k"]["failed"] == 1
    assert run["reports"]["strict"]["tasks"]["wemath"]["missing"] == 1
    items = {i["id"]: i for i in data["items"]}
    counting = items[next(i for i in items if i.startswith("counting/"))]
    sample = samples[counting["id"]]
    assert counting["q"] == user_text(sample, "lookback") and counting["gold"] == sample.answer
    (response,) = counting["r"]
    assert response["t"] == HOSTILE
    scored = {
        p: json.loads((demo_run / f"counting.scored.{p}.jsonl").read_text()) for p in ("strict", "paper")
    }
    assert response["v"] == {p: [s["correct"], s["rule"], s["extracted"]] for p, s in scored.items()}
    assert response["v"]["strict"][2] == "3"  # the answer read, to be marked in the response
    assert data["rules"]["strict"][response["v"]["strict"][1]].endswith(
        "the last \\boxed{} of the final part (after </think>)"
    )
    failed = items[next(i for i in items if i.startswith("geo3k/"))]["r"][0]
    assert failed["e"] == "RuntimeError: CUDA OOM" and failed["v"]["strict"][1] == "generation_error"
    assert items[next(i for i in items if i.startswith("wemath/"))]["r"] == [None]  # missing, still listed
    mmk12 = items[next(i for i in items if i.startswith("mmk12/"))]
    assert len(mmk12["img"]) == 2 and all(
        data["images"][k].split("|")[1].startswith("data:image/jpeg") for k in mmk12["img"]
    )
    assert "sent as" in data["images"][mmk12["img"][0]]  # the size the model saw


def test_model_output_cannot_leave_the_data_element(page):
    """The response's `</script>` and `<img onerror>` are escaped inside the JSON element; the only script that
    may run is the page's own, by the hash its Content-Security-Policy names."""
    html = page.read_text(encoding="utf-8")
    assert "<script>window.pwned" not in html and 'onerror="window.pwned' not in html
    assert html.count("</script>") == 2  # the data element's and the page script's
    script = html.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html and "innerHTML" not in script


def test_report_links_the_page_and_compare_lines_runs_up(demo_run, page, tmp_path):
    assert "[view.html](view.html)" in (demo_run / "report.md").read_text()
    other = tmp_path / "other"
    shutil.copytree(demo_run, other)
    _rewrite(other / "counting.responses.jsonl", lambda rows: [r | {"text": "\\boxed{0}"} for r in rows])
    score_run(other, "strict", workers=1)
    out = tmp_path / "both.html"
    assert main(["view", str(demo_run), "--compare", str(other), "--out", str(out)]) == 0
    data = _data(out.read_text(encoding="utf-8"))
    assert [r["name"] for r in data["runs"]] == ["run", "other"]
    counting = next(i for i in data["items"] if i["task"] == "counting")
    assert [r["t"] for r in counting["r"]] == [HOSTILE, "\\boxed{0}"]


def test_view_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["view", str(tmp_path)]) == 2
    assert "holds no <task>.samples.jsonl" in capsys.readouterr().err


def _browser():
    """A headless Chromium driven by Selenium, or a skip naming what is missing."""
    webdriver = pytest.importorskip(
        "selenium.webdriver", reason="selenium is not installed (pip install selenium)"
    )
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("no Chromium or chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,900",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def test_in_a_real_browser_filters_open_an_item_and_run_nothing(page, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    browser = _browser()
    try:
        browser.get(page.as_uri())
        WebDriverWait(browser, 60).until(lambda b: b.execute_script("return window.vgpoReady === true"))
        assert browser.find_element(By.ID, "count").text == "10 of 10 items"
        Select(browser.find_element(By.ID, "f-task")).select_by_value("counting")
        assert browser.find_element(By.ID, "count").text == "1 of 10 items"
        browser.find_element(By.CSS_SELECTOR, "#list .row").click()
        shown = browser.find_element(By.CSS_SELECTOR, "#item .response-text")
        assert shown.text == HOSTILE  # verbatim, as text
        assert browser.find_element(By.CSS_SELECTOR, "#item .response-text mark").text == "3"
        assert browser.execute_script("return window.pwned === undefined")
        # no markup from the response became an element
        assert not browser.find_elements(By.CSS_SELECTOR, "#item .response-text b, #item .response-text img")
        verdicts = {
            li.get_attribute("data-protocol"): li.text
            for li in browser.find_elements(By.CSS_SELECTOR, "#item li")
        }
        assert set(verdicts) == {"paper", "strict"} and "rule" in verdicts["strict"]
        assert (
            browser.find_element(By.CSS_SELECTOR, "#item .imgs img")
            .get_attribute("src")
            .startswith("data:image/jpeg")
        )
        Select(browser.find_element(By.ID, "f-task")).select_by_value("")
        Select(browser.find_element(By.ID, "f-verdict")).select_by_value("failed")
        assert browser.find_element(By.ID, "count").text == "1 of 10 items"
        Select(browser.find_element(By.ID, "f-verdict")).select_by_value("missing")
        assert browser.find_element(By.ID, "count").text == "1 of 10 items"
        Select(browser.find_element(By.ID, "f-verdict")).select_by_value("")
        browser.find_element(By.ID, "f-text").send_keys("pwned")
        WebDriverWait(browser, 10).until(lambda b: b.find_element(By.ID, "count").text == "1 of 10 items")
        browser.find_element(By.CSS_SELECTOR, "#list .row").click()
        shot = tmp_path / "item.png"
        browser.save_screenshot(str(shot))
        assert shot.stat().st_size > 10_000
    finally:
        browser.quit()


def test_a_sharded_run_is_shown_merged(demo_run, tmp_path):
    """Responses split over shard files (`run --shard I/N`) are one item list, a torn last line left out."""
    sharded = tmp_path / "sharded"
    shutil.copytree(demo_run, sharded)
    (sharded / "view.html").unlink(missing_ok=True)
    whole = sharded / "mathvista.responses.jsonl"
    whole.rename(sharded / "mathvista.responses.shard-1-of-2.jsonl")
    (sharded / "mathvista.responses.shard-0-of-2.jsonl").write_text('{"sample_id": "mathvista/1", "te')
    assert main(["view", str(sharded)]) == 0
    data = _data((sharded / "view.html").read_text(encoding="utf-8"))
    (item,) = [i for i in data["items"] if i["task"] == "mathvista"]
    assert item["r"][0]["t"] and item["r"][0]["v"]["strict"] is not None
