# SPDX-License-Identifier: GPL-3.0-or-later
"""Write a style-model package: ``model.onnx``, ``golden.npz`` and ``manifest.json``.

Shared by the training scripts. The manifest is completed with the files' sizes and SHA-256 and
parsed back with the studio's own parser; the package's golden self-test is run through the
studio's own runtime before anything is written, so a package that lands in ``models/`` is one
the studio will load.

Golden tensors are named ``in.<input>`` / ``out.<output>`` after the ONNX graph's tensors; the
outputs must be the *torch* model's outputs on the inputs, so the self-test is a torch-vs-ONNX
parity check that CI runs without torch.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from app.core.style_manifest import SCHEMA, VERSION, file_entries, parse_manifest
from app.styles.package import StylePackage

MODELS = Path(__file__).resolve().parents[1]


def write_package(
    model_id: str, fields: dict[str, Any], onnx_bytes: bytes, golden: dict[str, np.ndarray]
) -> Path:
    """Write ``models/<model_id>/`` and return the folder.

    Args:
        fields: every manifest field except ``schema``, ``version``, ``id``, ``files`` and
            ``golden`` (``golden.atol`` may be given as ``fields["golden_atol"]``).
        golden: tensors named ``in.*`` and ``out.*``.
    """
    buffer = io.BytesIO()
    np.savez(buffer, **{k: np.ascontiguousarray(v) for k, v in golden.items()})
    files = {"model.onnx": onnx_bytes, "golden.npz": buffer.getvalue()}
    fields = dict(fields)
    atol = float(fields.pop("golden_atol", 1e-4))
    doc = {
        "schema": SCHEMA,
        "version": VERSION,
        "id": model_id,
        **fields,
        "golden": {"file": "golden.npz", "atol": atol},
        "files": file_entries(files),
    }
    manifest = parse_manifest(json.dumps(doc))
    package = StylePackage(manifest, files)
    worst = package.self_test()
    print(f"{model_id}: golden self-test passes (max deviation {worst:.2e}, atol {atol:g})")
    folder = MODELS / model_id
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    (folder / "manifest.json").write_text(json.dumps(doc, indent=2) + "\n")
    return folder
