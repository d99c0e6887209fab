"""glTF output, read back with pygltflib: the skeleton's nodes, the animation that
recovers the BVH's channels, the skin that binds the bone mesh to the rest pose, the
Z-up turn and the scale, and clear errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import synthetic_bvh
from pygltflib import GLTF2

from sinmdm.anim.bvh import motion_to_channels, parse_bvh
from sinmdm.anim.gltf import write_gltf
from sinmdm.anim.motion import Motion
from sinmdm.anim.rotations import quaternion_to_matrix
from sinmdm.base.errors import SinmdmError

DTYPES = {5126: "<f4", 5123: "<u2", 5125: "<u4"}
WIDTHS = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}


def array(gltf: GLTF2, index: int) -> np.ndarray:
    """An accessor's data, (count, width)."""
    accessor = gltf.accessors[index]
    view = gltf.bufferViews[accessor.bufferView]
    blob = gltf.binary_blob()
    raw = np.frombuffer(blob[view.byteOffset : view.byteOffset + view.byteLength], dtype=DTYPES[accessor.componentType])
    return raw.reshape(accessor.count, WIDTHS[accessor.type]).astype(np.float64)


def motion(up: str | None = None, frames: int = 20) -> Motion:
    return parse_bvh(synthetic_bvh(frames, seed=4, smooth=True).encode(), up=up)


def recovered(gltf: GLTF2, source: Motion, wrapper: int = 0) -> Motion:
    """The motion the file's animation plays, on the source's skeleton."""
    rotations = np.broadcast_to(np.eye(3), source.rotations.shape).copy()
    translations = np.broadcast_to(source.skeleton.offsets, source.translations.shape).copy()
    animation = gltf.animations[0]
    for channel in animation.channels:
        values = array(gltf, animation.samplers[channel.sampler].output)
        joint = channel.target.node - wrapper - 1
        if channel.target.path == "rotation":
            rotations[:, joint] = quaternion_to_matrix(values)
        else:
            translations[:, joint] = values
    times = array(gltf, animation.samplers[0].input)[:, 0]
    return Motion(source.skeleton, rotations, translations, float(times[1] - times[0]))


@pytest.mark.parametrize("suffix", [".glb", ".gltf"])
def test_the_animation_recovers_the_bvh_channels(tmp_path: Path, suffix: str) -> None:
    source = motion()
    path = tmp_path / f"creature{suffix}"
    write_gltf(path, [source], ["creature"])
    gltf = GLTF2().load(str(path))
    if suffix == ".gltf":
        gltf.convert_buffers(__import__("pygltflib").BufferFormat.BINARYBLOB)
    skeleton = source.skeleton
    names = [n.name for n in gltf.nodes[1 : 1 + skeleton.n_points]]
    assert gltf.nodes[0].name == "creature" and names == list(skeleton.point_names)
    offsets = np.array([n.translation for n in gltf.nodes[1 : 1 + skeleton.n_points]])
    assert np.allclose(offsets, np.concatenate([skeleton.offsets, skeleton.end_site_offsets]))
    for j, parent in enumerate(skeleton.parents[1:], 1):
        assert 1 + j in gltf.nodes[1 + parent].children
    back = recovered(gltf, source)
    assert back.frame_time == pytest.approx(source.frame_time, rel=1e-5)
    channels, original = motion_to_channels(back), motion_to_channels(source)
    assert np.abs(channels - original).max() < 1e-3  # degrees and units, through float32


def test_the_skin_binds_the_mesh_to_the_rest_pose_in_any_axes_and_scale(tmp_path: Path) -> None:
    for up, scale in (("y", 1.0), ("z", 0.01)):
        source = motion(up=up)
        path = tmp_path / f"{up}.glb"
        write_gltf(path, [source], ["c"], scale=scale)
        gltf = GLTF2().load(str(path))
        wrapper = gltf.nodes[0]
        turn = np.eye(3) if wrapper.rotation is None else quaternion_to_matrix(np.array(wrapper.rotation))
        assert np.allclose(turn, source.skeleton.frame)
        assert (wrapper.scale or [1.0] * 3) == pytest.approx([scale] * 3)
        # Each joint's rest transform in the scene, from the nodes, times its inverse bind matrix: identity.
        skin = gltf.skins[0]
        inverse = array(gltf, skin.inverseBindMatrices).reshape(-1, 4, 4).transpose(0, 2, 1)
        rest = source.skeleton.rest_positions()[: source.skeleton.n_joints] * scale
        bound = np.zeros((len(skin.joints), 4, 4))
        bound[:, :3, :3] = scale * turn
        bound[:, :3, 3] = rest
        bound[:, 3, 3] = 1.0
        assert np.allclose(bound @ inverse, np.eye(4), atol=1e-5)
        # The mesh sits on the skeleton: its vertices span the rest pose's extent.
        mesh_node = next(n for n in gltf.nodes if n.mesh is not None)
        assert mesh_node.skin == 0 and mesh_node.rotation is None and mesh_node.translation is None
        vertices = array(gltf, gltf.meshes[0].primitives[0].attributes.POSITION)
        points = source.skeleton.rest_positions() * scale
        assert np.allclose(vertices.min(axis=0), points.min(axis=0), atol=0.2 * scale * source.skeleton.size)
        assert np.allclose(vertices.max(axis=0), points.max(axis=0), atol=0.2 * scale * source.skeleton.size)


def test_several_motions_are_one_scene_each_with_its_animation(tmp_path: Path) -> None:
    a, b = motion(frames=12), motion(frames=30)
    write_gltf(tmp_path / "two.glb", [a, b], ["a", "b"], mesh=False)
    gltf = GLTF2().load(str(tmp_path / "two.glb"))
    assert [anim.name for anim in gltf.animations] == ["a", "b"] and not gltf.meshes and not gltf.skins
    assert [gltf.nodes[i].name for i in gltf.scenes[0].nodes] == ["a", "b"]
    second = gltf.scenes[0].nodes[1]
    assert all(second < c.target.node <= second + b.skeleton.n_joints for c in gltf.animations[1].channels)


def test_bad_outputs_fail_clearly(tmp_path: Path) -> None:
    with pytest.raises(SinmdmError, match="ends in .glb or .gltf"):
        write_gltf(tmp_path / "x.fbx", [motion()], ["x"])
    with pytest.raises(SinmdmError, match="scale"):
        write_gltf(tmp_path / "x.glb", [motion()], ["x"], scale=0.0)
