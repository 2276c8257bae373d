"""The TA's page: `python -m autograder handgrade --out DIR --lab LAB`, a small web server on this machine only
(127.0.0.1) that shows a lab's questions a TA grades, question by question for the whole class, and saves each
grade as the TA enters it (`results.manual.save`), then brings the student's gradebook entry, feedback and grades.csv
in line (`publish`).

Why our own page and not nbgrader's formgrader: the grader keeps no nbgrader `autograded/` folder (it grades in
jails from the release and the gradebook, and keeps the student's answers as data), formgrader shows whole notebooks
a student by a student where a TA here reads one question across the class with its rubric, and its pages run
JavaScript from its own and remote sources over the student's rendered Markdown. This page runs none: answers are
shown as escaped text, the Content-Security-Policy lets in nothing but its own style sheet and `data:` images, and
the gradebook still gets every manual score and comment (`results.gradebook.write_final`), so formgrader and
`nbgrader export` agree with it.

Who may use it: the command prints a URL with a random token; opening it sets a cookie, and every later request needs
that cookie (another user of the machine cannot read or change grades), a Host header naming 127.0.0.1 or localhost
(no DNS rebinding), and every form a second random value (no request forged by another site).
"""

import http.server
import secrets
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import nbformat

from cnnlab.grading import answers as kept_answers
from cnnlab.grading.cells import answer_digest, manually_graded, nbg
from cnnlab.grading.course import labconfig, rubric
from cnnlab.grading.errors import GradingError
from cnnlab.grading.handgrading import pages
from cnnlab.grading.paths import ROOT
from cnnlab.grading.results import manual as grades
from cnnlab.grading.results import store
from cnnlab.grading.results.status import Status

CSP = "default-src 'none'; style-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # (no-referrer would make browsers send `Origin: null` with our own forms)
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}
MAX_FORM = 64 * 1024  # bytes of a posted form
BLANK_MARKERS = ("YOUR ANSWER HERE", "# YOUR CODE HERE\nraise NotImplementedError()")


@dataclass
class Question:
    grade_id: str
    points: float
    cell_type: str
    prompt: str  # the release's Markdown cell before the answer cell
    model_answer: str  # the solution's answer
    rubric: object  # `rubric.Rubric` or None
    stub: str  # what the release's answer cell holds


@dataclass
class StudentAnswer:
    student: str
    slug: str
    answer: dict | None  # as `answers` keeps it
    answer_sha256: str
    grade: object  # `results.manual.ManualGrade` or None
    blank: bool

    @property
    def stale(self):
        return self.grade is not None and self.grade.answer_sha256 != self.answer_sha256


def questions_of(lab, release_nb, solution_nb, rubrics):
    """[Question] of the release, in the notebook's order."""
    solution = {nbg(c).get("grade_id"): c.source for c in solution_nb.cells if manually_graded(c)}
    found, prompt = [], ""
    for cell in release_nb.cells:
        if manually_graded(cell):
            grade_id = nbg(cell)["grade_id"]
            found.append(
                Question(
                    grade_id,
                    float(nbg(cell).get("points", 0)),
                    cell.cell_type,
                    prompt,
                    solution.get(grade_id, "").replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""),
                    rubrics.get(grade_id),
                    cell.source,
                )
            )
        elif cell.cell_type == "markdown":
            prompt = cell.source
    return found


