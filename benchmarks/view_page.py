"""Size and browser load time of `vgpo-eval view` for a full-size run (about 12,000 items), on synthetic data.

A run folder in the real layout is written without a model: 1,200 items for each of the ten evaluation
tasks, each with its own picture (random shapes, 480x360), a question, a response of a typical length
(about 1,500 characters, ending in a box) and strict/paper verdicts. Then the page is built, and opened in
a headless Chromium (Selenium): time until the page script has rendered the summary and the first page of
the list, then a task filter, a text search over every response, and opening an item.

    python benchmarks/view_page.py [--items-per-task 1200] [--thumb 256] [--keep DIR]

No peer to compare with: lmms-eval and VLMEvalKit write prediction files and spreadsheets, not a browser.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image, ImageDraw

TASKS = ("mathvista", "mathverse", "wemath", "mmk12", "geomath", "geo3k", "logicvista", "counting", "mmmu_pro",
         "mathverse_v")  # fmt: skip
WORDS = ("the", "angle", "triangle", "so", "we", "have", "therefore", "value", "equals", "side", "length", "area",
         "because", "bar", "chart", "shows")  # fmt: skip


def picture(rng: random.Random, path: Path) -> None:
    img = Image.new("RGB", (480, 360), "white")
    draw = ImageDraw.Draw(img)
    for _ in range(12):
        x, y, r = rng.randrange(480), rng.randrange(360), rng.randrange(10, 60)
        color = tuple(rng.randrange(256) for _ in range(3))
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x, y, x + r, y + r), fill=color)
    draw.text((10, 10), f"{rng.randrange(1000)}", fill="black")
    img.save(path)


def write_run(run: Path, per_task: int, seed: int = 0) -> int:
    rng = random.Random(seed)
    (run / "images").mkdir(parents=True)
    reports = {p: {"protocol": p, "run": str(run), "tasks": {}, "suites": {}} for p in ("strict", "paper")}
    for task in TASKS:
        samples, responses, scored = [], [], {p: [] for p in reports}
        for i in range(per_task):
            ident, gold = f"{task}/{i}", str(rng.randrange(20))
            image = run / "images" / f"{task}_{i}.png"
            picture(rng, image)
            question = " ".join(rng.choice(WORDS) for _ in range(50)) + "?"
            samples.append(
                {"id": ident, "task": task, "question": question, "answer": gold, "images": [str(image)]}
            )
            said = str(rng.randrange(20))
            text = " ".join(rng.choice(WORDS) for _ in range(250)) + f" \\boxed{{{said}}}"
            responses.append(
                {"sample_id": ident, "text": text, "index": 0, "tokens": 400, "finish_reason": "stop"}
            )
            for p in reports:
                scored[p].append({"id": ident, "index": 0, "task": task, "answer": gold, "correct": said == gold,
                                  "extracted": said, "rule": "boxed" if said == gold else "wrong"})  # fmt: skip
        for name, rows in ((f"{task}.samples.jsonl", samples), (f"{task}.responses.jsonl", responses),
                           *((f"{task}.scored.{p}.jsonl", scored[p]) for p in reports)):  # fmt: skip
            (run / name).write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        for p, report in reports.items():
            right = sum(r["correct"] for r in scored[p])
            report["tasks"][task] = {"accuracy": 100 * right / per_task, "complete": True, "missing": 0,
                                     "rules": {"boxed": right, "wrong": per_task - right}}  # fmt: skip
    for p, report in reports.items():
        (run / f"report.{p}.json").write_text(json.dumps(report), encoding="utf-8")
    (run / "config.json").write_text(
        json.dumps({"run": {"model": "synthetic", "decoding": {"prompt": "lookback"}}})
    )
    return per_task * len(TASKS)


def browse(page: Path) -> dict[str, float]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or shutil.which("google-chrome")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(shutil.which("chromedriver")), options=options)
    times = {}
    try:
        start = time.perf_counter()
        browser.get(page.as_uri())
        WebDriverWait(browser, 300).until(lambda b: b.execute_script("return window.vgpoReady === true"))
        times["load to ready"] = time.perf_counter() - start
        count = lambda: browser.find_element(By.ID, "count").text  # noqa: E731
        start = time.perf_counter()
        Select(browser.find_element(By.ID, "f-task")).select_by_value("wemath")
        times["task filter"] = time.perf_counter() - start
        Select(browser.find_element(By.ID, "f-task")).select_by_value("")
        start = time.perf_counter()
        before = count()
        browser.find_element(By.ID, "f-text").send_keys("wemath/1199")
        WebDriverWait(browser, 60).until(lambda b: count() != before)
        times["text search over every response (after its 150 ms debounce)"] = time.perf_counter() - start
        start = time.perf_counter()
        browser.find_element(By.CSS_SELECTOR, "#list .row").click()
        browser.find_element(By.CSS_SELECTOR, "#item .response-text")
        times["open an item"] = time.perf_counter() - start
        times["JS heap, MB"] = browser.execute_script("return performance.memory.usedJSHeapSize") / 1e6
    finally:
        browser.quit()
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items-per-task", type=int, default=1200)
    parser.add_argument("--thumb", type=int, default=256)
    parser.add_argument("--keep", type=Path, help="write the run and page here and keep them (a run already there "
                        "is reused)")  # fmt: skip
    args = parser.parse_args()
    from vgpo_eval.view import build

    work = args.keep or Path(tempfile.mkdtemp())
    try:
        start = time.perf_counter()
        if not (work / "run" / "config.json").is_file():
            n = write_run(work / "run", args.items_per_task)
            print(
                f"synthetic run: {n:,} items, one 480x360 picture each ({time.perf_counter() - start:.0f} s)"
            )
        start = time.perf_counter()
        counts = build([work / "run"], work / "run" / "view.html", args.thumb)
        print(f"page: {counts['bytes'] / 1e6:.1f} MB for {counts['items']:,} items and {counts['images']:,} thumbnails "
              f"({args.thumb} px), built in {time.perf_counter() - start:.1f} s")  # fmt: skip
        if not (shutil.which("chromedriver") and (shutil.which("chromium") or shutil.which("google-chrome"))):
            print("browser: no Chromium and chromedriver on PATH: load time not measured")
            return 0
        for what, value in browse(work / "run" / "view.html").items():
            print(f"browser (headless Chromium): {what}: {value:.2f}" + ("" if "MB" in what else " s"))
    finally:
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
