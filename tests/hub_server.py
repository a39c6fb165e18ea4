"""A local stand-in for the Hugging Face Hub, so publish and hf:// reading are tested offline.

It implements the endpoints huggingface_hub 2.x calls on the legacy (non-Xet) path: repo
create and info, branch create, README YAML validation, preupload, the LFS batch API with
"basic" transfer (PUT to this server) and verify, NDJSON commits, the tree and paths-info
listings, and ``resolve`` downloads with Range. Repositories live in memory; every request
and every commit is recorded so tests can assert what arrived and in which order.
``fail()`` injects a dropped connection or an error status into the N-th matching request.
Its HTTP plumbing is in ``fake_http.py``; the other helpers of the hub tests (isolating
huggingface_hub, a small render) in ``hub_fixtures.py``.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote

import yaml
from fake_http import HttpError, HubHandler

_LFS_EXT = (".tar", ".png", ".jpg", ".jpeg", ".webp", ".bin", ".parquet", ".arrow")
_REPO = r"/(?P<type>datasets|models)/(?P<repo>[\w.-]+/[\w.-]+)"
_ROUTES = [  # (method, pattern, handler name); revisions and paths arrive URL-quoted
    ("POST", r"/api/repos/create", "create_repo"),
    ("POST", r"/api/validate-yaml", "validate_yaml"),
    ("GET", r"/api" + _REPO + r"(?:/revision/(?P<rev>[^/]+))?", "repo_info"),
    ("GET", r"/api" + _REPO + r"/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?", "tree"),
    ("POST", r"/api" + _REPO + r"/paths-info/(?P<rev>[^/]+)", "paths_info"),
    ("POST", r"/api" + _REPO + r"/preupload/(?P<rev>[^/]+)", "preupload"),
    ("POST", r"/api" + _REPO + r"/commit/(?P<rev>[^/]+)", "commit"),
    ("POST", r"/api" + _REPO + r"/branch/(?P<rev>[^/]+)", "create_branch"),
    ("POST", _REPO + r"\.git/info/lfs/objects/batch", "lfs_batch"),
    ("PUT", r"/lfs/(?P<oid>[0-9a-f]{64})", "lfs_put"),
    ("POST", r"/lfs/verify", "lfs_verify"),
    ("GET", _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
    ("HEAD", _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<path>.+)", "resolve"),
]
_WRITES = {"create_repo", "preupload", "commit", "create_branch", "lfs_batch"}  # + signed PUTs


def git_blob_oid(data: bytes) -> str:
    """Git's object id of a blob: sha1 of ``blob <size>\\0`` + the content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    """A file in a commit: content, and whether it is stored through LFS."""

    data: bytes
    lfs: bool

    def entry(self, path: str) -> dict:
        """The tree/paths-info API entry for this file at ``path``."""
        d = {"type": "file", "path": path, "size": len(self.data), "oid": git_blob_oid(self.data)}
        if self.lfs:
            d["lfs"] = {"oid": hashlib.sha256(self.data).hexdigest(), "size": len(self.data),
                        "pointerSize": 134}
        return d


@dataclass
class Repo:
    """A repository: branches (name -> commit oid) and each commit's tree."""

    repo_id: str
    private: bool
    branches: dict = field(default_factory=dict)  # name -> commit oid
    trees: dict = field(default_factory=dict)  # commit oid -> {path: Blob}


