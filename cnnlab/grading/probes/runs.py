"""The grader's side of one run of one test's probe in a student's kernel: its folder, made just before the probe
cell runs, the stand-ins' calls answered while it runs, read back as soon as the cell stops, then removed; and its
verdict against the values the reference drew for the same seed."""

import os


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made in the kernel's folder (through its
    descriptor, `jail.files.Folder`) just before the probe cell runs, under a random name no earlier cell could
    know, read back as soon as the cell stops, then removed (never following anything the kernel put there).

    `seed`: the seed of this test's `probe.rng` for this submission; `answer`: the reference kernel's answer to a
    stand-in call (`ReferenceKernel.answer`), for a test whose probe uses `probe.using_reference`."""

    def __init__(self, grade_id, test, seed, answer=None):
        self.grade_id, self.test, self.seed, self.answer = grade_id, test, seed, answer
        self.home = self.folder = None  # the kernel's folder and the probe's, held open from prepare to collect
        self.server = None
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""
        self.tampered = False  # the kernel moved, removed or replaced the probe's folder

    def prepare(self, cell, home):
        from cnnlab.grading.probes.channel import CallServer
        from cnnlab.grading.probes.reference import harness_source, new_probe_run

        self.home = home
        self.folder = new_probe_run(home, self.test["probe"])
        cell.source = harness_source(self.folder.path, self.seed)
        if self.test["stand_ins"] and self.answer is not None:
            self.server = CallServer(self.folder, self.grade_id, self.test["stand_ins"], self.answer).start()

    def collect(self):
        from cnnlab.grading.jail.files import JailedDataError
        from cnnlab.grading.probes.judge import records_in

        if self.server is not None:
            self.server.stop()
        name = os.path.basename(self.folder.path)
        self.tampered = not self.home.holds(name, self.folder)
        try:
            self.records, self.error = records_in(self.folder.fd)
        except JailedDataError as error:
            self.unreadable = str(error)
        self.collected = True
        self.folder.close()
        self.home.remove(name)

    def verdict(self, expected):
        """The `judge.Verdict` of this run against `expected`, the reference's records for the same seed."""
        from cnnlab.grading.probes.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(self.test["expect"], self.records, expected, self.error, self.grade_id)
