"""The open_clip backend: validated names, cache identity, loading, the image checks and encoders."""

from __future__ import annotations

import difflib
import hashlib
import io
import json
import os
from typing import Any

import numpy as np

from ._cache import embed, file_fingerprint, text_digest
from ._params import check_memory, resolve_device
from ._registry import load_model

DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_PRETRAINED = "laion2b_s34b_b79k"
_SCHEMAS = ("hf-hub:", "local-dir:")
_CHECKPOINT_SUFFIXES = (".bin", ".pt", ".pth", ".safetensors", ".npz", ".ckpt")
_IMAGE_HELP = (
    "ClipProvider and ClipEmbedder take images as file paths, encoded bytes, PIL images, or uint8 arrays "
    "of shape (H, W) or (H, W, C) with C in 1, 3, 4 (channels last; floats in [0, 1] work too)"
)


def _import_open_clip():
    try:
        import open_clip
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "ClipProvider and ClipEmbedder need open_clip; install it with pip install 'zeromatch-sk[clip]'."
        ) from exc
    return open_clip


# ------------------------------------------------------------------------ images
def check_images(X: Any) -> list[Any]:
    """``X`` as a list of single images (not decoded yet)."""
    if isinstance(X, (str, bytes, os.PathLike)):
        raise TypeError(
            f"X must be a list of images, not a single {type(X).__name__}; wrap it in a list: [image]."
        )
    if hasattr(X, "to_numpy"):  # pandas Series or one-column DataFrame
        X = X.to_numpy()
        if X.ndim == 2 and X.shape[1] == 1:
            X = X[:, 0]
    if isinstance(X, np.ndarray) and X.dtype != object and X.ndim not in (3, 4):
        raise ValueError(
            f"X is a numeric array of shape {X.shape}: neither embeddings of the model's width nor a batch "
            f"of images (N, H, W) or (N, H, W, C). {_IMAGE_HELP}."
        )
    items = list(X)
    if not items:
        raise ValueError("X contains no images; pass at least one.")
    return items


def _image_digest(item: Any, row: int) -> str:
    from PIL import Image

    h = hashlib.sha1()
    if isinstance(item, (str, os.PathLike)):
        try:
            with open(item, "rb") as f:
                h.update(b"encoded:" + f.read())
        except OSError as exc:
            raise FileNotFoundError(
                f"Cannot read the image file at row {row} ({os.fspath(item)!r}): {exc.strerror or exc}. "
                "Check the path (relative paths start from the current directory) or drop that row."
            ) from exc
    elif isinstance(item, (bytes, bytearray)):
        h.update(b"encoded:" + bytes(item))
    elif isinstance(item, Image.Image):
        h.update(f"pil:{item.mode}:{item.size}:".encode())
        h.update(item.tobytes())
    elif isinstance(item, np.ndarray):
        h.update(f"array:{item.dtype.str}:{item.shape}:".encode())
        h.update(np.ascontiguousarray(item).tobytes())
    else:
        raise TypeError(f"Row {row} of X is a {type(item).__name__}. {_IMAGE_HELP}.")
    return h.hexdigest()


def _to_pil(item: Any, row: int):
    from PIL import Image

    if isinstance(item, Image.Image):
        return item.convert("RGB")
    if isinstance(item, np.ndarray):
        a = item
        if a.ndim == 3 and a.shape[-1] == 1:
            a = a[..., 0]
        if not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (3, 4))):
            raise ValueError(
                f"Row {row} of X is an array of shape {item.shape}, not an image. {_IMAGE_HELP}."
            )
        if a.dtype != np.uint8:
            lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
            if a.dtype.kind == "f" and 0.0 <= lo and hi <= 1.0:
                a = np.round(a * 255.0).astype(np.uint8)
            elif a.dtype.kind in "iu" and 0 <= lo and hi <= 255:
                a = a.astype(np.uint8)
            else:
                raise ValueError(
                    f"Row {row} of X is a {a.dtype} array with values in [{lo:g}, {hi:g}]; give uint8 pixels "
                    "(0-255) or floats in [0, 1]."
                )
        return Image.fromarray(a).convert("RGB")
    source = io.BytesIO(bytes(item)) if isinstance(item, (bytes, bytearray)) else item
    what = "the encoded bytes" if isinstance(item, (bytes, bytearray)) else repr(os.fspath(item))
    try:
        with Image.open(source) as im:
            im.load()
            return im.convert("RGB")
    except (OSError, SyntaxError, ValueError) as exc:  # UnidentifiedImageError is an OSError
        reason = str(exc).rstrip(".")
        raise ValueError(
            f"Could not decode the image at row {row} ({what}): {reason}. Check that it is an image file "
            "PIL can read (PNG, JPEG, ...) and not truncated, or drop that row."
        ) from exc


