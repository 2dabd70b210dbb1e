"""The playground: `python -m passes serve`, a page on this machine to try co.

server.py answers the page (passes.ide's analysis: diagnostics, hovers, the
IR after any pass); running.py runs a program within a step and a time
limit; static/ holds the page and the CodeMirror bundle that codemirror/
builds. The web stack is imported only when serving.
"""
