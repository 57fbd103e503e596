"""Check a model's ``requirements.txt`` against what is installed, without installing anything.

Why: a model directory says what it needs; a server that lacks it should refuse the model at
registration with the names, rather than fail on the first request. Nothing is ever installed
at run time (that would let a registration change the server's code).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from modelport.errors import InvalidInput


@dataclass
class RequirementsReport:
    missing: list[str] = field(default_factory=list)
    #: ``name: installed X, wants SPEC`` for installed packages outside the requested range
    mismatched: list[str] = field(default_factory=list)


def read_requirements(path: Path) -> list[Requirement]:
    """Requirements of a pip ``requirements.txt``; options (``-r``, ``--index-url``) are skipped."""
    out: list[Requirement] = []
    for number, raw in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        line = raw.split(" #")[0].strip()
        if not line or line.startswith(("#", "-")):
            continue
        try:
            out.append(Requirement(line))
        except InvalidRequirement:
            raise InvalidInput(f"{path.name} line {number} is not a requirement: {line[:80]!r}") from None
    return out


def check_requirements(path: Path, *, ignore: frozenset[str] = frozenset()) -> RequirementsReport:
    """Which requirements of ``path`` are missing or installed at another version."""
    report = RequirementsReport()
    for req in read_requirements(path):
        name = canonicalize_name(req.name)
        if name in ignore or (req.marker is not None and not req.marker.evaluate()):
            continue
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            report.missing.append(req.name)
            continue
        if req.specifier and not req.specifier.contains(installed, prereleases=True):
            report.mismatched.append(f"{req.name}: installed {installed}, wants {req.specifier}")
    return report


def refuse_missing(report: RequirementsReport, *, enforce_versions: bool) -> None:
    """400 naming what is missing (and, when ``enforce_versions``, what is at another version)."""
    problems = [f"missing: {', '.join(report.missing)}"] if report.missing else []
    if enforce_versions and report.mismatched:
        problems.append(f"wrong versions: {'; '.join(report.mismatched)}")
    if problems:
        raise InvalidInput(
            f"the model's requirements.txt is not satisfied on this server ({' / '.join(problems)}); "
            "install them where modelport runs (nothing is installed at run time)"
        )
