// Access: sign in with an API key (kept in sessionStorage, for this browser session only), who you
// are, and (for global admins) API keys: list, issue, revoke.
import { config, get, post, del, can, setApiKey, whoami, session, apiKey } from "../api.js";
import { h, table, ago, field, select, button, busy, section, clear, errorBox, flash, fmtTime } from "../dom.js";
import { navigate } from "../main.js";

export async function signInPage({ query }) {
  const next = query.get("next") || "/";
  if (!config.auth) return h("div", { class: "page" }, h("h1", {}, "Sign in"), h("p", {}, "Authentication is off on this gateway: nothing to sign in to."));
  const errors = h("div", {});
  const form = h("form", { class: "stack narrow", "aria-label": "Sign in", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(form.querySelector("button"), async () => {
      setApiKey(new FormData(form).get("key").trim());
      try {
        await whoami(true);
      } catch (err) {
        setApiKey(null);
        throw err;
      }
      navigate(next.startsWith("/signin") ? "/" : next);
    }, errors);
  } },
    field("API key", h("input", { name: "key", id: "api-key", type: "password", required: true, autocomplete: "off", spellcheck: "false" }),
      "Kept in this browser tab's session storage only; closing the browser forgets it."),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "sign-in" }, "Sign in")));
  return h("div", { class: "page" }, h("h1", {}, "Sign in"), section("Tauro", form));
}

export async function accessPage() {
  const me = session.me || (await whoami());
  const who = section("You",
    h("dl", { class: "facts" },
      h("div", {}, h("dt", {}, "Actor"), h("dd", {}, me?.actor || "—")),
      h("div", {}, h("dt", {}, "Roles"), h("dd", { id: "my-roles" }, (me?.roles || []).join(", ") || "none")),
      h("div", {}, h("dt", {}, "Authenticated by"), h("dd", {}, me?.method || "—")),
      h("div", {}, h("dt", {}, "Authentication"), h("dd", {}, config.auth ? "on" : "off (every caller is an admin)"))),
    config.auth && apiKey() ? button("Sign out", () => { setApiKey(null); navigate("/signin"); }, { class: "secondary" }) : null);
  if (!config.auth || !can("keys")) {
    return h("div", { class: "page" }, h("h1", {}, "Access"), who,
      config.auth ? h("p", { class: "muted" }, "Managing API keys needs a global admin grant.") : h("p", { class: "muted" }, "API keys matter only with authentication on (ENABLE_AUTH)."));
  }
  let reloadKeys = async () => {};
  const keys = await get("/api-keys", { limit: 100, sort: "-created_at" });
  const projects = (await get("/projects", { limit: 100, sort: "name", fields: "id,name" })).data;
  const issued = h("div", { id: "issued", "aria-live": "polite" });
  const errors = h("div", {});
  const form = h("form", { class: "inline-form", "aria-label": "Issue an API key", onsubmit: async (ev) => {
    ev.preventDefault();
    await busy(form.querySelector("button"), async () => {
      const d = Object.fromEntries(new FormData(form));
      const body = { name: d.name, grants: [{ role: d.role, project_id: d.project || null }] };
      if (d.expires) body.expires_at = new Date(d.expires).toISOString();
      const k = (await post("/api-keys", body)).data;
      clear(issued, h("div", { class: "notice" }, h("p", {}, `Key ${k.name} (${k.id}) issued. Copy it now: it is not shown again.`),
        h("code", { class: "secret", id: "issued-key" }, k.key)));
      form.reset();
      await reloadKeys();
    }, errors);
  } },
    field("Name", h("input", { name: "name", id: "key-name", required: true, placeholder: "ci-deployer" })),
    field("Role", select("role", ["viewer", "operator", "admin"], "viewer", { id: "key-role" })),
    field("Project", select("project", [["", "All projects (global)"], ...projects.map((p) => [p.id, p.name])], "", { id: "key-project" })),
    field("Expires", h("input", { name: "expires", type: "datetime-local" })),
    h("div", { class: "actions" }, h("button", { type: "submit", id: "issue-key" }, "Issue key")));
  const listErr = h("div", {});
  const keysBox = h("div", { id: "keys" });
  const drawKeys = (list) => clear(keysBox, table([
    ["Name", (k) => k.name], ["Id", (k) => h("code", {}, k.id)],
    ["Grants", (k) => k.grants.map((g) => `${g.role}${g.project_id ? ` on ${g.project_id}` : ""}`).join(", ")],
    ["Created", (k) => ago(k.created_at)], ["Expires", (k) => fmtTime(k.expires_at)],
    ["State", (k) => (k.revoked ? `revoked ${ago(k.revoked_at)}` : "active")],
    ["", (k) => (k.revoked || k.id === me?.key_id ? "" : button("Revoke", (ev) => busy(ev.target, async () => {
      if (!window.confirm(`Revoke key ${k.name}? Every client using it is refused from now on.`)) return;
      await del(`/api-keys/${k.id}`);
      flash(`Key ${k.name} revoked`);
      await reloadKeys();
    }, listErr), { class: "danger small" }))],
  ], list, { empty: "No key." }));
  reloadKeys = async () => drawKeys((await get("/api-keys", { limit: 100, sort: "-created_at" })).data);
  drawKeys(keys.data);
  return h("div", { class: "page" }, h("h1", {}, "Access"), who,
    section("API keys", listErr, keysBox),
    section("Issue a key", form, errors, issued));
}
