"""Speed and memory benchmarks; every case is compared with a peer measured in the same run."""
