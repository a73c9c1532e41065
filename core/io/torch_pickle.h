// State dicts written by PyTorch's torch.save (the zip format of PyTorch ≥ 1.6): the format of
// `pytorch_model.bin`, of Diff-Mamba's fine-tuned outputs and of the original mamba_ssm checkpoints.
//
// The archive is opened with LibTorch's own zip reader (caffe2::serialize::PyTorchStreamReader);
// `data.pkl` is run by a restricted unpickler that knows only what a state dict needs (dicts,
// OrderedDict, tensors rebuilt from typed storages, parameters) and refuses every other Python object,
// so a hostile file cannot execute code. Storages are memory-mapped: tensors are views of the file.
#pragma once

#include <string>

#include "core/io/safetensors.h"  // NamedTensors

namespace dm::io {

// Name → tensor in the file's order. Tensors saved on one storage (tied weights, views) stay views of
// one storage. Throws FileError naming the file and the defect (legacy pre-1.6 format, big-endian
// data, truncated archive, a non-tensor value, any Python object outside the allowed set).
NamedTensors read_torch_state_dict(const std::string& path);

}  // namespace dm::io
