"""sinmdm: learn the motifs of one motion clip of any skeleton and synthesise new motion."""

from .bvh import read_bvh, write_bvh
from .errors import BVHError, SinmdmError
from .motion import Motion
from .skeleton import Skeleton

__version__ = "0.1.0"
__all__ = ["BVHError", "Motion", "Skeleton", "SinmdmError", "read_bvh", "write_bvh", "__version__"]
