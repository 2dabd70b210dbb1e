"""What an editor shows about a co program, computed by the pipeline the command line runs.

`passes.ide.analysis` is the one entry point, shared by the language server
and the browser playground: `analyze(text)` gives diagnostics, hovers,
definitions, references, symbols, inlay hints, semantic tokens and the IR
after any pass, as plain values with offsets into the text.
`passes.ide.positions` converts offsets to the protocol's (line, UTF-16 column).
"""
