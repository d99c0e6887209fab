"""Between Blender armatures and BVH files: the active action out through Blender's own
BVH exporter, and a BVH that sinmdm wrote back in as a new action on the same armature.

Coming back, the BVH is not re-imported: each joint's world transform (forward
kinematics in armature space, as the exporter wrote it) becomes its bone's pose matrix,
and the pose matrix becomes the bone's local (basis) transform through the bone's own
rest matrix, so bone rolls and rest poses of any armature are respected. A BVH joint's
frame is the world's at rest, so a bone posed by the joint's world rotation W is
``W @ rest`` about its posed head.
"""

from __future__ import annotations

import os
from types import SimpleNamespace
from typing import Optional

import bpy
from mathutils import Matrix, Quaternion

from . import bvh

SOURCE = "sinmdm_source"  # custom property on every action made here: the BVH it came from


def scene_fps(scene: bpy.types.Scene) -> float:
    return scene.render.fps / scene.render.fps_base


def action_range(action: bpy.types.Action) -> tuple[int, int]:
    start, end = action.frame_range
    return int(round(start)), int(round(end))


def export_action(obj: bpy.types.Object, action: bpy.types.Action, path: str) -> tuple[int, int]:
    """Write ``action`` on armature ``obj`` as BVH with Blender's own exporter (its frame
    range, the scene's frame rate, the armature's rest pose); returns the frame range."""
    from io_anim_bvh import export_bvh

    data = obj.animation_data or obj.animation_data_create()
    previous = data.action
    data.action = action
    start, end = action_range(action)
    scene = bpy.context.scene
    try:
        export_bvh.write_armature(SimpleNamespace(object=obj, scene=scene), path, start, end)
    finally:
        data.action = previous
    return start, end


def action_from_bvh(
    obj: bpy.types.Object, path: str, name: str, frame_start: int = 1, scene: Optional[bpy.types.Scene] = None
) -> bpy.types.Action:
    """A new action on armature ``obj`` (fake user set) that poses its bones as the BVH
    at ``path`` does, keyed from ``frame_start`` at the scene's frame rate. The BVH's
    joints are matched to bones by name (a joint without a bone, such as the exporter's
    dummy root, is skipped)."""
    scene = scene or bpy.context.scene
    clip = bvh.read(path)
    bones = obj.data.bones
    joint_of = {j.name: i for i, j in enumerate(clip.joints)}
    missing = [b.name for b in bones if b.name not in joint_of]
    if missing:
        raise bvh.BVHError(f"{os.path.basename(path)}: no joint for bone '{missing[0]}' of {obj.name}")
    step = scene_fps(scene) * clip.frame_time
    if abs(step - round(step)) < 1e-3 * max(step, 1.0):  # "Frame Time: 0.033333" is 30 fps
        step = float(round(step))
    frames = [frame_start + k * step for k in range(len(clip.frames))]
    order = _parents_first(bones)
    rest = {b.name: b.matrix_local.copy() for b in bones}
    rest_inv = {n: m.inverted() for n, m in rest.items()}
    keys: dict[str, dict[str, list[list[float]]]] = {b.name: {} for b in bones}
    previous: dict[str, object] = {}
    for k in range(len(clip.frames)):
        pose = clip.pose(k)
        posed: dict[str, Matrix] = {}
        for bone in order:
            rotation, position = pose[joint_of[bone.name]]
            matrix = Matrix.Translation(position) @ (rotation.to_4x4() @ rest[bone.name].to_3x3().to_4x4())
            posed[bone.name] = matrix
            if bone.parent is None:
                basis = rest_inv[bone.name] @ matrix
            else:
                parent = bone.parent.name
                basis = (posed[parent] @ rest_inv[parent] @ rest[bone.name]).inverted() @ matrix
            _store(keys[bone.name], obj.pose.bones[bone.name], basis, previous)
    action = bpy.data.actions.new(name)
    action.use_fake_user = True
    action[SOURCE] = os.path.abspath(path)
    for bone_name, channels in keys.items():
        for data_path, columns in channels.items():
            for index, values in enumerate(columns):
                curve = action.fcurves.new(f'pose.bones["{bone_name}"].{data_path}', index=index, action_group=bone_name)
                curve.keyframe_points.add(len(values))
                curve.keyframe_points.foreach_set("co", [v for pair in zip(frames, values) for v in pair])
                for point in curve.keyframe_points:
                    point.interpolation = "LINEAR"
                curve.update()
    return action


def _parents_first(bones) -> list:  # noqa: ANN001 - bpy collections
    """Bones ordered so that each comes after its parent."""
    done: list = []
    seen: set[str] = set()
    pending = list(bones)
    while pending:
        rest = []
        for bone in pending:
            if bone.parent is None or bone.parent.name in seen:
                done.append(bone)
                seen.add(bone.name)
            else:
                rest.append(bone)
        pending = rest
    return done


def _store(channels: dict, pose_bone, basis: Matrix, previous: dict) -> None:  # noqa: ANN001
    """Append one frame of ``basis`` to a bone's channel columns, in the rotation mode the
    bone uses (Euler angles kept continuous with the previous frame's)."""
    location, rotation, _ = basis.decompose()
    for column, value in zip(_column(channels, "location", 3), location):
        column.append(value)
    mode = pose_bone.rotation_mode
    name = pose_bone.name
    if mode == "QUATERNION":
        last = previous.get(name)
        if isinstance(last, Quaternion) and last.dot(rotation) < 0:
            rotation.negate()  # the same rotation, on the side that interpolates the short way
        previous[name] = rotation
        values, path = list(rotation), "rotation_quaternion"
    elif mode == "AXIS_ANGLE":
        axis, angle = rotation.to_axis_angle()
        values, path = [angle, *axis], "rotation_axis_angle"
    else:
        euler = rotation.to_euler(mode, previous.get(name)) if name in previous else rotation.to_euler(mode)
        previous[name] = euler
        values, path = list(euler), "rotation_euler"
    for column, value in zip(_column(channels, path, len(values)), values):
        column.append(value)


def _column(channels: dict, path: str, width: int) -> list[list[float]]:
    if path not in channels:
        channels[path] = [[] for _ in range(width)]
    return channels[path]
