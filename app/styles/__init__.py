# SPDX-License-Identifier: GPL-3.0-or-later
"""Style models: signed ONNX packages and the runtime that plays them on a stem.

onnxruntime is imported lazily (``app.styles.runtime``): importing this package costs nothing.
"""
