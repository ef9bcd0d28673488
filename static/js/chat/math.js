// TeX math: the server leaves the source, escaped, in .math-inline and .math-display
// elements (webui/chat/markdown_math.py); KaTeX typesets it here. Untrusted input:
// no \href, \url or \includegraphics (trust: false), errors shown in place, sizes and
// macro expansion bounded.
(function () {
  "use strict";

  var OPTIONS = { throwOnError: false, trust: false, strict: "ignore", maxSize: 10, maxExpand: 500 };

  // KaTeX gives a few SVG and MathML nodes a style attribute with setAttribute, which the
  // Content-Security-Policy (style-src 'self', no 'unsafe-inline') refuses. The same
  // styles through the CSSOM (element.style) are allowed, so while KaTeX draws, and only
  // then, a style attribute goes there: the page needs no inline-style permission.
  function typeset(el) {
    var plain = Element.prototype.setAttribute;
    Element.prototype.setAttribute = function (name, value) {
      if (name === "style") { this.style.cssText = value; return; }
      return plain.call(this, name, value);
    };
    var source = el.textContent;
    try {
      window.katex.render(source, el, Object.assign({ displayMode: el.classList.contains("math-display") }, OPTIONS));
      el.dataset.tex = source;
    } catch (error) {
      el.textContent = source;  // not typeset: the source stays readable
    } finally {
      Element.prototype.setAttribute = plain;
    }
  }

  function typesetAll() {
    if (!window.katex) return;
    document.querySelectorAll(".markdown :is(.math-inline, .math-display):not([data-tex])").forEach(typeset);
  }

  document.addEventListener("htmx:wsAfterMessage", typesetAll);
  document.addEventListener("htmx:load", typesetAll);
  document.addEventListener("DOMContentLoaded", typesetAll);
})();
