"""The class report: per lab, a figure with the score histogram and each test's pass rate, and report.md:

- each test: the share of the class that passed it; its failures split into those whose visible part failed and
  those that failed only in the grader's part (hidden tests, model checks; many of these point at a hidden test to
  look at); the tests that never ran (the kernel died or stopped before them) counted apart, as they say nothing
  of the answer;
- what the failures of each test have in common: its failure messages (the rules a probe broke, the error a test
  raised, the model checks that failed) grouped, with how many students each, so an instructor sees which part of a
  lab to teach again;
- the questions a TA grades: how many are graded, wait, or were graded on an earlier answer, and the mean points;
- the copying report (`cnnlab.grading.similarity.report`, a page of its own) and the files that two or more
  students submitted byte for byte (same sha256);
- the term's sections (final grades with missing students counted, lateness, overrides, what intake could not
  place), made by `cnnlab.grading.results.store`.

Scores are totals with the TA's grades (`cnnlab.grading.results.standing`).
"""

import re
from collections import Counter
from pathlib import Path

from cnnlab.grading.results.standing import standing
from cnnlab.grading.results.status import Status

NOT_GRADED = (Status.MISSING, Status.REJECTED, Status.GRADER_ERROR)  # out of the histogram and the pass rates
EXAMPLES = 4  # students named per group of failures
NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:e-?\d+)?(?![\w])")  # a number, not a digit of a name (lab6_resnet20)


def identical_files(rows):
    """[(file name, sha256, students)] for each file that several students of one lab submitted identically."""
    groups = {}
    for r in rows:
        for name, digest in r.get("files_sha256", {}).items():
            groups.setdefault((name, digest), []).append(r["student"])
    return [
        (name, digest, sorted(students)) for (name, digest), students in sorted(groups.items()) if len(students) > 1
    ]


def _general(message):
    """A failure message with its numbers outside quotes as `#` (the quoted names of a probe's cases stay): one
    group for "accuracy 0.31 under 0.95" and "accuracy 0.12 under 0.95"."""
    parts = re.split(r"('[^']*')", message.strip())
    return "".join(p if p.startswith("'") else NUMBER.sub("#", p) for p in parts)


def failure_reasons(row, cell):
    """The reasons one failed test cell of a result (JSON) gives: each rule a probe broke, the error a test raised,
    each of its model's failed checks."""
    if cell["state"] == "void":
        return ["voided: the notebook changed how tests run (a failed canary)"]
    if cell.get("path") == "model checks":
        return [
            f"{check['check']}: {check['message']}"
            for check in row.get("models", [])
            if check.get("model") == cell.get("model") and not check.get("passed")
        ] or ["a model check failed"]
    if cell.get("message"):
        return [part for part in cell["message"].split("; ") if part]
    if cell.get("error"):
        return [cell["error"]]
    return ["its visible part failed" if cell.get("visible_failed") else "a hidden test failed"]


def test_summary(rows):
    """{grade_id: {"passed", "visible", "hidden", "not run", "reasons": Counter, "students": {reason: [...]}}} of the
    autograded tests of a lab's graded results (JSON)."""
    tests = {}
    for row in rows:
        for cell in row["cells"]:
            if cell.get("path") == "manual":
                continue
            entry = tests.setdefault(
                cell["grade_id"],
                {"passed": 0, "visible": 0, "hidden": 0, "not run": 0, "reasons": Counter(), "students": {}},
            )
            if cell["state"] == "passed":
                entry["passed"] += 1
            elif cell["state"] == "not run":
                entry["not run"] += 1
            else:
                entry["visible" if cell.get("visible_failed") else "hidden"] += 1
                for reason in dict.fromkeys(_general(r) for r in failure_reasons(row, cell)):
                    entry["reasons"][reason] += 1
                    entry["students"].setdefault(reason, []).append(row["student"])
    return tests


def manual_summary(rows, grades):
    """[(grade_id, points, graded, waiting, graded on an earlier answer, mean points given)] of a lab's questions a
    TA grades."""
    questions = {}
    for row in rows:
        for q in standing(row, grades.get(row["student"], {})).questions:
            entry = questions.setdefault(q.grade_id, [q.points, [], 0, 0])
            if q.grade is None:
                entry[2] += 1
            else:
                entry[1].append(q.grade.points)
                entry[3] += q.stale
    return [
        (gid, points, len(given), waiting, stale, sum(given) / len(given) if given else None)
        for gid, (points, given, waiting, stale) in questions.items()
    ]