# ----------------------------------------------------------------------- backend
class ClipBackend:
    """An open_clip model: validated names, cache identity, lazy loading and encoders."""

    family = "open_clip"

    def __init__(self, model: Any, pretrained: Any, device: Any = "auto"):
        open_clip = _import_open_clip()
        if not isinstance(model, str) or not model:
            raise ValueError(
                f"model must be an open_clip architecture name such as 'ViT-B-32', got {model!r}."
            )
        if not model.startswith(_SCHEMAS):
            model = model.replace("/", "-")  # open_clip's own spelling: 'ViT-B/32' is 'ViT-B-32'
        self.name = model
        self.device = resolve_device(device)
        self.hub = False
        if model.startswith(_SCHEMAS):
            # open_clip reads config and weights from the hub or the folder itself.
            self.checkpoint = None
            self.hub = model.startswith("hf-hub:")
            if self.hub:
                fingerprint = model
            else:
                local = os.path.expanduser(model[len("local-dir:") :])
                if not os.path.isdir(local):
                    raise FileNotFoundError(
                        f"No directory at {local!r} for model={model!r}. 'local-dir:' takes a folder holding "
                        "open_clip_config.json and the weights (e.g. open_clip_model.safetensors)."
                    )
                fingerprint = file_fingerprint(local)
            config_id = model
        else:
            cfg = open_clip.get_model_config(model)
            if cfg is None:
                close = difflib.get_close_matches(model, open_clip.list_models(), n=3)
                hint = f" (did you mean {', '.join(map(repr, close))}?)" if close else ""
                raise ValueError(
                    f"Unknown CLIP architecture model={model!r}{hint}. Use a name from "
                    "open_clip.list_models(), e.g. 'ViT-B-32', register your own config first with "
                    "open_clip.add_model_config('my-arch.json'), or use 'local-dir:/path/to/model' or "
                    "'hf-hub:org/name'."
                )
            config_id = hashlib.sha1(json.dumps(cfg, sort_keys=True, default=str).encode()).hexdigest()
            self.checkpoint, fingerprint = self._resolve_pretrained(open_clip, model, pretrained)
        self.model_id = (self.family, model, config_id, fingerprint)

    def _resolve_pretrained(self, open_clip, model: str, pretrained: Any) -> tuple[str, str]:
        if pretrained is None or (isinstance(pretrained, str) and not pretrained):
            raise ValueError(
                f"ClipProvider and ClipEmbedder need pretrained weights for {model!r}: a pretrained tag from "
                f"open_clip.list_pretrained_tags_by_model({model!r}) or the path of a local checkpoint file. "
                "Randomly initialised weights would give meaningless zero-shot predictions."
            )
        if not isinstance(pretrained, (str, os.PathLike)):
            raise TypeError(
                f"pretrained must be a tag or a checkpoint path, got {type(pretrained).__name__}."
            )
        if isinstance(pretrained, str) and open_clip.get_pretrained_cfg(model, pretrained):
            self.hub = True
            return pretrained, pretrained
        path = os.path.expanduser(os.fspath(pretrained))
        if os.path.isfile(path):
            path = os.path.abspath(path)
            return path, file_fingerprint(path)
        tags = open_clip.list_pretrained_tags_by_model(model)
        if os.path.exists(path) or os.sep in path or "/" in path or path.endswith(_CHECKPOINT_SUFFIXES):
            raise FileNotFoundError(
                f"No checkpoint file at pretrained={os.fspath(pretrained)!r}. Give the path of a local "
                "open_clip checkpoint file (e.g. open_clip_pytorch_model.bin or .safetensors, downloaded on "
                f"a machine with internet access), or a pretrained tag of {model!r}"
                f"{': ' + ', '.join(tags[:8]) if tags else ''}."
            )
        raise ValueError(
            f"pretrained={pretrained!r} is neither a pretrained tag of {model!r} nor an existing file. "
            f"Known tags: {', '.join(tags) if tags else 'none (pass a local checkpoint path)'}; or give the "
            "path of a local checkpoint file."
        )

    # ------------------------------------------------------------------ loading
    def _load(self):
        open_clip = _import_open_clip()
        try:
            model, _, preprocess = open_clip.create_model_and_transforms(
                self.name, pretrained=self.checkpoint, device=self.device
            )
        except Exception as exc:
            reason = str(exc).rstrip(".")
            if self.hub:
                raise OSError(
                    f"Could not get the CLIP weights model={self.name!r}, pretrained={self.checkpoint!r}: "
                    f"{reason}. "
                    "Without access to the Hugging Face hub, download the checkpoint file on a machine with "
                    "internet access and pass its local path: ClipProvider(model=..., "
                    "pretrained='/path/to/open_clip_pytorch_model.bin') (the same for ClipEmbedder)."
                ) from exc
            raise ValueError(
                f"Could not load the checkpoint {self.checkpoint or self.name!r} into the CLIP architecture "
                f"{self.name!r}: {reason}. Pass the model= architecture the checkpoint was saved from."
            ) from exc
        model.eval()
        return model, preprocess, open_clip.get_tokenizer(self.name)

    @property
    def loaded(self):
        """(model, preprocess, tokenizer), shared by every estimator in this process."""
        return load_model(self.model_id + (self.device,), self._load)

    def logit_scale(self, memory=None) -> float:
        """The model's own ``logit_scale.exp()``."""
        fn = check_memory(memory).cache(_read_logit_scale, ignore=["backend"])
        return fn(self.model_id, self)

    # ----------------------------------------------------------------- encoders
    def _encode_images(self, items: list[Any]) -> np.ndarray:
        import torch

        model, preprocess, _ = self.loaded
        batch = torch.stack([preprocess(_to_pil(item, row)) for row, item in items])
        with torch.inference_mode():
            out = model.encode_image(batch.to(self.device))
        return out.float().cpu().numpy()

    def _encode_texts(self, texts: list[str]) -> np.ndarray:
        import torch

        model, _, tokenizer = self.loaded
        with torch.inference_mode():
            out = model.encode_text(tokenizer(texts).to(self.device))
        return out.float().cpu().numpy()

    def embed_images(self, X, *, memory=None, batch_size=32, verbose=1, desc="embedding images"):
        """Raw (not renormalised) image embeddings, shape (n, embed_dim), float32."""
        items = check_images(X)
        digests = [_image_digest(item, row) for row, item in enumerate(items)]
        return embed(
            list(enumerate(items)),
            digests,
            self._encode_images,
            model_id=self.model_id + ("image",),
            memory=memory,
            batch_size=batch_size,
            verbose=verbose,
            desc=desc,
            unit="image",
        )

    embed_inputs = embed_images

    def embed_prompts(self, prompts, *, memory=None, batch_size=32, verbose=1):
        """Raw text-tower embeddings of ``prompts``, shape (n, embed_dim), float32."""
        from ._texts import check_texts

        prompts = check_texts(prompts, owner="prompts")
        return embed(
            prompts,
            [text_digest(p) for p in prompts],
            self._encode_texts,
            model_id=self.model_id + ("text",),
            memory=memory,
            batch_size=batch_size,
            verbose=verbose,
            desc="embedding prompts",
            unit="prompt",
        )


def _read_logit_scale(model_id, backend) -> float:
    # Module-level so joblib.Memory can cache it under model_id alone.
    return float(backend.loaded[0].logit_scale.exp().item())
