"""Untrusted code's jail: bubblewrap (`bwrap`), the one policy of limits and environment (`policy`), the grader's
reads of what a jailed process wrote (`files`), and the layer that runs inside the jail first (`_inside`)."""
