// Wayline's only script besides htmx. The Content-Security-Policy forbids inline handlers
// (onchange=, onsubmit=), so pages mark elements with data attributes and this file wires them.
"use strict";

document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-submit-on-change]");
  if (select && select.form) {
    select.form.requestSubmit();
  }
});

document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});
