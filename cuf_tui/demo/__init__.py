"""`cuf-tui demo-model`: a small real model (SmolLM2-135M) on a machine with no GPU and no API
key, served by vLLM's CPU build or llama.cpp, added to a workspace."""
