"""How sinmdm reads each real clip's body: up axis, size and contacts, and the same clip
turned into a Z-up file.

    python benchmarks/bodies.py [FILE.bvh ...] [--json FILE]

For every clip in the real data (and any FILE given) it prints the detected up axis and
why, the rest pose's height beside the body size measured from the motion, the contacts
detection finds (and the rig preset's, where one matches), and how exactly the clip
round-trips through write and read (world positions of joints and End Sites, in body
sizes). Then it writes the clip as a Z-up file (every offset, translation and rotation
turned so Z is vertical) and reads that back: the up axis detected there, and with
--up z given, whether the size, contacts and world positions are those of the Y-up file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import data_dir, write_rows  # puts the checkout on sys.path first

from sinmdm.anim.body import detect_up
from sinmdm.anim.bvh import read_bvh, write_bvh
from sinmdm.anim.contacts import detect_contacts
from sinmdm.anim.motion import Motion
from sinmdm.anim.presets import match_preset
from sinmdm.base.errors import SinmdmError

TO_Z_UP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])  # (x, y, z) -> (x, -z, y)


def z_up(motion: Motion) -> Motion:
    sk = motion.skeleton
    skeleton = replace(sk, offsets=sk.offsets @ TO_Z_UP.T, end_site_offsets=sk.end_site_offsets @ TO_Z_UP.T, up="y", measured_size=0.0)
    return Motion(skeleton, TO_Z_UP @ motion.rotations @ TO_Z_UP.T, motion.translations @ TO_Z_UP.T, motion.frame_time)


def short(names: list[str]) -> str:
    return ", ".join(n.rsplit(":", 1)[-1] for n in names) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, help="more clips (default: only the real data)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    files = sorted(data_dir().rglob("*.bvh")) + list(args.files)
    scratch = Path(tempfile.mkdtemp(prefix="sinmdm-bodies-"))
    rows = []
    print("| clip | up (why) | rest height → size | detected contacts | preset contacts | round trip | Z-up copy: detected; with --up z |")
    print("|---|---|---|---|---|---|---|")
    for path in files:
        try:
            motion = read_bvh(path)
        except SinmdmError as exc:
            print(f"| {path.name} | refused: {exc} | | | | | |")
            continue
        sk = motion.skeleton
        model = motion.at_training_rate()
        found = detect_contacts(model)
        preset = match_preset(sk)
        write_bvh(scratch / "again.bvh", motion)
        again = read_bvh(scratch / "again.bvh")
        trip = float(np.abs(again.world_points() - motion.world_points()).max() / sk.size)
        write_bvh(scratch / "z.bvh", z_up(motion))
        detected = read_bvh(scratch / "z.bvh").skeleton.up
        given = read_bvh(scratch / "z.bvh", up="z")
        same = (
            abs(given.skeleton.size / sk.size - 1) < 1e-6
            and detect_contacts(given.at_training_rate()) == found
            and np.abs(given.world_points() - motion.world_points()).max() < 1e-5 * sk.size
        )
        row = {
            "clip": path.name, "up": sk.up, "why": detect_up(motion)[1], "rest_height": sk.rest_height, "size": sk.size,
            "contacts": [sk.point_names[p] for p in found],
            "preset": preset.name if preset else None,
            "preset_contacts": [sk.point_names[p] for p in preset.contact_points(sk)] if preset else [],
            "round_trip_sizes": trip, "z_copy_detected": detected, "z_copy_same_with_up_z": bool(same),
        }
        rows.append(row)
        print(
            f"| {path.name} | {sk.up.upper()} ({row['why']}) | {sk.rest_height:.4g} → {sk.size:.4g} | {short(row['contacts'])} "
            f"| {short(row['preset_contacts']) if preset else '(no preset)'} | {trip:.1e} "
            f"| {detected.upper()}; {'same size, contacts and world' if same else '**differs**'} |",
            flush=True,
        )
    write_rows(args.json, rows)
    sys.exit(0)


if __name__ == "__main__":
    main()
