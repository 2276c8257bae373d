"""Grade one submission, outside the batch's process: `python -m cnnlab.grading.worker JOB.json`, or `--serve`.

The batch (`cnnlab.grading.batch`) keeps one worker process per `--workers` slot (`--serve`: job paths on
stdin), kills it at the wall-clock limit (a fresh one takes its place), and reads back `result.json`. Steps, with nbgrader's preprocessors where nbgrader has one:

1. read the notebook (invalid JSON, too large, another lab's notebook: status error);
2. compare its graded and locked cells with the release (edited, deleted, duplicated: status tampered);
   graded cells of another lab are removed (with a note); nbgrader's DeduplicateIds, OverwriteCells
   (add_missing_cells) and CheckCellMetadata put the instructors' cells back, hidden tests included, from the
   gradebook snapshot, and each hidden part's first line prints a random marker (what a test printed before it
   is its visible part's, the only output the feedback shows);
3. run it with nbgrader's Execute in a jailed kernel (`cnnlab.grading.jail`, `cnnlab.grading.sandbox`), in a
   scratch copy of the submission, one cell at a time: a probed test cell as released, then its probe
   (`ProbeRun`, below);
4. score each probed test in this process (`cnnlab.grading.judge`) against the batch's reference
   (`cnnlab.grading.reference`); a test cell scored by the model checks ignores the kernel; any other test cell
   (the kernel-asserts path of labs not yet ported) as nbgrader's `determine_grade` does, less its rule that
   any stderr output fails the cell, behind canary cells, and only cells that actually ran: after a kernel death
   the later cells score 0 (nbgrader issue #427);
5. run the lab's model checks on the submitted `.keras` files, each in its own one-shot jail, judged here
   (`cnnlab.grading.checks`);
6. write the feedback notebook and HTML with the released test cells (hidden tests never shown).

On the kernel-asserts path, a canary cell checks, in the kernel, that failing assertions still fail and errors
still reach the grader (nothing monkeypatched `numpy.testing`, IPython's exception handling or its input
transformers). A canary that does not answer exactly as expected makes the submission `tampered`, and the tests
its kernel judged score 0.
"""

import copy
import json
import os
import re
import secrets
import shutil
import sys
import time
import traceback
from pathlib import Path

import nbformat

from cnnlab.grading.cells import nbg
from cnnlab.grading.feedback import mark_hidden_part
from cnnlab.grading.status import Status, new_result

MAX_NOTEBOOK_MB = 20
KERNEL_NAME = "cnnlab-sandbox"


def canary_source(nonce):
    return (
        "# cnnlab grader canary\n"
        "def __cnnlab_canary():\n"
        "    import numpy.testing\n"
        "    failed = 0\n"
        "    for check in (lambda: numpy.testing.assert_allclose(0.0, 1.0),\n"
        "                  lambda: numpy.testing.assert_array_equal([0], [1]),\n"
        "                  lambda: numpy.testing.assert_equal(0, 1)):\n"
        "        try:\n"
        "            check()\n"
        "        except AssertionError:\n"
        "            failed += 1\n"
        "    shell = get_ipython()\n"
        "    hooks = (len(shell.custom_exceptions), len(shell.input_transformers_cleanup),\n"
        "             len(shell.input_transformers_post), len(shell.ast_transformers))\n"
        f"    print('{nonce}', failed, *hooks)\n"
        "__cnnlab_canary()\n"
        f"raise AssertionError('{nonce}')"
    )


def read_canary(cell, nonce):
    """(failed-assertions, hooks) printed by a canary, or None if the canary did not report as written."""
    text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream" and o.name == "stdout")
    errors = [o for o in cell.outputs if o.output_type == "error"]
    match = re.fullmatch(rf"{nonce} (\d+) (\d+) (\d+) (\d+) (\d+)\n", text)
    if not match or len(errors) != 1 or errors[0].ename != "AssertionError" or errors[0].evalue != nonce:
        return None
    numbers = tuple(int(n) for n in match.groups())
    return numbers[0], numbers[1:]


