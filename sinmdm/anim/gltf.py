"""glTF 2.0 output (``.glb``, or ``.gltf`` with the data embedded): the skeleton as
nodes, a skin over them, one animation per motion and, optionally, a simple skinned mesh
so that any viewer shows the creature moving. The container is pygltflib's; the
skeleton, animation and mesh data are ours.

Layout of one motion: a wrapper node named after it turns the file's axes into glTF's
Y-up (the skeleton's up-axis frame) and scales its units (``scale``; glTF means metres,
but the clip's units are kept unless asked); under it, one node per joint with the BVH's
name and rest offset (End Sites as leaf nodes named ``<joint> End Site``). Each joint's
animated rotation and, where the BVH has position channels, translation are sampled at
the clip's frame times, so a joint's local transform is exactly the BVH's at every
frame. The mesh: per bone (a joint to each child joint or End Site), a four-sided
double pyramid skinned rigidly to the joint the bone hangs from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from ..base.atomic import atomic_path
from ..base.errors import SinmdmError
from .motion import Motion
from .rotations import matrix_to_quaternion

FLOAT, UNSIGNED_SHORT, UNSIGNED_INT = 5126, 5123, 5125
ARRAY_BUFFER, ELEMENT_ARRAY_BUFFER = 34962, 34963
BONE_WIDTH = 0.12  # a bone's shape is this wide, as a fraction of its length
BONE_WAIST = 0.25  # its widest point, this far along from the joint
FORMATS = ("bvh", "glb", "gltf")


@dataclass
class _Builder:
    """The glTF being built: one binary blob, and the objects that point into it."""

    blob: bytearray = field(default_factory=bytearray)
    views: list = field(default_factory=list)
    accessors: list = field(default_factory=list)
    nodes: list = field(default_factory=list)

    def accessor(self, data: np.ndarray, kind: str, component: int = FLOAT, target: int | None = None,
                 bounds: bool = False) -> int:
        """Append ``data`` (count, ...) as a tightly packed buffer view and its accessor."""
        from pygltflib import Accessor, BufferView

        dtype = {FLOAT: "<f4", UNSIGNED_SHORT: "<u2", UNSIGNED_INT: "<u4"}[component]
        raw = np.ascontiguousarray(data, dtype=dtype)
        self.blob.extend(b"\0" * (-len(self.blob) % 4))  # every view starts 4-byte aligned
        self.views.append(BufferView(buffer=0, byteOffset=len(self.blob), byteLength=raw.nbytes, target=target))
        self.blob.extend(raw.tobytes())
        flat = raw.reshape(len(raw), -1)
        extra = {"min": flat.min(axis=0).tolist(), "max": flat.max(axis=0).tolist()} if bounds else {}
        self.accessors.append(Accessor(bufferView=len(self.views) - 1, componentType=component, count=len(raw),
                                       type=kind, **extra))
        return len(self.accessors) - 1


def write_gltf(path: str | Path, motions: Sequence[Motion], names: Sequence[str], *, scale: float = 1.0,
               mesh: bool = True) -> None:
    """Write ``motions`` (each under its own wrapper node named ``names[i]``, with its own
    animation) as one scene: a ``.glb``, or a ``.gltf`` with its buffer embedded."""
    from pygltflib import GLTF2, Asset, Buffer, Scene

    path = Path(path)
    if path.suffix.lower() not in (".glb", ".gltf"):
        raise SinmdmError(f"{path}: a glTF file ends in .glb or .gltf")
    if not (np.isfinite(scale) and scale > 0):
        raise SinmdmError(f"--scale must be a positive number, got {scale}")
    build, animations, skins, meshes, roots = _Builder(), [], [], [], []
    for motion, name in zip(motions, names):
        wrapper = _skeleton_nodes(build, motion, name, scale)
        roots.append(wrapper)
        animations.append(_animation(build, motion, name, wrapper))
        if mesh:
            skins.append(_skin(build, motion, wrapper, scale))
            meshes.append(_bone_mesh(build, motion, name, scale))
            roots.append(_mesh_node(build, name, len(meshes) - 1, len(skins) - 1))
    gltf = GLTF2(asset=Asset(generator="sinmdm", version="2.0"), scene=0, scenes=[Scene(nodes=roots)],
                 nodes=build.nodes, accessors=build.accessors, bufferViews=build.views, animations=animations,
                 skins=skins, meshes=meshes, buffers=[Buffer(byteLength=len(build.blob))])
    gltf.set_binary_blob(bytes(build.blob))
    try:
        with atomic_path(path) as tmp:
            if path.suffix.lower() == ".glb":
                gltf.save_binary(str(tmp))
            else:
                from pygltflib import BufferFormat

                gltf.convert_buffers(BufferFormat.DATAURI)
                gltf.save_json(str(tmp))
    except OSError as exc:
        raise SinmdmError(f"{path}: cannot write: {exc.strerror or exc}") from None


def _skeleton_nodes(build: _Builder, motion: Motion, name: str, scale: float) -> int:
    """The wrapper node and, under it, a node per joint and End Site at its rest offset;
    returns the wrapper's index (joints follow it, then End Sites, in the BVH's order)."""
    from pygltflib import Node

    skeleton = motion.skeleton
    wrapper = len(build.nodes)
    first = wrapper + 1
    turn = matrix_to_quaternion(skeleton.frame)  # file axes -> Y-up, scalar last as glTF wants
    build.nodes.append(Node(name=name, children=[first + int(r) for r in np.flatnonzero(skeleton.parents < 0)],
                            rotation=None if skeleton.up == "y" else turn.tolist(),
                            scale=None if scale == 1.0 else [scale] * 3))
    offsets = np.concatenate([skeleton.offsets, skeleton.end_site_offsets])
    parents = skeleton.point_parents
    for point, point_name in enumerate(skeleton.point_names):
        children = [first + int(c) for c in np.flatnonzero(parents == point)] if point < skeleton.n_joints else []
        build.nodes.append(Node(name=point_name, translation=offsets[point].tolist(), children=children or None))
    return wrapper


def _animation(build: _Builder, motion: Motion, name: str, wrapper: int):  # noqa: ANN202 - a pygltflib Animation
    """The motion's animation: every rotating joint's rotation and every positioned
    joint's translation at each frame time."""
    from pygltflib import Animation, AnimationChannel, AnimationChannelTarget, AnimationSampler

    skeleton = motion.skeleton
    times = build.accessor((np.arange(motion.n_frames) * motion.frame_time)[:, None], "SCALAR", bounds=True)
    quats = matrix_to_quaternion(motion.rotations)  # (F, J, 4) x, y, z, w
    # Neighbouring samples on the same side, so viewers interpolate the short way.
    flip = np.cumprod(np.where(np.sum(quats[1:] * quats[:-1], axis=-1) < 0, -1.0, 1.0), axis=0)
    quats[1:] *= flip[..., None]
    samplers, channels = [], []
    tracks = [(j, "rotation", quats[:, j], "VEC4") for j in skeleton.rotating_joints.tolist()]
    tracks += [(j, "translation", motion.translations[:, j], "VEC3") for j in skeleton.positioned_joints.tolist()]
    for joint, path, values, kind in tracks:
        samplers.append(AnimationSampler(input=times, output=build.accessor(values, kind), interpolation="LINEAR"))
        channels.append(AnimationChannel(sampler=len(samplers) - 1,
                                         target=AnimationChannelTarget(node=wrapper + 1 + joint, path=path)))
    return Animation(name=name, samplers=samplers, channels=channels)


