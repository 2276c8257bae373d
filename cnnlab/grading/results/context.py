"""What a lab's outputs need beyond its results, kept by each grading run in `--out/term/<lab>.json`: the LMS
layout of the download, the roster (as the LMS exported it), the lab's rules (due date, Canvas column) and what
intake could not place. `merge` and `export` write the outputs from it without the download."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class LabContext:
    lab: str
    layout: str = "folders"
    roster: dict | None = None  # `intake.roster.Roster.to_json()`: kind, path, header, rows, students
    rules: dict = field(default_factory=dict)  # `course.term.LabRules.to_json()`
    warnings: list = field(default_factory=list)  # intake's: files it could not place, roster mismatches

    def path(self, out):
        return Path(out) / "term" / f"{self.lab}.json"

    def save(self, out):
        path = self.path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
        tmp.replace(path)

    @classmethod
    def load(cls, out, lab):
        """The lab's kept context, or a plain one (an --out written before contexts were kept)."""
        path = cls(lab).path(out)
        if not path.exists():
            return cls(lab)
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def merged(self, other):
        """This context with another shard's: its roster and rules, both shards' warnings."""
        warnings = self.warnings + [w for w in other.warnings if w not in self.warnings]
        return LabContext(self.lab, self.layout, self.roster or other.roster, self.rules or other.rules, warnings)

    @property
    def enrolled(self):
        """The roster's students, key -> {name, ids, ...}, in the roster's order ({} without a roster)."""
        return (self.roster or {}).get("students", {})
