"""A stand-in for a GPU on a machine without one, to catch tensors left on the CPU by code meant for GPUs.

`to_standin(x)` gives a tensor that holds x's CPU data but reports another device (`meta`, the only
non-CPU device every torch build has without driving hardware); inside `standin_mode()` every
operation on such tensors follows CUDA's device rules and raises CUDA's error where CUDA would:

- an operation mixing a stand-in tensor with a CPU tensor fails (`index_add_`, `cat`, `where`, ...),
  except a 0-d CPU tensor (CUDA takes it as a scalar) and CPU index tensors in indexing;
- copies between devices (`.to(device)`, `.cpu()`, `copy_`) are allowed, and a tensor created with
  `device=` the stand-in (`torch.zeros(..., device=x.device)`, `torch.tensor(..., device=...)`) is one;
- values are computed for real on the CPU data, so `.item()`, `.tolist()` and data-dependent shapes
  (`nonzero`, `unique`) work and results can be compared with a plain CPU run.

Outputs of an operation on stand-in tensors are stand-in tensors. Only what a test routes through the
stand-in is checked; the rest of the code runs on plain CPU tensors, untouched.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map

STANDIN = torch.device("meta")
aten = torch.ops.aten
_INDEXING = {
    aten.index.Tensor,
    aten.index_put_.default,
    aten.index_put.default,
    aten._index_put_impl_.default,
}
_COPIES = {aten._to_copy.default, aten.copy_.default}


class OnStandin(torch.Tensor):
    """CPU data (`elem`) reporting the stand-in device."""

    elem: torch.Tensor

    @staticmethod
    def __new__(cls, elem: torch.Tensor) -> OnStandin:
        wrapper = torch.Tensor._make_wrapper_subclass(
            cls, elem.shape, strides=elem.stride(), dtype=elem.dtype, device=STANDIN,
            requires_grad=elem.requires_grad,
        )  # fmt: skip
        wrapper.elem = elem
        return wrapper

    def tolist(self) -> Any:
        return self.elem.tolist()

    def __repr__(self) -> str:
        return f"OnStandin({self.elem!r})"

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _dispatch(func, args, kwargs or {})


def _is_standin_device(device: Any) -> bool:
    return device is not None and torch.device(device).type == STANDIN.type


def _dispatch(func, args, kwargs):
    flat, _ = tree_flatten((args, kwargs))
    tensors = [t for t in flat if isinstance(t, torch.Tensor)]
    standin = [t for t in tensors if isinstance(t, OnStandin)]
    cpu = [t for t in tensors if not isinstance(t, OnStandin) and t.dim() > 0]  # 0-d CPU: a scalar
    if func is aten._local_scalar_dense.default:
        return func(_unwrap(args[0]))
    target = kwargs.get("device")
    if func in _COPIES:
        allowed = True
    elif func in _INDEXING:  # CUDA indexes a GPU tensor with CPU indices, not the reverse
        allowed = not (standin and not isinstance(args[0], OnStandin))
    else:
        allowed = not (standin and cpu)
    if not allowed:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, {STANDIN.type} "
            f"(the stand-in GPU) and cpu! ({func})"
        )
    wrap = bool(standin)
    if "device" in kwargs:
        wrap = _is_standin_device(target) or (target is None and wrap)
        kwargs = dict(kwargs, device=torch.device("cpu") if _is_standin_device(target) else target)
    if func is aten.copy_.default:
        wrap = isinstance(args[0], OnStandin)
    inner = {id(t.elem): t for t in standin}
    out = func(*tree_map(_unwrap, args), **tree_map(_unwrap, kwargs))

    def rewrap(t: Any) -> Any:
        if not isinstance(t, torch.Tensor) or isinstance(t, OnStandin):
            return t
        if id(t) in inner:  # an in-place op returns its input: the same stand-in object
            return inner[id(t)]
        return OnStandin(t) if wrap else t

    return tree_map(rewrap, out)


def _unwrap(t: Any) -> Any:
    return t.elem if isinstance(t, OnStandin) else t


class _Mode(TorchDispatchMode):
    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        return _dispatch(func, args, kwargs or {})


class _Factories(TorchFunctionMode):
    """torch.tensor / torch.as_tensor with device=the stand-in: they move data below the dispatcher."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.tensor, torch.as_tensor) and _is_standin_device(kwargs.get("device")):
            return OnStandin(func(*args, **dict(kwargs, device="cpu")))
        return func(*args, **kwargs)


@contextlib.contextmanager
def standin_mode() -> Iterator[None]:
    """CUDA's device rules for stand-in tensors, and stand-in factories, while inside."""
    with _Factories(), _Mode():
        yield


def to_standin(value: Any) -> Any:
    """Every tensor in `value` (nested lists, tuples, dicts) moved to the stand-in device."""
    return tree_map(lambda t: OnStandin(t) if isinstance(t, torch.Tensor) and not isinstance(t, OnStandin)
                    else t, value)  # fmt: skip


def devices(value: Any) -> set[str]:
    """The device types of every tensor in `value`."""
    flat, _ = tree_flatten(value)
    return {t.device.type for t in flat if isinstance(t, torch.Tensor)}


@contextlib.contextmanager
def outside() -> Iterator[None]:
    """Plain CPU code inside `standin_mode` (a model forward the test does not route through the stand-in)."""
    from torch.utils._python_dispatch import _disable_current_modes

    with torch._C.DisableTorchFunction(), _disable_current_modes():
        yield
