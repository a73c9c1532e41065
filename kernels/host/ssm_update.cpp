// The CPU emulation of kernels/ssm_update.cu (see kernels/host_emulation.h), in namespace dm::kernels_host.
#include "kernels/host_emulation.h"
#define kernels kernels_host
#include "kernels/ssm_update.cu"
