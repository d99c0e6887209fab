"""Behaviour pinned by bytes: a tiny model trained on a synthetic trotting-and-sitting dog,
and every command that writes motion run on it with fixed seeds. The digests below were
computed before the package was reorganised into layers (issue 23); a refactor that
changes any output byte fails here.

Floating-point bytes depend on the CPU's kernels and on the thread count, so the run uses
one thread and the digests are keyed by torch's version and CPU capability. On a machine
with no digests for its key the test fails and prints the digests it computed: they are
to be pinned only from a commit whose behaviour is trusted (set SINMDM_PIN=1 to print
them as a dict)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from creatures import dog_motion

from sinmdm.anim.bvh import write_bvh
from sinmdm.apps.preview import write_preview
from sinmdm.cli.app import run as cli
from sinmdm.model.runs import Run
from sinmdm.model.settings import TrainSettings
from sinmdm.model.train import train

TINY = dict(steps=40, width=32, blocks=2, batch=8, crop=32, warmup=5, checkpoint_seconds=1e9)

PINNED: dict[str, dict[str, str]] = {
    'torch 2.13.0 AVX2': {
        'model.pt': '218b50c04d65e125',
        'c/compose_0.bvh': 'cccea73888003c0d',
        'convert.bvh': '10f0ae0e7d00fbdc',
        'e/expand_0.bvh': '9f72191b7ddc927a',
        'g/generate_0.bvh': 'e71a782f1035903a',
        'g/generate_1.bvh': '51dbb6153509ab0b',
        'i/inbetween_0.bvh': '358946a17693fdaf',
        'k/inbetween_0.bvh': '7a24730234aeb294',
        'l/generate_0.bvh': 'a3f2725f50357b79',
        't/transfer_0.bvh': '8c8460515755fdbc',
        'w/crowd.json': 'e2fe2083bba000eb',
        'w/crowd_0.bvh': '218fb97b687c657e',
        'w/crowd_1.bvh': '8721c83d97895914',
        'w/crowd_2.bvh': '20bd681041e3aa57',
        'preview.bvh': 'f54a403dae524c89',
    },
    # Pinned on 2026-12-01 (this machine, AVX-512) from commit 5068a4c, the last that landed
    # with CI passed; the same outputs as the AVX2 digests' commit, on another CPU.
    'torch 2.13.0 AVX512': {
        'model.pt': '2383239a20d566f0',
        'c/compose_0.bvh': 'd7d48a1928ba2729',
        'convert.bvh': 'c592b34216b7b027',
        'e/expand_0.bvh': '3fb2fd674b42803c',
        'g/generate_0.bvh': '9c596a9e1860f050',
        'g/generate_1.bvh': '4c1295616090aa52',
        'i/inbetween_0.bvh': '987713e3c89d7d42',
        'k/inbetween_0.bvh': '90c15b934d9664cd',
        'l/generate_0.bvh': '9cc58861261530ef',
        't/transfer_0.bvh': '358da613002e218e',
        'w/crowd.json': '0c6c88036c814411',
        'w/crowd_0.bvh': 'd78667b5e7c877ba',
        'w/crowd_1.bvh': '9608a92f2bea7a2c',
        'w/crowd_2.bvh': 'e0acc9c6eacfc663',
        'preview.bvh': '4738dc451dbc6552',
    },
}


def _key() -> str:
    return f"torch {torch.__version__.split('+')[0]} {torch.backends.cpu.get_cpu_capability()}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def _weights_digest(path: Path) -> str:
    """The checkpoint's tensors, not the zip container (whose layout torch may change)."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = state["model"] if "model" in state else state
    h = hashlib.sha256()
    for name in sorted(model):
        h.update(name.encode())
        h.update(model[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def _run(*args: object) -> None:
    code = cli([str(a) for a in args])
    assert code == 0, args


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, str]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _make(tmp_path_factory.mktemp("pinned"))
    finally:
        torch.set_num_threads(threads)


def _make(folder: Path) -> dict[str, str]:
    clip, content = folder / "dog.bvh", folder / "content.bvh"
    write_bvh(clip, dog_motion(2.0, 1.0))
    write_bvh(content, dog_motion(1.5, 1.5))
    run_dir, finished = train(clip, folder / "run", TrainSettings(**TINY), device=torch.device("cpu"))
    assert finished
    write_preview(Run.load(run_dir, torch.device("cpu")), seed=0)
    out = folder / "out"
    common = ["--model", run_dir, "--steps", "6", "--seed", "7", "--out"]
    _run("convert", clip, out / "convert.bvh", "--fps", "20")
    _run("generate", *common, out / "g", "--n", "2", "--length", "150")
    _run("generate", *common, out / "l", "--length", "90", "--loop")
    _run("expand", *common, out / "e", "--length", "160")
    _run("inbetween", *common, out / "i", "--prefix", "0.25", "--suffix", "0.75")
    _run("inbetween", *common, out / "k", "--keyframes", "0,60,1.0")
    _run("compose", *common, out / "c", "--keep", "Hips,subtree:HindLeftUpper,subtree:HindRightUpper")
    _run("transfer", content, *common, out / "t", "--strength", "0.5")
    _run("crowd", *common, out / "w", "--n", "3", "--length", "60")
    digests = {"model.pt": _weights_digest(run_dir / "model.pt")}
    for path in sorted(p for p in [run_dir / "preview.bvh", *out.rglob("*")] if p.is_file()):
        data = path.read_bytes().replace(str(run_dir).encode(), b"RUN")  # crowd.json names the model's folder
        digests[path.relative_to(run_dir if path.parent == run_dir else out).as_posix()] = _digest(data)
    return digests


def test_every_command_writes_the_pinned_bytes(outputs):
    if os.environ.get("SINMDM_PIN"):
        print(f"\n    {_key()!r}: {{\n" + "".join(f"        {k!r}: {v!r},\n" for k, v in outputs.items()) + "    },")
    pinned = PINNED.get(_key())
    assert pinned is not None, f"no digests pinned for {_key()}; computed: {outputs}"
    changed = {k: (pinned.get(k), v) for k, v in outputs.items() if pinned.get(k) != v}
    missing = sorted(set(pinned) - set(outputs))
    assert not changed and not missing, f"changed: {changed}; missing: {missing}"


def test_the_digests_cover_every_motion_command(outputs):
    """A command left out of the pin would let a refactor change it unseen."""
    names = {Path(k).parts[0] if "/" in k else k for k in outputs}
    assert {"model.pt", "preview.bvh", "convert.bvh", "g", "l", "e", "i", "k", "c", "t", "w"} <= names
    assert len(outputs) >= 14 and len(set(outputs.values())) == len(outputs)  # every file differs
    assert np.all([len(v) == 16 for v in outputs.values()])
