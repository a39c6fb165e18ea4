"""``synthgen publish``: a finished shard directory becomes a Hugging Face dataset repository.

Order is what keeps a published revision honest. The directory is checked first (dataset.json
complete, every shard's size and sha256 as recorded, no stray temp or unlisted tars) and the
token looked up, all before any network call. Shards then go up in several commits, skipping
those already on the remote with the same sha256, and ``README.md``, ``dataset.json`` and the
preview go last in one commit. A run that dies midway leaves shards but no card or dataset.json,
so the revision never looks complete; rerunning the same command uploads only what is
missing (LFS objects that arrived before the failure are not sent again either). Updating a
published dataset removes its card and dataset.json in the first shard commit for the same
reason. Uploads use ``create_commit`` (Xet when ``hf_xet`` is installed and the server
offers it; the LFS protocol with ``HF_HUB_DISABLE_XET=1``, e.g. for a mirror).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from synthtext.dataset.errors import UserError
from synthtext.dataset.info import INFO_FILE
from synthtext.dataset.shards import sha256_file
from synthtext.hub.card import (
    PREVIEW,
    README,
    build_card,
    card_options,
    complete_info,
    write_card,
)

REPO_ID = re.compile(r"^[\w.-]+/[\w.-]+$")
REVISION = re.compile(r"^[\w][\w./-]*$")  # a branch name git accepts (simplified)
FILES_PER_COMMIT = 50
BYTES_PER_COMMIT = 5 << 30


@dataclass
class Upload:
    """One file to upload: its path in the repo, the local file, size in bytes and sha256."""

    path: str  # in the repo
    local: Path
    size: int
    sha256: str


@dataclass
class PublishResult:
    """What :func:`publish` did: the commits it made (oids, in order) and the repo paths it
    uploaded or skipped because the remote already held them."""

    repo_id: str
    revision: str
    commits: list[str] = field(default_factory=list)  # commit oids, in order
    uploaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already on the remote


def check_repo_id(repo_id: str) -> str:
    """``repo_id`` if it is ``ORG/NAME`` as the Hub accepts it.

    Raises:
        UserError: it is not.
    """
    if not REPO_ID.match(repo_id or "") or repo_id.startswith(("-", ".")) or ".." in repo_id:
        raise UserError(f"--repo-id {repo_id!r} is not ORG/NAME (letters, digits, '-', '_', "
                        "'.'; e.g. my-lab/synth-lines-en)")
    return repo_id


def check_revision(revision: str | None) -> None:
    """Refuse a ``revision`` git cannot name a branch: empty, spaces or other characters
    than letters, digits, ``_``, ``.``, ``/``, ``-``; ``..``, ``//``, or a trailing ``/``,
    ``.`` or ``.lock`` (see ``git check-ref-format``).

    Raises:
        UserError: naming ``--revision``.
    """
    if revision is None:
        return
    if (not REVISION.match(revision) or ".." in revision or "//" in revision
            or revision.endswith(("/", ".", ".lock"))):
        raise UserError(f"--revision {revision!r} is not a branch name (letters, digits, '_', "
                        "'.', '/', '-'; e.g. main, v2)")


def check_endpoint(endpoint: str | None) -> None:
    """Refuse an ``endpoint`` that is not an ``http(s)://`` URL.

    Raises:
        UserError: naming ``--endpoint``.
    """
    if endpoint is not None and not re.match(r"^https?://[^\s/]+", endpoint):
        raise UserError(f"--endpoint {endpoint!r} is not an http(s):// URL (e.g. "
                        "https://huggingface.co)")


def resolve_token(token: str | None = None) -> str:
    """``token``, else ``HF_TOKEN``, else the saved ``hf auth login`` token; never the network."""
    from huggingface_hub import get_token  # heavy (~0.2 s); only publishing needs it

    token = token or get_token()
    if not token:
        raise UserError("no Hugging Face token: set HF_TOKEN or run `hf auth login` (a token "
                        "with write access); nothing was uploaded")
    return token


def verify_shards(out: str | Path) -> dict:
    """The complete dataset info of ``out`` after checking every shard against it, else a
    UserError naming what is wrong (nothing is uploaded from a directory that fails)."""
    out = Path(out)
    m = complete_info(out)
    problems = [f"temporary file {p.name} (a run is still writing, or was killed: rerun it)"
                for p in sorted(out.glob("*.tmp"))]
    listed = {sh["name"]: sh for s in m["splits"].values() for sh in s.get("shards", [])}
    problems += [f"{p.name} is not listed in {INFO_FILE}" for p in sorted(out.glob("*.tar"))
                 if p.name not in listed]
    for split, s in m["splits"].items():
        if sum(sh["samples"] for sh in s.get("shards", [])) != s["samples"]:
            problems.append(f"split {split}: shard sample counts do not add up to {s['samples']}")
    for name, sh in listed.items():
        p = out / name
        if not p.is_file():
            problems.append(f"{name} is missing")
        elif p.stat().st_size != sh["bytes"]:
            problems.append(f"{name} has {p.stat().st_size} bytes, dataset.json says {sh['bytes']}")
        elif sha256_file(p) != sh["sha256"]:
            problems.append(f"{name}: sha256 does not match dataset.json (corrupted or replaced)")
    if problems:
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise UserError(f"{out}: refusing to publish: {'; '.join(problems[:3])}{more}")
    return m


def _shards(out: Path, m: dict) -> list[Upload]:
    return [Upload(sh["name"], out / sh["name"], sh["bytes"], sh["sha256"])
            for s in m["splits"].values() for sh in s.get("shards", [])]


def _file(out: Path, path: str, data: bytes | None = None) -> Upload:
    data = (out / path).read_bytes() if data is None else data
    return Upload(path, out / path, len(data), hashlib.sha256(data).hexdigest())


def _batches(uploads: list[Upload], files: int, nbytes: int) -> list[list[Upload]]:
    out: list[list[Upload]] = []
    for u in uploads:
        if not out or len(out[-1]) >= files or sum(x.size for x in out[-1]) + u.size > nbytes:
            out.append([])
        out[-1].append(u)
    return out


def _card(out: Path, repo_id: str, write: bool, echo) -> list[Upload]:
    """The final commit's files: the (re)generated card, preview and dataset.json."""
    opts = card_options(out)
    if opts is None and (out / README).exists():
        echo(f"warning: {out / README} was not written by synthgen; publishing it unchanged")
        return [_file(out, README), _file(out, INFO_FILE)]
    opts = {**(opts or {}), "repo_id": repo_id}
    if write:
        write_card(out, **opts)
        files = [README] + ([PREVIEW] if opts.get("preview", True) else [])
        return [_file(out, p) for p in files] + [_file(out, INFO_FILE)]
    card = build_card(out, **opts)
    files = [_file(out, README, card.readme.encode("utf-8"))]
    if card.preview_png is not None:
        files.append(_file(out, PREVIEW, card.preview_png))
    return files + [_file(out, INFO_FILE)]


