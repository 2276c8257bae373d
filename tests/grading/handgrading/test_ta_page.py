"""The TA's page over HTTP, without a browser (the browser's run is tests/grading/handgrading/test_ta_browser.py):
who may open it, what it refuses, that every student's text is escaped under a policy that runs no script, and that
a saved grade reaches the store, grades.csv and nbgrader's gradebook.

The class is made without grading (the release by nbgrader, results and kept answers written as a batch writes them),
so these run in seconds."""

import csv
import http.client
import json
import os
import re
import shutil
import sys
import threading
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from grading_helpers import HOSTILE_ANSWER, WRITTEN, written_lab, written_release

from cnnlab.grading.cells import answer_digest
from cnnlab.grading.handgrading import server
from cnnlab.grading.results import gradebook, store
from cnnlab.grading.results import manual as grades
from cnnlab.grading.results.result import GradingResult

ANSWERS = {
    "ann": "Same signs give a positive product; 0 squared is 0.",
    "ben": HOSTILE_ANSWER,
    "cy": "YOUR ANSWER HERE",
}


@pytest.fixture(scope="module")
def made_class(tmp_path_factory):
    """(course source, config folder, out folder) of a class of three as a batch leaves it, made once."""
    root = tmp_path_factory.mktemp("ta-page")
    source, config = written_lab(root / "course")
    out = root / "out"
    with pytest.MonkeyPatch.context() as monkeypatch:  # nbgrader runs alembic from PATH
        monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        written_release(source, out)
    results = []
    for student, why in ANSWERS.items():
        describe = "def describe(values):\n    return sum(values) / len(values)"
        cells = [
            {"grade_id": "test_square", "points": 1, "score": 1.0, "state": "passed", "path": "kernel asserts"},
            {
                "grade_id": "why_square",
                "points": 2,
                "score": 0.0,
                "state": "manual",
                "path": "manual",
                "answer_sha256": answer_digest(why),
            },
            {
                "grade_id": "describe",
                "points": 1,
                "score": 0.0,
                "state": "manual",
                "path": "manual",
                "answer_sha256": answer_digest(describe),
            },
        ]
        result = GradingResult(
            student, WRITTEN, 4.0, "test", score=1.0, cells=cells, reason="1 of 1 autograded points."
        )
        store.write_result(store.result_path(out, WRITTEN, student), result)
        answers = {
            "why_square": {"cell_type": "markdown", "source": why, "manual": True, "outputs": []},
            "describe": {
                "cell_type": "code",
                "source": describe,
                "manual": True,
                "outputs": [{"text": "<b>mean</b> 2.0\n"}],
            },
        }
        (out / "answers" / WRITTEN).mkdir(parents=True, exist_ok=True)
        (out / "answers" / WRITTEN / f"{student}.json").write_text(json.dumps(answers))
        results.append(result)
    gradebook.write(out / "gradebook.db", results)
    return source, config, out


@pytest.fixture
def page(made_class, tmp_path):
    """(an HTTP connection maker, the sign-in path, the out folder, host:port) of a running TA's page on a fresh
    copy of the class."""
    source, config, made = made_class
    out = tmp_path / "out"
    shutil.copytree(made, out, symlinks=True)
    httpd, url, warning = server.make_server(out, WRITTEN, grader="ta1", source=source, config_dir=config)
    assert warning == ""
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    address = urlsplit(url)

    def connect():
        return http.client.HTTPConnection(address.hostname, address.port, timeout=30)

    yield connect, f"{address.path}?{address.query}", out, address.netloc
    httpd.shutdown()
    httpd.server_close()


def request(connect, method, path, cookie=None, body=None, host=None, origin=None):
    connection = connect()
    headers = {"Host": host} if host else {}
    if cookie:
        headers["Cookie"] = cookie
    if origin:
        headers["Origin"] = origin
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        body = urlencode(body, doseq=True)
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    return response.status, dict(response.getheaders()), text


def sign_in(connect, login):
    status, headers, _ = request(connect, "GET", login)
    assert status == 303 and headers["Location"] == "/"
    return headers["Set-Cookie"].split(";")[0]


def form_of(text, student):
    """The hidden fields of a student's form on a question page."""
    card = text.split(f'id="s-{student}"')[1]
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', card)[:3])


def test_the_page_needs_the_printed_token_and_answers_this_machine_s_names_only(page):
    connect, login, _, netloc = page
    assert request(connect, "GET", "/")[0] == 403
    assert request(connect, "GET", login.replace("token=", "token=x"))[0] == 403
    cookie = sign_in(connect, login)
    assert "HttpOnly" in request(connect, "GET", login)[1]["Set-Cookie"]
    assert request(connect, "GET", "/", cookie)[0] == 200
    assert request(connect, "GET", "/", cookie, host="evil.example")[0] == 421  # DNS rebinding
    assert request(connect, "GET", "/", cookie, host=netloc.replace("127.0.0.1", "localhost"))[0] == 200


