"""A submission's answer cells as plain data (after the kernel ran): what a TA reads of a hand-graded question
(`cnnlab.grading.handgrading.server`) and what the copying report compares (`cnnlab.grading.similarity`).

`answers(nb)` returns {grade_id: {"cell_type", "source", "manual", "outputs"}} for every answer cell (nbgrader's
`solution` cells); `outputs` (code cells a person grades only) keeps what a reader needs: printed text, plain-text
results and errors, and PNG or JPEG images, each within a cap. Everything here is the student's: whoever shows it
escapes it. The batch keeps it as `--out/answers/<lab>/<slug>.json`.
"""

import json
import re
from pathlib import Path

from cnnlab.grading.cells import manually_graded, nbg

MAX_SOURCE = 100_000  # characters of one answer
MAX_TEXT = 20_000  # characters of one answer's printed output
MAX_IMAGES = 2_000_000  # characters of base64 images of one answer
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _cut(text, limit):
    return text if len(text) <= limit else text[:limit] + f"\n[grader] {len(text) - limit:,} more characters cut"


def _outputs(cell):
    """The outputs a TA reads: [{"text": ...} or {"image": mime, "data": base64}], within the caps."""
    kept, text, images = [], 0, 0
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            pieces = [str(output.get("text", ""))]
        elif kind == "error":
            pieces = [ANSI.sub("", f"{output.get('ename', 'Error')}: {output.get('evalue', '')}")]
        elif kind in ("display_data", "execute_result"):
            data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
            image = next((mime for mime in ("image/png", "image/jpeg") if mime in data), None)
            if image:
                value = data[image] if isinstance(data[image], str) else "".join(data[image])
                if BASE64.fullmatch(value) and images + len(value) <= MAX_IMAGES:
                    images += len(value)
                    kept.append({"image": image, "data": "".join(value.split())})
                    continue
                pieces = ["[grader] an image left out: not plain base64, or over the size a TA's page shows"]
            else:
                plain = data.get("text/plain", "")
                pieces = [plain if isinstance(plain, str) else "".join(plain)]
        else:
            continue
        for piece in pieces:
            if text >= MAX_TEXT:
                break
            piece = _cut(piece, MAX_TEXT - text)
            text += len(piece)
            kept.append({"text": piece})
    return kept


def answers(nb):
    """{grade_id: answer} of the notebook's answer cells (see the module's docstring)."""
    found = {}
    for cell in nb.cells:
        meta = nbg(cell)
        grade_id = meta.get("grade_id")
        if not meta.get("solution") or not isinstance(grade_id, str) or grade_id in found:
            continue
        source = cell.source if isinstance(cell.source, str) else "".join(cell.source)
        manual = manually_graded(cell)
        found[grade_id] = {
            "cell_type": cell.cell_type,
            "source": _cut(source, MAX_SOURCE),
            "manual": manual,
            "outputs": _outputs(cell) if manual and cell.cell_type == "code" else [],
        }
    return found


def write(nb, path):
    """Write `answers(nb)` to `path` (JSON)."""
    Path(path).write_text(json.dumps(answers(nb), indent=1), encoding="utf-8")


def read(path):
    """The answers kept at `path`, or {} when there are none (a submission graded before answers were kept, or
    one with nothing to grade)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
