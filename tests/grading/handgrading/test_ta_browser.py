"""A class's written answers graded by a scripted TA in a real browser (Debian's headless Chromium, driven by
selenium through Debian's chromedriver), through the same path a TA takes: `grade`, then `python -m autograder
handgrade` and its page; then a rerun of the autograder that keeps the grades, and a resubmission whose answer
changed. Marker `handgrading` (part of `make test`; `.ci/run` installs chromium and chromium-driver)."""

import csv
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from grading_helpers import HOSTILE_ANSWER, ROOT, WRITTEN, written_lab, written_release, written_submission

from cnnlab.grading.cli import main
from cnnlab.grading.results import manual as grades

pytestmark = pytest.mark.handgrading
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def rows(out):
    with open(out / "grades.csv", newline="") as file:
        return {row["student"]: row for row in csv.DictReader(file)}


@pytest.fixture
def browser():
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1300,1600"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.implicitly_wait(10)
    yield driver
    driver.quit()


@pytest.fixture
def ta_page(tmp_path):
    """Start `python -m autograder handgrade` on an out folder (a function); stops it afterwards."""
    started = []

    def start(out, source, config):
        env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        process = subprocess.Popen(
            [sys.executable, "-m", "autograder", "handgrade", "--lab", WRITTEN, "--out", str(out), "--grader", "ta1",
             "--source", str(source), "--config-dir", str(config)],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
        )  # fmt: skip
        started.append(process)
        line = process.stdout.readline()
        match = re.search(r"open (http://127\.0\.0\.1:\d+/login\?token=\S+)", line)
        assert match, f"the handgrade command printed {line!r}"
        return match.group(1)

    yield start
    for process in started:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def grade(subs, out, source, config):
    command = ["grade", "--lab", WRITTEN, "--submissions", str(subs), "--out", str(out), "--source", str(source)]
    assert main(command + ["--config-dir", str(config), "--workers", "2", "--timeout", "180"]) == 0


PAGE_WAIT = 120  # seconds for a page to load or go, under the load of `make test`


def gone(element):
    """True once `element`'s page is gone. Chromium says so with a stale reference or, caught while the next page
    loads, with "Node with given id does not belong to the document"."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    try:
        element.is_enabled()
    except StaleElementReferenceException:
        return True
    except WebDriverException as error:
        if "does not belong to the document" in str(error):
            return True
        raise
    return False


def found(driver, by, value):
    """The element found by `by` and `value`, once the page has it (a page may still be loading)."""
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, PAGE_WAIT).until(lambda d: d.find_element(by, value))


def click_away(driver, element):
    """Click a link or button that loads another page, and return once `element`'s page is gone (the next page's
    cards are then the ones found, never this page's)."""
    from selenium.webdriver.support.ui import WebDriverWait

    element.click()
    WebDriverWait(driver, PAGE_WAIT).until(lambda _: gone(element))


def follow(driver, by, value):
    """Click the link or button found by `by` and `value` (`click_away`)."""
    click_away(driver, found(driver, by, value))


