import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory):
    """Keep charset and corpus-index caches out of the user's home during tests."""
    old = os.environ.get("SYNTHGEN_CACHE")
    os.environ["SYNTHGEN_CACHE"] = str(tmp_path_factory.mktemp("synthgen-cache"))
    yield
    if old is None:
        os.environ.pop("SYNTHGEN_CACHE", None)
    else:
        os.environ["SYNTHGEN_CACHE"] = old


@pytest.fixture(autouse=True)
def _own_catalogue(tmp_path_factory, monkeypatch):
    """Each test names its runs in a dataset catalogue of its own (subprocesses too, by
    $SYNTHGEN_CATALOGUE), never in the user's; the caches above stay shared (fast)."""
    path = tmp_path_factory.mktemp("catalogue") / "catalogue.json"
    monkeypatch.setenv("SYNTHGEN_CATALOGUE", str(path))
    return path


def shared_file(*parts) -> Path:
    """A file from ../shared/data, or skip the test where it is absent."""
    p = SHARED.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"{p} is not available")
    return p


WIKITEXT = """ = Robert Boulter = \r
 \r
 Robert Boulter is an English film , television and theatre actor . He had a guest @-@ starring role on the television series The Bill in 2000 . In 2004 Boulter landed a role as " Craig " in the episode " Teddy 's Story " . The budget was $ 1 @,@ 000 and the run lasted 3 @.@ 5 weeks ( roughly ) . \r
 \r
 = = Career = = \r
 \r
 He was cast in the 2005 theatre productions of the <unk> play Mercury Fur , which was performed at the Drum Theatre in Plymouth . He did n't stop ; it 's his 2nd role . \r
 \r
"""


@pytest.fixture
def wikitext_file(tmp_path) -> Path:
    p = tmp_path / "wiki.txt"
    p.write_bytes((WIKITEXT * 20).encode("utf-8"))
    return p
