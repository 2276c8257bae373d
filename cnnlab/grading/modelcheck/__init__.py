"""Saved models: `inspection` (the file, without Keras), the jailed model server (`server` here, `_probe` in the
jail, `wire` between them), `checks` (judged here), and a worker's `session`."""