def write_report(directory, results, term_sections=None, out=None, manual=None):
    """Write `directory/report.md` and a figure per lab from the results (JSON); `term_sections`: lab -> Markdown
    lines placed after the lab's tests (`store.write_outputs` makes them); with `out`, the copying report of each
    lab too; `manual` the TA's grades ({lab: {student: {grade_id: grade}}})."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    manual = manual or {}
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["# Class report", ""]
    for lab in sorted({r["lab"] for r in results}):
        rows = [r for r in results if r["lab"] == lab]
        grades = manual.get(lab, {})
        statuses = Counter(r["status"] for r in rows)
        max_score = max(r["max_score"] for r in rows)
        graded = [r for r in rows if r["status"] not in NOT_GRADED]
        scores = [standing(r, grades.get(r["student"], {})).total for r in graded]
        tests = test_summary(graded)
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.4]})
        left.hist(scores, bins=min(20, max(1, int(max_score) + 1)), range=(0, max_score), color="tab:blue")
        left.set(
            title=f"{lab}: scores of {len(scores)} submissions", xlabel=f"score (of {max_score:g})", ylabel="students"
        )
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        names = list(tests)
        rates = [100 * tests[n]["passed"] / len(graded) if graded else 0 for n in names]
        right.barh(names[::-1], rates[::-1], color="tab:green")
        right.set(
            title=f"pass rate per test ({len(graded)} submissions, missing and ungraded ones left out)",
            xlabel="% passed",
            xlim=(0, 100),
        )
        fig.tight_layout()
        fig.savefig(directory / f"{lab}.png", dpi=100)
        plt.close(fig)
        mean = sum(scores) / len(scores) if scores else 0
        left_out = len(rows) - len(graded)
        lines += [
            f"## {lab}",
            "",
            f"![{lab}]({lab}.png)",
            "",
            f"{len(rows)} students: "
            + ", ".join(f"{statuses[s]} {s}" for s in sorted(statuses))
            + f". Mean score {mean:.2f} of {max_score:g} (tests and TA, before late penalties and overrides) over the "
            + f"{len(graded)} graded submissions"
            + (f" ({left_out} missing, rejected or not graded left out)" if left_out else "")
            + ".",
            "",
            "| test | passed | share | failed: the visible part | failed: only the hidden part or model check | "
            "not run (the kernel stopped before it) |",
            "|---|---|---|---|---|---|",
        ]
        for name, t in tests.items():
            share = f"{100 * t['passed'] / len(graded):.0f}%" if graded else "-"
            lines.append(
                f"| {name} | {t['passed']} of {len(graded)} | {share} | {t['visible']} | {t['hidden']} | "
                f"{t['not run']} |"
            )
        lines += [""]
        failing = [(name, t) for name, t in tests.items() if t["reasons"]]
        if failing:
            lines += ["What the failures of each test have in common (students per reason; numbers shown as #):", ""]
            for name, t in failing:
                lines.append(f"- **{name}**")
                for reason, count in t["reasons"].most_common():
                    who = t["students"][reason]
                    more = f" and {len(who) - EXAMPLES} more" if len(who) > EXAMPLES else ""
                    lines.append(f"  - {count}: {_md(reason)} ({', '.join(who[:EXAMPLES])}{more})")
            lines += [""]
        questions = manual_summary(graded, grades)
        if questions:
            lines += [
                "Questions a TA grades (`python -m autograder handgrade --lab " + lab + " --out ...`):",
                "",
                "| question | points | graded | waiting | graded on an earlier answer | mean points given |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {gid} | {points:g} | {done} | {waiting} | {stale} | {'-' if mean_ is None else f'{mean_:.2f}'} |"
                for gid, points, done, waiting, stale, mean_ in questions
            ]
            lines += [""]
        if out is not None:
            from cnnlab.grading.similarity.report import write as write_copying

            lines += write_copying(out, lab, rows, directory)
        lines += list((term_sections or {}).get(lab, []))
        same = identical_files(rows)
        if same:
            lines += [
                "Identical files (byte for byte, by sha256) submitted by several students:",
                "",
                "| file | sha256 | students |",
                "|---|---|---|",
            ]
            lines += [f"| {name} | {digest[:16]} | {', '.join(students)} |" for name, digest, students in same]
            lines += [""]
    (directory / "report.md").write_text("\n".join(lines), encoding="utf-8")


def _md(text):
    """A failure message inside report.md: on one line, its Markdown table and emphasis characters escaped."""
    return re.sub(r"([|*_`\[\]<>])", r"\\\1", " ".join(str(text).split()))[:300]
