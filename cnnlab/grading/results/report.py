"""The class report: per lab, a figure with the score histogram and each test's pass rate, and report.md:
each test's failures split into those whose visible part failed and those that failed only in the grader's
part (hidden tests, model checks; many of these point at a hidden test to look at), the tests that never ran
(after a kernel death or a stuck cell), the files that two or more students submitted byte for byte (same
sha256), and the term's sections (final grades, lateness, overrides, what intake could not place)."""

from collections import Counter
from pathlib import Path

from cnnlab.grading.results.status import Status

NOT_GRADED = (Status.MISSING, Status.REJECTED, Status.GRADER_ERROR)  # out of the histogram and the pass rates


def identical_files(rows):
    """[(file name, sha256, students)] for each file that several students of one lab submitted identically."""
    groups = {}
    for r in rows:
        for name, digest in r.get("files_sha256", {}).items():
            groups.setdefault((name, digest), []).append(r["student"])
    return [
        (name, digest, sorted(students)) for (name, digest), students in sorted(groups.items()) if len(students) > 1
    ]


def write_report(directory, results, term_sections=None):
    """`term_sections`: lab -> Markdown lines placed after the lab's tests (`store.write_outputs` makes them)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["# Class report", ""]
    for lab in sorted({r["lab"] for r in results}):
        rows = [r for r in results if r["lab"] == lab]
        statuses = Counter(r["status"] for r in rows)
        max_score = max(r["max_score"] for r in rows)
        graded = [r for r in rows if r["status"] not in NOT_GRADED]
        scores = [r["score"] for r in graded]
        tasks = {}  # grade_id: [passed, visible part failed, failed only in the grader's part, never ran]
        for r in graded:
            for cell in r["cells"]:
                counts = tasks.setdefault(cell["grade_id"], [0, 0, 0, 0])
                if cell["state"] == "not run":
                    counts[3] += 1
                else:
                    counts[0 if cell["state"] == "passed" else 1 if cell.get("visible_failed") else 2] += 1
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.4]})
        left.hist(scores, bins=min(20, max(1, int(max_score) + 1)), range=(0, max_score), color="tab:blue")
        left.set(
            title=f"{lab}: scores of {len(scores)} submissions", xlabel=f"score (of {max_score:g})", ylabel="students"
        )
        left.yaxis.set_major_locator(MaxNLocator(integer=True))
        names = list(tasks)
        rates = [100 * tasks[n][0] / len(graded) if graded else 0 for n in names]
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
            + f". Mean automatic score {mean:.2f} of {max_score:g} over the {len(graded)} graded submissions"
            + (f" ({left_out} missing, rejected or not graded left out)" if left_out else "")
            + ".",
            "",
            "| test | passed | failed: the visible part | failed: only the hidden part or model check | never ran |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {n} | {passed} of {len(graded)} | {visible} | {hidden} | {lost} |"
            for n, (passed, visible, hidden, lost) in tasks.items()
        ]
        lines += [""] + list((term_sections or {}).get(lab, []))
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
