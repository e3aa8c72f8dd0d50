"""Source files -> passages: ``documents`` finds and reads files (one reader per format in
``readers/``), ``cleaning`` drops what is not the document's text, ``chunking`` splits it
into passages. No models and no index here."""
