"""Fixtures shared by the LLM provider tests."""

import pytest


@pytest.fixture
def isolated_llm(monkeypatch):
    """No real endpoint, no real key, and a fresh process-wide memory cache per test."""
    from zeromatch_sk.providers import LLMProvider

    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    LLMProvider.clear_memory_cache()
    yield
    LLMProvider.clear_memory_cache()
