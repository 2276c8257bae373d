"""How close two students' answer cells are, with renamed identifiers, comments, blank space and reordered
statements seen through.

Each code answer is parsed with Python's `ast` (IPython's `%magic` and `!shell` lines blanked first) and normalized:
every name the cell itself binds (variables, arguments, the functions it defines) becomes `_`, string constants and
docstrings go, `print(...)` calls, `pass` and type annotations go, `x += y` becomes `x = x + y`; names it does not
bind (`np`, `layers`, another cell's function) and attribute names stay, as they carry the answer's meaning. Its
units are then every statement (a compound one by its header: `for _ in range(_):`) and every expression of five
nodes or more, each as a digest of its normalized tree, with the lines it came from: a multiset, so the order of
statements does not matter, and splitting an expression into temporaries keeps its parts. A cell that does not
parse falls back to its lines, each normalized by tokens. A written answer (Markdown) gives its word 4-grams
(lower case, punctuation left out, `70,800,688` read as `70800688`).

A class (`compare`): a unit counts log(N / n) where n of the N students who answered that cell have it, and 0 when
more than half have it (as MOSS ignores what many submissions share: what everybody writes is no evidence). A pair's
score is the weighted Jaccard index of the two multisets over all their answer cells: what both have, over what
either has. The evidence is the lines of each cell that hold a shared unit. Two honest students often write the same
short line; they rarely write the same rare ones in every cell.
"""

import ast
import hashlib
import io
import keyword
import math
import re
import tokenize
from collections import Counter
from dataclasses import dataclass, field

MIN_EXPRESSION_NODES = 5
SHINGLE = 4  # words of a written answer's units


@dataclass
class Unit:
    key: str
    lines: tuple  # first and last line (1-based) of the answer it came from


def _magics_blanked(source):
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.split("\n"))


class _Bound(ast.NodeVisitor):
    """The names a piece of code binds itself."""

    def __init__(self):
        self.names = set()

    def visit_Name(self, node):
        if isinstance(node.ctx, (ast.Store, ast.Del)):
            self.names.add(node.id)

    def visit_arg(self, node):
        self.names.add(node.arg)

    def visit_FunctionDef(self, node):
        self.names.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.names.add(node.name)
        self.generic_visit(node)

    def visit_ExceptHandler(self, node):
        if node.name:
            self.names.add(node.name)
        self.generic_visit(node)


def _is_print(node):
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "print"
    )


def _is_docstring(node):
    return isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)


class _Normalize(ast.NodeTransformer):
    def __init__(self, bound):
        self.bound = bound

    @staticmethod
    def _body(statements):
        return [s for s in statements if not (_is_print(s) or _is_docstring(s) or isinstance(s, ast.Pass))]

    def generic_visit(self, node):
        for name in ("body", "orelse", "finalbody"):
            if isinstance(getattr(node, name, None), list):
                setattr(node, name, self._body(getattr(node, name)))
        return super().generic_visit(node)

    def visit_Name(self, node):
        return ast.copy_location(ast.Name(id="_" if node.id in self.bound else node.id, ctx=ast.Load()), node)

    def visit_arg(self, node):
        return ast.copy_location(ast.arg(arg="_", annotation=None), node)

    def visit_FunctionDef(self, node):
        node = self.generic_visit(node)
        node.name, node.returns, node.type_comment = "_", None, None
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        node = self.generic_visit(node)
        node.name = "_"
        return node

    def visit_AnnAssign(self, node):
        if node.value is None:
            return None
        return self.visit(ast.copy_location(ast.Assign(targets=[node.target], value=node.value), node))

    def visit_AugAssign(self, node):
        target = self.visit(node.target)
        value = ast.BinOp(left=target, op=node.op, right=self.visit(node.value))
        return ast.copy_location(ast.Assign(targets=[target], value=value), node)

    def visit_Constant(self, node):
        return ast.Constant(value="_s") if isinstance(node.value, (str, bytes)) else node

    def visit_JoinedStr(self, node):
        return ast.Constant(value="_s")

    def visit_ExceptHandler(self, node):
        node = self.generic_visit(node)
        node.name = "_" if node.name else None
        return node


