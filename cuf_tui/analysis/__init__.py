"""Pure computations over stored judgments: binarization, agreement, leaderboards."""
