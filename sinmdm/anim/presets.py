"""Rig presets: small TOML files naming a rig's contact joints and body parts.

Built-in presets live in ``skeletons/`` (installed as ``sinmdm.skeletons``); more can be
added with the ``SINMDM_SKELETONS`` environment variable (directories, ``os.pathsep``
separated) or passed as a file. Joint names match without their namespace prefix
(``mixamorig7:Hips`` matches ``Hips``), case-insensitively.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..base.errors import SinmdmError
from .skeleton import Skeleton

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class BodyPart:
    """Joints listed one by one plus whole subtrees, both by name."""

    joints: tuple[str, ...] = ()
    subtrees: tuple[str, ...] = ()

    def resolve(self, skeleton: Skeleton) -> list[int]:
        chosen = {skeleton.index(n) for n in self.joints}
        for root in self.subtrees:
            chosen.update(skeleton.subtree(skeleton.index(root)))
        return sorted(chosen)


@dataclass(frozen=True)
class RigPreset:
    name: str
    description: str
    match: tuple[str, ...]
    contacts: tuple[str, ...]
    parts: dict[str, BodyPart] = field(default_factory=dict)
    source: str = ""

    def matches(self, skeleton: Skeleton) -> bool:
        return all(skeleton.find(n) is not None for n in self.match)

    def contact_points(self, skeleton: Skeleton) -> list[int]:
        """The contacts as points: joint names, or End Sites as ``"<joint> End Site"``."""
        return [skeleton.point_index(n) for n in self.contacts]

    def part(self, skeleton: Skeleton, name: str) -> list[int]:
        if name not in self.parts:
            known = ", ".join(sorted(self.parts)) or "none"
            raise SinmdmError(f"preset '{self.name}' has no body part '{name}' (it has: {known})")
        return self.parts[name].resolve(skeleton)


def load_preset(path: str | Path) -> RigPreset:
    """Read one preset file, with clear errors for a malformed one."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SinmdmError(f"{path}: no such preset file") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SinmdmError(f"{path}: not a valid preset file: {exc}") from None
    try:
        parts = {
            name: BodyPart(tuple(spec.get("joints", ())), tuple(spec.get("subtrees", ())))
            for name, spec in data.get("parts", {}).items()
        }
        return RigPreset(
            name=str(data.get("name", path.stem)),
            description=str(data.get("description", "")),
            match=tuple(data["match"]),
            contacts=tuple(data.get("contacts", ())),
            parts=parts,
            source=str(path),
        )
    except (KeyError, AttributeError, TypeError) as exc:
        raise SinmdmError(f"{path}: preset is missing or mistypes a field ({exc})") from None


def preset_files() -> list[Path]:
    """Built-in presets, then those in the directories of ``SINMDM_SKELETONS``."""
    files = sorted(p for p in _builtin_dir().iterdir() if p.name.endswith(".toml"))
    for folder in filter(None, os.environ.get("SINMDM_SKELETONS", "").split(os.pathsep)):
        files += sorted(Path(folder).glob("*.toml"))
    return files


def _builtin_dir() -> Path:
    try:
        return Path(str(resources.files("sinmdm.skeletons")))
    except ModuleNotFoundError:  # run from a checkout (python cli.py) without installing
        return Path(__file__).resolve().parent.parent / "skeletons"


def all_presets() -> list[RigPreset]:
    return [load_preset(f) for f in preset_files()]


def match_preset(skeleton: Skeleton) -> RigPreset | None:
    """The preset whose required joints all exist; the most specific one if several do."""
    matching = [p for p in all_presets() if p.matches(skeleton)]
    return max(matching, key=lambda p: len(p.match)) if matching else None


def find_preset(name_or_path: str) -> RigPreset:
    """A preset by name (``mixamo``) or by file path."""
    if name_or_path.endswith(".toml") or os.sep in name_or_path:
        return load_preset(name_or_path)
    for preset in all_presets():
        if preset.name == name_or_path:
            return preset
    known = ", ".join(p.name for p in all_presets())
    raise SinmdmError(f"no rig preset named '{name_or_path}' (known: {known})")


def resolve_preset(skeleton: Skeleton, name_or_path: str | None) -> RigPreset | None:
    """The preset asked for (checked against the skeleton), else the one that matches."""
    if not name_or_path:
        return match_preset(skeleton)
    chosen = find_preset(name_or_path)
    missing = [n for n in chosen.match if skeleton.find(n) is None]
    if missing:
        raise SinmdmError(f"preset '{chosen.name}' does not fit this skeleton: no joint {', '.join(missing[:5])}")
    return chosen
