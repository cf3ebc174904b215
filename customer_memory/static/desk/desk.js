// The desk's only script: look up by the kind picked, copy the greeting, and offer a due time.
document.addEventListener("DOMContentLoaded", () => {
  const kind = document.querySelector("[data-lookup-kind]");
  const value = document.querySelector("[data-lookup-value]");
  if (kind && value) {
    kind.removeAttribute("name");  // the value input carries the kind as its name: ?phone=…
    kind.addEventListener("change", () => value.setAttribute("name", kind.value));
  }
  document.querySelectorAll("[data-copy]").forEach((button) => {
    button.addEventListener("click", () => {
      const source = document.querySelector(button.dataset.copy);
      if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim());
    });
  });
  const due = document.querySelector("input[name=due_at]");
  if (due && !due.value) {
    // Two hours from now, in UTC, as the field reads it.
    due.value = new Date(Date.now() + 2 * 3600 * 1000).toISOString().slice(0, 16);
  }
});
