"""The copying report: near-copied answer cells (`code`), model files with the same weights (`weights`), the page
(`report`)."""
