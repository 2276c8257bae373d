"""The rubric of each question a TA grades, kept with the lab's config (`autograder/labs/<lab>.json`, never in the
student release) under "manual":

    "manual": [{"grade_id": "explain_1x1_savings",
                "rubric": [{"points": 1, "criterion": "the cost of a k x k conv grows with its input channels; ..."},
                           {"points": 0.5, "criterion": "..."}]}]

Each item's points are what the TA gives when the answer meets its criterion; they add up to the question's points.
The question is the answer cell's own (nbgrader's `grade` and `solution` cells, `cells.manually_graded`); the TA's
page also shows the solution's answer to it as the model answer. nbgrader's "task" cells (points for the cells that
follow a task description) are not supported: the grader refuses a lab with one and says what to use instead.
"""

from dataclasses import dataclass, field

from cnnlab.grading.cells import manually_graded, nbg
from cnnlab.grading.errors import GradingError


@dataclass
class Item:
    points: float
    criterion: str


@dataclass
class Rubric:
    grade_id: str
    items: list = field(default_factory=list)


def parse(entries, path):
    """{grade_id: Rubric} from the config's "manual" list; GradingError naming the file and the fix."""
    if not isinstance(entries, list):
        raise GradingError(f'{path}: "manual" must be a list of {{"grade_id", "rubric"}}. Received: {entries!r}')
    rubrics = {}
    for index, entry in enumerate(entries):
        where = f"{path}: manual[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("grade_id"), str) or "rubric" not in entry:
            raise GradingError(f'{where} needs "grade_id" (a string) and "rubric". Received: {entry!r}')
        unknown = set(entry) - {"grade_id", "rubric", "comment"}
        if unknown:
            raise GradingError(f"{where}: unknown keys {sorted(unknown)}; expected grade_id, rubric (and comment)")
        items = []
        for item in entry["rubric"] if isinstance(entry["rubric"], list) else [None]:
            points = item.get("points") if isinstance(item, dict) else None
            if not isinstance(item, dict) or not isinstance(points, (int, float)) or points <= 0:
                raise GradingError(f'{where}: each rubric item needs positive "points". Received: {item!r}')
            if not isinstance(item.get("criterion"), str) or not item["criterion"].strip():
                raise GradingError(f'{where}: each rubric item needs a "criterion" (text). Received: {item!r}')
            items.append(Item(float(points), item["criterion"].strip()))
        if entry["grade_id"] in rubrics:
            raise GradingError(f"{where}: a second rubric for {entry['grade_id']!r}")
        rubrics[entry["grade_id"]] = Rubric(entry["grade_id"], items)
    return rubrics


def questions(release_nb):
    """{grade_id: points} of the release's questions a TA grades."""
    return {nbg(c)["grade_id"]: float(nbg(c).get("points", 0)) for c in release_nb.cells if manually_graded(c)}


def check(lab, rubrics, release_nb):
    """The rubrics must match the release's questions a TA grades, their items add up to each one's points; task
    cells are refused. GradingError says what to fix."""
    tasks = [nbg(c).get("grade_id", "?") for c in release_nb.cells if nbg(c).get("task")]
    if tasks:
        raise GradingError(
            f"{lab}: nbgrader task cells ({', '.join(tasks)}) are not supported: make each question a graded answer "
            "cell (nbgrader's 'Manually graded answer': a Markdown or code cell with grade and solution set, and "
            "points)"
        )
    found = questions(release_nb)
    for grade_id, rubric in rubrics.items():
        if grade_id not in found:
            raise GradingError(
                f"{lab}: the rubric of {grade_id!r} names no question a TA grades (a cell with grade and solution "
                f"set). Such cells: {', '.join(found) or 'none'}"
            )
        total = sum(item.points for item in rubric.items)
        if abs(total - found[grade_id]) > 1e-9:
            raise GradingError(
                f"{lab}: the rubric of {grade_id!r} gives {total:g} points, but the question is worth "
                f"{found[grade_id]:g}: make them equal"
            )