def save(driver, student, points=None, rubric=(), comment=""):
    from selenium.webdriver.common.by import By

    card = found(driver, By.ID, f"s-{student}")
    for item in rubric:
        card.find_element(By.CSS_SELECTOR, f'input[name="rubric"][value="{item}"]').click()
    if points is not None:
        field = card.find_element(By.NAME, "points")
        field.clear()
        field.send_keys(str(points))
    if comment:
        card.find_element(By.NAME, "comment").send_keys(comment)
    click_away(driver, card.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    saved = found(driver, By.ID, f"s-{student}")  # the page after it
    assert "saved" in saved.get_attribute("class"), saved.text


def test_a_ta_grades_a_class_in_a_browser_and_a_rerun_keeps_the_grades(tmp_path, browser, ta_page, capsys, monkeypatch):
    from nbgrader.api import Gradebook
    from selenium.webdriver.common.by import By

    source, config = written_lab(tmp_path / "course")
    out, subs = tmp_path / "out", tmp_path / "subs"
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")  # nbgrader's alembic
    release = written_release(source, out)
    written_submission(subs, release, "ann", "Same signs multiply to a positive number, and 0 * 0 = 0.")
    written_submission(subs, release, "ben", HOSTILE_ANSWER, square="return x ** 2")
    written_submission(
        subs, release, "cy", "YOUR ANSWER HERE", "def describe(values):\n    raise ValueError('not yet')", "return x"
    )
    written_submission(subs, release, "dee", "(-a)(-a) = a a >= 0")
    grade(subs, out, source, config)
    before = rows(out)
    assert before["ann"]["score"] == "1" and before["ann"]["max_score"] == "4"
    assert "So far 1 of 4 points; 3 points wait for a TA (why_square, describe)." in before["ann"]["reason"]

    browser.get(ta_page(out, source, config))
    assert "why_square" in browser.find_element(By.TAG_NAME, "table").text
    follow(browser, By.LINK_TEXT, "why_square")
    save(browser, "ann", 2, comment="Both cases.")
    save(browser, "ben", rubric=[0], comment="<i>only the signs</i>")  # 1 point: the ticked item
    follow(browser, By.XPATH, "//button[starts-with(text(), 'Give 0 to the 1 blank')]")
    save(browser, "dee", 1.5)
    assert browser.title == "lab0_written: why_square"  # ben's answer never ran: its script would rename the page
    refused = [
        entry["message"] for entry in browser.get_log("browser") if "Content Security Policy" in entry["message"]
    ]
    assert refused == []  # nothing on the page even tried to run
    follow(browser, By.LINK_TEXT, "next question")
    for student, points in (("ann", 1), ("ben", 1), ("cy", 0), ("dee", 0.5)):
        save(browser, student, points, comment="" if points else "It raises.")
    assert "Every answer to this question is graded." in browser.find_element(By.TAG_NAME, "body").text

    graded = rows(out)
    assert {s: graded[s]["score"] for s in graded} == {"ann": "4", "ben": "3", "cy": "0", "dee": "3"}
    assert graded["ben"]["reason"].endswith(
        "With the TA's grades, 3 of 4 points; graded by a TA: why_square 1 of 2, describe 1 of 1."
    )
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert {s: gb.find_submission(WRITTEN, s).score for s in graded} == {"ann": 4, "ben": 3, "cy": 0, "dee": 3}
        assert gb.find_comment("why_square", WRITTEN, WRITTEN, "ben").manual_comment == "<i>only the signs</i>"
        assert not gb.find_grade("why_square", WRITTEN, WRITTEN, "ben").needs_manual_grade
    feedback = (out / "feedback" / "ben" / f"{WRITTEN}.html").read_text()
    assert "graded by a TA" in feedback and "[TA] 1 / 2" in feedback
    assert "&lt;i&gt;only the signs&lt;/i&gt;" in feedback and "<i>only the signs</i>" not in feedback
    kept = (out / "manual" / f"{WRITTEN}.json").read_bytes()

    # the autograder again, nothing changed: every grade and file as it was
    grade(subs, out, source, config)
    assert "4 already graded with the same files (kept); 0 to grade" in capsys.readouterr().out
    assert rows(out) == graded and (out / "manual" / f"{WRITTEN}.json").read_bytes() == kept

    # ann resubmits another written answer: the TA's grade stays and counts, flagged for a second look
    written_submission(subs, release, "ann", "Because squares are areas.")
    grade(subs, out, source, config)
    assert "3 already graded with the same files (kept); 1 to grade" in capsys.readouterr().out
    after = rows(out)
    assert after["ann"]["score"] == "4" and (out / "manual" / f"{WRITTEN}.json").read_bytes() == kept
    assert "why_square 2 of 2 (on an earlier answer)" in after["ann"]["reason"]
    assert "the answer to why_square changed after it was graded: a TA should look again" in after["ann"]["reason"]
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_grade("why_square", WRITTEN, WRITTEN, "ann").needs_manual_grade
        assert gb.find_submission(WRITTEN, "ann").score == 4
    follow(browser, By.LINK_TEXT, "all questions")
    follow(browser, By.LINK_TEXT, "why_square")
    card = found(browser, By.ID, "s-ann")
    assert "on an earlier answer: the answer changed since, look again" in card.text
    assert "Because squares are areas." in card.text
    save(browser, "ann", 0.5, comment="Not a reason.")
    assert grades.manual_grades(out, WRITTEN)["ann"]["why_square"].points == 0.5
    assert rows(out)["ann"]["score"] == "2.5" and "look again" not in rows(out)["ann"]["reason"]