def test_answers_are_escaped_under_a_policy_that_runs_no_script(page):
    connect, login, _, _ = page
    cookie = sign_in(connect, login)
    status, headers, text = request(connect, "GET", "/q/why_square?show=all", cookie)
    assert status == 200
    assert headers["Content-Security-Policy"].startswith("default-src 'none'; style-src 'self'; img-src data:")
    assert "script-src" not in headers["Content-Security-Policy"] and "<script" not in text
    assert headers["X-Content-Type-Options"] == "nosniff" and headers["Referrer-Policy"] == "same-origin"
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;&lt;img src=x onerror=" in text
    assert "<img src=x" not in text and "</textarea></pre><b>" not in text
    assert "A product of two numbers of the same sign" in text  # the model answer, for the TA
    assert "same signs multiply to a positive number" in text  # the rubric
    code = request(connect, "GET", "/q/describe?show=all", cookie)[2]
    assert "&lt;b&gt;mean&lt;/b&gt; 2.0" in code  # a code answer's output, escaped too


def test_a_saved_grade_reaches_the_store_grades_csv_and_the_gradebook(page):
    from nbgrader.api import Gradebook

    connect, login, out, _ = page
    cookie = sign_in(connect, login)
    text = request(connect, "GET", "/q/why_square?show=all", cookie)[2]
    fields = form_of(text, "ann")
    status, headers, _ = request(
        connect, "POST", "/q/why_square/grade", cookie, dict(fields, points="1.5", comment="Zero & signs.")
    )
    assert status == 303 and headers["Location"] == "/q/why_square?saved=ann#s-ann"
    grade = grades.manual_grades(out, WRITTEN)["ann"]["why_square"]
    assert (grade.points, grade.comment, grade.grader, grade.answer_sha256) == (
        1.5,
        "Zero & signs.",
        "ta1",
        answer_digest(ANSWERS["ann"]),
    )
    with open(out / "grades.csv", newline="") as file:
        row = {r["student"]: r for r in csv.DictReader(file)}["ann"]
    assert row["score"] == "2.5" and "graded by a TA: why_square 1.5 of 2" in row["reason"]
    assert "1 point wait for a TA (describe)" in row["reason"]
    with Gradebook(f"sqlite:///{out / 'gradebook.db'}") as gb:
        assert gb.find_grade("why_square", WRITTEN, WRITTEN, "ann").manual_score == 1.5
        assert gb.find_comment("why_square", WRITTEN, WRITTEN, "ann").manual_comment == "Zero & signs."
        assert gb.find_submission(WRITTEN, "ann").score == 2.5
    # the next one waiting gets the focus: the TA types on
    after = request(connect, "GET", headers["Location"], cookie)[2]
    assert re.search(r'id="s-ben".*?autofocus', after, re.S) and "saved" in after.split('id="s-ann"')[1][:200]


def test_rubric_items_give_their_sum_and_what_cannot_be_saved_says_why(page):
    connect, login, out, _ = page
    cookie = sign_in(connect, login)
    fields = form_of(request(connect, "GET", "/q/why_square?show=all", cookie)[2], "ben")
    assert request(connect, "POST", "/q/why_square/grade", cookie, dict(fields, points="", rubric=["0", "1"]))[0] == 303
    assert grades.manual_grades(out, WRITTEN)["ben"]["why_square"].points == 2
    status, _, text = request(connect, "POST", "/q/why_square/grade", cookie, dict(fields, points="3"))
    assert status == 400 and "points must be from 0 to 2. Received: &#x27;3&#x27;" in text
    status, _, text = request(connect, "POST", "/q/why_square/grade", cookie, dict(fields, points="1"))
    assert status == 409 and "changed by ta1" in text  # the form was opened before the first save
    assert request(connect, "POST", "/q/why_square/grade", cookie, dict(fields, csrf="forged", points="1"))[0] == 403
    origin = "http://evil.example"
    assert request(connect, "POST", "/q/why_square/grade", cookie, dict(fields, points="1"), origin=origin)[0] == 403
    assert request(connect, "POST", "/q/why_square/grade", None, dict(fields, points="1"))[0] == 403
    assert grades.manual_grades(out, WRITTEN)["ben"]["why_square"].points == 2


def test_blank_answers_get_0_at_once(page):
    connect, login, out, _ = page
    cookie = sign_in(connect, login)
    fields = form_of(request(connect, "GET", "/q/why_square?show=all", cookie)[2], "ann")
    assert request(connect, "POST", "/q/why_square/blank-zero", cookie, {"csrf": fields["csrf"]})[0] == 303
    graded = grades.manual_grades(out, WRITTEN)
    assert {s: q["why_square"].points for s, q in graded.items()} == {"cy": 0}
    assert graded["cy"]["why_square"].comment == "No answer."
