"""synthgen publish against a local fake Hub: order of commits, resume, and refusals."""

import json
import re
import shutil

import pytest
import yaml
from click.testing import CliRunner
from hub_fixtures import isolate_hub, render_fixtures, render_small
from hub_server import FakeHub

from cli.hub_cmd import publish as publish_cmd
from synthtext.dataset.errors import UserError
from synthtext.dataset.info import read_info, write_json_atomic
from synthtext.hub.publish import publish

FINAL = {"README.md", "dataset.json", "assets/preview.png"}


rendered, shards = render_fixtures("lines", shard_size=2)  # train 7 -> 4 shards, val 3 -> 2


@pytest.fixture
def hub(monkeypatch, tmp_path):
    with FakeHub() as h:
        isolate_hub(monkeypatch, tmp_path, h)
        yield h


def run(out, hub, repo="org/lines", **kw):
    return publish(out, repo, endpoint=hub.url, echo=lambda s: None, files_per_commit=2, **kw)


def local_files(out):
    names = [p.name for p in sorted(out.glob("*.tar"))] + sorted(FINAL)
    return {n: (out / n).read_bytes() for n in names}


def test_shards_go_up_before_card_and_arrive_intact(shards, hub):
    result = run(shards, hub)
    *shard_commits, last = hub.commits
    assert len(shard_commits) == 3  # 6 shards, 2 per commit
    assert all(not FINAL & set(c["added"]) for c in shard_commits)
    assert set(last["added"]) == FINAL and last["summary"] == "Add dataset card and dataset.json"
    assert [c["oid"] for c in hub.commits] == result.commits
    remote = hub.files("org/lines")
    assert {k: v for k, v in remote.items() if k != ".gitattributes"} == local_files(shards)
    meta = yaml.safe_load(remote["README.md"].decode().split("---\n")[1])
    assert meta["configs"][0]["data_files"] == [
        {"split": "train", "path": "train-[0-9]*.tar"},
        {"split": "validation", "path": "validation-[0-9]*.tar"}]
    assert 'load_dataset("org/lines"' in remote["README.md"].decode()
    assert not hub.repos["org/lines"].private


def test_rerun_uploads_nothing(shards, hub):
    run(shards, hub)
    n_requests = len(hub.requests)
    result = run(shards, hub)
    assert result.commits == [] and len(result.skipped) == 6
    assert [r for r in hub.requests[n_requests:] if r[0] == "PUT" or "/commit/" in r[1]] == []


def test_interrupted_publish_leaves_no_card_and_resumes(shards, hub):
    hub.fail("POST", r"/commit/", nth=2, mode="drop")  # the connection dies at commit 2
    with pytest.raises(UserError, match="stopped after 1 commit.*rerun the same command"):
        run(shards, hub)
    remote = hub.files("org/lines")
    assert not FINAL & set(remote) and len([p for p in remote if p.endswith(".tar")]) == 2
    uploaded_before = {path for m, path in hub.requests if m == "PUT"}
    n_requests = len(hub.requests)
    result = run(shards, hub)
    assert len(result.skipped) == 2 and FINAL <= set(result.uploaded)
    again = {path for m, path in hub.requests[n_requests:] if m == "PUT"}
    assert not again & uploaded_before  # LFS objects that arrived before the failure stay
    remote = hub.files("org/lines")
    assert {k: v for k, v in remote.items() if k != ".gitattributes"} == local_files(shards)


def test_failed_upload_is_one_clear_error(shards, hub):
    hub.fail("PUT", r"/lfs/", nth=1, mode=403)
    with pytest.raises(UserError, match="stopped after 0 commit"):
        run(shards, hub)
    assert hub.commits == []


def test_update_hides_old_card_until_new_shards_are_all_there(shards, hub, tmp_path):
    run(shards, hub)
    other = tmp_path / "other"
    render_small(other, n=4, shard_size=2, seed=7)  # different bytes, fewer shards
    hub.fail("POST", r"/commit/", nth=2, mode=500)  # dies after the first new commit
    with pytest.raises(UserError):
        run(other, hub)
    remote = hub.files("org/lines")
    assert not FINAL & set(remote)  # the old card went with the first new commit
    assert "train-000003.tar" not in remote  # stale shards of the old dataset removed
    run(other, hub)
    remote = hub.files("org/lines")
    assert {k: v for k, v in remote.items() if k != ".gitattributes"} == local_files(other)


