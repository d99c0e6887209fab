"""What a skeleton made from joint positions keeps of its keypoint file (see
:mod:`sinmdm.anim.keypoints`): the bones as given, the file's dimensions and axes, and
the clip's bone lengths."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class KeypointSpec:
    """``edges`` are bones as pairs of joint indices in the skeleton's order (its joint 0
    is the file's root joint; ``order`` gives each skeleton joint's index in the file).
    ``lengths`` (one per edge) are the clip's median bone lengths, in the file's units."""

    dims: int  # 2 or 3 coordinates per joint in the file
    edges: tuple[tuple[int, int], ...]
    order: tuple[int, ...]
    lengths: tuple[float, ...]
    y_down: bool = False  # 2D image coordinates, y growing downwards
    suffix: str = ".npz"  # the input's kind: outputs take it by default

    def tree_parents(self) -> np.ndarray:
        """(J,) each joint's parent along the edges, from joint 0 outwards (a forest's
        other trees from their first joint); -1 at each tree's root. What is drawn, and
        the order bone lengths are fitted in."""
        n = len(self.order)
        neighbours: list[list[int]] = [[] for _ in range(n)]
        for a, b in self.edges:
            neighbours[a].append(b)
            neighbours[b].append(a)
        parents = np.full(n, -2, dtype=np.int64)
        for start in range(n):
            if parents[start] != -2:
                continue
            parents[start] = -1
            queue = deque([start])
            while queue:
                j = queue.popleft()
                for k in neighbours[j]:
                    if parents[k] == -2:
                        parents[k] = j
                        queue.append(k)
        return parents

    def subtree(self, joint: int) -> list[int]:
        """``joint`` and every joint below it along the bones, away from the root."""
        parents = self.tree_parents()
        inside = np.zeros(len(parents), dtype=bool)
        inside[joint] = True
        for j in self.breadth_first():  # parents come first
            if parents[j] >= 0 and inside[parents[j]]:
                inside[j] = True
        return np.flatnonzero(inside).tolist()

    def breadth_first(self) -> np.ndarray:
        """Joints ordered so each comes after its tree parent."""
        parents = self.tree_parents()
        depth = np.zeros(len(parents), dtype=np.int64)
        for _ in range(len(parents)):  # at most J passes; a tree is never deeper
            deeper = np.where(parents >= 0, depth[np.maximum(parents, 0)] + 1, 0)
            if np.array_equal(deeper, depth):
                break
            depth = deeper
        return np.argsort(depth, kind="stable")

    def to_dict(self) -> dict[str, Any]:
        return {"dims": self.dims, "edges": [list(e) for e in self.edges], "order": list(self.order),
                "lengths": list(self.lengths), "y_down": self.y_down, "suffix": self.suffix}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> KeypointSpec:
        return cls(int(data["dims"]), tuple((int(a), int(b)) for a, b in data["edges"]),
                   tuple(int(i) for i in data["order"]), tuple(float(x) for x in data["lengths"]),
                   bool(data["y_down"]), str(data["suffix"]))
