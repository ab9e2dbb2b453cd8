"""What one contestant's run on one workload came to: kept free of the
libraries themselves, so reading or reporting results imports none of them."""

from __future__ import annotations

from dataclasses import dataclass, field

OK, NOT_APPLICABLE, FAILED = "ok", "n/a", "failed"


@dataclass
class Outcome:
    """Everything measured for one contestant on one workload."""

    label: str  # the row's name in the table
    library: str  # which library's speed this is ("pickle" rows are the baseline)
    status: str = OK
    note: str = ""
    size_bytes: int | None = None  # the stream
    out_of_band_bytes: int | None = None  # PickleBuffers handed to buffer_callback
    rss_peak_bytes: int | None = None  # dumps only
    traced_peak_bytes: int | None = None  # dumps only
    samples_ns: dict[str, list[int]] = field(default_factory=dict)

    def add_sample(self, operation: str, elapsed_ns: int) -> None:
        self.samples_ns.setdefault(operation, []).append(elapsed_ns)
