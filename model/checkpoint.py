"""Checkpoints: one file with weights, optimiser, schedules, RNG states, vocabulary and config.

Written to a temporary file in the same directory, fsynced, then ``os.replace``d, so a kill
leaves either the old or the new checkpoint, never half of one. Read with
``torch.load(weights_only=True)``: a checkpoint is plain tensors, numbers, strings, lists and
dicts (RNG states included), so a file carrying arbitrary pickled objects is refused.

Keys of ``fphtr.checkpoint/1``: ``format``; ``model``, ``vocab``, ``model_config``,
``train_config`` (:func:`model_payload`, enough for ``eval``/``predict``); and from training
(:func:`model.state.checkpoint_payload`) ``ema``, ``optimizer``, ``scheduler``, ``scaler``,
``step``, ``mix`` (schedule and sample clock), ``rng`` (one state per rank), ``best_cer``,
``elapsed`` (seconds), ``world_size``, ``data`` and ``val`` (source specs, local paths made
absolute: :func:`model.sources.stored_text`) and ``init_from`` (absolute path of the
``--init-from`` checkpoint, or None).
"""

from __future__ import annotations

import os
import pickle
import random

import numpy as np
import torch

from synthtext.dataset.errors import UserError

from .config import ModelConfig, TrainConfig, from_json, to_json
from .network import FPHTR, build_model
from .vocab import Vocab

FORMAT = "fphtr.checkpoint/1"


