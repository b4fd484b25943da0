{
  "targets": [
    {
      "target_name": "netsieve",
      "sources": ["src/addon.cc", "src/ebpf.cc", "src/iptables.cc", "src/conntrack.cc", "src/walk.cc", "src/replay.cc", "src/addon-replay.cc", "src/addon-lanes.cc", "src/lanes.cc", "src/conns-merge.cc", "src/calibrate.cc", "src/reference.cc", "src/desk.cc", "src/lane-pool.cc", "src/addon-reference.cc", "src/prefault.cc", "src/table-pool.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions", "-O3", "-O2"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++1y", "-std=gnu++17"],
      "cflags": ["-O3", "-g", "-fvisibility=hidden", "-fno-semantic-interposition", "-ffp-contract=off", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "cflags_cc": ["-std=c++17", "-O3", "-g", "-fvisibility=hidden", "-fno-semantic-interposition", "-ffp-contract=off"]
    }
  ]
}
