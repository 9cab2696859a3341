"""``python -m memshare demo``: a Pool over a shared array beside one that
copies it (:mod:`.pool`), and the four kinds of mapping (:mod:`.mappings`)."""