class Worker:
    def __init__(self, job):
        self.job = job
        self.lab = job["lab"]
        self.student = job["student"]
        self.work = Path(job["work_dir"])
        self.result = new_result(self.student, self.lab, job["max_score"], job["isolation"], slug=job.get("slug"))
        self.result["notes"] += job.get("intake_notes", [])
        self.t0 = time.monotonic()

    # -- results --
    def note(self, status, text):
        self.result["status"] = Status(self.result["status"]).raised_to(status).value
        self.result["notes"].append(text)

    def write(self):
        self.result["timings"]["total"] = round(time.monotonic() - self.t0, 3)
        path = Path(self.job["result"])
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.result, indent=1))
        tmp.replace(path)

    # -- steps --
    def read_notebook(self):
        path = Path(self.job["notebook"])
        size = path.stat().st_size / 2**20
        if size > MAX_NOTEBOOK_MB:
            raise Rejected(f"{path.name} is {size:.0f} MB, over the grader's {MAX_NOTEBOOK_MB} MB: clear the "
                           f"outputs (Kernel > Restart & Clear Output) and submit again")
        try:
            with open(path, encoding="utf-8") as file:
                nb = nbformat.read(file, as_version=4)
        except (nbformat.reader.NotJSONError, json.JSONDecodeError, UnicodeDecodeError) as error:
            raise Rejected(f"{path.name} is not a valid notebook (not readable as JSON: {str(error)[:120]}); "
                           f"download it again from Jupyter (File > Download) and resubmit") from None
        except Exception as error:
            raise Rejected(f"{path.name} is not a valid notebook ({type(error).__name__}: {str(error)[:120]})") from None
        if not isinstance(nb.get("cells"), list):
            raise Rejected(f"{path.name} is not a valid notebook: it has no list of cells")
        return nb

    def check_structure(self, nb, released):
        """Compare graded/locked cells with the release; returns nothing, notes tampering."""
        expected = {nbg(c)["grade_id"]: c for c in released.cells if nbg(c).get("grade_id")}
        seen = {}
        for cell in nb.cells:
            grade_id = nbg(cell).get("grade_id")
            if grade_id:
                seen.setdefault(grade_id, []).append(cell)
        if not set(seen) & set(expected):
            others = ", ".join(sorted(seen)[:4]) or "none"
            raise Rejected(f"this is not a {self.lab} notebook: none of its graded cells ({others}) belongs to "
                           f"{self.lab}; submit {self.job['notebook_name']} from the {self.lab} release")
        unknown = sorted(set(seen) - set(expected))
        if unknown:  # nbgrader's CheckCellMetadata fails on a grade_id the gradebook lacks
            nb.cells = [c for c in nb.cells if not (nbg(c).get("grade_id") in unknown and nbg(c).get("grade"))]
            for cell in nb.cells:
                if nbg(cell).get("grade_id") in unknown:
                    del cell.metadata["nbgrader"]  # an answer or text cell of another lab: kept, as ordinary code
            self.result["notes"].append(f"cells of no {self.lab} test or answer were found ({', '.join(unknown)}; "
                                        f"copied from another lab?): the grader removed their tests and graded the rest")
        from nbgrader.utils import compute_checksum

        edited = []
        for grade_id, cell in expected.items():
            if grade_id not in seen or not nbg(cell).get("locked") or nbg(cell).get("solution"):
                continue
            mine = copy.deepcopy(seen[grade_id][0])
            mine.metadata.nbgrader = copy.deepcopy(cell.metadata.nbgrader)  # compare the text, not the metadata
            if mine.cell_type != cell.cell_type or compute_checksum(mine) != nbg(cell)["checksum"]:
                edited.append(grade_id)
        missing = [g for g in expected if g not in seen and nbg(expected[g]).get("locked")]
        unanswered = [g for g in expected if g not in seen and not nbg(expected[g]).get("locked")]
        if unanswered:
            self.result["notes"].append(f"answer cells are missing ({', '.join(unanswered)}), so their tests fail")
        duplicated = [g for g, cells in seen.items() if len(cells) > 1 and g in expected]
        if edited:
            self.note("tampered", f"read-only cells were edited ({', '.join(edited)}); the grader put the "
                                  f"instructors' versions back before running them")
        if missing:
            self.note("tampered", f"cells were deleted ({', '.join(missing)}); the grader put them back")
        if duplicated:
            self.note("tampered", f"cells appear more than once ({', '.join(duplicated)}); only the first copy counts")

    def sanitize(self, nb):
        """nbgrader's sanitizing preprocessors, with the gradebook snapshot: restores the instructors' cells."""
        from nbconvert.exporters.exporter import ResourcesDict
        from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells
        from traitlets.config import Config

        config = Config()
        config.OverwriteCells.add_missing_cells = True
        resources = ResourcesDict(nbgrader={"notebook": Path(self.job["notebook_name"]).stem,
                                            "assignment": self.lab, "db_url": f"sqlite:///{self.job['gradebook']}"})
        for preprocessor in (ClearOutput, DeduplicateIds, OverwriteCells, CheckCellMetadata):
            nb, resources = preprocessor(config=config).preprocess(nb, resources)
            for cell in nb.cells:  # DeduplicateIds leaves `nbgrader: {}` on the copies, which later steps reject
                if cell.get("metadata", {}).get("nbgrader") == {}:
                    del cell.metadata["nbgrader"]
        return nb

    def scratch(self):
        """The kernel's working directory: a copy of the submission's files, nothing of the grader's."""
        scratch = Path(self.job["scratch"])
        if scratch.exists():
            shutil.rmtree(scratch)
        scratch.mkdir(parents=True)
        for name, source in self.job["files"].items():
            shutil.copy(source, scratch / name)
        mpl = Path(self.job["mpl_cache"])
        if mpl.is_dir():
            shutil.copytree(mpl, scratch / ".mpl")
        return scratch

    def kernel_uid(self):
        """The uid the jailed kernel runs as outside its namespace, when it is not this process's (a root grader)."""
        from cnnlab.grading.jail import Jail

        jail = Jail.from_json(self.job["jail"])
        return jail.uid if jail.mode == "bwrap-root" else None

    def plan(self, nb, probed, checked):
        """The cells to run: (cells, {id(inserted cell): (kind, nonce)}, {id(probe cell): ProbeRun}).

        A probed test cell runs as released (its visible tests, for the student's feedback), then a probe cell;
        a model-checked one as released; any other test cell (the kernel-asserts path) whole, with a canary
        before it, and a baseline canary before the first cell."""
        legacy = any(nbg(c).get("grade") and nbg(c).get("grade_id") not in set(probed) | checked for c in nb.cells)
        cells, inserted, probe_cells = [], {}, {}
        for cell in nb.cells:
            grade_id = nbg(cell).get("grade_id") if nbg(cell).get("grade") else None
            if grade_id in probed or grade_id in checked:
                cell.source = self.visible_sources[grade_id]
            elif legacy and (grade_id or not cells):
                nonce = "canary" + secrets.token_hex(8)
                canary = nbformat.v4.new_code_cell(canary_source(nonce))
                inserted[id(canary)] = ("canary", nonce)
                cells.append(canary)
            cells.append(cell)
            if grade_id in probed:
                probe = nbformat.v4.new_code_cell("")
                inserted[id(probe)] = ("probe", grade_id)
                probe_cells[id(probe)] = ProbeRun(probed[grade_id], self.kernel_uid())
                cells.append(probe)
        nb.cells = cells
        return nb, inserted, probe_cells

    def execute(self, nb, scratch, probe_cells):
        """Run the notebook cell by cell; returns (executed indices, died_at, timed out, stuck_at).

        Each cell of `probe_cells` ({id(cell): ProbeRun}) gets its probe's folder just before it runs and has
        its records read back (into the grader's memory) as soon as it stops, before any later cell runs."""
        from jupyter_client.manager import AsyncKernelManager
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
        from nbgrader.preprocessors import Execute
        from traitlets.config import Config

        config = Config()
        config.KernelManager.transport = "ipc"  # Unix sockets: they reach a kernel in its own network namespace
        config.KernelManager.ip = os.path.join(os.environ["JUPYTER_RUNTIME_DIR"], "kernel")  # absolute: cwds differ
        cell_timeout = self.job["cell_timeout"]
        client = Execute(config=config, kernel_name=KERNEL_NAME, timeout=cell_timeout,
                         kernel_manager_class=AsyncKernelManager, startup_timeout=60,
                         resources={"metadata": {"path": str(scratch)}})
        client.nb = nb
        client.shutdown_kernel = "immediate"  # nothing to save in a graded kernel: kill it, do not wait
        client.extra_arguments = ["--HistoryManager.hist_file=:memory:"]
        executed, timed_out, died_at, stuck_at = set(), [], None, None
        timings = self.result["timings"]
        start = time.monotonic()
        first_answer = next((i for i, c in enumerate(nb.cells) if nbg(c).get("solution")), len(nb.cells))
        imports = evaluation = 0.0
        with client.setup_kernel():
            timings["kernel_start"] = round(time.monotonic() - start, 3)
            for index, cell in enumerate(nb.cells):
                if cell.cell_type != "code":
                    continue
                began = time.monotonic()
                run = probe_cells.get(id(cell))
                if run is not None:
                    run.prepare(cell, scratch)
                try:
                    client.execute_cell(cell, index, store_history=run is None)  # probes stay out of In/Out
                except DeadKernelError:
                    died_at = index
                    break
                except CellTimeoutError:  # the kernel did not stop when interrupted: it is lost
                    stuck_at = index
                    break
                finally:
                    if run is not None:
                        run.collect()
                elapsed = time.monotonic() - began
                executed.add(index)
                if elapsed >= cell_timeout - 0.5:
                    timed_out.append(index)
                if index < first_answer:
                    imports += elapsed
                else:
                    evaluation += elapsed
            stopping = time.monotonic()
        timings["kernel_stop"] = round(time.monotonic() - stopping, 3)
        timings["imports"] = round(imports, 3)
        timings["evaluation"] = round(evaluation, 3)
        return executed, died_at, timed_out, stuck_at

    def grade(self):
        job = self.job
        released = nbformat.read(job["released"], as_version=4)
        nb = self.read_notebook()
        self.check_structure(nb, released)
        t = time.monotonic()
        nb = self.sanitize(nb)
        self.marker = "hidden" + secrets.token_hex(8)
        for cell in nb.cells:  # (plan() then runs probed and model-checked test cells without their hidden part)
            if nbg(cell).get("grade") and cell.cell_type == "code":
                cell.source = mark_hidden_part(cell.source, self.marker)
        from cnnlab.grading.labconfig import parse

        config = parse(self.lab, job["config"])
        probed = load_reference(job.get("reference"))
        checked = {spec.grade_id for spec in config.models}
        nb, inserted, probe_cells = self.plan(nb, probed, checked)
        scratch = self.scratch()
        self.result["timings"]["prepare"] = round(time.monotonic() - t, 3)
        executed, died_at, timed_out, stuck_at = self.execute(nb, scratch, probe_cells)

        t = time.monotonic()
        baseline, canary_failed = None, []
        graded = {}
        for index, cell in enumerate(nb.cells):
            if id(cell) in inserted:
                kind, nonce = inserted[id(cell)]
                if kind != "canary" or index not in executed:
                    continue
                report = read_canary(cell, nonce)
                if baseline is None and report is not None:
                    baseline = report
                elif report is None or report != baseline or report[0] != 3:
                    canary_failed.append(index)
                continue
            if not nbg(cell).get("grade") or not nbg(cell).get("grade_id"):
                continue  # DeduplicateIds leaves copies of a graded cell without their grade_id
            grade_id = nbg(cell)["grade_id"]
            points = float(nbg(cell)["points"])
            entry = {"grade_id": grade_id, "points": points, "score": 0.0, "state": "not run", "hidden_failed": False,
                     "visible_failed": False}
            visible_error = index in executed and any(o.get("output_type") == "error" for o in cell.get("outputs", []))
            if grade_id in checked:
                entry["path"] = "model checks"  # scored below from the saved models; the kernel's outcome is ignored
            elif grade_id in probed:
                entry["path"] = "probe"
                run = probe_cells[id(nb.cells[index + 1])]
                if run.collected:
                    verdict = run.verdict(probed[grade_id], grade_id)
                    entry.update(score=points if verdict.passed else 0.0, state="passed" if verdict.passed else "failed",
                                 hidden_failed=not verdict.passed, message="; ".join(verdict.failures)[:1000],
                                 visible_failed=not verdict.passed and visible_error)
            else:
                entry["path"] = "kernel asserts"
                if index in executed:  # nbgrader's determine_grade, but what the cell printed to stderr does not count
                    hidden = visible_error and self.hidden_failure(cell)
                    entry.update(score=0.0 if visible_error else points, state="failed" if visible_error else "passed",
                                 hidden_failed=hidden, visible_failed=visible_error and not hidden)
            graded[grade_id] = entry
        self.result["timings"]["judge"] = round(time.monotonic() - t, 3)
        # the model checks, decisive: each model file measured in its own one-shot jail, judged here
        t = time.monotonic()
        from cnnlab.grading.checks import ModelSandbox, run_model
        from cnnlab.grading.jail import Jail

        sandbox = ModelSandbox(Jail.from_json(job["jail"]), memory_mb=job["limits"]["memory_mb"],
                               timeout_s=job["model_timeout"], processes=job["limits"]["processes"],
                               work=job["model_work"])
        for spec in config.models:
            run = run_model(spec, job["submission_dir"], job.get("data_dir"), job.get("quick", False), sandbox)
            results = run.results
            self.result["models"] += [r.to_json() for r in results]
            self.result.setdefault("model_runs", []).append(run.to_json())
            if spec.grade_id in graded:
                entry = graded[spec.grade_id]
                entry["score"] = float(sum(r.score for r in results))
                entry["state"] = "passed" if all(r.passed for r in results) else "failed"
                entry["hidden_failed"] = False
            if run.outcome != "measured":
                self.note("timeout" if run.outcome == "timeout" else "error", run.reason)
        self.result["timings"]["model_checks"] = round(time.monotonic() - t, 3)
        self.result["cells"] = list(graded.values())
        self.result["score"] = sum(c["score"] for c in graded.values())
        code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and id(c) not in inserted]

        def number(index):
            """The student's number of the code cell at `index`; an inserted cell counts as the one before it."""
            return sum(1 for i in code_cells if i <= index) or 1

        if died_at is not None:
            lost = [c["grade_id"] for c in graded.values() if c["state"] == "not run"]
            self.note("error", f"the kernel died while running cell {number(died_at)}"
                               f" (os._exit, a crash, or running out of memory); the {len(lost)} test cells after "
                               f"it were not run and score 0" + (f" ({', '.join(lost)})" if lost else ""))
        memory = [i for i in executed if id(nb.cells[i]) not in inserted and
                  any(o.get("ename") == "MemoryError" for o in nb.cells[i].get("outputs", []))]
        if memory:
            self.note("error", f"cell {number(memory[0])} ran out of memory (the limit is "
                               f"{job['limits']['memory_mb']} MB); the cells after it ran on")
        if stuck_at is not None:
            lost = [c["grade_id"] for c in graded.values() if c["state"] == "not run"]
            self.note("timeout", f"cell {number(stuck_at)} ran longer than {job['cell_timeout']:g} s and did "
                                 f"not stop when interrupted; the {len(lost)} test cells after it were not run and score 0")
        if timed_out:
            self.note("timeout", f"cell {number(timed_out[0])} ran longer than {job['cell_timeout']:g} s "
                                 f"and was interrupted (an endless loop?); the cells after it ran on")
        refused = [(i, o) for i in sorted(executed) if id(nb.cells[i]) not in inserted
                   for o in nb.cells[i].get("outputs", []) if o.get("output_type") == "error" and
                   o.get("ename") == "PermissionError" and "refused" in str(o.get("evalue", ""))]
        if refused:
            index, output = refused[0]
            self.note("tampered", f"cell {number(index)} tried what the grader forbids ({output.evalue}); "
                                  f"the attempt was refused")
        if canary_failed:
            self.note("tampered", "the notebook changed how tests run (numpy.testing, IPython's error handling or "
                                  "input transformers were replaced), so no test result from its kernel can be "
                                  "trusted: score 0 for the tests its kernel judged")
            for entry in graded.values():
                if entry["path"] == "kernel asserts":  # probed and model-checked tests never trusted the kernel
                    entry["score"], entry["state"] = 0.0, "void"
            self.result["score"] = sum(c["score"] for c in graded.values())
        nb.cells = [c for c in nb.cells if id(c) not in inserted]
        self.result["reason"] = summary(self.result)
        t = time.monotonic()
        self.feedback(nb, released)
        self.result["timings"]["feedback"] = round(time.monotonic() - t, 3)

    def hidden_failure(self, cell):
        """True when the error of a failed test cell comes from its hidden part (line past the visible tests)."""
        visible = len(self.visible_sources.get(nbg(cell)["grade_id"], "").splitlines())
        for output in cell.outputs:
            if output.output_type == "error":
                lines = re.findall(r"line (\d+)", "\n".join(output.get("traceback", [])))
                return not lines or any(int(n) > visible for n in lines[:1])
        return False

    def feedback(self, nb, released):
        """The student's notebook as graded, released test cells only, failures of hidden tests summarised."""
        from cnnlab.grading.feedback import write_feedback

        write_feedback(nb, released, self.result, self.job["feedback_html"], self.job["autograded"], self.marker)

    def run(self):
        released = nbformat.read(self.job["released"], as_version=4)
        self.visible_sources = {nbg(c)["grade_id"]: c.source for c in released.cells if nbg(c).get("grade")}
        try:
            if self.job["notebook"] is None:
                self.result.update(status=self.job.get("missing_status", Status.MISSING.value),
                                   reason=self.job["missing_reason"])
            else:
                self.grade()
        except Rejected as error:
            self.result.update(status="error", score=0.0, cells=[])
            self.result["notes"].append(str(error))
        except Exception as error:  # a grader failure on one submission must not stop the batch
            self.result.update(status=Status.GRADER_ERROR.value, score=0.0)  # graded again on the next run
            self.result["notes"].append(f"the grader failed on this submission ({type(error).__name__}: "
                                        f"{str(error)[:300]}); no score is recorded, an instructor should look at it")
            self.result["traceback"] = traceback.format_exc()[-4000:]
        if not self.result["reason"]:
            self.result["reason"] = summary(self.result)
        if not Path(self.job["feedback_html"]).exists():
            from cnnlab.grading.feedback import write_missing_feedback

            write_missing_feedback(self.result, self.job["feedback_html"])
        self.write()


