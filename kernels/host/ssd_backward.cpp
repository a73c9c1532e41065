// The CPU emulation of kernels/ssd_backward.cu (see kernels/host_emulation.h), in namespace dm::kernels_host.
#include "kernels/host_emulation.h"
#define kernels kernels_host
#include "kernels/ssd_backward.cu"
