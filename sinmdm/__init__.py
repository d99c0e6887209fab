"""sinmdm: learn the motifs of one motion clip of any skeleton and synthesise new motion."""

from .anim.bvh import read_bvh, write_bvh
from .anim.motion import Motion
from .anim.skeleton import Skeleton
from .base.errors import BVHError, SinmdmError
from .base.version import __version__

__all__ = ["BVHError", "Motion", "Skeleton", "SinmdmError", "read_bvh", "write_bvh", "__version__"]