def summary(result):
    """One sentence for grades.csv: notes first, then what failed (with the model checks' numbers)."""
    checks = {}
    for check in result["models"]:
        if not check["passed"] and "missing" not in check["message"] and "could not be loaded" not in check["message"]:
            checks.setdefault(check["model"], []).append(check["message"])
    failed = [c["grade_id"] for c in result["cells"] if c["state"] in ("failed", "partial", "not run")]
    if checks:
        detail = "; ".join(f"{model}: {', '.join(messages)}" for model, messages in checks.items())
        failed = [f"{failed[0]} ({detail})"] + failed[1:] if failed else [detail]
    score = f"{result['score']:g} of {result['max_score']:g} points"
    parts = list(result["notes"])
    if result["status"] == "graded" and not parts:
        parts.append("all tests passed" if not failed else f"failed: {', '.join(failed)}")
    elif failed and result["status"] != "tampered":
        parts.append(f"failed: {', '.join(failed)}")
    return f"{score}; " + "; ".join(parts) + "."


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made just before the probe cell runs, under
    a random name no earlier cell could know, read back as soon as the cell stops, then removed."""

    def __init__(self, test, owner=None):
        self.test, self.owner = test, owner  # owner: the jailed kernel's uid, when not the grader's
        self.directory = None
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""

    def prepare(self, cell, scratch):
        from cnnlab.grading.reference import harness_source, new_probe_run

        self.directory = new_probe_run(scratch, self.test["probe"], self.owner, self.test.get("calls"))
        cell.source = harness_source(self.directory)

    def collect(self):
        from cnnlab.grading.judge import ProbeDataError, read_records

        try:
            self.records, self.error = read_records(self.directory)
        except ProbeDataError as error:
            self.unreadable = str(error)
        self.collected = True
        shutil.rmtree(self.directory, ignore_errors=True)

    def verdict(self, test, label):
        from cnnlab.grading.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(test["expect"], self.records, test["reference_records"], self.error, label)


_REFERENCES = {}


def load_reference(path):
    """{grade_id: {"probe", "expect", "reference_records"}} of the batch's reference, or {} (no probed test)."""
    if not path:
        return {}
    if path not in _REFERENCES:
        from cnnlab.grading.judge import read_records

        tests = json.loads(Path(path).read_text())["tests"]
        for test in tests.values():
            test["reference_records"], _ = read_records(test["records"])
        _REFERENCES[path] = tests
    return _REFERENCES[path]


class Rejected(Exception):
    """The submission cannot be graded; the message tells the student why and what to do."""


def run_job(path):
    job = json.loads(Path(path).read_text())
    os.environ.clear()
    os.environ.update(job["env"])
    import tempfile

    tempfile.tempdir = None  # this job's TMPDIR, not the one cached by the previous job
    Worker(job).run()


def serve():
    """Grade the jobs whose paths arrive on stdin, one a line, until stdin closes: imports are paid once.

    The batch waits for each job's result.json and kills this process (and with it the kernel) at the limit.
    """
    import cnnlab.grading.checks  # noqa: F401  (the imports every job needs, before the first job)
    import nbgrader.preprocessors  # noqa: F401
    from nbconvert import HTMLExporter  # noqa: F401

    for line in sys.stdin:
        if line.strip():
            run_job(line.strip())
            print(f"done {line.strip()}", flush=True)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        serve()
    else:
        run_job(argv[0])


if __name__ == "__main__":
    main()
