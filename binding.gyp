{
  "targets": [
    {
      "target_name": "low_native",
      "sources": ["native/addon.cc"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!@(node native/libtorch.mjs include)"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "<!@(node native/libtorch.mjs defines)"],
      "cflags!": ["-fno-exceptions", "-fno-rtti"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-std=gnu++14"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-frtti", "-O2", "-Wno-unused-parameter", "-Wno-deprecated-declarations"],
      "libraries": [
        "-L<!(node native/libtorch.mjs libdir)",
        "-Wl,-rpath,<!(node native/libtorch.mjs libdir)",
        "-Wl,--no-as-needed",
        "<!@(node native/libtorch.mjs libs)",
        "-Wl,--as-needed"
      ]
    }
  ]
}
