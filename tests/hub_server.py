"""A local stand-in for the Hugging Face Hub, so publish and hf:// reading are tested offline.

It implements the endpoints huggingface_hub 2.x calls on the legacy (non-Xet) path: repo
create and info, branch create, README YAML validation, preupload, the LFS batch API with
"basic" transfer (PUT to this server) and verify, NDJSON commits, the tree and paths-info
listings, and ``resolve`` downloads with Range. Repositories live in memory; every request
and every commit is recorded so tests can assert what arrived and in which order.
``fail()`` injects a dropped connection or an error status into the N-th matching request.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import (
    BaseHTTPRequestHandler,
    SimpleHTTPRequestHandler,
    ThreadingHTTPServer,
)
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

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
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Blob:
    data: bytes
    lfs: bool

    def entry(self, path: str) -> dict:
        d = {"type": "file", "path": path, "size": len(self.data), "oid": git_blob_oid(self.data)}
        if self.lfs:
            d["lfs"] = {"oid": hashlib.sha256(self.data).hexdigest(), "size": len(self.data),
                        "pointerSize": 134}
        return d


@dataclass
class Repo:
    repo_id: str
    private: bool
    branches: dict = field(default_factory=dict)  # name -> commit oid
    trees: dict = field(default_factory=dict)  # commit oid -> {path: Blob}


class HttpError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **extra):
        super().__init__(message)
        self.status, self.code, self.extra = status, code, extra


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
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_HubHandler, self))
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
        repo = self.repos[repo_id]
        return {p: b.data for p, b in repo.trees[repo.branches[revision]].items()}

    # --- request plumbing -------------------------------------------------------------

    def _failure_for(self, method: str, path: str):
        with self.lock:
            for f in self._failures:
                if f["method"] == method and f["re"].search(path):
                    f["seen"] += 1
                    if f["seen"] == f["nth"]:
                        return f["mode"]
        return None

    def _route(self, method: str, path: str):
        for m, pattern, name in _ROUTES:
            if m == method and (match := re.fullmatch(pattern, path)):
                return name, {k: unquote(v) if v else v for k, v in match.groupdict().items()}
        raise HttpError(404, f"no route for {method} {path}")

    def _check_auth(self, name: str, headers, repo_id: str | None) -> None:
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
        content = json.loads(body)["content"]
        m = re.match(r"---\n(.*?)\n---\n", content, re.S)
        try:
            meta = yaml.safe_load(m.group(1)) if m else None
        except yaml.YAMLError as e:
            return 400, {"errors": [{"message": str(e)}], "warnings": []}
        warnings = [] if isinstance(meta, dict) else [{"message": "empty metadata"}]
        return 200, {"errors": [], "warnings": warnings}

    def repo_info(self, repo: str, rev: str | None = None, **_):
        r = self._repo(repo)
        oid, tree = self._tree(r, rev)
        return 200, {"id": repo, "sha": oid, "private": r.private,
                     "lastModified": "2000-01-01T00:00:00.000Z",
                     "siblings": [{"rfilename": p} for p in sorted(tree)]}

    def tree(self, repo: str, rev: str, path: str | None = None, query=None, **_):
        _, tree = self._tree(self._repo(repo), rev)
        prefix = (path or "").strip("/")
        recursive = (query or {}).get("recursive", ["False"])[0].lower() == "true"
        entries = _listing(tree, prefix, recursive)
        if prefix and not entries and prefix not in tree:
            raise HttpError(404, f"{prefix} not found", "EntryNotFound")
        return 200, entries

    def paths_info(self, repo: str, rev: str, body: bytes, **_):
        _, tree = self._tree(self._repo(repo), rev)
        out = []
        for p in parse_qs(body.decode()).get("paths", []):
            if p in tree:
                out.append(tree[p].entry(p))
            elif any(q.startswith(p.rstrip("/") + "/") for q in tree):
                out.append({"type": "directory", "path": p, "oid": _oid("dir", p), "size": 0})
        return 200, out

    def preupload(self, repo: str, rev: str, body: bytes, **_):
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
        if (query or {}).get("sig") != [_oid(self.token, oid)]:
            raise HttpError(403, "upload URL signature does not match")
        if hashlib.sha256(body).hexdigest() != oid:
            raise HttpError(400, "content does not match the announced sha256")
        with self.lock:
            self.lfs[oid] = body
        return 200, {}

    def lfs_verify(self, body: bytes, **_):
        p = json.loads(body)
        if p["oid"] not in self.lfs or len(self.lfs[p["oid"]]) != p["size"]:
            raise HttpError(404, "object not uploaded")
        return 200, {}

    def create_branch(self, repo: str, rev: str, body: bytes, **_):
        r = self._repo(repo)
        if rev in r.branches:
            raise HttpError(409, f"branch {rev} already exists")
        start = (json.loads(body or b"{}") or {}).get("startingPoint") or "main"
        r.branches[rev], _ = self._tree(r, start)
        return 200, {}

    def commit(self, repo: str, rev: str, body: bytes, **_):
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


class _HubHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms stalls

    def __init__(self, hub: FakeHub, *args, **kwargs):
        self.hub = hub
        super().__init__(*args, **kwargs)

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self):
        self._handle("GET")

    def do_HEAD(self):
        self._handle("HEAD")

    def do_POST(self):
        self._handle("POST")

    def do_PUT(self):
        self._handle("PUT")

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        body = self._body() if method in ("POST", "PUT") else b""
        with self.hub.lock:
            self.hub.requests.append((method, url.path))
        failure = self.hub._failure_for(method, url.path)
        if failure == "drop":
            self.close_connection = True
            return
        try:
            if failure is not None:
                raise HttpError(int(failure), "injected failure")
            name, params = self.hub._route(method, url.path)
            self.hub._check_auth(name, self.headers, params.get("repo"))
            status, payload = getattr(self.hub, name)(
                body=body, query=parse_qs(url.query), headers={k.lower(): v for k, v in
                                                               self.headers.items()}, **params)
        except HttpError as e:
            status, payload = e.status, {"error": str(e), **e.extra}
            self._send(status, json.dumps(payload).encode(), "application/json",
                       {"X-Error-Code": e.code, "X-Error-Message": str(e)}, method)
            return
        if isinstance(payload, tuple):
            self._send(status, payload[0], "application/octet-stream", payload[1], method)
        else:
            self._send(status, json.dumps(payload).encode(), "application/json", {}, method)

    def _send(self, status: int, data: bytes, ctype: str, headers: dict, method: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        for k, v in headers.items():
            if v is not None:
                self.send_header(k, v)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(data)


class _QuietFiles(SimpleHTTPRequestHandler):
    disable_nagle_algorithm = True
    def log_message(self, *args) -> None:
        pass


@contextmanager
def serve_directory(path):
    """Serve ``path`` over plain HTTP on 127.0.0.1; yields (base URL, list of requested paths)."""
    seen: list[str] = []

    class Handler(_QuietFiles):
        def do_GET(self):
            seen.append(self.path)
            super().do_GET()

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(path)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def isolate_hub(monkeypatch, tmp_path, hub: FakeHub | None = None) -> None:
    """Point huggingface_hub away from the public Hub and any real token: the default
    endpoint becomes a closed local port, the saved-token file a missing one, Xet is off
    (the fake Hub speaks LFS), progress bars are quiet; with ``hub``, HF_TOKEN is its token."""
    from huggingface_hub import constants
    from huggingface_hub.utils import disable_progress_bars

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
    from synthtext.dataset.catalogue import register_run
    from synthtext.render.config import RenderConfig
    from synthtext.render.generate import render_shards

    base = dict(layout="line", length=(2, 6), font_size=(20, 32), line_height=(40, 50),
                rotation={0: 1.0}, split=(("train", 0.7), ("validation", 0.3)))
    result = render_shards(RenderConfig(**{**base, **cfg}), out, n, shard_size=shard_size,
                           progress=False)
    if register:
        register_run(out)
    return result