class Grading:
    """What a TA's server works on: one lab of one --out folder."""

    def __init__(self, out, lab, grader, source=None, config_dir=None, overrides_file=None):
        self.out, self.lab, self.grader = Path(out).resolve(), lab, grader
        self.overrides_file = overrides_file  # the course's overrides: every output the TA's grades change has them
        source = Path(source or ROOT / "solutions")
        config = labconfig.load(lab, config_dir or ROOT / "autograder" / "labs")
        release = self.out / ".course" / "labs" / lab / config.notebook
        if not release.exists():
            raise GradingError(
                f"{self.out} holds no graded {lab} (no {release.relative_to(self.out)}): grade it first with "
                f"`python -m autograder grade --lab {lab} --out {out} ...`"
            )
        release_nb = nbformat.read(release, as_version=4)
        rubric.check(lab, config.manual, release_nb)
        solution_nb = nbformat.read(source / lab / config.notebook, as_version=4)
        self.questions = questions_of(lab, release_nb, solution_nb, config.manual)
        if not self.questions:
            raise GradingError(f"{lab} has no question a TA grades (no cell with nbgrader's grade and solution set)")
        self.lock = threading.Lock()
        self.warning = ""

    def results(self):
        return [r for r in store.load_results(self.out) if r.lab == self.lab]

    def students(self, question, results=None, manual=None):
        """[StudentAnswer] of every graded submission for `question`."""
        manual = grades.manual_grades(self.out, self.lab) if manual is None else manual
        found = []
        for result in results if results is not None else self.results():
            cell = next((c for c in result.cells if c["grade_id"] == question.grade_id), None)
            if cell is None or cell.get("path") != "manual" or result.status in (Status.MISSING, Status.REJECTED):
                continue
            answer = kept_answers.read(self.out / "answers" / self.lab / f"{result.slug}.json").get(question.grade_id)
            text = (answer or {}).get("source", "")
            found.append(
                StudentAnswer(
                    result.student,
                    result.slug,
                    answer,
                    cell.get("answer_sha256", answer_digest(text)),
                    manual.get(result.student, {}).get(question.grade_id),
                    answer is not None and (not text.strip() or answer_digest(text) == answer_digest(question.stub)),
                )
            )
        return sorted(found, key=lambda s: s.student)

    def question(self, grade_id):
        return next((q for q in self.questions if q.grade_id == grade_id), None)

    def save(self, question, changes):
        """Save `changes` (grades.Change) and publish them; returns the warning publishing left ("" if none)."""
        with self.lock:
            grades.save(self.out, self.lab, changes, self.grader)
            return self.publish()

    def publish(self):
        """Bring every output (grades.csv, the gradebook, the feedback, the LMS exports, the report) in line with the
        TA's grades; returns what failed, as a warning ("" if nothing)."""
        try:
            store.write_outputs(self.out, store.load_results(self.out), self.overrides_file)
            self.warning = ""
        except Exception as error:  # the grade itself is saved: the next save or start tries again
            self.warning = (
                f"Your grades are saved, but bringing the gradebook, feedback or grades.csv in line failed "
                f"({type(error).__name__}: {error}); it is tried again at the next save, or restart the page."
            )
        return self.warning

    def counts(self):
        results, manual = self.results(), grades.manual_grades(self.out, self.lab)
        counts = {}
        for q in self.questions:
            students = self.students(q, results, manual)
            counts[q.grade_id] = (
                sum(s.grade is not None for s in students),
                sum(s.grade is None for s in students),
                sum(s.stale for s in students),
                len(students),
            )
        return counts


def _change(question, student, form):
    """The `results.manual.Change` a TA's form asks for; GradingError when it is not one."""
    items = question.rubric.items if question.rubric else []
    ticked = set()
    for value in form.get("rubric", []):
        if not value.isdigit() or int(value) >= len(items):
            raise GradingError(f"rubric item {value!r} is not one of this question's")
        ticked.add(int(value))
    points = form.get("points", [""])[0].strip()
    if not points:
        if not ticked:
            raise GradingError("enter the points, or tick the rubric items the answer meets (0 must be typed)")
        points = sum(items[i].points for i in ticked)
    version = form.get("version", [""])[0]
    if not version.isdigit():
        raise GradingError("the form lacks the grade's version: reload the page")
    return grades.Change(
        student.student,
        question.grade_id,
        points,
        form.get("comment", [""])[0],
        student.answer_sha256,
        question.points,
        tuple(sorted(ticked)),
        int(version),
    )


