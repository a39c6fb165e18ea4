"""Helpers of the hub tests: huggingface_hub kept off the network, and small renders
(one per test module, copied fresh for each test that changes it)."""

from __future__ import annotations

import shutil

import pytest
from hub_server import FakeHub
from huggingface_hub import constants
from huggingface_hub.utils import disable_progress_bars

from synthtext.dataset.catalogue import register_run
from synthtext.render.config import RenderConfig
from synthtext.render.generate import render_shards


def isolate_hub(monkeypatch, tmp_path, hub: FakeHub | None = None) -> None:
    """Point huggingface_hub away from the public Hub and any real token: the default
    endpoint becomes a closed local port, the saved-token file a missing one, Xet is off
    (the fake Hub speaks LFS), progress bars are quiet; with ``hub``, HF_TOKEN is its token."""
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_OIDC_RESOURCE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    nowhere = "http://127.0.0.1:9"  # the discard port: a default-endpoint call fails fast
    monkeypatch.setattr(constants, "ENDPOINT", nowhere)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE",
                        nowhere + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-hf-token"))
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_XET", True)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    disable_progress_bars()
    if hub is not None:
        monkeypatch.setenv("HF_TOKEN", hub.token)


def render_small(out, n: int = 10, shard_size: int = 3, register: bool = True, **cfg):
    """A small line-image shard directory with train and validation splits (~0.5 s),
    named in the local catalogue as ``synthgen render`` does when ``register``."""
    base = dict(layout="line", length=(2, 6), font_size=(20, 32), line_height=(40, 50),
                rotation={0: 1.0}, split=(("train", 0.7), ("validation", 0.3)))
    result = render_shards(RenderConfig(**{**base, **cfg}), out, n, shard_size=shard_size,
                           progress=False)
    if register:
        register_run(out)
    return result


def render_fixtures(name: str, shard_size: int):
    """The fixtures ``rendered`` (a 10-sample render named ``name``, made once per module)
    and ``shards`` (a fresh copy of it in each test's tmp_path). Assign both in the module:
    ``rendered, shards = render_fixtures("lines", shard_size=2)``."""

    @pytest.fixture(scope="module")
    def rendered(tmp_path_factory):
        out = tmp_path_factory.mktemp("rendered") / name
        render_small(out, n=10, shard_size=shard_size)
        return out

    @pytest.fixture
    def shards(rendered, tmp_path):
        out = tmp_path / name
        shutil.copytree(rendered, out)
        return out

    return rendered, shards
