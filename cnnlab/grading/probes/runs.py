"""The grader's side of one run of one test's probe in a student's kernel: its folder, made just before the probe
cell runs, read back as soon as the cell stops, then removed; and its verdict."""

import shutil


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made just before the probe cell runs, under
    a random name no earlier cell could know, read back as soon as the cell stops, then removed."""

    def __init__(self, test, owner=None):
        self.test, self.owner = test, owner  # owner: the jailed kernel's uid, when not the grader's
        self.directory = None
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""

    def prepare(self, cell, scratch):
        from cnnlab.grading.probes.reference import harness_source, new_probe_run

        self.directory = new_probe_run(scratch, self.test["probe"], self.owner, self.test.get("calls"))
        cell.source = harness_source(self.directory)

    def collect(self):
        from cnnlab.grading.jail.files import JailedDataError
        from cnnlab.grading.probes.judge import read_records

        try:
            self.records, self.error = read_records(self.directory)
        except JailedDataError as error:
            self.unreadable = str(error)
        self.collected = True
        shutil.rmtree(self.directory, ignore_errors=True)

    def verdict(self, test, label):
        from cnnlab.grading.probes.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(test["expect"], self.records, test["reference_records"], self.error, label)
