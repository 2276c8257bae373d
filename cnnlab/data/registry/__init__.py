"""Package data: the sha256 lists of the datasets (README.md beside this file); read by cnnlab.data.checksums."""
