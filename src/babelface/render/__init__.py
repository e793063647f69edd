"""Rendering: motion → pixels. A landmark-driven warp of the portrait with a synthesized mouth
interior (:class:`Renderer`); later a neural renderer."""

from babelface.render.mouth import MouthConfig, Palette
from babelface.render.renderer import RenderConfig, Renderer

__all__ = ["MouthConfig", "Palette", "RenderConfig", "Renderer"]
