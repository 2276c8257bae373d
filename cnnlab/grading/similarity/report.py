"""The copying report of a lab, a page of the class report (`report/copying-<lab>.html`): the pairs of students whose
answer cells are near copies (`similarity.code`) and the pairs whose model files hold the same weights up to layer
order or a small change (`similarity.weights`), ranked, each with its evidence side by side: the lines both answers
share, the tensors both models share beyond what the class shares.

It reads what the batch kept: `--out/answers/<lab>/<slug>.json` and `--out/weights/<lab>/<slug>/<model>.npz`. A
listed pair is a reason for a person to look, never a penalty by itself: two students may have worked together as
allowed, used the same outside source, or (for models) trained the notebook's fixed seed on the same hardware.
Everything a student wrote is escaped; the page runs no script and loads nothing from elsewhere.
"""

import html
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

from cnnlab.grading import answers as kept_answers
from cnnlab.grading.similarity import code, weights

CODE_FLAG = 0.5  # a pair's weighted Jaccard index of answer units from which it is listed
MODEL_FLAG = 0.5  # a pair of models this much closer than the class's median pair is listed
MODEL_FLAG_SHARED_START = 0.9  # the same, in a class whose models start from the same weights (the labs' seed)
CONTEXT = 5  # the closest pairs below the bar, shown for scale
CSP = (
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; "
    'img-src data:">'
)
NOT_COMPARED = ("missing", "rejected", "grader_error")


@dataclass
class Copying:
    lab: str
    students: int  # compared
    code_pairs: list = field(default_factory=list)  # code.CodePair, best first
    models: dict = field(default_factory=dict)  # model name: weights.ModelClass
    models_compared: dict = field(default_factory=dict)  # model name: number of students with that file

    @property
    def flagged_code(self):
        return [p for p in self.code_pairs if p.score >= CODE_FLAG]

    @property
    def flagged_models(self):
        return {m: [p for p in group.pairs if p.score >= model_bar(group)] for m, group in self.models.items()}


def model_bar(group):
    """The score from which a pair of the `weights.ModelClass` is listed."""
    return MODEL_FLAG_SHARED_START if group.shared_start else MODEL_FLAG


def analyse(out, lab, rows):
    """The `Copying` of one lab from what `out` keeps; `rows` are the lab's results (JSON)."""
    out = Path(out)
    graded = sorted((r for r in rows if r["status"] not in NOT_COMPARED), key=lambda r: r["student"])
    class_answers = {r["student"]: kept_answers.read(out / "answers" / lab / f"{r['slug']}.json") for r in graded}
    class_answers = {s: a for s, a in class_answers.items() if a}
    found = Copying(lab, len(class_answers))
    found.code_pairs = code.compare(class_answers, evidence_from=CODE_FLAG, detail=CONTEXT)
    models = {}
    for r in graded:
        for path in sorted((out / "weights" / lab / r["slug"]).glob("*.npz")):
            fingerprint = weights.read_sketches(path)
            if fingerprint is not None and len(fingerprint["paths"]):
                models.setdefault(path.stem, {})[r["student"]] = fingerprint
    for model, fingerprints in sorted(models.items()):
        found.models_compared[model] = len(fingerprints)
        found.models[model] = weights.compare(fingerprints, model, evidence_from=MODEL_FLAG, detail=CONTEXT)
    return found


def summary(found, page):
    """Lines for report.md."""
    code_pairs = len(found.code_pairs)
    line = (
        f"Copying report ([{page}]({page})): {len(found.flagged_code)} of {code_pairs} pairs of students listed for "
        f"near-copied answer cells"
    )
    for model, pairs in found.flagged_models.items():
        line += f"; {len(pairs)} of {len(found.models[model].pairs)} pairs for the weights of {model}.keras"
    return [line + ". A listed pair is a reason to look, never a penalty by itself.", ""]


def write(out, lab, rows, directory):
    """Write `directory/copying-<lab>.html`; returns its lines for report.md."""
    found = analyse(out, lab, rows)
    page = f"copying-{lab}.html"
    Path(directory, page).write_text(render(found), encoding="utf-8")
    return summary(found, page)


# -- the page --


def _e(text):
    return html.escape(str(text), quote=True)


STYLE = """
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
.side { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 8px; }
pre { background: #fafafa; border: 1px solid #ddd; padding: 6px; overflow-x: auto; margin: 0; font-size: 12px; }
pre span { display: block; min-height: 1.2em; }
pre span.m { background: #ffe08a; }
.note { color: #555; font-size: 0.9em; }
.pair { border-top: 2px solid #888; margin-top: 1.5em; padding-top: 0.5em; }
.score { font-weight: bold; }
"""


def _numbered(source, marked):
    lines = source.split("\n")
    width = len(str(len(lines)))
    return "".join(
        f'<span class="{"m" if n in marked else ""}">{n:>{width}}  {_e(line)}</span>'
        for n, line in enumerate(lines, start=1)
    )


def _code_evidence(pair):
    parts = []
    for cell in pair.cells:
        parts.append(
            f"<h4>{_e(cell.grade_id)} ({cell.cell_type}): {cell.score:.2f} of its weighted units shared; "
            f"the lines holding them are marked</h4>"
            f'<div class="side"><div><b>{_e(pair.a)}</b><pre>{_numbered(cell.source_a, set(cell.lines_a))}</pre>'
            f"</div><div><b>{_e(pair.b)}</b><pre>{_numbered(cell.source_b, set(cell.lines_b))}</pre></div></div>"
        )
    return "".join(parts) or '<p class="note">No cell shares a weighted unit.</p>'


