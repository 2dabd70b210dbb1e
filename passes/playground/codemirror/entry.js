// The parts of CodeMirror 6 that static/playground.js imports, bundled by
// build.sh into one module (static/codemirror.js) so the page needs no network.
export { EditorView, basicSetup } from "codemirror";
export { EditorState, Compartment } from "@codemirror/state";
export { hoverTooltip, keymap } from "@codemirror/view";
export { StreamLanguage, HighlightStyle, syntaxHighlighting } from "@codemirror/language";
export { linter, lintGutter, forceLinting } from "@codemirror/lint";
export { MergeView } from "@codemirror/merge";
export { tags } from "@lezer/highlight";
