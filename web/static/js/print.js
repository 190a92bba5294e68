// A page that reads well on paper (the 帮扶档案) offers a 打印 button; the print dialog is also
// where a PDF is saved. Without this script the button stays hidden and the browser's own
// print menu does the same.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("[data-print]"), function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
