#ifndef POINTSMAN_CBLAS_SHIM_H
#define POINTSMAN_CBLAS_SHIM_H
#include <cblas.h>
#endif