def test_revision_branch(shards, hub):
    run(shards, hub, revision="v1", private=True)
    assert set(hub.files("org/lines", "v1")) >= FINAL
    assert set(hub.files("org/lines", "main")) == {".gitattributes"}
    assert hub.repos["org/lines"].private


def test_missing_token_fails_before_any_request(shards, hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    with pytest.raises(UserError, match="no Hugging Face token.*nothing was uploaded"):
        run(shards, hub)
    assert hub.requests == []


def test_rejected_token(shards, hub, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong")
    with pytest.raises(UserError, match="refused the token"):
        run(shards, hub)
    assert hub.commits == []


@pytest.mark.parametrize("repo", ["lines", "org/lines/x", "org/", "/lines", "org/li nes",
                                  "../lines", "org/lines?x"])
def test_bad_repo_id(shards, hub, repo):
    with pytest.raises(UserError, match="is not ORG/NAME"):
        run(shards, hub, repo=repo)
    assert hub.requests == []


def _corrupt(out):
    p = out / "train-000001.tar"
    data = bytearray(p.read_bytes())
    data[700] ^= 0xFF
    p.write_bytes(bytes(data))


def _incomplete(out):
    m = read_info(out)
    m["status"] = "incomplete"
    write_json_atomic(out / "dataset.json", m)


@pytest.mark.parametrize("damage, message", [
    (_corrupt, "sha256 does not match"),
    (lambda out: (out / "train-000002.tar").write_bytes(b"x"), "has 1 bytes"),
    (lambda out: (out / "validation-000001.tar").unlink(), "is missing"),
    (lambda out: (out / "train-000009.tar.123.tmp").write_bytes(b""), "temporary file"),
    (lambda out: shutil.copy(out / "train-000000.tar", out / "extra-000000.tar"),
     "not listed in dataset.json"),
    (_incomplete, "'incomplete'"),
    (lambda out: (out / "dataset.json").unlink(), "no dataset.json"),
])
def test_damaged_directory_is_refused(shards, hub, damage, message):
    damage(shards)
    with pytest.raises(UserError, match=re.escape(message)):
        run(shards, hub)
    assert hub.requests == []


def test_dry_run_lists_everything_without_token_or_network(shards, hub, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")
    before = sorted(p.name for p in shards.rglob("*"))
    r = CliRunner().invoke(publish_cmd, [str(shards), "--repo-id", "org/lines", "--dry-run",
                                         "--files-per-commit", "4"])
    assert r.exit_code == 0, r.output
    for name in [p.name for p in shards.glob("*.tar")] + sorted(FINAL):
        assert re.search(rf"^  {re.escape(name)}\s+[\d,]+ B  sha256 [0-9a-f]{{64}}$", r.output,
                         re.M)
    first = ", ".join(f"train-00000{i}.tar" for i in range(4))
    assert f"commit 1/3: {first}" in r.output
    assert re.search(r"commit 3/3 \(last\): README.md, assets/preview.png, dataset.json", r.output)
    assert hub.requests == [] and sorted(p.name for p in shards.rglob("*")) == before


def test_cli_publish_and_one_line_errors(shards, hub):
    r = CliRunner().invoke(publish_cmd, [str(shards), "--repo-id", "org/lines",
                                         "--endpoint", hub.url])
    assert r.exit_code == 0, r.output
    assert "published org/lines@main: 9 file(s) uploaded in 2 commit(s)" in r.output
    r = CliRunner().invoke(publish_cmd, [str(shards), "--repo-id", "lines"])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and r.output.startswith("Error: ")


def test_published_card_matches_local_card(shards, hub):
    run(shards, hub)
    opts = json.loads(re.search(r"<!-- synthgen-card (\{.*?\}) -->",
                                (shards / "README.md").read_text()).group(1))
    assert opts["repo_id"] == "org/lines"
    assert hub.files("org/lines")["README.md"] == (shards / "README.md").read_bytes()