def _key(kind, node):
    """A unit's key: its kind and a digest of its normalized tree."""
    return kind + hashlib.blake2b(ast.dump(node, annotate_fields=False).encode(), digest_size=12).hexdigest()


def _header(node):
    """The statement without its bodies (a compound statement's header)."""
    shallow = ast.copy_location(type(node)(**{f: getattr(node, f, None) for f in node._fields}), node)
    for name in ("body", "orelse", "finalbody", "handlers"):
        if isinstance(getattr(shallow, name, None), list):
            setattr(shallow, name, [])
    return shallow


def _size(node):
    return sum(1 for _ in ast.walk(node))


def _code_units(source):
    tree = ast.parse(_magics_blanked(source))
    bound = _Bound()
    bound.visit(tree)
    tree = _Normalize(bound.names).visit(tree)
    units = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            header = _header(node)
            body = getattr(node, "body", None)
            last = body[0].lineno - 1 if isinstance(body, list) and body else node.end_lineno
            units.append(Unit(_key("s:", header), (node.lineno, max(node.lineno, last))))
        elif isinstance(node, ast.expr) and _size(node) >= MIN_EXPRESSION_NODES and hasattr(node, "lineno"):
            units.append(Unit(_key("e:", node), (node.lineno, node.end_lineno)))
    return units


def _line_units(source):
    """A cell that does not parse: each line by its tokens, names as `_`, strings as `_s`, comments left out."""
    units = []
    for number, line in enumerate(source.split("\n"), start=1):
        try:
            tokens = list(tokenize.generate_tokens(io.StringIO(line).readline))
        except (tokenize.TokenError, SyntaxError, IndentationError):
            tokens = []
        words = [
            "_" if t.type == tokenize.NAME and not keyword.iskeyword(t.string) else t.string
            for t in tokens
            if t.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)
            and t.type != tokenize.ENDMARKER
        ]
        words = ["_s" if w.startswith(("'", '"')) else w for w in words]
        if words:
            units.append(Unit("l:" + " ".join(words), (number, number)))
    return units


WORD = re.compile(r"[0-9][0-9,.']*[0-9]|[^\W_]+", re.UNICODE)


def _text_units(source):
    """Word 4-grams of a written answer (a shorter answer: the whole of it)."""
    words = []
    for number, line in enumerate(source.split("\n"), start=1):
        for match in WORD.finditer(line.lower()):
            word = match.group()
            words.append((word.replace(",", "").replace("'", "") if word[0].isdigit() else word, number))
    if not words:
        return []
    size = min(SHINGLE, len(words))
    return [
        Unit("t:" + " ".join(w for w, _ in words[i : i + size]), (words[i][1], words[i + size - 1][1]))
        for i in range(len(words) - size + 1)
    ]


