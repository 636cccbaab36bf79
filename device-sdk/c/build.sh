#!/bin/sh
# Builds the C signer and its command (iotrail-sign) with the system C compiler, against the libsecp256k1
# sources the pinned `secp256k1` npm package ships (nothing is downloaded):
#   sh device-sdk/c/build.sh [output directory, default device-sdk/c/build]
# The build is configured as a 32-bit microcontroller's would be (10x26 field, 8x32 scalar, no GMP), and the
# signing table is generated here once and compiled in as constant data (flash on a device), so the
# signer's context needs no heap and little RAM.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/build}
lib=$(cd "$here/../.." && node -p "require('path').join(require('path').dirname(require.resolve('secp256k1/package.json')), 'src', 'secp256k1')")
CC=${CC:-cc}
CFLAGS=${CFLAGS:--Os -ffunction-sections -fdata-sections}
DEFINES="-DECMULT_GEN_PREC_BITS=2 -DECMULT_WINDOW_SIZE=2 -DENABLE_MODULE_RECOVERY=1 -DUSE_NUM_NONE=1 \
  -DUSE_FIELD_INV_BUILTIN=1 -DUSE_SCALAR_INV_BUILTIN=1 -DUSE_FIELD_10X26=1 -DUSE_SCALAR_8X32=1"
mkdir -p "$out/src"
# 1. The signing table (ECMULT_GEN_PREC_BITS=2: 32 KiB), generated once on the build machine.
$CC -std=c99 -O2 $DEFINES -I"$lib" -I"$lib/src" "$lib/src/gen_context.c" -o "$out/gen_context"
(cd "$out" && ./gen_context)
# 2. libsecp256k1 with that table as constant data.
$CC -std=c99 $CFLAGS -w -c $DEFINES -DUSE_ECMULT_STATIC_PRECOMPUTATION=1 -I"$out/src" -I"$lib" -I"$lib/src" \
  "$lib/src/secp256k1.c" -o "$out/secp256k1.o"
# 3. The signer (strict C99, every warning an error) and its command.
$CC -std=c99 $CFLAGS -Wall -Wextra -Werror -pedantic -c -I"$lib/include" "$here/iotrail.c" -o "$out/iotrail.o"
$CC -std=gnu99 $CFLAGS -Wall -Wextra -Werror -c -I"$lib/include" "$here/iotrail-sign.c" -o "$out/iotrail-sign.o"
$CC -Wl,--gc-sections "$out/iotrail-sign.o" "$out/iotrail.o" "$out/secp256k1.o" -o "$out/iotrail-sign"
echo "$out/iotrail-sign"