def make_handler(grading, token, csrf, port):
    cookie_name = f"cnnlab_ta_{port}"
    session = secrets.token_urlsafe(32)
    hosts = {f"127.0.0.1:{port}", f"localhost:{port}"}

    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "cnnlab-handgrade"
        sys_version = ""

        def log_message(self, format, *args):  # one line per request on stderr, without the query (no token)
            sys.stderr.write(f"{self.command} {urlsplit(self.path).path} {args[1] if len(args) > 1 else ''}\n")

        def _send(self, status, body=b"", content_type="text/html; charset=utf-8", extra=None):
            self.send_response(status)
            for name, value in {**HEADERS, **(extra or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _html(self, text, status=HTTPStatus.OK):
            self._send(status, text.encode("utf-8"))

        def _redirect(self, location, extra=None):
            self._send(HTTPStatus.SEE_OTHER, extra={"Location": location, **(extra or {})})

        def _allowed(self):
            if self.headers.get("Host") not in hosts:
                self._send(HTTPStatus.MISDIRECTED_REQUEST, b"this server answers 127.0.0.1 and localhost only")
                return False
            cookies = dict(
                part.strip().split("=", 1) for part in self.headers.get("Cookie", "").split(";") if "=" in part
            )
            if not secrets.compare_digest(cookies.get(cookie_name, ""), session):
                self._html(
                    pages.message("Not signed in", "Open the URL with the token that the handgrade command printed."),
                    HTTPStatus.FORBIDDEN,
                )
                return False
            return True

        def do_GET(self):
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            if url.path == "/login":
                if self.headers.get("Host") not in hosts or not secrets.compare_digest(
                    query.get("token", [""])[0], token
                ):
                    self._html(pages.message("Not signed in", "That token is not this server's."), HTTPStatus.FORBIDDEN)
                    return
                self._redirect("/", {"Set-Cookie": f"{cookie_name}={session}; HttpOnly; SameSite=Strict; Path=/"})
                return
            if not self._allowed():
                return
            if url.path == "/style.css":
                self._send(HTTPStatus.OK, pages.STYLE.encode(), "text/css; charset=utf-8")
            elif url.path == "/":
                self._html(self._index())
            elif url.path.startswith("/q/"):
                question = grading.question(unquote(url.path[3:]))
                if question is None:
                    self._html(pages.message("No such question", url.path), HTTPStatus.NOT_FOUND)
                    return
                show = query.get("show", ["waiting"])[0]
                saved = query.get("saved", [None])[0]
                self._html(self._question(question, "all" if show == "all" else "waiting", saved))
            else:
                self._html(pages.message("Not found", url.path), HTTPStatus.NOT_FOUND)

        def _warned(self, text):
            """The page with the publishing warning on top, while there is one."""
            if not grading.warning:
                return text
            return text.replace("<body>", f'<body><p class="warning">{pages.e(grading.warning)}</p>', 1)

        def _index(self):
            return self._warned(pages.index(grading.lab, grading.questions, grading.counts()))

        def _nav(self, question):
            ids = [q.grade_id for q in grading.questions]
            at = ids.index(question.grade_id)
            links = ""
            if at > 0:
                links += f'<a href="/q/{ids[at - 1]}">previous question</a>'
            if at + 1 < len(ids):
                links += f'<a href="/q/{ids[at + 1]}">next question</a>'
            return links

        def _question(self, question, show, saved=None, errors=None):
            return self._warned(
                pages.question(
                    grading.lab, question, grading.students(question), csrf, self._nav(question), show, saved, errors
                )
            )

        def do_POST(self):
            if not self._allowed():
                return
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            origin = self.headers.get("Origin")
            if length > MAX_FORM or (origin is not None and urlsplit(origin).netloc not in hosts):
                self._send(HTTPStatus.FORBIDDEN, b"refused")
                return
            form = parse_qs(self.rfile.read(length).decode("utf-8", "replace"), keep_blank_values=True)
            if not secrets.compare_digest(form.get("csrf", [""])[0], csrf):
                self._html(pages.message("Refused", "This form did not come from this page."), HTTPStatus.FORBIDDEN)
                return
            parts = url.path.strip("/").split("/")
            question = grading.question(unquote(parts[1])) if len(parts) == 3 and parts[0] == "q" else None
            if question is None:
                self._html(pages.message("Not found", url.path), HTTPStatus.NOT_FOUND)
                return
            students = {s.student: s for s in grading.students(question)}
            if parts[2] == "grade":
                self._grade(question, students, form)
            elif parts[2] == "blank-zero":
                changes = [
                    grades.Change(
                        s.student, question.grade_id, 0, "No answer.", s.answer_sha256, question.points, (), 0
                    )
                    for s in students.values()
                    if s.blank and s.grade is None
                ]
                try:
                    grading.save(question, changes)
                except GradingError as error:
                    self._html(pages.message("Not saved", str(error), f"/q/{question.grade_id}"), HTTPStatus.CONFLICT)
                    return
                self._redirect(f"/q/{question.grade_id}")
            else:
                self._html(pages.message("Not found", url.path), HTTPStatus.NOT_FOUND)

        def _grade(self, question, students, form):
            student = students.get(form.get("student", [""])[0])
            if student is None:
                self._html(pages.message("Not saved", "no such student for this question"), HTTPStatus.BAD_REQUEST)
                return
            try:
                grading.save(question, [_change(question, student, form)])
            except GradingError as error:
                values = {
                    "points": form.get("points", [""])[0],
                    "comment": form.get("comment", [""])[0],
                    "rubric": {int(v) for v in form.get("rubric", []) if v.isdigit()},
                }
                status = HTTPStatus.CONFLICT if isinstance(error, grades.EditConflict) else HTTPStatus.BAD_REQUEST
                page = self._question(question, "all", None, {student.student: (f"not saved: {error}", values)})
                self._html(page, status)
                return
            self._redirect(f"/q/{question.grade_id}?saved={student.student}#s-{student.slug}")

        do_HEAD = do_GET

    return Handler


def make_server(out, lab, port=0, grader="", source=None, config_dir=None, overrides_file=None):
    """(the HTTP server, its sign-in URL, the warning publishing left): the TA's page of `lab` in `out`, bound to
    127.0.0.1, not serving yet."""
    grading = Grading(out, lab, grader, source, config_dir, overrides_file)
    warning = grading.publish()  # a crash between a save and its publishing is mended here
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), None)
    port = server.server_address[1]
    token, csrf = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    server.RequestHandlerClass = make_handler(grading, token, csrf, port)
    server.daemon_threads = True
    return server, f"http://127.0.0.1:{port}/login?token={token}", warning


def serve(out, lab, port=0, grader="", source=None, config_dir=None, overrides_file=None):
    """Run the TA's page until interrupted; prints its URL (with the sign-in token) on stdout."""
    server, url, warning = make_server(out, lab, port, grader, source, config_dir, overrides_file)
    print(f"Hand grading {lab} in {Path(out).resolve()}: open {url}", flush=True)
    print("(this machine only; Ctrl-C stops it: every grade is already saved)", flush=True)
    if warning:
        print(f"warning: {warning}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
