// The CPU emulation of kernels/gated_rmsnorm.cu (see kernels/host_emulation.h), in namespace dm::kernels_host.
#include "kernels/host_emulation.h"
#define kernels kernels_host
#include "kernels/gated_rmsnorm.cu"
