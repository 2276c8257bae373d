"""The grader's side of one run of one test's probe in a student's kernel: its folder, made just before the probe
cell runs, read back as soon as the cell stops, then removed; and its verdict."""

import os


class ProbeRun:
    """One run of one test's probe in the student's kernel: a folder made in the kernel's folder (through its
    descriptor, `jail.files.Folder`) just before the probe cell runs, under a random name no earlier cell could
    know, read back as soon as the cell stops, then removed (never following anything the kernel put there)."""

    def __init__(self, test):
        self.test = test
        self.home = self.folder = None  # the kernel's folder and the probe's, held open from prepare to collect
        self.collected = False
        self.records, self.error, self.unreadable = {}, None, ""
        self.tampered = False  # the kernel moved, removed or replaced the probe's folder

    def prepare(self, cell, home):
        from cnnlab.grading.probes.reference import harness_source, new_probe_run

        self.home = home
        self.folder = new_probe_run(home, self.test["probe"], self.test.get("calls"))
        cell.source = harness_source(self.folder.path)

    def collect(self):
        from cnnlab.grading.jail.files import JailedDataError
        from cnnlab.grading.probes.judge import read_records

        name = os.path.basename(self.folder.path)
        self.tampered = not self.home.holds(name, self.folder)
        try:
            self.records, self.error = read_records(self.folder.path)
        except JailedDataError as error:
            self.unreadable = str(error)
        self.collected = True
        self.folder.close()
        self.home.remove(name)

    def verdict(self, test, label):
        from cnnlab.grading.probes.judge import Verdict, judge

        if self.unreadable:
            return Verdict(False, [f"the probe's data could not be read ({self.unreadable})"], 0)
        return judge(test["expect"], self.records, test["reference_records"], self.error, label)
