"""memshare inside the engines users already run: :mod:`.joblib` (loky and
multiprocessing backends), :mod:`.dask` (distributed) and :mod:`.ray`.
Each module imports its engine; ``import memshare`` imports none of them."""
