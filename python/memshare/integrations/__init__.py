"""memshare inside the engines users already run: :mod:`.joblib` (loky and
multiprocessing backends), and, as they come, Dask and Ray.  Each module
imports its engine; ``import memshare`` imports none of them."""
