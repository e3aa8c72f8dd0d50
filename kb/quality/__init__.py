"""Search quality, measured: the labelled evaluation set (``evaluation``), public BEIR
benchmarks (``beir``), and the golden questions asked after each ingest (``golden``)."""