class FakeHub:
    """The fake Hub's state plus a threaded HTTP server on 127.0.0.1 (use as a context manager)."""

    def __init__(self, token: str = "hf_fake_token"):
        self.token = token
        self.repos: dict[str, Repo] = {}
        self.lfs: dict[str, bytes] = {}  # sha256 -> content uploaded through the LFS API
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request
        self.commits: list[dict] = []  # repo, revision, oid, summary, added, deleted
        self._failures: list[dict] = []
        self.lock = threading.RLock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(HubHandler, self))
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "FakeHub":
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail(self, method: str, pattern: str, nth: int = 1, mode: str | int = "drop") -> None:
        """Make the ``nth`` request matching (method, path regex) fail once: ``"drop"`` closes
        the connection without a response, an int answers with that status."""
        self._failures.append({"method": method, "re": re.compile(pattern), "nth": nth,
                               "mode": mode, "seen": 0})

    def files(self, repo_id: str, revision: str = "main") -> dict[str, bytes]:
        """path -> content of ``repo_id`` at the head of ``revision``."""
        repo = self.repos[repo_id]
        return {p: b.data for p, b in repo.trees[repo.branches[revision]].items()}

    # --- request plumbing (called by fake_http.HubHandler) ------------------------------

    def failure_for(self, method: str, path: str):
        """The injected failure for this request (``"drop"``, a status), else None."""
        with self.lock:
            for f in self._failures:
                if f["method"] == method and f["re"].search(path):
                    f["seen"] += 1
                    if f["seen"] == f["nth"]:
                        return f["mode"]
        return None

    def route(self, method: str, path: str):
        """(endpoint method name, URL parameters) for a request; 404 if none matches."""
        for m, pattern, name in _ROUTES:
            if m == method and (match := re.fullmatch(pattern, path)):
                return name, {k: unquote(v) if v else v for k, v in match.groupdict().items()}
        raise HttpError(404, f"no route for {method} {path}")

    def check_auth(self, name: str, headers, repo_id: str | None) -> None:
        """401 for a wrong token, or no token where a write or a private repo needs one."""
        auth = headers.get("authorization", "")
        ok = auth == f"Bearer {self.token}"
        if auth and not ok:
            raise HttpError(401, "Invalid credentials in Authorization header")
        private = repo_id in self.repos and self.repos[repo_id].private
        if not ok and (name in _WRITES or private):
            raise HttpError(401, "Unauthorized: a write token is needed", "RepoNotFound"
                            if private else None)

    def _repo(self, repo_id: str) -> Repo:
        if repo_id not in self.repos:
            raise HttpError(404, f"Repository {repo_id} not found", "RepoNotFound")
        return self.repos[repo_id]

    def _tree(self, repo: Repo, rev: str | None) -> tuple[str, dict]:
        rev = rev or "main"
        oid = repo.branches.get(rev, rev if rev in repo.trees else None)
        if oid is None:
            raise HttpError(404, f"Revision {rev} not found", "RevisionNotFound")
        return oid, repo.trees[oid]

    # --- endpoints --------------------------------------------------------------------

    def create_repo(self, body: bytes, **_):
        """``POST /api/repos/create``."""
        p = json.loads(body)
        repo_id = f"{p.get('organization') or 'user'}/{p['name']}"
        if repo_id in self.repos:
            raise HttpError(409, "You already created this dataset repo",
                            url=f"{self.url}/datasets/{repo_id}")
        repo = Repo(repo_id, private=p.get("visibility") == "private" or bool(p.get("private")))
        oid = _oid("init", repo_id)
        repo.trees[oid] = {".gitattributes": Blob(b"*.tar filter=lfs diff=lfs merge=lfs -text\n"
                                                  b"*.png filter=lfs diff=lfs merge=lfs -text\n",
                                                  False)}
        repo.branches["main"] = oid
        self.repos[repo_id] = repo
        return 200, {"url": f"{self.url}/datasets/{repo_id}", "name": repo_id}

    def validate_yaml(self, body: bytes, **_):
        """``POST /api/validate-yaml``: the card's front matter must be a YAML mapping."""
        content = json.loads(body)["content"]
        m = re.match(r"---\n(.*?)\n---\n", content, re.S)
        try:
            meta = yaml.safe_load(m.group(1)) if m else None
        except yaml.YAMLError as e:
            return 400, {"errors": [{"message": str(e)}], "warnings": []}
        warnings = [] if isinstance(meta, dict) else [{"message": "empty metadata"}]
        return 200, {"errors": [], "warnings": warnings}

    def repo_info(self, repo: str, rev: str | None = None, **_):
        """``GET /api/datasets/ORG/NAME[/revision/REV]``."""
        r = self._repo(repo)
        oid, tree = self._tree(r, rev)
        return 200, {"id": repo, "sha": oid, "private": r.private,
                     "lastModified": "2000-01-01T00:00:00.000Z",
                     "siblings": [{"rfilename": p} for p in sorted(tree)]}

    def tree(self, repo: str, rev: str, path: str | None = None, query=None, **_):
        """``GET /api/datasets/ORG/NAME/tree/REV[/PATH]`` (``?recursive=true`` too)."""
        _, tree = self._tree(self._repo(repo), rev)
        prefix = (path or "").strip("/")
        recursive = (query or {}).get("recursive", ["False"])[0].lower() == "true"
        entries = _listing(tree, prefix, recursive)
        if prefix and not entries and prefix not in tree:
            raise HttpError(404, f"{prefix} not found", "EntryNotFound")
        return 200, entries

    def paths_info(self, repo: str, rev: str, body: bytes, **_):
        """``POST /api/datasets/ORG/NAME/paths-info/REV``."""
        _, tree = self._tree(self._repo(repo), rev)
        out = []
        for p in parse_qs(body.decode()).get("paths", []):
            if p in tree:
                out.append(tree[p].entry(p))
            elif any(q.startswith(p.rstrip("/") + "/") for q in tree):
                out.append({"type": "directory", "path": p, "oid": _oid("dir", p), "size": 0})
        return 200, out

    def preupload(self, repo: str, rev: str, body: bytes, **_):
        """``POST .../preupload/REV``: which files go through LFS."""
        _, tree = self._tree(self._repo(repo), rev)
        files = []
        for f in json.loads(body)["files"]:
            sample = base64.b64decode(f["sample"])
            lfs = f["path"].lower().endswith(_LFS_EXT) or b"\0" in sample or f["size"] > 10 << 20
            old = tree.get(f["path"])
            oid = None if old is None else (hashlib.sha256(old.data).hexdigest() if old.lfs
                                            else git_blob_oid(old.data))
            files.append({"path": f["path"], "uploadMode": "lfs" if lfs else "regular",
                          "shouldIgnore": False, "oid": oid})
        return 200, {"files": files, "commitOid": self.repos[repo].branches.get(rev)}

    def lfs_batch(self, repo: str, body: bytes, **_):
        """``POST /datasets/ORG/NAME.git/info/lfs/objects/batch`` (basic transfer)."""
        self._repo(repo)
        objects = []
        for o in json.loads(body)["objects"]:
            obj = {"oid": o["oid"], "size": o["size"], "authenticated": True}
            if o["oid"] not in self.lfs:
                sig = _oid(self.token, o["oid"])  # a pre-signed URL, like S3's
                obj["actions"] = {"upload": {"href": f"{self.url}/lfs/{o['oid']}?sig={sig}"},
                                  "verify": {"href": f"{self.url}/lfs/verify"}}
            objects.append(obj)
        return 200, {"transfer": "basic", "objects": objects}

    def lfs_put(self, oid: str, body: bytes, query=None, **_):
        """``PUT /lfs/OID?sig=..``: a pre-signed upload, checked against its sha256."""
        if (query or {}).get("sig") != [_oid(self.token, oid)]:
            raise HttpError(403, "upload URL signature does not match")
        if hashlib.sha256(body).hexdigest() != oid:
            raise HttpError(400, "content does not match the announced sha256")
        with self.lock:
            self.lfs[oid] = body
        return 200, {}

    def lfs_verify(self, body: bytes, **_):
        """``POST /lfs/verify``."""
        p = json.loads(body)
        if p["oid"] not in self.lfs or len(self.lfs[p["oid"]]) != p["size"]:
            raise HttpError(404, "object not uploaded")
        return 200, {}

    def create_branch(self, repo: str, rev: str, body: bytes, **_):
        """``POST .../branch/REV``."""
        r = self._repo(repo)
        if rev in r.branches:
            raise HttpError(409, f"branch {rev} already exists")
        start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
        r.branches[rev], _ = self._tree(r, start)
        return 200, {}

    def commit(self, repo: str, rev: str, body: bytes, **_):
        """``POST .../commit/REV``: an NDJSON commit, refused if its parent is stale."""
        r = self._repo(repo)
        with self.lock:
            parent, tree = self._tree(r, rev)
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next(x["value"] for x in lines if x["key"] == "header")
            if header.get("parentCommit") not in (None, parent):
                raise HttpError(412, "parent commit is not the head of the branch")
            tree, added, deleted = self._apply(dict(tree), lines)
            oid = _oid(parent, body.decode("utf-8", "replace"))
            r.trees[oid], r.branches[rev] = tree, oid
            self.commits.append({"repo": repo, "revision": rev, "oid": oid, "parent": parent,
                                 "summary": header["summary"], "added": added,
                                 "deleted": deleted})
        return 200, {"commitUrl": f"{self.url}/datasets/{repo}/commit/{oid}",
                     "commitOid": oid, "pullRequestUrl": None}

    def _apply(self, tree: dict, lines: list[dict]):
        added, deleted = [], []
        for x in lines:
            key, v = x["key"], x["value"]
            if key == "file":
                tree[v["path"]] = Blob(base64.b64decode(v["content"]), False)
            elif key == "lfsFile":
                if v["oid"] not in self.lfs:
                    raise HttpError(400, f"{v['path']}: LFS object {v['oid']} was never uploaded")
                tree[v["path"]] = Blob(self.lfs[v["oid"]], True)
            elif key == "deletedFile":
                if tree.pop(v["path"], None) is None:
                    raise HttpError(404, "A file with this name doesn't exist", "EntryNotFound")
            elif key == "deletedFolder":
                for p in [p for p in tree if p.startswith(v["path"].rstrip("/") + "/")]:
                    del tree[p]
            else:
                continue
            (deleted if key.startswith("deleted") else added).append(v["path"])
        return tree, added, deleted

    def resolve(self, repo: str, rev: str, path: str, headers=None, **_):
        """``GET``/``HEAD /datasets/ORG/NAME/resolve/REV/PATH``, with Range."""
        oid, tree = self._tree(self._repo(repo), rev)
        if path not in tree:
            raise HttpError(404, f"{path} not found", "EntryNotFound")
        blob = tree[path]
        extra = {"X-Repo-Commit": oid, "ETag": f'"{git_blob_oid(blob.data)}"'}
        if blob.lfs:
            extra["X-Linked-Etag"] = f'"{hashlib.sha256(blob.data).hexdigest()}"'
            extra["X-Linked-Size"] = str(len(blob.data))
        rng = re.fullmatch(r"bytes=(\d+)-(\d*)", (headers or {}).get("range", "") or "")
        if rng:
            start = int(rng.group(1))
            end = min(int(rng.group(2) or len(blob.data) - 1), len(blob.data) - 1)
            if start >= len(blob.data):
                raise HttpError(416, "range not satisfiable")
            extra["Content-Range"] = f"bytes {start}-{end}/{len(blob.data)}"
            return 206, (blob.data[start:end + 1], extra)
        return 200, (blob.data, extra)


def _oid(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


def _listing(tree: dict, prefix: str, recursive: bool) -> list[dict]:
    """Tree API entries under ``prefix``: files, and folders (implied by file paths)."""
    base = prefix + "/" if prefix else ""
    out: dict[str, dict] = {}
    for p, blob in sorted(tree.items()):
        if not p.startswith(base):
            continue
        parts = p[len(base):].split("/")
        for i in range(1, len(parts)):
            d = base + "/".join(parts[:i])
            if recursive or i == 1:
                out.setdefault(d, {"type": "directory", "path": d, "oid": _oid("dir", d),
                                   "size": 0})
        if recursive or len(parts) == 1:
            out[p] = blob.entry(p)
    return list(out.values())
