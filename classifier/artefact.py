"""Where the trained artefact lives, without importing torch: crawl and alert workers ask
whether a model is present before queueing it (importing classifier.heads costs ~6 s)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.settings import Settings

CONFIG_FILE = "heads_config.json"
# Versioned artefacts live in the repository; the service loads DEFAULT_VERSION.
MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_VERSION = "e5s-v3"


def artefact_dir(settings: Settings | None = None) -> Path:
    """Where the artefact is: settings.classifier.artefact_dir, else the default version."""
    configured = settings.classifier.artefact_dir if settings is not None else None
    return Path(configured) if configured else MODELS_DIR / DEFAULT_VERSION


def has_artefact(path: Path) -> bool:
    """True when path holds a saved heads artefact."""
    return (path / CONFIG_FILE).is_file()
