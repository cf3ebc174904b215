"""Identity resolution: evidence normalizers, linking rules as data, probabilistic matching."""
