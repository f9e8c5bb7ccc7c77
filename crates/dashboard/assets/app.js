// clientca dashboard: small enhancements on top of pages that work without JavaScript.

const announce = (text) => {
  const live = document.getElementById("announcer");
  if (live) live.textContent = text;
};

// Copy buttons: data-copy names the element whose text is copied; data-copy-as-url makes a
// path absolute against this page's origin.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  let text = source.textContent.trim();
  if (button.hasAttribute("data-copy-as-url")) text = new URL(text, location.href).href;
  try {
    await navigator.clipboard.writeText(text);
    announce("Copied");
    button.textContent = "Copied";
    setTimeout(() => { button.textContent = button.hasAttribute("data-copy-as-url") ? "Copy URL" : "Copy"; }, 1500);
  } catch {
    announce("Copying is not allowed here; select the text instead");
  }
});

// A file input with data-fills puts the chosen file's text into that textarea (a CSR file).
document.addEventListener("change", async (event) => {
  const input = event.target.closest("input[type=file][data-fills]");
  if (!input || !input.files || input.files.length === 0) return;
  const target = document.getElementById(input.dataset.fills);
  if (!target) return;
  target.value = await input.files[0].text();
  announce("The file was read into the form");
});

// A `Secure` session cookie is dropped on a plain-http address other than localhost: say so on
// the sign-in page instead of bouncing back to it.
if (!window.isSecureContext) {
  for (const notice of document.querySelectorAll("[data-insecure-origin]")) {
    notice.hidden = false;
    // Do not send the token over this connection at all.
    for (const button of notice.parentElement.querySelectorAll("form button[type=submit]")) button.disabled = true;
  }
}