def publish(out: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
            endpoint: str | None = None, token: str | None = None, dry_run: bool = False,
            echo: Callable[[str], None] = print, files_per_commit: int = FILES_PER_COMMIT,
            bytes_per_commit: int = BYTES_PER_COMMIT) -> PublishResult:
    """Publish ``out`` as the dataset repo ``repo_id`` (see the module docstring).

    Raises:
        UserError: a bad ``repo_id``, ``revision`` or ``endpoint`` or ``files_per_commit``
            below 1 (checked before anything else), a directory that is not a finished,
            intact run, no token, or a failed transfer (naming what was uploaded).
    """
    out = Path(out)
    check_repo_id(repo_id)
    check_revision(revision)
    check_endpoint(endpoint)
    if files_per_commit < 1:
        raise UserError(f"--files-per-commit {files_per_commit}: must be at least 1")
    m = verify_shards(out)
    shards = _shards(out, m)
    rev = revision or "main"
    if dry_run:
        _print_plan(out, repo_id, rev, private, shards, _card(out, repo_id, False, echo),
                    files_per_commit, bytes_per_commit, echo)
        return PublishResult(repo_id, rev)
    token = resolve_token(token)
    final = _card(out, repo_id, True, echo)
    result = PublishResult(repo_id, rev)
    try:
        _upload(out, repo_id, rev, private, endpoint, token, shards, final, result,
                files_per_commit, bytes_per_commit, echo)
    except Exception as e:  # network, HTTP and server-side errors all end the same way
        if not _is_transfer_error(e):
            raise
        raise UserError(_failure_message(e, repo_id, result)) from None
    return result


