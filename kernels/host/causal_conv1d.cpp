// The CPU emulation of kernels/causal_conv1d.cu (see kernels/host_emulation.h), in namespace dm::kernels_host.
#include "kernels/host_emulation.h"
#define kernels kernels_host
#include "kernels/causal_conv1d.cu"
