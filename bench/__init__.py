"""Load benchmarks of modelport against peer servers (`make bench`)."""
