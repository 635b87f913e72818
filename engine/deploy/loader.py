"""Read process models from a processes/ directory in the spiff-arena layout."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODEL_FILE = "process_model.json"
GROUP_FILE = "process_group.json"
# Files a model folder may carry; anything else (images, scratch files) is not deployed.
MODEL_SUFFIXES = (".bpmn", ".dmn", ".json", ".md")


@dataclass
class ModelOnDisk:
    id: str
    path: Path
    meta: dict[str, Any]
    files: dict[str, str]


def read_model_dir(root: Path, folder: Path) -> ModelOnDisk:
    files = {
        p.name: p.read_text(encoding="utf-8")
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix in MODEL_SUFFIXES
    }
    meta = json.loads(files.get(MODEL_FILE, "{}"))
    return ModelOnDisk(id=folder.relative_to(root).as_posix(), path=folder, meta=meta, files=files)


def discover_models(root: Path) -> list[ModelOnDisk]:
    """Every leaf folder holding process_model.json, at any depth of process groups."""
    root = root.resolve()
    return [read_model_dir(root, p.parent) for p in sorted(root.rglob(MODEL_FILE))]


def group_display_name(root: Path, model_id: str) -> str:
    """The display names of the model's process groups, outermost first, joined by ' / '."""
    names = []
    parts = model_id.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        gfile = root.joinpath(*parts[:i], GROUP_FILE)
        if gfile.is_file():
            try:
                names.append(json.loads(gfile.read_text(encoding="utf-8")).get("display_name") or parts[i - 1])
                continue
            except json.JSONDecodeError:
                pass
        names.append(parts[i - 1])
    return " / ".join(names)
