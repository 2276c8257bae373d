"""The grader's side of one run of one test's probe in a student's kernel: its folder, made just before the probe
cell runs, the stand-ins' calls answered while it runs, read back as soon as the cell stops, then removed; and its
verdict against the values the reference drew for the same seed."""

import shutil


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made just before the probe cell runs, under
    a random name no earlier cell could know, read back as soon as the cell stops, then removed.

    `seed`: the seed of this test's `probe.rng` for this submission; `answer`: the reference kernel's answer to a
    stand-in call (`ReferenceKernel.answer`), for a test whose probe uses `probe.using_reference`."""

    def __init__(self, grade_id, test, seed, owner=None, answer=None):
        self.grade_id, self.test, self.seed = grade_id, test, seed
        self.owner, self.answer = owner, answer  # owner: the jailed kernel's uid, when not the grader's
        self.directory = None
        self.server = None
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""

    def prepare(self, cell, scratch):
        from cnnlab.grading.probes.channel import CallServer
        from cnnlab.grading.probes.reference import harness_source, new_probe_run

        self.directory = new_probe_run(scratch, self.test["probe"], self.owner)
        cell.source = harness_source(self.directory, self.seed)
        if self.test["stand_ins"] and self.answer is not None:
            self.server = CallServer(
                self.directory, self.grade_id, self.test["stand_ins"], self.answer, self.owner
            ).start()

    def collect(self):
        from cnnlab.grading.jail.files import JailedDataError
        from cnnlab.grading.probes.judge import read_records

        if self.server is not None:
            self.server.stop()
        try:
            self.records, self.error = read_records(self.directory)
        except JailedDataError as error:
            self.unreadable = str(error)
        self.collected = True
        shutil.rmtree(self.directory, ignore_errors=True)

    def verdict(self, expected):
        """The `judge.Verdict` of this run against `expected`, the reference's records for the same seed."""
        from cnnlab.grading.probes.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(self.test["expect"], self.records, expected, self.error, self.grade_id)
