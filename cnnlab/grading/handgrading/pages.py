"""The HTML of the TA's page (`server`): the list of a lab's questions, and a question with every student's answer,
the rubric, the model answer and a form per student.

Everything a student wrote (answers, outputs, ids) and everything a TA wrote (comments) is escaped; answers are shown
as written, never rendered (Markdown stays Markdown source). The pages hold no script and no inline style: the
server's Content-Security-Policy lets only its own style sheet and `data:` images in (`server.CSP`).
"""

import html
from urllib.parse import quote

STYLE = """
body { font-family: sans-serif; margin: 1em auto; max-width: 1100px; color: #222; }
header { border-bottom: 1px solid #ccc; margin-bottom: 1em; }
nav a { margin-right: 1em; }
table { border-collapse: collapse; }
td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.question, .rubric, .model { background: #f6f8fa; border: 1px solid #ddd; padding: 0.5em 1em; margin: 0.5em 0; }
.card { border: 1px solid #bbb; border-radius: 4px; padding: 0.5em 1em; margin: 1em 0; }
.card.waiting { border-left: 6px solid #d9822b; }
.card.graded { border-left: 6px solid #2b8a3e; }
.card.stale { border-left: 6px solid #c92a2a; }
.card.saved { background: #ebfbee; }
pre { background: #fafafa; border: 1px solid #ddd; padding: 6px; white-space: pre-wrap; word-break: break-word; }
pre.output { background: #fff; color: #333; }
.badge { font-weight: bold; }
.error { color: #c92a2a; font-weight: bold; }
.notice { color: #2b8a3e; font-weight: bold; }
.warning { background: #fff4e6; border: 1px solid #d9822b; padding: 0.5em; }
form.grade label { margin-right: 1em; }
form.grade textarea { width: 100%; height: 4em; }
form.grade input[type=number] { width: 6em; }
.rubric-items label { display: block; }
img { max-width: 100%; }
"""


def e(text):
    return html.escape(str(text), quote=True)


def page(title, body):
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{e(title)}</title><link rel="stylesheet" href="/style.css"></head><body>{body}</body></html>'
    )


def index(lab, questions, counts):
    """The list of questions: `counts` {grade_id: (graded, waiting, stale, answers)}."""
    rows = "".join(
        f'<tr><td><a href="/q/{quote(q.grade_id)}">{e(q.grade_id)}</a></td><td>{q.points:g}</td>'
        f"<td>{counts[q.grade_id][0]} of {counts[q.grade_id][3]}</td><td>{counts[q.grade_id][1]}</td>"
        f"<td>{counts[q.grade_id][2]}</td></tr>"
        for q in questions
    )
    body = (
        f"<header><h1>Hand grading: {e(lab)}</h1></header>"
        "<p>Grade one question for the whole class, then the next. Your grades are saved at once in the grader's "
        "output folder and join each student's total, grades.csv, nbgrader's gradebook and the feedback.</p>"
        "<table><tr><th>question</th><th>points</th><th>graded</th><th>waiting</th>"
        f"<th>graded on an earlier answer</th></tr>{rows}</table>"
    )
    return page(f"Hand grading: {lab}", body)


def _status(student):
    grade, stale = student.grade, student.stale
    if grade is None:
        return "waiting", "waits for a grade"
    when = f" by {grade.grader}" if grade.grader else ""
    text = f"{grade.points:g} points{when} at {grade.time}"
    if stale:
        return "stale", f"graded {text} on an earlier answer: the answer changed since, look again"
    return "graded", f"graded: {text}"


def _outputs(outputs):
    parts = []
    for output in outputs:
        if "image" in output:
            parts.append(
                f'<img alt="an output of the cell" src="data:{e(output["image"])};base64,{e(output["data"])}">'
            )
        else:
            parts.append(f'<pre class="output">{e(output["text"])}</pre>')
    return "".join(parts)