def _model_evidence(pair):
    rows = "".join(
        f"<tr><td>{_e(m.path_a)}</td><td>{_e(m.path_b)}</td><td>{_e(m.shape)}</td><td>{m.correlation:.4f}</td></tr>"
        for m in pair.matches
    )
    return (
        f"<h4>{_e(pair.model)}.keras: {pair.score:.2f} (the weights correlate {pair.correlation:.4f})</h4>"
        f"<table><tr><th>tensor of {_e(pair.a)}</th><th>tensor of {_e(pair.b)}</th><th>shape</th>"
        f"<th>correlation</th></tr>{rows}</table>"
    )


def _ranking(found):
    """[(a, b, code pair or None, [model pairs])] of the listed pairs, the strongest evidence first."""
    listed = {}
    for pair in found.flagged_code:
        listed.setdefault((pair.a, pair.b), [None, []])[0] = pair
    for pairs in found.flagged_models.values():
        for pair in pairs:
            listed.setdefault((pair.a, pair.b), [None, []])[1].append(pair)

    def strength(item):
        codes, models = item[1]
        return -max([codes.score if codes else 0.0] + [m.score for m in models])

    return [(a, b, c, m) for (a, b), (c, m) in sorted(listed.items(), key=lambda item: (strength(item), item[0]))]


def render(found):
    ranking = _ranking(found)
    head = (
        f'<!DOCTYPE html><html><head><meta charset="utf-8">{CSP}<title>Copying report: {_e(found.lab)}</title>'
        f"<style>{STYLE}</style></head><body>"
    )
    intro = (
        f"<h1>Copying report: {_e(found.lab)}</h1>"
        f"<p>{found.students} students' answer cells compared"
        + "".join(f"; {n} files {_e(model)}.keras" for model, n in found.models_compared.items())
        + f". <b>{len(ranking)} pairs listed.</b> A listed pair is a reason for a person to look, never a penalty "
        "by itself: students may have worked together as allowed, used the same outside source, or trained the "
        "notebook's fixed seed on the same hardware.</p>"
        f'<p class="note">Answer cells: a pair is listed from a score of {CODE_FLAG} (the weighted share of '
        "normalized statements and expressions, or of a written answer's word 4-grams, that both answers hold; "
        "names, comments, blank space and the order of statements do not count; what more than half the class "
        f"writes counts nothing). Models: from {MODEL_FLAG} (how much closer the two models' weights are than the "
        "class's median pair: 1 - (1 - their correlation) / (1 - the median's); layer names and order do not "
        f"count), or from {MODEL_FLAG_SHARED_START} when the class's models all start from the same weights.</p>"
    )
    table = ["<table><tr><th>#</th><th>students</th><th>answer cells</th><th>models</th></tr>"]
    for rank, (a, b, codes, models) in enumerate(ranking, start=1):
        code_cell = f'<span class="score">{codes.score:.2f}</span> ({len(codes.cells)} cells)' if codes else ""
        model_cell = "<br>".join(f'<span class="score">{m.score:.2f}</span> {_e(m.model)}' for m in models)
        table.append(
            f'<tr><td><a href="#pair-{rank}">{rank}</a></td><td>{_e(a)} and {_e(b)}</td><td>{code_cell}</td>'
            f"<td>{model_cell}</td></tr>"
        )
    table.append("</table>")
    if not ranking:
        table = ["<p>No pair reaches either bar.</p>"]
    sections = []
    for rank, (a, b, codes, models) in enumerate(ranking, start=1):
        body = f'<div class="pair" id="pair-{rank}"><h2>{rank}. {_e(a)} and {_e(b)}</h2>'
        if codes:
            body += f"<h3>Answer cells: {codes.score:.2f}</h3>" + _code_evidence(codes)
        body += "".join(_model_evidence(m) for m in models)
        sections.append(body + "</div>")
    return head + intro + "".join(table) + "".join(sections) + _context(found) + "</body></html>"


def _context(found):
    """The closest pairs below the bars, and the class's median, for scale."""
    parts = ["<h2>For scale: the closest pairs not listed</h2>"]
    below = [p for p in found.code_pairs if p.score < CODE_FLAG][:CONTEXT]
    if found.code_pairs:
        parts.append(
            f"<p>Answer cells: the median pair scores {median(p.score for p in found.code_pairs):.2f}; "
            + ", ".join(f"{_e(p.a)} and {_e(p.b)} {p.score:.2f}" for p in below)
            + ".</p>"
        )
    for model, group in found.models.items():
        below = [p for p in group.pairs if p.score < model_bar(group)][:CONTEXT]
        if group.pairs:
            start = (
                " These models all start from the same weights (the notebook fixes the seed): only weights much "
                f"closer than that are listed, from {MODEL_FLAG_SHARED_START}; a copy trained further cannot be "
                "told from honest work here."
                if group.shared_start
                else ""
            )
            parts.append(
                f"<p>{_e(model)}.keras: the median pair's weights correlate {group.median_correlation:.3f}.{start} "
                "Closest pairs not listed: "
                + ", ".join(f"{_e(p.a)} and {_e(p.b)} {p.score:.2f}" for p in below)
                + ".</p>"
            )
    return "".join(parts)