def _rest_globals(motion: Motion, scale: float) -> np.ndarray:
    """(J, 4, 4) each joint's rest transform in the scene: the wrapper's turn and scale
    on the chain of rest offsets."""
    skeleton = motion.skeleton
    _, positions = skeleton.forward_kinematics(np.broadcast_to(np.eye(3), (skeleton.n_joints, 3, 3)), skeleton.offsets)
    out = np.broadcast_to(np.eye(4), (skeleton.n_joints, 4, 4)).copy()
    out[:, :3, :3] = scale * skeleton.frame
    out[:, :3, 3] = scale * positions  # forward_kinematics already turned them to Y-up
    return out


def _skin(build: _Builder, motion: Motion, wrapper: int, scale: float):  # noqa: ANN202 - a pygltflib Skin
    from pygltflib import Skin

    inverse = np.linalg.inv(_rest_globals(motion, scale))
    matrices = build.accessor(np.swapaxes(inverse, -1, -2).reshape(-1, 16), "MAT4")  # column-major
    joints = [wrapper + 1 + j for j in range(motion.skeleton.n_joints)]
    return Skin(inverseBindMatrices=matrices, joints=joints, skeleton=wrapper + 1)


def _bone_mesh(build: _Builder, motion: Motion, name: str, scale: float):  # noqa: ANN202 - a pygltflib Mesh
    """A double pyramid per bone with length, in the scene's rest pose, each vertex
    skinned wholly to the bone's joint."""
    from pygltflib import Attributes, Mesh, Primitive

    skeleton = motion.skeleton
    offsets = np.concatenate([skeleton.offsets, skeleton.end_site_offsets])[1:]
    parents = skeleton.point_parents[1:]
    keep = (np.linalg.norm(offsets, axis=-1) > 1e-9 * max(skeleton.size, 1e-9)) & (parents >= 0)
    offsets, parents = offsets[keep], parents[keep]
    if not len(offsets):
        raise SinmdmError(f"{name}: no bone has a length, so there is no mesh to draw (use --mesh none)")
    length = np.linalg.norm(offsets, axis=-1, keepdims=True)
    along = offsets / length
    helper = np.where(np.abs(along[:, [1]]) < 0.9, [[0.0, 1.0, 0.0]], [[1.0, 0.0, 0.0]])
    side = np.cross(along, helper)
    side /= np.linalg.norm(side, axis=-1, keepdims=True)
    other = np.cross(along, side)
    waist, width = BONE_WAIST * offsets, 0.5 * BONE_WIDTH * length
    local = np.stack([np.zeros_like(offsets), waist + width * side, waist + width * other, waist - width * side,
                      waist - width * other, offsets], axis=1)  # (B, 6, 3) in the joint's rest frame
    rest = _rest_globals(motion, scale)[parents]  # (B, 4, 4)
    points = (rest[:, None, :3, :3] @ local[..., None])[..., 0] + rest[:, None, :3, 3]
    faces = np.array([[0, 2, 1], [0, 3, 2], [0, 4, 3], [0, 1, 4], [5, 1, 2], [5, 2, 3], [5, 3, 4], [5, 4, 1]])
    triangles = (faces[None] + 6 * np.arange(len(offsets))[:, None, None]).reshape(-1)
    joints = np.zeros((len(offsets) * 6, 4), dtype=np.uint16)
    joints[:, 0] = np.repeat(parents, 6)
    weights = np.zeros((len(offsets) * 6, 4))
    weights[:, 0] = 1.0
    attributes = Attributes(
        POSITION=build.accessor(points.reshape(-1, 3), "VEC3", target=ARRAY_BUFFER, bounds=True),
        JOINTS_0=build.accessor(joints, "VEC4", UNSIGNED_SHORT, target=ARRAY_BUFFER),
        WEIGHTS_0=build.accessor(weights, "VEC4", target=ARRAY_BUFFER),
    )
    indices = build.accessor(triangles[:, None], "SCALAR", UNSIGNED_INT, target=ELEMENT_ARRAY_BUFFER)
    return Mesh(name=f"{name} bones", primitives=[Primitive(attributes=attributes, indices=indices)])


def _mesh_node(build: _Builder, name: str, mesh: int, skin: int) -> int:
    """A skinned mesh node at the scene's root, with no transform of its own (glTF
    places skinned vertices by the joints alone)."""
    from pygltflib import Node

    build.nodes.append(Node(name=f"{name} mesh", mesh=mesh, skin=skin))
    return len(build.nodes) - 1
