from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEED_ID = "000_4a1a7f77ad514017"
SEED_ARTICLE = ROOT / "seeds" / "articles" / f"{SEED_ID}.txt"
SEED_GOLD = ROOT / "seeds" / "gold" / f"{SEED_ID}.json"
# The data contract, kept in the repository; its upstream copy is checked for drift when present.
SCHEMA_DOC = ROOT / "docs" / "SCHEMA.md"
UPSTREAM_SCHEMA_DOC = ROOT.parent / "shared" / "docs" / "SCHEMA.md"

sys.path.insert(0, str(Path(__file__).parent))  # for chat_server


@pytest.fixture
def seed_article() -> str:
    return SEED_ARTICLE.read_text(encoding="utf-8")


@pytest.fixture
def chat_server():
    from chat_server import ChatServer

    with ChatServer() as server:
        yield server
