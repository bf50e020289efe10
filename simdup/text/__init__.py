"""Document to text: decoding bytes, extracting an HTML page's main content, and preparing text for the tokenizer.

The first steps of the pipeline (fingerprint spec steps 0-3, written out in
:mod:`simdup.hasher`), before anything is hashed:

* :mod:`simdup.text.charset`: the character encoding of an HTML page received as bytes;
* :mod:`simdup.text.html`: an HTML page's main content (or all its visible text);
* :mod:`simdup.text.tokenize`: the text parameters of :class:`simdup.SimHasher`,
  and the UTF-8 text (and flags) the compiled tokenizer reads.
"""
