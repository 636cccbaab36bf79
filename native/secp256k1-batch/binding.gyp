# Builds ecdsa_batch.node: batch verification of Ethereum-style (r, s, v) signatures against known public
# keys. It compiles the libsecp256k1 sources that the pinned `secp256k1` npm package ships (nothing is
# downloaded), with that package's own configuration for x86-64.
{
  "variables": {
    "libsecp256k1": "<!(node -p \"require('path').join(require('path').dirname(require.resolve('secp256k1/package.json')), 'src', 'secp256k1')\")"
  },
  "targets": [
    {
      "target_name": "ecdsa_batch",
      "sources": ["ecdsa_batch.c"],
      "include_dirs": ["<(libsecp256k1)", "<(libsecp256k1)/src"],
      "cflags": ["-O2", "-Wno-unused-function", "-Wno-nonnull-compare"],
      "defines": [
        "NAPI_VERSION=8",
        "ECMULT_GEN_PREC_BITS=4",
        "ECMULT_WINDOW_SIZE=15",
        "ENABLE_MODULE_RECOVERY=1",
        "USE_ENDOMORPHISM=1",
        "USE_NUM_NONE=1",
        "USE_FIELD_INV_BUILTIN=1",
        "USE_SCALAR_INV_BUILTIN=1"
      ],
      "conditions": [
        ["target_arch=='x64' and OS!='win'", {
          "defines": ["HAVE___INT128=1", "USE_ASM_X86_64=1", "USE_FIELD_5X52=1", "USE_SCALAR_4X64=1"]
        }, {
          "defines": ["USE_FIELD_10X26=1", "USE_SCALAR_8X32=1"]
        }]
      ]
    }
  ]
}