def _card(question, student, csrf, focus, form_values=None, message=""):
    kind, status = _status(student)
    answer = student.answer
    if answer is None:
        shown = '<p class="note">No answer was kept for this submission (graded before answers were kept).</p>'
    elif student.blank:
        shown = f"<p><b>No answer</b> (the cell holds what the release gave):</p><pre>{e(answer['source'])}</pre>"
    else:
        shown = f"<pre>{e(answer['source'])}</pre>" + _outputs(answer.get("outputs", []))
    values = form_values or {
        "points": "" if student.grade is None else f"{student.grade.points:g}",
        "comment": "" if student.grade is None else student.grade.comment,
        "rubric": set() if student.grade is None else set(student.grade.rubric),
    }
    items = "".join(
        f'<label><input type="checkbox" name="rubric" value="{i}"{" checked" if i in values["rubric"] else ""}> '
        f"{item.points:g}: {e(item.criterion)}</label>"
        for i, item in enumerate(question.rubric.items if question.rubric else [])
    )
    anchor = f"s-{student.slug}"
    version = student.grade.version if student.grade else 0
    extra = " saved" if message.startswith("saved") else ""
    note = f'<p class="{"notice" if extra else "error"}">{e(message)}</p>' if message else ""
    return (
        f'<div class="card {kind}{extra}" id="{e(anchor)}"><h3>{e(student.student)} '
        f'<span class="badge">{e(status)}</span></h3>{note}{shown}'
        f'<form class="grade" method="post" action="/q/{quote(question.grade_id)}/grade">'
        f'<input type="hidden" name="csrf" value="{e(csrf)}">'
        f'<input type="hidden" name="student" value="{e(student.student)}">'
        f'<input type="hidden" name="version" value="{version}">'
        f'<div class="rubric-items">{items}</div>'
        f"<label>points (0 to {question.points:g}; empty: the ticked items' sum) "
        f'<input type="number" name="points" min="0" max="{question.points:g}" step="any" '
        f'value="{e(values["points"])}"{" autofocus" if focus else ""}></label>'
        f'<label>comment for the student<textarea name="comment">{e(values["comment"])}</textarea></label>'
        '<button type="submit">Save</button></form></div>'
    )


def question(lab, q, students, csrf, nav, show, saved=None, errors=None):
    """A question's page: `students` (`server.StudentAnswer`), `saved` the student just saved (the next one waiting
    gets the focus), `errors` {student: (message, the values the TA sent)}."""
    errors = errors or {}
    waiting = [s for s in students if s.grade is None or s.stale]
    graded = sum(1 for s in students if s.grade is not None)
    shown = students if show == "all" else [s for s in students if s in waiting or s.student == saved]
    focus = None
    if errors:
        focus = next(iter(errors))
    elif saved is not None:
        after = [s for s in waiting if s.student > saved]
        focus = after[0].student if after else (waiting[0].student if waiting else None)
    elif waiting:
        focus = waiting[0].student
    rubric = (
        "<ul>" + "".join(f"<li>{item.points:g}: {e(item.criterion)}</li>" for item in q.rubric.items) + "</ul>"
        if q.rubric
        else '<p>No rubric was given for this question (autograder/labs/<lab>.json, "manual").</p>'
    )
    blanks = sum(1 for s in students if s.blank and s.grade is None)
    bulk = (
        f'<form method="post" action="/q/{quote(q.grade_id)}/blank-zero"><input type="hidden" name="csrf" '
        f'value="{e(csrf)}"><button type="submit">Give 0 to the {blanks} blank answers not graded yet</button></form>'
        if blanks
        else ""
    )
    filters = (
        f'<a href="/q/{quote(q.grade_id)}?show=waiting">waiting only</a> '
        f'<a href="/q/{quote(q.grade_id)}?show=all">everyone</a>'
    )
    cards = "".join(
        _card(
            q,
            s,
            csrf,
            focus == s.student,
            errors.get(s.student, (None, None))[1],
            errors.get(s.student, ("",))[0] or ("saved" if s.student == saved else ""),
        )
        for s in shown
    )
    if not waiting:
        cards = "<p>Every answer to this question is graded.</p>" + cards
    body = (
        f'<header><nav><a href="/">all questions</a>{nav}</nav>'
        f"<h1>{e(lab)}: {e(q.grade_id)} ({q.points:g} points, "
        f"{'a written answer' if q.cell_type == 'markdown' else 'code a TA reads'})</h1>"
        f"<p>{graded} of {len(students)} graded; {len(waiting)} to grade or look at again. Showing "
        f"{'everyone' if show == 'all' else 'those'}: {filters}</p></header>"
        f'<div class="question"><h2>The question</h2><pre>{e(q.prompt)}</pre></div>'
        f'<div class="rubric"><h2>Rubric</h2>{rubric}</div>'
        f'<details class="model"><summary>The model answer (the solution\'s)</summary><pre>{e(q.model_answer)}</pre>'
        f"</details>{bulk}{cards}"
    )
    return page(f"{lab}: {q.grade_id}", body)


def message(title, text, back="/"):
    return page(title, f'<h1>{e(title)}</h1><p>{e(text)}</p><p><a href="{e(back)}">back</a></p>')
