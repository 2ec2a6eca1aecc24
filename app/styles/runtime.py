# SPDX-License-Identifier: GPL-3.0-or-later
"""onnxruntime sessions set for a two-core machine that is also playing audio.

onnxruntime is imported here, on first use, never at module import: the studio starts without
it and a machine without it reports "unavailable, because …" instead of failing to start.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import StyleModelError


def make_session(model: bytes) -> Any:
    """An ``InferenceSession`` for ``model`` (ONNX bytes, already verified against its
    manifest): one intra-op and one inter-op thread, sequential, no spinning (a spinning pool
    would steal the core the feeder and the window need), all graph optimisations.

    Raises StyleModelError when onnxruntime is missing or refuses the model.
    """
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - a broken install
        raise StyleModelError(f"Style models are unavailable because onnxruntime is not "
                              f"installed ({exc}).") from None  # fmt: skip
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    # Not "session.set_denormal_as_zero": with one intra-op thread the model runs on the
    # caller's thread, and that option leaves FTZ/DAZ set there, changing every later float
    # operation of the thread (NumPy included): a render would then depend on which thread had
    # run a model before. The models are trained and checked without denormal trouble instead.
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidGraph types
        raise StyleModelError(f"onnxruntime could not load this model ({exc}).") from None
