"""The server's limits. Every one is a ``babelface serve`` option; the defaults suit one machine."""

from __future__ import annotations

from dataclasses import dataclass, field

from babelface.threads import available_cores

MB = 1024 * 1024


@dataclass
class ServeConfig:
    max_upload_mb: float = 50.0         # per uploaded file, enforced while it arrives
    max_duration_s: float = 60.0        # of uploaded speech or video
    max_image_pixels: int = 4096 * 4096
    max_video_pixels: int = 1920 * 1080
    max_text_chars: int = 2000
    job_timeout_s: float = 600.0        # a job running longer is killed
    workers: int = field(default_factory=available_cores)   # jobs at once: one per core
    max_queue: int = 32                 # jobs waiting; more are refused with 429
    keep_results: int = 64              # finished jobs whose files stay downloadable
    start_method: str = "forkserver"    # job processes: a clean preloaded interpreter ('fork' shares ours)

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    def limits(self) -> dict:
        """What ``GET /api/info`` tells clients."""
        return {"max_upload_mb": self.max_upload_mb, "max_duration_s": self.max_duration_s,
                "max_image_pixels": self.max_image_pixels, "max_video_pixels": self.max_video_pixels,
                "max_text_chars": self.max_text_chars, "job_timeout_s": self.job_timeout_s,
                "workers": self.workers, "max_queue": self.max_queue}
