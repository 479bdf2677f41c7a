#ifndef PASSAUTH_CQRENCODE_SHIM_H
#define PASSAUTH_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