def save(path: str, payload: dict) -> None:
    """Write ``payload`` (plus ``format``) to ``path`` atomically.

    A temporary file in the target directory is written, fsynced and renamed over ``path``,
    so a kill leaves the old checkpoint or the new one. ``payload`` must hold only what
    ``torch.load(weights_only=True)`` accepts (tensors, numbers, strings, lists, dicts).
    """
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            torch.save({"format": FORMAT, **payload}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load(path: str) -> dict:
    """The checkpoint dict at ``path``, read on the CPU with ``weights_only=True``.

    Raises:
        UserError: the file is missing, asks to run code (a pickled global outside torch's
            weights-only allow-list; nothing is run), cannot be read, or is not an
            ``fphtr.checkpoint/1`` file.
    """
    if not os.path.isfile(path):
        raise UserError(f"checkpoint {path}: file not found")
    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # refused by the weights-only unpickler, or not a pickle
        unsafe = _unsafe_globals(path)
        if unsafe:
            raise UserError(f"checkpoint {path} is not safe to load: it asks to run code "
                            f"({', '.join(unsafe[:3])}); weights_only refused it") from None
        raise UserError(f"checkpoint {path} cannot be read (not a file torch.save wrote, "
                        "or a damaged one)") from None
    except Exception as e:  # truncated zip, not a torch file, ...
        first = str(e).splitlines()[0][:200] if str(e) else ""  # shown, not interpreted
        raise UserError(f"checkpoint {path} cannot be read ({type(e).__name__}: {first})"
                        ) from None
    if not isinstance(ck, dict) or ck.get("format") != FORMAT:
        raise UserError(f"checkpoint {path} is not an fphtr checkpoint (format "
                        f"{ck.get('format') if isinstance(ck, dict) else type(ck).__name__!r})")
    return ck


def _unsafe_globals(path: str) -> list[str]:
    """The functions/classes a checkpoint's pickle names beyond what weights_only allows.

    torch reads the pickle statically (nothing runs); a file that is no ``torch.save`` zip
    has none to name.
    """
    try:
        return sorted(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # noqa: BLE001 - not a torch zip: nothing to name
        return []


def configs(ck: dict) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs stored in a checkpoint (unknown keys raise ConfigError)."""
    return from_json(ModelConfig, ck["model_config"]), from_json(TrainConfig, ck["train_config"])


def model_from(ck: dict, path: str = "checkpoint", ema: bool = True) -> tuple[FPHTR, Vocab]:
    """The model (EMA weights when present and ``ema``), in eval mode on the CPU, and vocabulary.

    Raises:
        UserError: the weights do not fit the checkpoint's own config and vocabulary
            (``path`` names the file in the message).
    """
    mcfg, _ = configs(ck)
    vocab = Vocab.from_json(ck["vocab"])
    model = build_model(mcfg, vocab)
    state = ck["ema"] if ema and ck.get("ema") is not None else ck["model"]
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise UserError(f"{path}: weights do not fit its own config/vocabulary "
                        f"({str(e).splitlines()[0]})") from None
    return model.eval(), vocab


def load_model(path: str, ema: bool = True) -> tuple[FPHTR, Vocab, dict]:
    """:func:`load` then :func:`model_from`: model (eval mode, CPU), vocabulary, checkpoint."""
    ck = load(path)
    model, vocab = model_from(ck, path, ema)
    return model, vocab, ck


# -- RNG states as plain data -------------------------------------------------------------
def rng_state() -> dict:
    """This process's Python, NumPy, torch and CUDA RNG states as weights-only-safe data.

    NumPy's key array becomes an int64 tensor and Python's state a list, so that
    ``torch.load(weights_only=True)`` reads them back.
    """
    py = random.getstate()
    np_state = np.random.get_state()
    return {"python": [py[0], list(py[1]), py[2]],
            "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)),
                      int(np_state[2]), int(np_state[3]), float(np_state[4])],
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []}


def set_rng_state(d: dict) -> None:
    """Restore the states :func:`rng_state` returned (CUDA ones only where CUDA is present)."""
    py = d["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    n = d["numpy"]
    np.random.set_state((n[0], n[1].numpy().astype(np.uint32), n[2], n[3], n[4]))
    torch.set_rng_state(d["torch"])
    if d.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(d["cuda"])


# -- vocabulary changes for --init-from ------------------------------------------------------
def extend_vocab(model: FPHTR, old: Vocab, new: Vocab) -> FPHTR:
    """Grow embedding and head for the symbols ``new`` appends to ``old`` (same ids first).

    New embedding rows start like the others (normal, std ``d_model ** -0.5``); new output
    rows copy the mean of the old ones, so the new characters begin no more likely than an
    average one. ``model`` is changed in place and returned.

    Raises:
        UserError: ``new`` does not start with ``old``'s symbols (ids would move).
    """
    if new.symbols[:len(old)] != old.symbols:
        raise UserError("the new vocabulary does not extend the checkpoint's (ids would move)")
    n_old, n_new = len(old), len(new)
    if n_new == n_old:
        return model
    d = model.cfg.d_model
    emb = torch.nn.Embedding(n_new, d)
    head = torch.nn.Linear(d, n_new)
    with torch.no_grad():
        torch.nn.init.normal_(emb.weight, std=d ** -0.5)
        emb.weight[:n_old] = model.embedding.weight
        head.weight[:n_old] = model.head.weight
        head.bias[:n_old] = model.head.bias
        head.weight[n_old:] = model.head.weight.mean(0)
        head.bias[n_old:] = model.head.bias.mean()
    model.embedding, model.head, model.vocab_size = emb, head, n_new
    return model


def check_vocab_covers(vocab: Vocab, chars, path: str) -> None:
    """On --resume, characters the checkpoint cannot encode are an error, not silent <unk>.

    Raises:
        UserError: some of ``chars`` are missing from ``vocab``; names checkpoint ``path``
            and the fix (``--init-from``).
    """
    missing = vocab.missing(chars)
    if missing:
        shown = "".join(missing[:10]).replace("\n", "\\n")
        raise UserError(f"checkpoint {path} has another vocabulary: {len(missing)} characters of "
                        f"the data are not in it ({shown!r}); start a new run from it with "
                        "--init-from to extend the vocabulary")


def model_payload(model, vocab: Vocab, mcfg: ModelConfig, tcfg: TrainConfig) -> dict:
    """The part of a checkpoint that rebuilds a model: weights, vocabulary, both configs."""
    return {"model": model.state_dict(), "vocab": vocab.to_json(),
            "model_config": to_json(mcfg), "train_config": to_json(tcfg)}