def units(answer):
    """The units of one answer ({"cell_type", "source", ...}, as `answers` keeps it)."""
    source = answer.get("source", "")
    if not isinstance(source, str) or not source.strip():
        return []
    if answer.get("cell_type") != "code":
        return _text_units(source)
    try:
        return _code_units(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return _line_units(source)


# -- a class --


@dataclass
class CellMatch:
    grade_id: str
    score: float  # weighted Jaccard index of this cell's units
    lines_a: list  # lines of a's answer holding a shared unit
    lines_b: list
    source_a: str
    source_b: str
    cell_type: str


@dataclass
class CodePair:
    a: str
    b: str
    score: float  # weighted Jaccard index over all answer cells
    shared: float  # the weight both have
    cells: list = field(default_factory=list)  # CellMatch of the cells that share anything, best first


def _weights(class_units):
    """{grade_id: {unit key: log(N / n)}} from {student: {grade_id: [Unit]}}, where n of the N students who answered
    the cell have the unit; 0 when more than half of them have it (it is what the question makes everybody write)."""
    seen = {}
    for answers in class_units.values():
        for grade_id, found in answers.items():
            if found:
                counts = seen.setdefault(grade_id, [0, Counter()])
                counts[0] += 1
                counts[1].update({u.key for u in found})
    return {
        grade_id: {key: math.log(students / n) if 2 * n <= students else 0.0 for key, n in df.items()}
        for grade_id, (students, df) in seen.items()
    }


def _mass(found, weights):
    counts = Counter(u.key for u in found)
    return counts, sum(weights.get(k, 0.0) * c for k, c in counts.items())


def compare(class_answers, evidence_from=1.0, detail=5):
    """[CodePair] of every two students of {student: {grade_id: answer}}, best first; the pairs scoring
    `evidence_from` or more, and at least the first `detail`, come with their cells' evidence. Students without an
    answer are left out."""
    class_units = {
        student: {grade_id: units(answer) for grade_id, answer in answers.items() if isinstance(answer, dict)}
        for student, answers in class_answers.items()
    }
    weights = _weights(class_units)
    counted = {
        student: {gid: _mass(found, weights.get(gid, {})) for gid, found in answers.items() if found}
        for student, answers in class_units.items()
    }
    students = sorted(s for s in counted if counted[s])
    totals = {s: sum(mass for _, mass in counted[s].values()) for s in students}
    index = {}  # (grade_id, key) -> [(student, count)], for the units that count
    for s in students:
        for gid, (counts, _) in counted[s].items():
            for key, count in counts.items():
                if weights[gid].get(key, 0.0) > 0:
                    index.setdefault((gid, key), []).append((s, count))
    shared = Counter()
    for (gid, key), holders in index.items():
        weight = weights[gid][key]
        for x in range(len(holders)):
            for y in range(x + 1, len(holders)):
                (a, ca), (b, cb) = sorted((holders[x], holders[y]))
                shared[(a, b)] += weight * min(ca, cb)
    pairs = []
    for x, a in enumerate(students):
        for b in students[x + 1 :]:
            both = shared.get((a, b), 0.0)
            union = totals[a] + totals[b] - both
            pairs.append(CodePair(a, b, both / union if union > 0 else 0.0, both))
    pairs.sort(key=lambda p: (-p.score, -p.shared, p.a, p.b))
    for rank, pair in enumerate(pairs):
        if rank >= detail and pair.score < evidence_from:
            break
        pair.cells = _evidence(pair, class_answers, class_units, weights)
    return pairs


def _evidence(pair, class_answers, class_units, weights):
    matches = []
    for gid in sorted(set(class_units[pair.a]) & set(class_units[pair.b])):
        ua, ub = class_units[pair.a][gid], class_units[pair.b][gid]
        ca, cb = Counter(u.key for u in ua), Counter(u.key for u in ub)
        w = weights.get(gid, {})
        both = sum(w.get(k, 0.0) * min(ca[k], cb[k]) for k in ca.keys() & cb.keys())
        union = sum(w.get(k, 0.0) * c for k, c in ca.items()) + sum(w.get(k, 0.0) * c for k, c in cb.items()) - both
        if both <= 0:
            continue
        keys = {k for k in ca.keys() & cb.keys() if w.get(k, 0.0) > 0}
        matches.append(
            CellMatch(
                gid,
                both / union if union > 0 else 0.0,
                _lines(ua, keys),
                _lines(ub, keys),
                class_answers[pair.a][gid].get("source", ""),
                class_answers[pair.b][gid].get("source", ""),
                class_answers[pair.a][gid].get("cell_type", "code"),
            )
        )
    return sorted(matches, key=lambda m: (-m.score, m.grade_id))


def _lines(found, keys):
    lines = set()
    for unit in found:
        if unit.key in keys:
            lines.update(range(unit.lines[0], unit.lines[1] + 1))
    return sorted(lines)
