// Precompiled header shared by every target that sees LibTorch (see cmake/Dependencies.cmake).
#pragma once
#include <torch/torch.h>