def _upload(out, repo_id, rev, private, endpoint, token, shards, final, result,
            files_per_commit, bytes_per_commit, echo) -> None:
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi  # heavy

    api = HfApi(endpoint=endpoint, token=token)
    api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
    if rev != "main":
        api.create_branch(repo_id, repo_type="dataset", branch=rev, exist_ok=True)
    remote = _remote_files(api, repo_id, rev)
    todo = [u for u in shards if not _same(remote.get(u.path), u)]
    result.skipped = [u.path for u in shards if u not in todo]
    names = {u.path for u in shards}
    stale = sorted(p for p in remote if p.endswith(".tar") and p not in names)
    demote = [u.path for u in final if u.path in remote] if todo or stale else []
    batches = _batches(todo, files_per_commit, bytes_per_commit) or ([[]] if stale else [])
    for i, batch in enumerate(batches):
        ops = [CommitOperationDelete(p) for p in demote + stale] if i == 0 else []
        ops += [_add(CommitOperationAdd, u) for u in batch]
        msg = f"Add shards ({i + 1}/{len(batches)})" if batch else "Remove stale shards"
        echo(f"commit {i + 1}/{len(batches) + 1}: {len(batch)} shard(s), "
             f"{sum(u.size for u in batch):,} bytes")
        info = api.create_commit(repo_id, ops, commit_message=msg, repo_type="dataset",
                                 revision=rev)
        result.commits.append(info.oid)
        result.uploaded += [u.path for u in batch]
    last = [u for u in final if u.path in demote or not _same(remote.get(u.path), u)]
    if not last and not batches:
        echo(f"{repo_id}@{rev} already holds exactly these files; nothing to upload")
        return
    echo(f"commit {len(batches) + 1}/{len(batches) + 1}: " + ", ".join(u.path for u in last))
    info = api.create_commit(repo_id, [_add(CommitOperationAdd, u) for u in last],
                             commit_message="Add dataset card and dataset.json",
                             repo_type="dataset", revision=rev)
    result.commits.append(info.oid)
    result.uploaded += [u.path for u in last]


def _add(op_class, u: Upload):
    op = op_class(path_in_repo=u.path, path_or_fileobj=str(u.local))
    op.upload_info.sha256 = bytes.fromhex(u.sha256)  # known: verified, no second hash pass
    return op


def _remote_files(api, repo_id: str, rev: str) -> dict:
    from huggingface_hub.hf_api import RepoFile  # heavy, see resolve_token

    tree = api.list_repo_tree(repo_id, repo_type="dataset", revision=rev, recursive=True)
    return {f.path: f for f in tree if isinstance(f, RepoFile)}


def _same(remote, u: Upload) -> bool:
    """Whether the remote file has exactly the local content (LFS sha256 or git blob id)."""
    if remote is None or remote.size != u.size:
        return False
    if remote.lfs is not None:
        return remote.lfs.sha256 == u.sha256
    from huggingface_hub.utils.sha import git_hash  # heavy, see resolve_token

    return remote.blob_id == git_hash(u.local.read_bytes())


_TRANSFER_MODULES = {"huggingface_hub", "httpx", "httpx2", "httpcore", "httpcore2", "requests",
                     "urllib3"}


def _is_transfer_error(e: Exception) -> bool:
    """Network, HTTP and Hub errors (huggingface_hub wraps failed uploads in RuntimeError and
    bad server answers in ValueError), whichever HTTP client huggingface_hub uses."""
    return (isinstance(e, (OSError, RuntimeError, ValueError))
            or type(e).__module__.split(".")[0] in _TRANSFER_MODULES)


def _failure_message(e: Exception, repo_id: str, result: PublishResult) -> str:
    status = getattr(getattr(e, "response", None), "status_code", None)
    cause = e.__cause__ or e
    reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    if status in (401, 403):
        return (f"the Hub refused the token for {repo_id} (HTTP {status}): use a token with "
                "write access to that namespace (HF_TOKEN or `hf auth login`)")
    return (f"publishing {repo_id} stopped after {len(result.commits)} commit(s) "
            f"({type(cause).__name__}: {reason}); rerun the same command to upload the rest: "
            "the card and dataset.json go up last, so the repo does not look complete meanwhile")


def _print_plan(out, repo_id, rev, private, shards, final, files, nbytes, echo) -> None:
    batches = _batches(shards, files, nbytes)
    echo(f"dry run: would publish {out} as dataset {repo_id} (revision {rev}, "
         f"{'private' if private else 'public'})")
    width = max(len(u.path) for u in shards + final)
    for u in shards + final:
        echo(f"  {u.path:<{width}}  {u.size:>14,} B  sha256 {u.sha256}")
    total = len(batches) + 1
    for i, batch in enumerate(batches):
        echo(f"commit {i + 1}/{total}: {', '.join(u.path for u in batch)} "
             f"({sum(u.size for u in batch):,} B)")
    echo(f"commit {total}/{total} (last): {', '.join(u.path for u in final)}")
    echo(f"total: {len(shards) + len(final)} files, "
         f"{sum(u.size for u in shards + final):,} B; shards already on the remote with the "
         "same sha256 are skipped when publishing (a dry run does not contact the Hub)")
